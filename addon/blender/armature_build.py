"""Build the generated rig from a `RigMotion` and keyframe it (the Blender half of core.rig_solver)."""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from ..core.rig_solver import RigMotion
from . import keyframes


def _enter_edit_mode(obj):
    view_layer = bpy.context.view_layer
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")


def build_armature(motion: RigMotion, name: str = "DreamPose3D", collection=None):
    """New armature object with the rest pose of `motion` (bones per rig_solver's naming)."""
    collection = collection or bpy.context.scene.collection
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    collection.objects.link(obj)
    previous = bpy.context.view_layer.objects.active
    if bpy.context.object is not None and bpy.context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    _enter_edit_mode(obj)
    edit = arm.edit_bones
    created = []
    for b, bone_name in enumerate(motion.bone_names):
        eb = edit.new(bone_name)
        m = motion.rest_matrices[b]
        head = m[:3, 3]
        eb.head = head
        eb.tail = head + m[:3, 1] * motion.rest_lengths[b]
        eb.matrix = Matrix(m.tolist())
        created.append(eb)
    for b, eb in enumerate(created):
        p = motion.parent_of[b]
        if p >= 0:
            eb.parent = created[p]
            eb.use_connect = (created[p].tail - eb.head).length < 1e-6
            eb.inherit_scale = "NONE"  # per-frame length scale must not distort children (see rig_solver)
    bpy.ops.object.mode_set(mode="OBJECT")
    if previous is not None:
        bpy.context.view_layer.objects.active = previous
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    return obj


def keyframe_motion(obj, motion: RigMotion, frame_start: int = 1, action_name: str | None = None) -> int:
    """Write the motion's rotations, Y scales and root location as keys; returns keys written."""
    _, bag = keyframes.new_action(obj, action_name or f"{obj.name}Action")
    frames = frame_start + np.arange(motion.num_frames)
    channels = []
    for b, name in enumerate(motion.bone_names):
        root = motion.parent_of[b] < 0
        channels += keyframes.pose_bone_channels(
            name, motion.quaternions[:, b],
            scale_y=None if root else motion.scales[:, b],
            location=motion.root_location if root else None,
        )
    return keyframes.write_channels(bag, frames, channels)

