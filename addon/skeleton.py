"""Skeleton facts for the add-on, read from the engine's `engine/skeleton.py` (the only copy).

The add-on may not import the `engine` package (Blender's Python has no torch), so it never
keeps a hand-written copy of the joint names either. Instead:

- in an installed add-on, `build_addon.py` parses `engine/skeleton.py` with `ast` and writes
  `skeleton.json` into the zip next to this file;
- in the source tree (`python addon/batch.py`, the tests), this module parses
  `../engine/skeleton.py` the same way, with `ast.literal_eval` (no import, no execution).

Both paths run `parse_skeleton_source`, so the zip and the engine cannot disagree.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_JSON = _HERE / "skeleton.json"
_ENGINE_SOURCE = _HERE.parent / "engine" / "skeleton.py"
_NAMES = ("JOINT_NAMES", "PARENTS", "FLIP_PAIRS")


class SkeletonError(RuntimeError):
    """The skeleton description could not be found or parsed."""


def parse_skeleton_source(text: str) -> dict:
    """Literal values of JOINT_NAMES, PARENTS and FLIP_PAIRS in the engine's skeleton.py source."""
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        else:
            continue
        if name in _NAMES and value is not None:
            found[name] = ast.literal_eval(value)
    missing = [n for n in _NAMES if n not in found]
    if missing:
        raise SkeletonError(f"The engine's skeleton.py does not define {', '.join(missing)}.")
    return {
        "joint_names": [str(n) for n in found["JOINT_NAMES"]],
        "parents": [int(p) for p in found["PARENTS"]],
        "flip_pairs": [[int(a), int(b)] for a, b in found["FLIP_PAIRS"]],
    }


def _load() -> dict:
    if _JSON.exists():
        return json.loads(_JSON.read_text(encoding="utf-8"))
    if _ENGINE_SOURCE.exists():
        return parse_skeleton_source(_ENGINE_SOURCE.read_text(encoding="utf-8"))
    raise SkeletonError("The skeleton description is missing: rebuild the add-on with build_addon.py.")


_DATA = _load()
JOINT_NAMES: tuple[str, ...] = tuple(_DATA["joint_names"])
PARENTS: tuple[int, ...] = tuple(_DATA["parents"])
FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple((a, b) for a, b in _DATA["flip_pairs"])
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}
ROOT = PARENTS.index(-1)
CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(c for c in range(NUM_JOINTS) if PARENTS[c] == j) for j in range(NUM_JOINTS)
)


def joint(name: str) -> int:
    """Index of a joint by its engine name (e.g. "left_ankle")."""
    return JOINT_INDEX[name]
