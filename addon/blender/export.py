"""Export the animated armature: BVH, FBX and .blend (Blender's own exporters)."""

from __future__ import annotations

from pathlib import Path

import bpy

from ..core.errors import InputError

FORMATS = ("bvh", "fbx", "blend")


def _select_only(obj):
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    bpy.context.view_layer.objects.active = obj


def _enable(module: str):
    import addon_utils

    if module not in bpy.context.preferences.addons:
        addon_utils.enable(module, default_set=True)


def export_bvh(obj, path, frame_start: int, frame_end: int) -> str:
    _enable("io_anim_bvh")
    _select_only(obj)
    bpy.ops.export_anim.bvh(filepath=str(path), frame_start=frame_start, frame_end=frame_end,
                            rotate_mode="NATIVE", root_transform_only=False)
    return str(path)


def export_fbx(obj, path) -> str:
    _enable("io_scene_fbx")
    _select_only(obj)
    bpy.ops.export_scene.fbx(filepath=str(path), use_selection=True, object_types={"ARMATURE"},
                             bake_anim=True, add_leaf_bones=False)
    return str(path)


def export_blend(path) -> str:
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    return str(path)


def export_all(obj, out_dir, stem: str, formats, frame_start: int, frame_end: int) -> list[str]:
    """Write `out_dir/stem.<fmt>` for each requested format; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        fmt = fmt.strip().lower()
        path = out_dir / f"{stem}.{fmt}"
        if fmt == "bvh":
            written.append(export_bvh(obj, path, frame_start, frame_end))
        elif fmt == "fbx":
            written.append(export_fbx(obj, path))
        elif fmt == "blend":
            written.append(export_blend(path))
        else:
            raise InputError(f"Unknown export format '{fmt}'; use bvh, fbx or blend.")
    return written
