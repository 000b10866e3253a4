"""Target rigs for the retarget tests, built with the real bpy: a Mixamo-like import and Rigify's
human metarig, and where a posed rig's bones are in the world."""

from __future__ import annotations

import math

import numpy as np


def build_mixamo_rig(bpy):
    """A Mixamo-like import: bones in centimetres, Y up, object rotated 90 degrees about X and
    scaled 0.01, A-pose arms, arbitrary bone rolls."""
    arm = bpy.data.armatures.new("MixamoArm")
    obj = bpy.data.objects.new("Mixamo", arm)
    bpy.context.scene.collection.objects.link(obj)
    obj.rotation_euler = (math.radians(90), 0, 0)
    obj.scale = (0.01, 0.01, 0.01)
    bpy.context.view_layer.update()
    to_local = np.array(obj.matrix_world.inverted())
    world = {  # metres, Blender world, facing -Y, A-pose
        "Hips": ((0, 0, 1.0), (0, 0, 1.1), None), "Spine": ((0, 0, 1.1), (0, 0, 1.22), "Hips"),
        "Spine1": ((0, 0, 1.22), (0, 0, 1.34), "Spine"), "Spine2": ((0, 0, 1.34), (0, 0, 1.46), "Spine1"),
        "Neck": ((0, 0, 1.46), (0, -0.02, 1.56), "Spine2"), "Head": ((0, -0.02, 1.56), (0, -0.02, 1.76), "Neck"),
    }
    for side, sx in (("Left", 1), ("Right", -1)):
        world.update({
            f"{side}Shoulder": ((0.03 * sx, 0, 1.42), (0.16 * sx, 0, 1.42), "Spine2"),
            f"{side}Arm": ((0.16 * sx, 0, 1.42), (0.36 * sx, 0, 1.22), f"{side}Shoulder"),
            f"{side}ForeArm": ((0.36 * sx, 0, 1.22), (0.55 * sx, -0.02, 1.03), f"{side}Arm"),
            f"{side}Hand": ((0.55 * sx, -0.02, 1.03), (0.6 * sx, -0.02, 0.98), f"{side}ForeArm"),
            f"{side}UpLeg": ((0.09 * sx, 0, 0.97), (0.09 * sx, 0, 0.53), "Hips"),
            f"{side}Leg": ((0.09 * sx, 0, 0.53), (0.09 * sx, 0.02, 0.08), f"{side}UpLeg"),
            f"{side}Foot": ((0.09 * sx, 0.02, 0.08), (0.09 * sx, -0.12, 0.0), f"{side}Leg"),
        })
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    made = {}
    for i, (name, (h, t, parent)) in enumerate(world.items()):
        eb = arm.edit_bones.new(f"mixamorig:{name}")
        eb.head = (to_local @ np.r_[h, 1])[:3]
        eb.tail = (to_local @ np.r_[t, 1])[:3]
        eb.roll = 0.37 * i  # rolls must not matter
        if parent:
            eb.parent = made[parent]
        made[name] = eb
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def rigify_metarig(bpy):
    """Rigify's 159-bone human metarig, as Add > Armature > Human (Meta-Rig) makes it."""
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.object


def posed_heads_tails(bpy, obj, frame: int) -> dict:
    """{bone: (world head, world tail)} of the depsgraph-evaluated pose at `frame`."""
    bpy.context.scene.frame_set(frame)
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    M = np.array(ev.matrix_world)
    conv = lambda v: M[:3, :3] @ np.array(v) + M[:3, 3]  # noqa: E731
    return {pb.name: (conv(pb.head), conv(pb.tail)) for pb in ev.pose.bones}


def odd_armature(bpy):
    """An armature of one bone named "blob": no mapping preset fits it."""
    arm = bpy.data.armatures.new("Odd")
    obj = bpy.data.objects.new("Odd", arm)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    arm.edit_bones.new("blob").tail = (0, 0, 1)
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj
