"""Add-on preferences: where the engine is ("Find engine", "Check engine"), device, default preset.

`get_prefs` is how the rest of the add-on reads them. This module imports nothing from the other
UI modules (`properties` reads it, never the other way round), so there is no import cycle.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import bpy
from bpy.props import EnumProperty, StringProperty

from ..core.engine_defaults import DEFAULT_PRESET, PRESETS
from ..core.engine_locate import PREFERENCE

# Blender keys add-on preferences by the add-on's package: "addon" from the source tree,
# "dreampose3d" installed as a legacy add-on, "bl_ext.<repo>.dreampose3d" as an extension.
ADDON_ID = __package__.rpartition(".")[0]


@dataclass
class Defaults:
    """Preferences when the add-on runs unregistered (batch with the bpy module)."""

    engine_python: str = ""
    device: str = "auto"
    default_preset: str = DEFAULT_PRESET
    checkpoint: str = ""
    preset_dir: str = ""
    last_check: str = ""


def get_prefs(context=None):
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None and addon.preferences is not None else Defaults()


def engine_python(context=None) -> str:
    """The Engine Python preference as an absolute path ("" = search): a blend-relative "//" path
    must mean the same file for every engine run."""
    path = get_prefs(context).engine_python
    return bpy.path.abspath(path) if path else ""


class DREAMPOSE3D_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    engine_python: StringProperty(
        name=PREFERENCE, subtype="FILE_PATH",
        description="Python that can run 'python -m engine'; empty = DREAMPOSE3D_PYTHON, the repository's .venv, "
                    "~/.local/share/dreampose3d/venv, or PATH. Find engine fills it")
    device: EnumProperty(name="Device", items=(("auto", "Auto", "GPU when available"), ("cpu", "CPU", "CPU only"),
                                                ("cuda", "CUDA", "NVIDIA GPU")), default="auto",
                         description="Where the engine runs the model")
    default_preset: EnumProperty(name="Default preset", items=PRESETS, default=DEFAULT_PRESET,
                                 description="Preset for new scenes")
    checkpoint: StringProperty(name="Checkpoint", subtype="FILE_PATH",
                               description="Model checkpoint; empty = the engine's default")
    preset_dir: StringProperty(name="Extra mapping presets", subtype="DIR_PATH",
                               description="Folder with your own mapping presets (*.json), next to the bundled ones")
    last_check: StringProperty(name="Engine", default="not checked")

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "engine_python")
        col.prop(self, "checkpoint")
        col.prop(self, "device")
        col.prop(self, "default_preset")
        col.prop(self, "preset_dir")
        row = col.row()
        row.operator("dreampose3d.find_engine", icon="VIEWZOOM")
        row.operator("dreampose3d.check_engine", icon="CHECKMARK")
        # The result is a sentence (what to set when the engine is missing): wrapped, never cut.
        for line in textwrap.wrap(self.last_check, 90) or [""]:
            col.label(text=line)


classes = (DREAMPOSE3D_AP_preferences,)
