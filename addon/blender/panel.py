"""The "Lift to 3D" sidebar tab of the 3D Viewport. Drawing only; small functions per section.

Sentences (errors, the fit warning, the scan's summary) are wrapped to the sidebar's width with
`core.wrap` and `blf` at the UI's font size, never cut; `DRAWN` keeps the last draw's wrapped lines
and the width they had to fit (the GUI tests read it).
"""

from __future__ import annotations

import bpy

from .apply import prompt_at
from .enum_cache import ITEMS
from .properties import is_video
from ..core.wrap import wrap_to_width

UI_POINTS = 11          # Blender's UI text size at a resolution scale of 1
# Pixels (at scale 1) of the sidebar's width that a label's text cannot use: the category tabs
# (about 20), the panel's margins, the icon and the label's padding. Measured in Blender 3.4's
# sidebar: a 229 px region leaves 147 px of text; 88 keeps a few pixels to spare.
LABEL_MARGIN = 88

DRAWN: list[tuple[str, float, float]] = []    # (line, its width, the width it had to fit), last draw


def _measure(context):
    import blf

    scale = context.preferences.system.ui_scale
    try:
        blf.size(0, UI_POINTS * scale)                  # Blender 3.4+: the size in pixels
    except TypeError:
        blf.size(0, UI_POINTS, int(72 * scale))         # older: points and dpi
    return lambda text: blf.dimensions(0, text)[0]


def wrapped(layout, context, text: str, icon: str = "NONE", alert: bool = False) -> None:
    """`text` as labels that fit the sidebar: the first line with `icon`, the others indented."""
    if not text:
        return
    region = context.region
    width = (region.width if region is not None and region.width > 1 else 300) \
        - LABEL_MARGIN * context.preferences.system.ui_scale
    measure = _measure(context)
    col = layout.column(align=True)
    col.alert = alert
    for i, line in enumerate(wrap_to_width(text, width, measure)):
        DRAWN.append((line, measure(line), width))
        col.label(text=line, icon=icon if i == 0 else ("BLANK1" if icon != "NONE" else "NONE"))


def draw_input(layout, context, s):
    run = context.window_manager.dreampose3d_run
    path = bpy.path.abspath(s.input_path) if s.input_path else ""
    col = layout.column(align=True)
    col.prop(s, "input_path")
    row = col.row(align=True)
    row.prop(s, "format")
    row.operator("dreampose3d.scan", text="", icon="VIEWZOOM")
    if path and run.scan_path == path:
        if run.scan_state == "scanning":
            col.label(text="Scanning the file...", icon="TIME")
        elif run.scan_state == "done":
            wrapped(col, context, run.scan_summary, icon="INFO")
        elif run.scan_state == "failed":
            wrapped(col, context, run.scan_error, icon="ERROR", alert=True)
    said = run.scan_error + run.scan_summary + run.last_error
    if s.format == "dlc" or run.scan_format == "dlc" or "Body-part mapping" in said:
        col.prop(s, "dlc_mapping")
    if s.format == "openpose" or run.scan_format == "openpose" or "Layout field" in said:
        col.prop(s, "layout")
    if is_video(path):
        for name in ("footage_background", "footage_camera"):     # added with video input
            if hasattr(s, name):
                col.prop(s, name)
    if len(ITEMS.videos(path)) > 1:
        col.prop(s, "video")
    col.prop(s, "person")
    missing = run.scan_missing.split(",") if path and run.scan_path == path else []
    for name in ("fps", "image_size"):
        sub = col.column(align=True)
        given = s.fps > 0 if name == "fps" else all(v > 0 for v in s.image_size)
        sub.alert = name in missing and not given       # red: the file does not state it
        sub.prop(s, name)


def draw_engine(layout, s):
    col = layout.column(align=True)
    col.prop(s, "preset")
    col.prop(s, "lens_mm")
    col.prop(s, "smoothing")
    if s.smoothing != "none":
        col.prop(s, "smooth_hz")


def draw_target(layout, s):
    col = layout.column(align=True)
    col.use_property_split = False      # full-width buttons: "Existing armature" is cut in a split row
    col.prop(s, "target", expand=True)
    if s.target == "EXISTING":
        col.prop(s, "armature")
        col.prop(s, "mapping")
    checks = layout.column(align=True)
    checks.use_property_split = False  # a split layout cuts these names at the default width
    checks.prop(s, "match_scene")
    checks.prop(s, "root_motion")
    checks.prop(s, "foot_cleanup")
    checks.prop(s, "contact_overlay")


def draw_run(layout, context):
    """The Lift button (or the progress bar and Cancel), then the last run's outcome, which stays
    until the next run: the error or the fit warning in full, wrapped, with "Copy details"."""
    run = context.window_manager.dreampose3d_run
    col = layout.column()
    if run.running:
        row = col.row(align=True)
        row.prop(run, "progress", text=run.status or "Lifting", slider=True)
        row.operator("dreampose3d.cancel", text="", icon="CANCEL")
        return
    col.operator("dreampose3d.lift", icon="ARMATURE_DATA")
    if run.last_error:
        wrapped(col, context, run.last_error, icon="ERROR", alert=True)
    elif run.status:
        wrapped(col, context, run.status, icon="CANCEL" if run.status == "cancelled" else "CHECKMARK")
        draw_gaps(col, run.gaps)
        if run.warning:
            wrapped(col, context, run.warning, icon="ERROR", alert=True)
    if run.details:
        col.operator("dreampose3d.copy_details", icon="COPYDOWN")


def draw_gaps(col, summary: str):
    """The gap counts on two lines, "Gaps: 60 frames held" and "3 interpolated": one line would be
    cut at the sidebar's default width."""
    for i, part in enumerate(summary.split(", ") if summary else []):
        col.label(text=f"Gaps: {part}" if i == 0 else part, icon="TIME" if i == 0 else "BLANK1")


def draw_prompt(layout, context):
    scene = context.scene
    text = prompt_at(scene, scene.frame_current)
    if not text:
        return
    box = layout.box()
    box.label(text="Predicted action", icon="TEXT")
    wrapped(box, context, text)
    segments = scene.get("dreampose3d_prompts", [])
    if len(segments) > 1:
        box.label(text=f"{len(segments)} actions (timeline markers)")


def draw_export(layout, context):
    obj = context.active_object
    if obj is None or obj.type != "ARMATURE" or obj.animation_data is None:
        return
    row = layout.row(align=True)
    row.label(text="Export")
    for fmt, text in (("bvh", "BVH"), ("fbx", "FBX"), ("blend", ".blend")):
        row.operator("dreampose3d.export", text=text).format = fmt


class DREAMPOSE3D_PT_lift(bpy.types.Panel):
    bl_label = "Lift to 3D"
    bl_idname = "DREAMPOSE3D_PT_lift"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Lift to 3D"

    def draw(self, context):
        s = context.scene.dreampose3d
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        DRAWN.clear()
        draw_input(layout, context, s)
        draw_engine(layout, s)
        draw_target(layout, s)
        draw_run(layout, context)
        draw_prompt(layout, context)
        draw_export(layout, context)


classes = (DREAMPOSE3D_PT_lift,)
