"""The "Lift to 3D" sidebar tab of the 3D Viewport. Drawing only; small functions per section."""

from __future__ import annotations

import bpy

from .apply import prompt_at
from .enum_cache import ITEMS


def draw_input(layout, s):
    col = layout.column(align=True)
    col.prop(s, "input_path")
    row = col.row(align=True)
    row.prop(s, "format")
    row.operator("dreampose3d.scan", text="", icon="VIEWZOOM")
    if len(ITEMS.videos(bpy.path.abspath(s.input_path))) > 1:
        col.prop(s, "video")
    col.prop(s, "person")
    col.prop(s, "fps")
    col.prop(s, "image_size")


def draw_engine(layout, s):
    col = layout.column(align=True)
    col.prop(s, "preset")
    col.prop(s, "smoothing")
    if s.smoothing != "none":
        col.prop(s, "smooth_hz")


def draw_target(layout, s):
    col = layout.column(align=True)
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
    run = context.window_manager.dreampose3d_run
    col = layout.column()
    if run.running:
        row = col.row(align=True)
        row.prop(run, "progress", text=run.status or "Lifting", slider=True)
        row.operator("dreampose3d.cancel", text="", icon="CANCEL")
    else:
        col.operator("dreampose3d.lift", icon="ARMATURE_DATA")
        if run.last_error:
            col.label(text=run.last_error, icon="ERROR")
        elif run.status:
            col.label(text=run.status, icon="CHECKMARK")
            draw_gaps(col, run.gaps)
            if run.warning:
                col.label(text="The 3D fits the 2D poorly: check the motion", icon="ERROR")


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
    box.label(text=text)
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
        draw_input(layout, s)
        draw_engine(layout, s)
        draw_target(layout, s)
        draw_run(layout, context)
        draw_prompt(layout, context)
        draw_export(layout, context)


classes = (DREAMPOSE3D_PT_lift,)
