"""Mappings from source BVH skeletons to H36M-17, one per skeleton, as JSON in `maps/`.

A mapping says, for every H36M joint (names from `engine.skeleton.JOINT_NAMES`), which affine
combination of source joints gives it (`{"UpperLeg_L": 0.5, "UpperLeg_R": 0.5}`), plus optional
virtual sites fixed in a source bone's frame (for points a skeleton lacks, e.g. the top of the
head) and the unit scale to metres. One linear form covers picked joints, midpoints and
extrapolations, so applying a mapping is one matrix product over all frames.

Built-in: `bandai`, `cmu_cc_base` and cgspeed's three CMU conversions (`cgspeed_daz43`,
`cgspeed_mb31`, `cgspeed_max31`). Any other BVH library goes through `auto_mapping`, which
matches common joint names (Hips/LeftUpLeg/LeftArm/..., `mixamorig:`, `CC_Base_`, Bandai), and a
user JSON file in the same format overrides any part of it (`resolve_mapping(names, override)`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..skeleton import JOINT_NAMES
from .bvh import Bvh, MocapError, forward_kinematics

MAPS_DIR = Path(__file__).with_name("maps")
BUILTIN = ("bandai", "cmu_cc_base", "cgspeed_daz43", "cgspeed_mb31", "cgspeed_max31")


def load_mapping(name_or_path: str | Path) -> dict:
    """A built-in mapping by name, or a JSON file by path."""
    path = Path(name_or_path)
    if str(name_or_path) in BUILTIN:
        path = MAPS_DIR / f"{name_or_path}.json"
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MocapError(f"Cannot read skeleton mapping {path}: {exc}.") from exc
    return mapping


def detect_builtin(names: list[str]) -> str | None:
    """The built-in mapping that fits a skeleton's joint names, if any."""
    if "UpperLeg_L" in names and "Hips" in names and "Chest" in names:
        return "bandai"
    if "CC_Base_Hip" in names and "CC_Base_NeckTwist01" in names:
        return "cmu_cc_base"
    # cgspeed's three conversions of the CMU database (the cmu-extra folder's README)
    if {"abdomen", "lThigh", "rShin", "lShldr"} <= set(names):
        return "cgspeed_daz43"
    if {"LHipJoint", "LowerBack", "Neck1", "LeftUpLeg", "LeftFingerBase"} <= set(names):
        return "cgspeed_mb31"
    if {"LHipJoint", "lowerback", "Chest2", "lowerneck", "LeftElbow"} <= set(names):
        return "cgspeed_max31"
    return None


# --- name-based auto-mapping ------------------------------------------------------------------

# Side-less base word (after stripping side markers) -> role. Roles with a side become
# "left_<role>" / "right_<role>". `shoulder` is deliberately absent: in Mixamo and Bandai it is the
# clavicle, not the H36M shoulder joint.
_LIMB_WORDS = {
    "upleg": "hip", "thigh": "hip", "upperleg": "hip", "hip": "hip",
    "leg": "knee", "calf": "knee", "lowerleg": "knee", "shin": "knee", "knee": "knee",
    "foot": "ankle", "ankle": "ankle",
    "arm": "shoulder", "upperarm": "shoulder",
    "forearm": "elbow", "lowerarm": "elbow", "elbow": "elbow",
    "hand": "wrist", "wrist": "wrist",
}
_CENTRE_WORDS = {
    "hips": "hips", "hip": "hips", "pelvis": "hips", "root": "root",
    "spine": "spine", "spine1": "spine1", "spine01": "spine1", "spine2": "spine2",
    "spine02": "spine2", "chest": "chest", "neck": "neck", "neck1": "neck", "necktwist01": "neck",
    "head": "head", "headtop": "headtop", "headtopend": "headtop", "headend": "headend",
    "nose": "nose",
}


def _role(name: str) -> str | None:
    base = name.split(":")[-1]
    base = re.sub(r"^(mixamorig|cc_base|bip\d*|def)[_:\s-]?", "", base, flags=re.I)
    side = None
    m = re.search(r"(^|[_.\s-])(l|left|r|right)($|[_.\s-])", base, re.I)
    if m:
        side = "left" if m.group(2).lower().startswith("l") else "right"
        base = base[:m.start()] + " " + base[m.end():]
    else:
        m = re.match(r"^(Left|Right|L|R)(?=[A-Z])", base)
        if m:
            side = "left" if m.group(1).startswith("L") else "right"
            base = base[m.end():]
    word = re.sub(r"[^a-z0-9]", "", base.lower())
    if side:
        role = _LIMB_WORDS.get(word)
        return f"{side}_{role}" if role else None
    return _CENTRE_WORDS.get(word)


def auto_mapping(names: list[str]) -> dict:
    """A mapping from joint names alone; raises `MocapError` when limbs cannot be found.

    Derived joints: pelvis = hip-joint midpoint; spine = the middle spine bone; thorax = neck base;
    neck/nose = Nose if present, else Head; head top = a HeadTop/End joint if present, else Head
    extrapolated along the neck (Head + (Head - Neck)).
    """
    roles: dict[str, str] = {}
    for n in names:
        r = _role(n)
        if r and r not in roles:
            roles[r] = n
    joints: dict[str, dict[str, float]] = {}
    missing = []
    for side in ("left", "right"):
        for h36m, role in (("hip", "hip"), ("knee", "knee"), ("ankle", "ankle"),
                           ("shoulder", "shoulder"), ("elbow", "elbow"), ("wrist", "wrist")):
            key = f"{side}_{role}"
            if key in roles:
                joints[f"{side}_{h36m}"] = {roles[key]: 1.0}
            else:
                missing.append(key)
    spine = next((roles[r] for r in ("spine1", "spine2", "chest", "spine") if r in roles), None)
    neck = roles.get("neck")
    head = roles.get("head")
    for role, found in (("spine", spine), ("neck", neck), ("head", head)):
        if found is None:
            missing.append(role)
    if missing:
        raise MocapError(f"Cannot map joints {', '.join(missing)} to H36M-17 by name; "
                         "pass a JSON mapping file (see engine/train/maps/).")
    joints["pelvis"] = {roles["left_hip"]: 0.5, roles["right_hip"]: 0.5}
    joints["spine"] = {spine: 1.0}
    joints["thorax"] = {neck: 1.0}
    joints["neck"] = {roles.get("nose", head): 1.0}
    top = roles.get("headtop") or roles.get("headend")
    joints["head"] = {top: 1.0} if top else {head: 2.0, neck: -1.0}
    return {"scale": None, "virtual_sites": {}, "joints": joints}


def resolve_mapping(names: list[str], override: str | Path | dict | None = None) -> dict:
    """Built-in mapping if the skeleton is known, else the auto-mapping; `override` (a JSON path,
    a built-in name or a dict) replaces its `scale`, `virtual_sites` and any listed joints."""
    builtin = detect_builtin(names)
    base = load_mapping(builtin) if builtin else None
    if override is not None:
        extra = override if isinstance(override, dict) else load_mapping(override)
        if base is None and set(extra.get("joints", {})) >= set(JOINT_NAMES):
            base = {"scale": None, "virtual_sites": {}, "joints": {}}
        if base is None:
            base = auto_mapping(names)
        base = {
            "scale": extra.get("scale", base.get("scale")),
            "virtual_sites": {**base.get("virtual_sites", {}), **extra.get("virtual_sites", {})},
            "joints": {**base["joints"], **extra.get("joints", {})},
        }
    return base if base is not None else auto_mapping(names)


def mapping_matrix(mapping: dict, names: list[str], path: str = "") -> np.ndarray:
    """(17, J) weights so that `h36m = W @ joints`; raises `MocapError` for unknown joints."""
    index = {n: i for i, n in enumerate(names)}
    w = np.zeros((len(JOINT_NAMES), len(names)))
    for j, h36m in enumerate(JOINT_NAMES):
        spec = mapping["joints"].get(h36m)
        if not spec:
            raise MocapError(f"Skeleton mapping for {path or 'the file'} does not define H36M joint {h36m!r}.")
        for src, weight in spec.items():
            if src not in index:
                raise MocapError(f"BVH file {path} has no joint {src!r} needed by its skeleton mapping.")
            w[j, index[src]] += float(weight)
    return w


_UNITS = np.array([1.0, 0.0254, 0.01, 0.001])  # metres, inches, centimetres, millimetres


def guess_scale(joints: np.ndarray) -> float:
    """Source units -> metres, picked so an H36M leg (hip-knee-ankle) is closest to 0.85 m."""
    leg = (np.linalg.norm(joints[:, 1] - joints[:, 2], axis=-1)
           + np.linalg.norm(joints[:, 2] - joints[:, 3], axis=-1))
    leg = float(np.median(leg))
    if not leg > 0:
        return 1.0
    return float(_UNITS[np.argmin(np.abs(np.log(leg * _UNITS / 0.85)))])


def to_h36m(bvh: Bvh, mapping: dict | None = None, frames=None) -> np.ndarray:
    """FK + mapping: (T, 17, 3) float64 metres in the file's world frame."""
    mapping = mapping or resolve_mapping(bvh.names)
    sites = {k: (v[0], v[1]) for k, v in mapping.get("virtual_sites", {}).items()}
    names, pos = forward_kinematics(bvh, 1.0, sites, frames)
    joints = np.einsum("kj,tjd->tkd", mapping_matrix(mapping, names, bvh.path), pos)
    scale = mapping.get("scale") or guess_scale(joints)
    return joints * scale
