"""Scene settings (saved with the file) and run state (window manager, never saved or undone).

The preset and smoothing choices and defaults come from `core.engine_defaults` (the add-on's one
copy of the engine's); the dynamic enum items (people, videos, mapping presets) are kept alive in
`enum_cache.ITEMS`. This module reads the preferences (`preferences.get_prefs`); the
preferences never import it, so there is no import cycle. The settings' labels are the words the
panel shows, so `in_panel_words` puts the engine's flags in them (`core.field_words`).
"""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntVectorProperty, PointerProperty, StringProperty

from ..core import retarget
from ..core.engine_defaults import BUTTERWORTH_HZ, DEFAULT_SMOOTHING, FORMATS, PRESETS, SMOOTHING
from ..core.errors import RetargetError
from ..core.field_words import in_field_words
from .enum_cache import AUTO_MAPPING, FIRST_VIDEO, ITEMS
from . import preferences


def chosen_video(settings) -> str | None:
    """The video to pass to `lift --video`, or None for the file's first (or only) one."""
    return None if settings.video in ("", FIRST_VIDEO[0]) else settings.video


def _video_items(self, context):
    return ITEMS.videos(bpy.path.abspath(self.input_path))


def _people_items(self, context):
    return ITEMS.people(bpy.path.abspath(self.input_path))


def _mapping_items(self, context):
    preset_dir = preferences.get_prefs(context).preset_dir or None
    items = [AUTO_MAPPING]
    try:
        for pid, m in retarget.presets(preset_dir).items():
            items.append((pid, m.name, f"Mapping preset {pid}.json"))
    except RetargetError:
        pass
    return ITEMS.set_mappings(preset_dir or "", items)


def _is_armature(self, obj):
    return obj.type == "ARMATURE"


# The engine's video suffixes (engine/video.py VIDEO_SUFFIXES; a test keeps them equal).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts",
                    ".3gp")


def is_video(path: str) -> bool:
    """Whether the chosen input is a video file (the engine runs its detector on it)."""
    return str(path).lower().endswith(VIDEO_EXTENSIONS)


def _input_changed(self, context):
    """A new file, format or body-part mapping: scan it in the background (Scan's summary shows
    the format, frames, people, fps and image size before the run). Not in background mode: no
    timer would ever collect the job there."""
    if not bpy.app.background:
        bpy.ops.dreampose3d.scan()      # in the UI it starts the scan and returns at once


def _target_changed(self, context):
    """The rule behind "Match scene fps and range" (written in its description too): a new
    armature's clip is the scene's content, so the scene takes its rate and range; a retarget goes
    into the user's own scene, which keeps its own. Choosing the target sets the checkbox; the
    user may change it afterwards."""
    self.match_scene = self.target == "NEW"


class DREAMPOSE3D_PG_settings(bpy.types.PropertyGroup):
    input_path: StringProperty(name="Keypoints", subtype="FILE_PATH", update=_input_changed,
                               description="Keypoint file or folder to lift, or a video (.mp4 .mov .avi .mkv .webm ...) "
                                           "for the engine's detector (or a result .npz, which skips the engine)")
    format: EnumProperty(name="Format", items=FORMATS, default="auto", update=_input_changed,
                         description="Keypoint format; Auto lets the engine detect it")
    layout: EnumProperty(name="Layout", default="auto", update=_input_changed,
                         items=(("auto", "Auto", "Tell BODY_25, BODY_25B and COCO-18 apart by the keypoints"),
                                ("body25", "BODY_25", "OpenPose's default body model"),
                                ("body25b", "BODY_25B", "OpenPose's experimental BODY_25B model"),
                                ("coco18", "COCO-18", "OpenPose's COCO model")),
                         description="OpenPose only: which body model wrote the keypoints")
    dlc_mapping: StringProperty(name="Body-part mapping", subtype="FILE_PATH", update=_input_changed,
                                description="DeepLabCut only: the JSON file that names the H36M joint of each of "
                                            "your body parts")
    person: EnumProperty(name="Person", items=_people_items, description="Which person to lift (listed by Scan)")
    video: EnumProperty(name="Video", items=_video_items, description="Which video of a multi-video file to lift (listed by Scan)")
    fps: FloatProperty(name="FPS", default=0.0, min=0.0, description="Frames per second of the keypoints; 0 = auto")
    image_size: IntVectorProperty(name="Image size", size=2, default=(0, 0), min=0,
                                  description="Width and height in pixels; 0 = auto")
    lens_mm: FloatProperty(name="Lens (mm)", default=0.0, min=0.0, max=2000.0,
                           description="The camera's 35 mm-equivalent focal length (a phone's main camera: about 26), "
                                       "for the aim at the person, the root's depth and the floor; 0 = the engine's "
                                       "default (35 mm)")
    preset: EnumProperty(name="Preset", items=(("default", "Default", "The preset chosen in the add-on preferences"),) + PRESETS,
                         default="default", description="Engine sampling preset")
    # The engine's defaults, from core.engine_defaults (tests check them against engine/smoothing.py):
    # the add-on cannot import the engine, which runs in another Python.
    smoothing: EnumProperty(name="Smoothing", items=SMOOTHING, default=DEFAULT_SMOOTHING,
                            description="Temporal filter run in the engine")
    smooth_hz: FloatProperty(name="Cut-off (Hz)", default=BUTTERWORTH_HZ, min=0.1, description="Filter cut-off frequency in hertz")
    target: EnumProperty(name="Target", items=(("NEW", "New armature", "Build a rig from the data"),
                                                ("EXISTING", "Existing armature", "Retarget onto an armature")),
                         default="NEW", description="Where the motion goes", update=_target_changed)
    armature: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                              description="Armature to retarget onto")
    mapping: EnumProperty(name="Mapping", items=_mapping_items, description="Bone mapping preset for the existing armature")
    root_motion: BoolProperty(name="Root motion", default=True, description="Move the character through space (off: in place)")
    foot_cleanup: BoolProperty(name="Foot contact clean-up", default=False,
                               description="Pin feet while they touch the ground (detected by ankle height and speed)")
    match_scene: BoolProperty(name="Match scene fps and range", default=True,
                              description="Set the scene's frame rate and frame range to the clip's. Choosing the "
                                          "target sets it: on for New armature, off for Existing armature. Off: the "
                                          "keys start at the scene's start frame, one per scene frame")
    contact_overlay: BoolProperty(name="Contact spheres", default=False,
                                  description="Add a small sphere at each ankle, shown in the viewport on the frames "
                                              "where that foot is on the floor")
    footage_background: BoolProperty(name="Footage as camera background", default=True,
                                     description="When the input is a video: show it behind the camera view, frame "
                                                 "for frame with the animation")
    footage_camera: BoolProperty(name="Camera matching the lift", default=True,
                                 description="When the input is a video: add a camera that sees the rig as the video "
                                             "sees the person (the lift's 60-degree view) and make it the scene camera")


def field_label(setting: str) -> str:
    """The panel's label of a scene setting ("fps" -> "FPS"), as Blender shows it."""
    return DREAMPOSE3D_PG_settings.bl_rna.properties[setting].name


def in_panel_words(message: str) -> str:
    """An engine sentence with its command-line flags turned into the panel's field names."""
    return in_field_words(message, field_label)


class DREAMPOSE3D_PG_run(bpy.types.PropertyGroup):
    running: BoolProperty(default=False)
    progress: FloatProperty(name="Progress", subtype="PERCENTAGE", min=0, max=100, default=0)
    status: StringProperty(name="Status", default="")
    last_error: StringProperty(name="Last error", default="")
    warning: StringProperty(name="Warning", default="", description="The engine's warning about the last lift")
    gaps: StringProperty(name="Gaps", default="", description="The last lift's gap frames, e.g. '60 frames held, 3 interpolated'")
    details: StringProperty(name="Details", default="",
                            description="The last error or warning with the engine's command and output (Copy details)")
    scan_path: StringProperty(default="", description="The input the scan below describes")
    scan_state: StringProperty(default="", description="'', 'scanning', 'done' or 'failed'")
    scan_summary: StringProperty(default="", description="What Scan found: format, frames, people, fps, image size")
    scan_format: StringProperty(default="", description="The format Scan detected")
    scan_missing: StringProperty(default="", description="Settings the file does not state, comma-separated (fps, image_size)")
    scan_error: StringProperty(default="", description="Why the scan failed, in one sentence")


classes = (DREAMPOSE3D_PG_settings, DREAMPOSE3D_PG_run)


def register_props():
    bpy.types.Scene.dreampose3d = PointerProperty(type=DREAMPOSE3D_PG_settings)
    bpy.types.WindowManager.dreampose3d_run = PointerProperty(type=DREAMPOSE3D_PG_run)


def unregister_props():
    del bpy.types.WindowManager.dreampose3d_run
    del bpy.types.Scene.dreampose3d
