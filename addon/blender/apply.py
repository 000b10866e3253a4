"""Put a lift result into the scene: one function the operator and the batch script share.

Everything is computed first (core.rig_solver, core.retarget); Blender data is created last, and
if anything fails on the way the new data-blocks are removed again, so the scene is either fully
updated or untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from ..core import rig_solver
from ..core.errors import InputError
from ..core.result_io import Result
from . import armature_build, retarget_rig


@dataclass
class ApplyOptions:
    target: str = "NEW"           # "NEW" generated rig, or "EXISTING" armature
    armature: object = None       # bpy Object for EXISTING
    mapping: str = "AUTO"         # preset id (file stem) or AUTO
    root_motion: bool = True
    foot_cleanup: bool = False
    frame_start: int = 1
    markers: bool = True
    set_scene_range: bool = True
    name: str = "DreamPose3D"
    preset_dir: str | None = None


@dataclass
class Applied:
    armature: object
    keys: int
    motion: rig_solver.RigMotion
    markers: int


def apply_result(scene, result: Result, opts: ApplyOptions) -> Applied:
    motion = rig_solver.solve(result.joints_world, result.fps, opts.root_motion, opts.foot_cleanup)
    before = (set(bpy.data.objects), set(bpy.data.armatures), set(bpy.data.actions))
    try:
        if opts.target == "EXISTING":
            obj = opts.armature
            if obj is None or getattr(obj, "type", None) != "ARMATURE":
                raise InputError("Choose an armature object as the target, or target a new armature.")
            _, keys = retarget_rig.retarget_onto(obj, motion, opts.mapping, opts.frame_start, opts.preset_dir)
        else:
            obj = armature_build.build_armature(motion, opts.name, scene.collection)
            keys = armature_build.keyframe_motion(obj, motion, opts.frame_start)
        markers = armature_build.add_action_markers(scene, result.action_segments(), opts.frame_start) if opts.markers else []
        if opts.set_scene_range:
            scene.render.fps = max(1, int(round(result.fps)))
            scene.render.fps_base = scene.render.fps / result.fps
            scene.frame_start = opts.frame_start
            scene.frame_end = opts.frame_start + result.num_frames - 1
        scene["dreampose3d_prompts"] = [f"{opts.frame_start + i}\t{text}" for i, text in result.action_segments()]
    except Exception:
        _remove_new(before)
        raise
    return Applied(obj, keys, motion, len(markers))


def _remove_new(before) -> None:
    objects, armatures, actions = before
    for ob in [o for o in bpy.data.objects if o not in objects]:
        bpy.data.objects.remove(ob)
    for arm in [a for a in bpy.data.armatures if a not in armatures]:
        bpy.data.armatures.remove(arm)
    for act in [a for a in bpy.data.actions if a not in actions]:
        bpy.data.actions.remove(act)


def prompt_at(scene, frame: int) -> str:
    """The predicted action prompt in effect at `frame` (from the last applied result)."""
    text = ""
    for entry in scene.get("dreampose3d_prompts", []):
        f, _, t = str(entry).partition("\t")
        if int(f) <= frame:
            text = t
    return text
