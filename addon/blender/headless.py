"""The Blender part of the headless batch (`addon/batch.py`): a fresh scene or a rig file, the
result applied to it, and the exports written.

Modal operators do not run in background mode, so this calls `apply.apply_result` and `export`,
the same code the Lift operator's synchronous path uses.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import bpy

from ..core import result_io
from ..core.errors import InputError
from . import export
from .apply import ApplyOptions, apply_result


def new_scene(rig: str | None = None, armature: str | None = None):
    """(scene, target armature object or None): the rig file opened with its armature picked, or
    Blender's empty factory scene for a generated rig."""
    if rig:
        rig = Path(rig)
        if not rig.is_file():
            raise InputError(f"The rig file {rig} does not exist.")
        bpy.ops.wm.open_mainfile(filepath=str(rig))
        arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
        if armature:
            obj = bpy.data.objects.get(armature)
            if obj is None or obj.type != "ARMATURE":
                raise InputError(f"{rig.name} has no armature object named '{armature}'.")
        elif len(arms) == 1:
            obj = arms[0]
        else:
            raise InputError(f"{rig.name} has {len(arms)} armatures; name one with --armature.")
        return bpy.context.scene, obj
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene, None


def convert(result_path: Path, stem: str, out_dir: Path, formats: list[str], rig: str | None = None,
            armature: str | None = None, mapping: str = "AUTO", root_motion: bool = True,
            foot_cleanup: bool = False, contact_overlay: bool = False, footage: bool = True) -> list[str]:
    """Apply one result and write `out_dir/<stem>.npz` plus one file per export format; returns the
    paths written. The gap counts go to stdout as a JSON line ({"event": "gaps", ...}); the
    engine's warning about the lift, if any, goes to stderr. A result lifted from a video gets
    the video as the camera's background and a camera matching the lift (unless `footage` is
    False): a JSON line {"event": "footage", ...} says which clip and camera."""
    result = result_io.load_result(result_path)
    scene, target = new_scene(rig, armature)
    opts = ApplyOptions(target="EXISTING" if target is not None else "NEW", armature=target, mapping=mapping,
                        root_motion=root_motion, foot_cleanup=foot_cleanup, frame_start=1, name=stem,
                        contact_overlay=contact_overlay, footage_background=footage, footage_camera=footage)
    applied = apply_result(scene, result, opts)
    added = applied.footage
    if added is not None and added.info is not None:
        print(json.dumps({"event": "footage", "input": stem, "video": str(added.info.video),
                          "clip": added.clip.name if added.clip else None,
                          "camera": added.camera.name if added.camera else None}), flush=True)
        if added.note:
            print(f"warning: {stem}: {added.note}", file=sys.stderr, flush=True)
    print(json.dumps({"event": "gaps", "input": stem, **result.gap_counts(),
                      "summary": result.gap_summary() or "no gaps"}), flush=True)
    if result.warning:
        print(f"warning: {stem}: {result.warning}", file=sys.stderr, flush=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    dest = out_dir / f"{stem}.npz"
    if dest.resolve() != Path(result_path).resolve():
        shutil.copyfile(result_path, dest)
    written.append(str(dest))
    written += export.export_all(applied.armature, out_dir, stem, formats, scene.frame_start, scene.frame_end)
    return written
