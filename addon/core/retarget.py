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

Feet: the 17-joint skeleton ends at the ankles, so nothing says where the toes point. A preset's
`level` bones (the feet) therefore keep their rest tilt to the floor and only turn about the
vertical with the heading of a segment (the shin's lateral axis): flat feet that face where the
knee faces, instead of feet that swing with the shin.

Floor: the result is grounded at its ankles (the engine puts the lowest ankle of the clip at
z = 0). A target rig stands higher or lower in its rest pose than the source rest pose does (its
ankle sits on a foot, its legs are bent), so after the rotations are solved its ankles are found
by forward kinematics and the root is shifted vertically, once for the whole clip, so that the
rig's lowest ankle in each frame is, as a median over the clip, at the source's lowest ankle
(scaled like the root motion) above the armature object's origin. Rotations only are keyed, so
every bone keeps its length in every frame, however the source bones' lengths vary.

Everything here is numpy on plain arrays and bone names; `blender/retarget_rig.py` reads the
armature's bones into `TargetBone`s and writes the solution as keyframes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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
    bones: dict  # target bone -> (from joint index, to joint index): points along that segment
    level: dict = field(default_factory=dict)  # target bone -> segment whose heading it turns with
    # pose bone -> {custom property: value} set on the rig before keying (a generated Rigify rig's
    # IK_FK = 1.0: its FK controls, which the preset keys, then move the limbs)
    properties: dict = field(default_factory=dict)


def bone_ending_at(mapping: Mapping, joint_index: int) -> str | None:
    """The target bone that follows a segment ending at this joint (the shin for an ankle), or None."""
    return next((name for name, (_, b) in mapping.bones.items() if b == joint_index), None)


# ----------------------------------------------------------------------------- presets

def preset_files(extra_dir: str | None = None) -> list[Path]:
    dirs = [PRESET_DIR] + ([Path(extra_dir)] if extra_dir else [])
    return sorted(p for d in dirs if d.is_dir() for p in d.glob("*.json"))


def load_preset(path) -> Mapping:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        tables = []
        for source in (data["bones"], data.get("level", {})):  # "level" (the feet) is optional
            table = {}
            for target, seg in source.items():
                a, b = seg
                if a not in JOINT_INDEX or b not in JOINT_INDEX:
                    raise RetargetError(f"Preset {p.name}: bone {target} names an unknown joint in {seg}.")
                table[str(target)] = (JOINT_INDEX[a], JOINT_INDEX[b])
            tables.append(table)
        properties = {str(bone): {str(k): float(v) for k, v in values.items()}
                      for bone, values in data.get("properties", {}).items()}
        return Mapping(str(data.get("name", p.stem)), str(data["root"]), *tables, properties)
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
    level = {get(t): seg for t, seg in mapping.level.items() if get(t) is not None}
    properties = {get(b): values for b, values in mapping.properties.items() if get(b) is not None}
    return Mapping(mapping.name, root, bones, level, properties)


def _matched(mapping: Mapping, bone_names) -> tuple[int, int]:
    """(preset bones found in `bone_names`, preset bones), root and level bones included."""
    names = set(bone_names) | {_norm(n) for n in bone_names}
    wanted = [mapping.root] + list(mapping.bones) + list(mapping.level)
    return sum((w in names) or (_norm(w) in names) for w in wanted), len(wanted)


def match_score(mapping: Mapping, bone_names) -> float:
    """Fraction of the preset's bones (root included) found in `bone_names`."""
    found, wanted = _matched(mapping, bone_names)
    return found / wanted


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
    """Best preset by bone names when one fits (>= 80 % of its bones), else keyword rules. Of two
    presets that fit equally well, the one that maps more bones wins (the feet and hands too)."""
    names = list(bone_names)
    best = max(presets(extra_dir).values(), key=lambda m: (match_score(m, names), _matched(m, names)[0]), default=None)
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
    mapping: Mapping | None = None  # the mapping solved for, in the armature's own bone names


def _heading_rotations(motion: RigMotion, c: int) -> np.ndarray:
    """(T, 3, 3) world rotations about the vertical that turn source bone `c`'s rest lateral axis
    onto its lateral axis in each frame, both seen from above. Where that axis points nearly
    straight up or down (a leg held sideways), the hip line stands in for it."""
    x = np.array(motion.world_rotations[:, c, :, 0], dtype=np.float64)
    hips = np.array(motion.world_rotations[:, ROOT, :, 0], dtype=np.float64)
    x[:, 2] = hips[:, 2] = 0.0
    weak = np.linalg.norm(x, axis=-1) < 0.3
    x[weak] = hips[weak]
    r = np.array(motion.rest_rotations[c][:, 0], dtype=np.float64)
    r[2] = 0.0
    ang = np.arctan2(r[0] * x[:, 1] - r[1] * x[:, 0], x[:, :2] @ r[:2])
    cos, sin = np.cos(ang), np.sin(ang)
    out = np.zeros((len(ang), 3, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1], out[:, 2, 2] = cos, -sin, sin, cos, 1.0
    return out


def _posed_tail(bones: list[TargetBone], world: np.ndarray, rest: np.ndarray, root: int, root_head: np.ndarray,
                i: int) -> np.ndarray | None:
    """(T, 3) armature-space tail of bone `i` posed by `world` with the root's head at `root_head`
    (forward kinematics down the chain from the root), or None when `i` is not below the root."""
    chain, k = [], i
    while k != root:
        if k < 0:
            return None
        chain.append(k)
        k = bones[k].parent
    head, p = root_head, root
    for k in reversed(chain):
        offset = bones[k].matrix[:3, 3] - bones[p].matrix[:3, 3]  # rest offset, carried by the parent
        head = head + (world[:, p] @ rest[p].T) @ offset
        p = k
    return head + world[:, i, :, 1] * bones[i].length


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
        if b.name == mapping.root or b.name in mapping.bones or b.name in mapping.level:
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
        elif b.name in mapping.level:
            world[:, i] = to_arm(_heading_rotations(motion, mapping.level[b.name][1])) @ rest[i]
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

    # root location: world head(t) = rest head (world) + scale * (pelvis(t) - rest pelvis), then
    # shifted vertically so the ankles meet the floor (module docstring)
    r = index[mapping.root]
    rest_head_world = A[:3, :3] @ bones[r].matrix[:3, 3] + A[:3, 3]
    head_world = rest_head_world + scale * (joints[:, ROOT] - rest_j[ROOT])
    to_arm_space = np.linalg.inv(A[:3, :3]).T
    shift = _floor_shift(motion, bones, world, rest, r, (head_world - A[:3, 3]) @ to_arm_space, A, scale, mapping)
    head_world[:, 2] += shift
    head_arm = (head_world - A[:3, 3]) @ to_arm_space
    # The same formula with or without a parent: bones above the root are not animated, so a
    # parent's pose is its rest pose and the root's location is its offset from its own rest head.
    offset = head_arm - bones[r].matrix[:3, 3]
    loc = np.einsum("ij,ti->tj", rest[r], offset)  # R^T offset, in the bone's rest frame
    loc /= np.linalg.norm(bones[r].matrix[:3, :3], axis=0)
    return RetargetMotion(quats, mapping.root, loc, float(scale), {n: world[:, i] for n, i in mapped.items()},
                          mapping)


def _floor_shift(motion: RigMotion, bones, world, rest, root: int, root_head: np.ndarray, A: np.ndarray, scale: float,
                 mapping: Mapping) -> float:
    """World units to move the root up so that the target's lowest ankle in each frame sits, as a
    median over the clip, at the source's lowest ankle (scaled) above the armature's origin, plus
    the rig's own ankle height (its rest ankle over its lowest rest point): the engine's floor is at
    the ankle joints, and a rig with feet then stands on its soles, not sunk to the ankles. 0 when
    the mapping has no bones ending at both ankles below the root."""
    ankles = [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]
    index = {b.name: i for i, b in enumerate(bones)}
    names = [bone_ending_at(mapping, j) for j in ankles]
    tails = [None if n is None else _posed_tail(bones, world, rest, root, root_head, index[n]) for n in names]
    if any(t is None for t in tails):
        return 0.0
    target_low = np.min([(t @ A[:3, :3].T)[:, 2] + A[2, 3] for t in tails], axis=0)
    source_low = motion.joints[:, ankles, 2].min(axis=1)
    return float(np.median(A[2, 3] + scale * source_low - target_low)) + _rest_ankle_height(bones, names, A)


def _rest_ankle_height(bones, ankle_bones: list[str], A: np.ndarray) -> float:
    """World height of the rig's lower ankle (the tail of a bone ending there) over its lowest rest
    point (any bone's head or tail: the sole or toe of a rig with feet); 0 for a rig whose legs end
    at the ankles (the generated one)."""
    def world_z(bone, along: float) -> float:
        m = bone.matrix
        point = m[:3, 3] + m[:3, 1] / np.linalg.norm(m[:3, 1]) * bone.length * along
        return float((A[:3, :3] @ point + A[:3, 3])[2])
    lowest = min(min(world_z(b, 0.0), world_z(b, 1.0)) for b in bones)
    by_name = {b.name: b for b in bones}
    return max(0.0, min(world_z(by_name[n], 1.0) for n in ankle_bones) - lowest)
