"""Scene settings (saved with the file) and run state (window manager, never saved or undone)."""

from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, IntVectorProperty,
                       PointerProperty, StringProperty)

# Enum item lists must stay referenced while Blender shows them (a Python/RNA rule).
_PEOPLE_CACHE: dict[str, list] = {}
_VIDEO_CACHE: dict[str, list] = {}
_FIRST_VIDEO = ("first", "First", "The file's first (or only) video")
_MAPPING_ITEMS: list = []

PRESETS = (("fast", "Fast", "Fewer denoising steps"), ("quality", "Quality", "More denoising steps and samples"))
SMOOTHING = (("none", "None", "No smoothing"), ("one-euro", "One-euro", "One-euro filter (done in the engine)"),
             ("butterworth", "Butterworth", "Zero-phase Butterworth low-pass at the given cut-off (done in the engine)"))


def set_people(path: str, people: list[dict]) -> None:
    items = [("auto", "Auto", "Let the engine pick the main person")]
    for p in people:
        pid = str(p.get("id"))
        desc = f"frames {p.get('first_frame')}-{p.get('last_frame')}, mean confidence {p.get('mean_confidence', 0):.2f}"
        items.append((pid, f"Person {pid}", desc))
    _PEOPLE_CACHE[path] = items


def set_videos(path: str, videos: list[dict]) -> None:
    """The videos of a multi-video file (VideoPose3D custom npz), as `engine inspect` lists them."""
    _VIDEO_CACHE[path] = [(str(v.get("name")), str(v.get("name")), f"{v.get('frames')} frames") for v in videos] \
        or [_FIRST_VIDEO]


def video_choices(path: str) -> list:
    return _VIDEO_CACHE.get(path) or [_FIRST_VIDEO]


def chosen_video(settings) -> str | None:
    """The video to pass to `lift --video`, or None for the file's first (or only) one."""
    return None if settings.video in ("", _FIRST_VIDEO[0]) else settings.video


def _video_items(self, context):
    return video_choices(bpy.path.abspath(self.input_path))


def _people_items(self, context):
    return _PEOPLE_CACHE.get(bpy.path.abspath(self.input_path), None) or [("auto", "Auto", "Let the engine pick the main person")]


def _mapping_items(self, context):
    from . import retarget
    from .preferences import get_prefs

    items = [("AUTO", "Auto (by bone names)", "Pick the preset whose bone names fit, else guess from names")]
    try:
        for pid, m in retarget.presets(get_prefs(context).preset_dir or None).items():
            items.append((pid, m.name, f"Mapping preset {pid}.json"))
    except retarget.RetargetError:
        pass
    _MAPPING_ITEMS[:] = items
    return _MAPPING_ITEMS


def _is_armature(self, obj):
    return obj.type == "ARMATURE"


class DREAMPOSE3D_PG_settings(bpy.types.PropertyGroup):
    input_path: StringProperty(name="Keypoints", subtype="FILE_PATH",
                               description="Keypoint file or folder to lift (or a result .npz, which skips the engine)")
    format: StringProperty(name="Format", default="auto", description="Keypoint format; auto lets the engine detect it")
    person: EnumProperty(name="Person", items=_people_items, description="Which person to lift (listed by Scan)")
    video: EnumProperty(name="Video", items=_video_items, description="Which video of a multi-video file to lift (listed by Scan)")
    fps: FloatProperty(name="FPS", default=0.0, min=0.0, description="Frames per second of the keypoints; 0 = auto")
    image_size: IntVectorProperty(name="Image size", size=2, default=(0, 0), min=0,
                                  description="Width and height in pixels; 0 = auto")
    preset: EnumProperty(name="Preset", items=(("default", "Default", "The preset chosen in the add-on preferences"),) + PRESETS,
                         default="default", description="Engine sampling preset")
    # The defaults mirror the engine's (engine/smoothing.py: DEFAULT_METHOD, BUTTERWORTH_HZ; a test
    # checks they agree): the add-on cannot import the engine, which runs in another Python.
    smoothing: EnumProperty(name="Smoothing", items=SMOOTHING, default="butterworth", description="Temporal filter run in the engine")
    smooth_hz: FloatProperty(name="Cut-off (Hz)", default=4.0, min=0.1, description="Filter cut-off frequency in hertz")
    target: EnumProperty(name="Target", items=(("NEW", "New armature", "Build a rig from the data"),
                                                ("EXISTING", "Existing armature", "Retarget onto an armature")),
                         default="NEW", description="Where the motion goes")
    armature: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                              description="Armature to retarget onto")
    mapping: EnumProperty(name="Mapping", items=_mapping_items, description="Bone mapping preset for the existing armature")
    root_motion: BoolProperty(name="Root motion", default=True, description="Move the character through space (off: in place)")
    foot_cleanup: BoolProperty(name="Foot contact clean-up", default=False,
                               description="Pin feet while they touch the ground (detected by ankle height and speed)")


class DREAMPOSE3D_PG_run(bpy.types.PropertyGroup):
    running: BoolProperty(default=False)
    progress: FloatProperty(name="Progress", subtype="PERCENTAGE", min=0, max=100, default=0)
    status: StringProperty(name="Status", default="")
    last_error: StringProperty(name="Last error", default="")
    warning: StringProperty(name="Warning", default="", description="The engine's warning about the last lift")


classes = (DREAMPOSE3D_PG_settings, DREAMPOSE3D_PG_run)


def register_props():
    bpy.types.Scene.dreampose3d = PointerProperty(type=DREAMPOSE3D_PG_settings)
    bpy.types.WindowManager.dreampose3d_run = PointerProperty(type=DREAMPOSE3D_PG_run)


def unregister_props():
    del bpy.types.WindowManager.dreampose3d_run
    del bpy.types.Scene.dreampose3d
