"""Skeleton facts for the add-on, read from the engine's `engine/skeleton.py` (the only copy).

This is the add-on's single source for the skeleton: joint names, parents, left/right pairs, the
bones and their lengths. Every other add-on module takes them from here.

The add-on may not import the `engine` package (Blender's Python has no torch), so it never
keeps a hand-written copy of the joint names either. Instead:

- in an installed add-on, `build_addon.py` parses `engine/skeleton.py` with `ast` and writes
  `core/skeleton.json` into the zip next to this file;
- in the source tree (`python addon/batch.py`, the tests), this module parses
  `../../engine/skeleton.py` the same way, with `ast.literal_eval` (no import, no execution).

Both paths run `parse_skeleton_source`, so the zip and the engine cannot disagree; what is derived
here (`BONES`, `bone_lengths`) follows the engine's definitions, and a test compares them with
`engine.skeleton`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np

from .errors import SkeletonError

_HERE = Path(__file__).resolve().parent
_JSON = _HERE / "skeleton.json"
_ENGINE_SOURCE = _HERE.parents[1] / "engine" / "skeleton.py"  # the repository, run from source
_NAMES = ("JOINT_NAMES", "PARENTS", "FLIP_PAIRS")


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
if any(PARENTS[j] >= j for j in range(NUM_JOINTS) if j != ROOT):
    # the solver and the rig builder walk joints in index order and need each parent first
    raise SkeletonError("The engine's skeleton lists a joint before its parent.")

# The bone ending at joint j runs from PARENTS[j] to j: one per joint but the root, in joint order
# (the engine's `BONES`).
BONE_JOINTS: tuple[int, ...] = tuple(j for j in range(NUM_JOINTS) if j != ROOT)
BONES: tuple[tuple[int, int], ...] = tuple((PARENTS[j], j) for j in BONE_JOINTS)
_BONE_PARENTS = np.array([p for p, _ in BONES])
_BONE_CHILDREN = np.array([c for _, c in BONES])


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Lengths of the bones of (..., 17, D) joints, shape (..., 16) in `BONES` order, in the
    joints' unit (the engine's `bone_lengths`)."""
    joints = np.asarray(joints)
    return np.linalg.norm(joints[..., _BONE_CHILDREN, :] - joints[..., _BONE_PARENTS, :], axis=-1)


def joint(name: str) -> int:
    """Index of a joint by its engine name (e.g. "left_ankle")."""
    return JOINT_INDEX[name]
