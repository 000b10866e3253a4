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
from ..core.engine_defaults import BUTTERWORTH_HZ, DEFAULT_SMOOTHING, PRESETS, SMOOTHING
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


def _target_changed(self, context):
    """The rule behind "Match scene fps and range" (written in its description too): a new
    armature's clip is the scene's content, so the scene takes its rate and range; a retarget goes
    into the user's own scene, which keeps its own. Choosing the target sets the checkbox; the
    user may change it afterwards."""
    self.match_scene = self.target == "NEW"


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


classes = (DREAMPOSE3D_PG_settings, DREAMPOSE3D_PG_run)


def register_props():
    bpy.types.Scene.dreampose3d = PointerProperty(type=DREAMPOSE3D_PG_settings)
    bpy.types.WindowManager.dreampose3d_run = PointerProperty(type=DREAMPOSE3D_PG_run)


def unregister_props():
    del bpy.types.WindowManager.dreampose3d_run
    del bpy.types.Scene.dreampose3d
