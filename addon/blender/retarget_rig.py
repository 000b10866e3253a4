"""Retarget the solved motion onto an existing armature: the Blender half of `core/retarget.py`.

`core.retarget` does the maths on plain arrays (`TargetBone`s and a `Mapping`); this module reads
the armature object's bones into `TargetBone`s and writes the solution as quaternion (and root
location) keys with `keyframes`, in a new action. The action it replaces keeps a fake user when
the rig was its only user, so the rig's earlier animation is not dropped when the file is saved.
"""

from __future__ import annotations

import numpy as np

from ..core.retarget import Mapping, RetargetMotion, TargetBone, choose_mapping, solve_retarget
from ..core.rig_solver import RigMotion
from . import keyframes


def target_bones(armature_obj) -> list[TargetBone]:
    """The armature's bones, parents first."""
    out, index = [], {}

    def visit(bone):
        index[bone.name] = len(out)
        out.append(TargetBone(bone.name, index[bone.parent.name] if bone.parent else -1,
                              np.array(bone.matrix_local, dtype=np.float64), float(bone.length)))
        for child in bone.children:
            visit(child)

    for bone in armature_obj.data.bones:
        if bone.parent is None:
            visit(bone)
    return out


def mapping_for(armature_obj, preset_id: str, extra_dir: str | None = None) -> Mapping:
    """The mapping preset `preset_id` (or "AUTO") fitted to this armature's bone names."""
    return choose_mapping([b.name for b in armature_obj.data.bones], preset_id, extra_dir)


def set_properties(armature_obj, mapping: Mapping) -> None:
    """The preset's custom properties on the rig's pose bones (a generated Rigify rig's IK_FK = 1.0:
    FK), where the bone has that property."""
    for bone, values in mapping.properties.items():
        pose_bone = armature_obj.pose.bones.get(bone)
        for key, value in values.items():
            if pose_bone is not None and key in pose_bone.keys():
                pose_bone[key] = value


def keep_current_action(armature_obj) -> None:
    """Give the rig's current action a fake user when the rig is its only user: the new action
    takes its place, and an action with no users is not written when the file is saved."""
    ad = armature_obj.animation_data
    action = ad.action if ad is not None else None
    if action is not None and not action.use_fake_user and action.users <= 1:
        action.use_fake_user = True


def retarget_onto(armature_obj, motion: RigMotion, preset_id: str = "AUTO", frame_start: int = 1,
                  extra_dir: str | None = None) -> tuple[RetargetMotion, int]:
    """Key `armature_obj` to follow `motion`; returns (solution, keys written)."""
    mapping = mapping_for(armature_obj, preset_id, extra_dir)
    sol = solve_retarget(motion, target_bones(armature_obj), mapping, np.array(armature_obj.matrix_world))
    set_properties(armature_obj, mapping)
    keep_current_action(armature_obj)
    _, bag = keyframes.new_action(armature_obj, f"{armature_obj.name}_DreamPose3D")
    channels = []
    for name, q in sol.quaternions.items():
        armature_obj.pose.bones[name].rotation_mode = "QUATERNION"
        channels += keyframes.pose_bone_channels(name, q, location=sol.root_location if name == sol.root else None)
    frames = frame_start + np.arange(motion.num_frames)
    return sol, keyframes.write_channels(bag, frames, channels)
