"""Retarget the solved motion onto an existing armature, in world space.

Mapping presets (`presets/*.json`, user-editable) name, for each target bone, the segment
[from joint, to joint] of the engine skeleton it should follow, plus a `root` bone that gets the
pelvis position and the body's orientation.

Rest-pose compensation: for a mapped bone T with rest rotation R_T (armature space), the posed
rotation is  W_T(t) = dW_S(t) · C_T · R_T, where dW_S(t) = F_S(t) F_S(rest)^T is how the source
segment turned from the source rest pose, and C_T is the smallest rotation taking T's rest
direction onto the source segment's rest direction. T therefore points exactly along the
segment in every frame whatever its roll, and an A-pose or T-pose rest makes no difference.
Unmapped bones follow their parent rigidly. Root translation is scaled by leg length
(target thigh + shin over source thigh + shin).

Everything here is numpy on plain arrays and bone names; `blender/retarget_rig.py` reads the
armature's bones into `TargetBone`s and writes the solution as keyframes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import RetargetError
from .rig_solver import RigMotion, frames_from_axis, local_rotations, matrix_to_quaternion, quaternion_continuity, unit
from .skeleton import JOINT_INDEX, ROOT

PRESET_DIR = Path(__file__).resolve().parents[1] / "presets"  # addon/presets, user-editable JSON
LEG_SEGMENTS = (("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"))


@dataclass
class Mapping:
    name: str
    root: str
    bones: dict  # target bone -> (from joint index, to joint index)


# ----------------------------------------------------------------------------- presets

def preset_files(extra_dir: str | None = None) -> list[Path]:
    dirs = [PRESET_DIR] + ([Path(extra_dir)] if extra_dir else [])
    return sorted(p for d in dirs if d.is_dir() for p in d.glob("*.json"))


def load_preset(path) -> Mapping:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        bones = {}
        for target, seg in data["bones"].items():
            a, b = seg
            if a not in JOINT_INDEX or b not in JOINT_INDEX:
                raise RetargetError(f"Preset {p.name}: bone {target} names an unknown joint in {seg}.")
            bones[str(target)] = (JOINT_INDEX[a], JOINT_INDEX[b])
        return Mapping(str(data.get("name", p.stem)), str(data["root"]), bones)
    except RetargetError:
        raise
    except Exception as exc:
        raise RetargetError(f"Preset {p.name} cannot be read ({type(exc).__name__}: {exc}).") from exc


def presets(extra_dir: str | None = None) -> dict[str, Mapping]:
    """Preset id (file stem) -> Mapping."""
    return {p.stem: load_preset(p) for p in preset_files(extra_dir)}


def _norm(name: str) -> str:
    """Bone name without a 'prefix:' namespace (mixamorig:, mixamorig1:, Character1:), lower-case."""
    return name.rsplit(":", 1)[-1].lower()


def resolve_names(mapping: Mapping, bone_names) -> Mapping:
    """The mapping with its bone names replaced by the armature's own spelling (namespace and case
    may differ); bones the armature lacks are dropped; raises if the root is missing."""
    lookup = {}
    for n in bone_names:
        lookup.setdefault(n, n)
        lookup.setdefault(_norm(n), n)
    get = lambda n: lookup.get(n) or lookup.get(_norm(n))  # noqa: E731
    root = get(mapping.root)
    if root is None:
        raise RetargetError(f"The armature has no bone '{mapping.root}' required by the '{mapping.name}' mapping.")
    bones = {get(t): seg for t, seg in mapping.bones.items() if get(t) is not None}
    return Mapping(mapping.name, root, bones)


def match_score(mapping: Mapping, bone_names) -> float:
    """Fraction of the preset's bones (root included) found in `bone_names`."""
    names = set(bone_names) | {_norm(n) for n in bone_names}
    wanted = [mapping.root] + list(mapping.bones)
    return sum((w in names) or (_norm(w) in names) for w in wanted) / len(wanted)


# keyword rules for "auto": (regex on the normalised name, segment); side from L/R tokens
_SIDE = re.compile(r"(^|[._\- ])(l|left)([._\- ]|$)|^left|left(?=[a-z])|\.l$|_l$", re.I)
_SIDE_R = re.compile(r"(^|[._\- ])(r|right)([._\- ]|$)|^right|right(?=[a-z])|\.r$|_r$", re.I)
_KEYWORDS = (
    (r"(up_?leg|thigh|upperleg|femur)", ("{s}_hip", "{s}_knee")),
    (r"(shin|calf|lower_?leg|knee|(?<!up)leg$)", ("{s}_knee", "{s}_ankle")),
    (r"(fore_?arm|lower_?arm|elbow)", ("{s}_elbow", "{s}_wrist")),
    (r"(upper_?arm|(?<!fore)arm$)", ("{s}_shoulder", "{s}_elbow")),
    (r"(shoulder|clavicle|collar)", ("thorax", "{s}_shoulder")),
)


def auto_mapping(bone_names, extra_dir: str | None = None) -> Mapping:
    """Best preset by bone names when one fits (>= 80 % of its bones), else keyword rules."""
    names = list(bone_names)
    best = max(presets(extra_dir).values(), key=lambda m: match_score(m, names), default=None)
    if best is not None and match_score(best, names) >= 0.8:
        return resolve_names(best, names)
    bones, root = {}, None
    for n in names:
        low = _norm(n)
        if any(tok in low for tok in ("ik", "pole", "target", "mch", "org-", "twist", "roll")):
            continue
        if root is None and re.search(r"(hips|pelvis|root)$", low):
            root = n
            continue
        side = "left" if _SIDE.search(low) else "right" if _SIDE_R.search(low) else None
        if side is None:
            if re.search(r"neck", low) and "neck" not in str(bones.values()):
                bones[n] = (JOINT_INDEX["thorax"], JOINT_INDEX["neck"])
            elif re.search(r"head$", low):
                bones[n] = (JOINT_INDEX["neck"], JOINT_INDEX["head"])
            continue
        for pattern, (a, b) in _KEYWORDS:
            if re.search(pattern, low):
                seg = (JOINT_INDEX[a.format(s=side)], JOINT_INDEX[b.format(s=side)])
                if seg not in bones.values():
                    bones[n] = seg
                break
    if root is None or len(bones) < 6:
        raise RetargetError("No mapping preset fits this armature and its bone names are not recognised; pick or write a preset.")
    return Mapping("auto", root, bones)


def choose_mapping(bone_names, preset_id: str = "AUTO", extra_dir: str | None = None) -> Mapping:
    """The mapping for an armature with these bone names: preset `preset_id` in the armature's own
    spelling, or the automatic choice for "AUTO" (or "")."""
    names = list(bone_names)
    if preset_id in ("", "AUTO", "auto"):
        return auto_mapping(names, extra_dir)
    table = presets(extra_dir)
    if preset_id not in table:
        raise RetargetError(f"There is no mapping preset named '{preset_id}'.")
    return resolve_names(table[preset_id], names)


# ----------------------------------------------------------------------------- maths

def _segment_frames(joints, a, b, twist_x):
    """(T, 3, 3) frames along joint a -> b with X from `twist_x` (T, 3)."""
    return frames_from_axis(joints[:, b] - joints[:, a], twist_x)


def _min_rotation(u, v):
    """3x3 rotation taking unit vector u onto unit vector v by the shortest arc."""
    u, v = unit(np.asarray(u, float)), unit(np.asarray(v, float))
    c = float(np.dot(u, v))
    axis = np.cross(u, v)
    s = np.linalg.norm(axis)
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = np.cross(u, [1, 0, 0]) if abs(u[0]) < 0.9 else np.cross(u, [0, 1, 0])
        axis, s, c = unit(perp), 0.0, -1.0
        k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        return np.eye(3) + 2 * k @ k
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]]) / s
    return np.eye(3) + s * k + (1 - c) * k @ k


@dataclass
class TargetBone:
    name: str
    parent: int  # index into the list, -1 for none; parents come first
    matrix: np.ndarray  # (4, 4) rest matrix in armature space (bone.matrix_local)
    length: float


@dataclass
class RetargetMotion:
    """Per mapped target bone: quaternions (T, 4); for the root also location (T, 3)."""

    quaternions: dict
    root: str
    root_location: np.ndarray
    scale: float
    world_rotations: dict  # bone -> (T, 3, 3) armature-space posed rotations (for tests)


def solve_retarget(motion: RigMotion, bones: list[TargetBone], mapping: Mapping, object_matrix=None) -> RetargetMotion:
    """Posed rotations of `bones` following `motion`; `object_matrix` is the armature object's
    (4, 4) world matrix (rotation, uniform scale, translation)."""
    A = np.eye(4) if object_matrix is None else np.asarray(object_matrix, dtype=np.float64)
    obj_scale = np.cbrt(abs(np.linalg.det(A[:3, :3])))
    Ra = A[:3, :3] / obj_scale
    joints = motion.joints
    rest_j = motion.rest_joints
    index = {b.name: i for i, b in enumerate(bones)}
    if mapping.root not in index:
        raise RetargetError(f"The armature has no bone '{mapping.root}'.")

    # leg-length scale, measured in world units
    src_leg = sum(np.linalg.norm(rest_j[JOINT_INDEX[b]] - rest_j[JOINT_INDEX[a]]) for a, b in LEG_SEGMENTS)
    seg_to_bone = {seg: name for name, seg in mapping.bones.items()}
    tgt = [bones[index[seg_to_bone[(JOINT_INDEX[a], JOINT_INDEX[b])]]].length
           for a, b in LEG_SEGMENTS if (JOINT_INDEX[a], JOINT_INDEX[b]) in seg_to_bone]
    scale = (sum(tgt) * obj_scale * len(LEG_SEGMENTS) / len(tgt) / src_leg) if tgt else 1.0

    def to_arm(rot):  # world rotation delta (..., 3, 3) -> armature space
        return Ra.T @ rot @ Ra

    T = motion.num_frames
    world = np.zeros((T, len(bones), 3, 3))
    rest = np.stack([b.matrix[:3, :3] / np.linalg.norm(b.matrix[:3, :3], axis=0) for b in bones])
    mapped = {}
    needed = set()  # mapped bones and their ancestors: the only world rotations anyone reads
    for i, b in enumerate(bones):
        if b.name == mapping.root or b.name in mapping.bones:
            k = i
            while k >= 0 and k not in needed:
                needed.add(k)
                k = bones[k].parent
    for i, b in enumerate(bones):
        if i not in needed:
            continue
        if b.name == mapping.root:
            d = motion.world_rotations[:, ROOT] @ motion.rest_rotations[ROOT].T
            world[:, i] = to_arm(d) @ rest[i]
            mapped[b.name] = i
        elif b.name in mapping.bones:
            a, c = mapping.bones[b.name]
            twist = motion.world_rotations[:, c, :, 0]
            rest_twist = motion.rest_rotations[c][:, 0][None]
            f_t = _segment_frames(joints, a, c, twist)
            f_r = _segment_frames(rest_j[None], a, c, rest_twist)[0]
            d = to_arm(f_t @ f_r.T)
            C = _min_rotation(rest[i][:, 1], Ra.T @ f_r[:, 1])
            world[:, i] = d @ C @ rest[i]
            mapped[b.name] = i
        elif b.parent >= 0:
            world[:, i] = world[:, b.parent] @ rest[b.parent].T @ rest[i]
        else:
            world[:, i] = rest[i]
    quats = {}
    for name, i in mapped.items():
        p = bones[i].parent
        local = local_rotations(world[:, [p, i]], rest[[p, i]], [-1, 0])[:, 1] if p >= 0 else \
            local_rotations(world[:, [i]], rest[[i]], [-1])[:, 0]
        quats[name] = quaternion_continuity(matrix_to_quaternion(local))

    # root location: world head(t) = rest head (world) + scale * (pelvis(t) - rest pelvis)
    r = index[mapping.root]
    rest_head_world = A[:3, :3] @ bones[r].matrix[:3, 3] + A[:3, 3]
    head_world = rest_head_world + scale * (joints[:, ROOT] - rest_j[ROOT])
    head_arm = (head_world - A[:3, 3]) @ np.linalg.inv(A[:3, :3]).T
    # The same formula with or without a parent: bones above the root are not animated, so a
    # parent's pose is its rest pose and the root's location is its offset from its own rest head.
    offset = head_arm - bones[r].matrix[:3, 3]
    loc = np.einsum("ij,ti->tj", rest[r], offset)  # R^T offset, in the bone's rest frame
    loc /= np.linalg.norm(bones[r].matrix[:3, :3], axis=0)
    return RetargetMotion(quats, mapping.root, loc, float(scale), {n: world[:, i] for n, i in mapped.items()})
