"""The engine's error sentences in the panel's words: its command-line flags become field names.

The engine speaks to a command line ("...; pass it with --image-size WIDTH HEIGHT"). In Blender
the user has fields, not flags, so the panel shows "...; enter it in the Image size field". This
is the one table of which engine flag is which panel setting; only the flags the panel has a field
for are here. `--mapping` is DeepLabCut's body-part JSON, the panel's "Body-part mapping" field
(`dlc_mapping`), never its bone "Mapping" preset. The labels themselves
belong to the scene settings (`blender/properties.py`), so `in_field_words` takes a function
that gives the label of a setting. `batch.py` has the engine's flags, so it shows the engine's
words as they are.
"""

from __future__ import annotations

import re

# `engine lift` flag -> the scene setting (`DREAMPOSE3D_PG_settings` property) that passes it.
FLAG_SETTINGS = {
    "--image-size": "image_size",
    "--fps": "fps",
    "--format": "format",
    "--person": "person",
    "--video": "video",
    "--preset": "preset",
    "--smooth": "smoothing",
    "--smooth-hz": "smooth_hz",
    "--mapping": "dlc_mapping",
    "--layout": "layout",
    "--lens-mm": "lens_mm",
}

_METAVARS = r"(?: [A-Z]+)*"   # "WIDTH HEIGHT" after --image-size


def _flag(flag: str) -> str:
    """A flag as a whole word: `--smooth` must not match the start of `--smooth-hz`."""
    return re.escape(flag) + r"(?![\w-])" + _METAVARS


def in_field_words(message: str, label_of) -> str:
    """`message` with each known flag replaced by its panel field; `label_of(setting)` is the
    field's label ("Image size"). Messages without flags come back unchanged."""
    for flag in sorted(FLAG_SETTINGS, key=len, reverse=True):
        if flag not in message:
            continue
        label, pat = label_of(FLAG_SETTINGS[flag]), _flag(flag)
        # Replacements are functions, so a label is never read as a regex template.
        message = re.sub(rf"see {pat} for the list", lambda m: f"the README lists the names {label} takes", message)
        message = re.sub(rf"pass ([^;,]*?)with {pat}", lambda m: f"enter {m[1]}in the {label} field", message)
        message = re.sub(rf"pass {pat} ([\w-]+(?: or [\w-]+)+)", lambda m: f"choose {m[1]} in the {label} field", message)
        message = re.sub(rf"force it with {pat}", lambda m: f"choose it in the {label} field", message)
        message = re.sub(rf"pass {pat}", lambda m: f"enter it in the {label} field", message)
        message = re.sub(pat, lambda m: label, message)
    return message
