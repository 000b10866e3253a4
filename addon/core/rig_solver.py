"""From joint positions to an armature: bone lengths, rest pose, per-frame bone rotations. No bpy.

Everything is plain numpy so it runs (and is tested) without Blender; `blender/armature_build.py`
and `blender/retarget_rig.py` turn the arrays into bones and keyframes. The skeleton (parents,
bones, bone lengths) comes from `skeleton.py`, the add-on's one copy.

Frames: all positions are in the Blender world frame of the result file (metres, Z up, the
character faces -Y, so its left is +X). Bone frames follow Blender: a bone's local Y axis runs
from head to tail; X and Z carry the twist (roll).

The generated rig has a root bone named after the root joint ("pelvis", head on the pelvis,
pointing up) and one bone per other joint, named after the joint at its TAIL: bone "left_knee"
runs from the left hip to the left knee. Its rest pose is clean (standing, T-pose arms) with
bone lengths from the clip (median, left/right averaged).

Exactness: the engine's per-frame bone lengths vary slightly around those medians, so each bone
also gets a per-frame Y scale `length(t) / rest_length`. Child bones use Blender's
`inherit_scale = 'NONE'`: their heads still follow the parent's scaled tail, but their own
length and orientation are not distorted. With rotations solved exactly along each bone, the
posed heads and tails reproduce the target joints to float precision (the 1 mm test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .skeleton import BONE_JOINTS, FLIP_PAIRS, JOINT_NAMES, NUM_JOINTS, PARENTS, ROOT, bone_lengths, joint

EPS = 1e-9
ROOT_BONE_LENGTH = 0.1  # metres; the root bone only carries the pelvis position and orientation

# Clean rest pose, facing -Y: unit direction of each bone (parent joint -> joint), by joint name.
# This is the add-on's choice of rest pose, not a copy of the skeleton.
REST_DIRECTIONS = {
    "right_hip": (-1, 0, 0), "left_hip": (1, 0, 0),
    "right_knee": (0, 0, -1), "left_knee": (0, 0, -1),
    "right_ankle": (0, 0, -1), "left_ankle": (0, 0, -1),
    "spine": (0, 0, 1), "thorax": (0, 0, 1), "neck": (0, 0, 1), "head": (0, 0, 1),
    "right_shoulder": (-1, 0, 0), "left_shoulder": (1, 0, 0),
    "right_elbow": (-1, 0, 0), "left_elbow": (1, 0, 0),
    "right_wrist": (-1, 0, 0), "left_wrist": (1, 0, 0),
}


# ----------------------------------------------------------------------------- small numpy helpers

def unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, EPS)


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions (w, x, y, z), Blender's order."""
    m = np.asarray(m, dtype=np.float64)
    t = np.stack([
        1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2],
        1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
        1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
        1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
    ], axis=-1)
    k = np.argmax(t, axis=-1)
    q = np.empty(m.shape[:-2] + (4,))
    s = np.sqrt(np.maximum(np.take_along_axis(t, k[..., None], -1)[..., 0], EPS)) * 2  # = 4 * largest component
    w = np.stack([s / 4, (m[..., 2, 1] - m[..., 1, 2]) / s, (m[..., 0, 2] - m[..., 2, 0]) / s, (m[..., 1, 0] - m[..., 0, 1]) / s], -1)
    x = np.stack([(m[..., 2, 1] - m[..., 1, 2]) / s, s / 4, (m[..., 0, 1] + m[..., 1, 0]) / s, (m[..., 0, 2] + m[..., 2, 0]) / s], -1)
    y = np.stack([(m[..., 0, 2] - m[..., 2, 0]) / s, (m[..., 0, 1] + m[..., 1, 0]) / s, s / 4, (m[..., 1, 2] + m[..., 2, 1]) / s], -1)
    z = np.stack([(m[..., 1, 0] - m[..., 0, 1]) / s, (m[..., 0, 2] + m[..., 2, 0]) / s, (m[..., 1, 2] + m[..., 2, 1]) / s, s / 4], -1)
    for i, cand in enumerate((w, x, y, z)):
        q = np.where((k == i)[..., None], cand, q)
    return unit(q)


def quaternion_continuity(q: np.ndarray) -> np.ndarray:
    """(T, ..., 4) quaternions with signs flipped so consecutive frames have dot >= 0 (no flips)."""
    q = np.array(q, dtype=np.float64, copy=True)
    if q.shape[0] < 2:
        return q
    # sign of each raw step; the sign of frame t is the product of the steps up to t
    step = np.where(np.sum(q[1:] * q[:-1], axis=-1) < 0, -1.0, 1.0)
    sign = np.concatenate([np.ones((1,) + step.shape[1:]), np.cumprod(step, axis=0)], axis=0)
    return q * sign[..., None]


def frames_from_axis(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(T, 3) bone axes and (T, 3) twist references -> (T, 3, 3) rotations, columns X, Y, Z.

    X is `ref` made orthogonal to Y. Where `ref` is (nearly) parallel to Y, X is carried over from
    the previous frame, so the twist never jumps.
    """
    y = unit(y)
    x = ref - np.sum(ref * y, -1, keepdims=True) * y
    n = np.linalg.norm(x, axis=-1)
    bad = n < 1e-4
    x = x / np.maximum(n, EPS)[:, None]
    if bad.any():
        fallback = np.array([1.0, 0.0, 0.0])
        for t in np.flatnonzero(bad):
            prev = x[t - 1] if t > 0 else fallback
            cand = prev - np.dot(prev, y[t]) * y[t]
            if np.linalg.norm(cand) < 1e-4:
                cand = np.cross(y[t], [0.0, 0.0, 1.0]) if abs(y[t, 2]) < 0.9 else np.cross(y[t], [0.0, 1.0, 0.0])
            x[t] = cand / np.linalg.norm(cand)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def _blend_plane_normal(a: np.ndarray, b: np.ndarray, fallback: np.ndarray, bend_full: float = 0.25) -> np.ndarray:
    """Twist reference for a two-bone limb: the limb plane normal a x b where the limb is bent,
    sliding to `fallback` as it straightens (sine of the bend angle below `bend_full`)."""
    n = np.cross(a, b)
    sine = np.linalg.norm(n, axis=-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), EPS)
    n = unit(n)
    n = np.where((np.sum(n * fallback, -1) < 0)[:, None], -n, n)  # keep the side of the fallback
    w = np.clip(sine / bend_full, 0.0, 1.0)[:, None]
    return unit(w * n + (1 - w) * fallback)


# ----------------------------------------------------------------------------- lengths and rest pose

def robust_bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(T, 17, 3) -> (17,) length of the bone ending at each joint (root: ROOT_BONE_LENGTH).

    Median over frames (robust to the odd bad frame), then each left/right pair is averaged so
    the rig is symmetric.
    """
    joints = np.asarray(joints, dtype=np.float64)
    lengths = np.full(NUM_JOINTS, ROOT_BONE_LENGTH)
    lengths[list(BONE_JOINTS)] = np.median(bone_lengths(joints), axis=0)
    for a, b in FLIP_PAIRS:
        lengths[a] = lengths[b] = 0.5 * (lengths[a] + lengths[b])
    return np.maximum(lengths, 1e-3)


def rest_joints(lengths: np.ndarray) -> np.ndarray:
    """(17,) bone lengths -> (17, 3) rest joint positions: standing, T-pose, feet on z = 0."""
    pos = np.zeros((NUM_JOINTS, 3))
    for j in BONE_JOINTS:
        pos[j] = pos[PARENTS[j]] + lengths[j] * np.asarray(REST_DIRECTIONS[JOINT_NAMES[j]], dtype=np.float64)
    pos[:, 2] -= pos[[joint("left_ankle"), joint("right_ankle")], 2].min()
    return pos


# ----------------------------------------------------------------------------- orientations

def bone_world_rotations(joints: np.ndarray) -> np.ndarray:
    """(T, 17, 3) joints -> (T, 17, 3, 3) world rotation of each bone (index = joint index; the
    root joint's slot holds the root bone, which points up the torso).

    Twist references: the hip line for the root, spine, hips and legs (the knee's plane when the
    leg is bent); the shoulder line for the chest, neck and head; the elbow's plane for the arms,
    falling back to "bone axis x body forward" when the arm is straight.
    """
    p = np.asarray(joints, dtype=np.float64)
    J = joint
    hip_x = unit(p[:, J("left_hip")] - p[:, J("right_hip")])
    sh_x = unit(p[:, J("left_shoulder")] - p[:, J("right_shoulder")])
    up = unit(p[:, J("thorax")] - p[:, ROOT])
    forward = unit(np.cross(unit(hip_x + sh_x), up))  # -Y at rest
    T = p.shape[0]
    rot = np.zeros((T, NUM_JOINTS, 3, 3))

    def seg(j):
        return p[:, j] - p[:, PARENTS[j]]

    rot[:, ROOT] = frames_from_axis(up, hip_x)
    for side in ("left", "right"):
        hip, knee, ankle = J(f"{side}_hip"), J(f"{side}_knee"), J(f"{side}_ankle")
        leg_ref = _blend_plane_normal(seg(knee), seg(ankle), hip_x)
        rot[:, hip] = frames_from_axis(seg(hip), up)
        rot[:, knee] = frames_from_axis(seg(knee), leg_ref)
        rot[:, ankle] = frames_from_axis(seg(ankle), leg_ref)
        sh, el, wr = J(f"{side}_shoulder"), J(f"{side}_elbow"), J(f"{side}_wrist")
        arm_fallback = unit(np.cross(unit(seg(el)), forward) + 1e-3 * up)
        arm_ref = _blend_plane_normal(seg(el), seg(wr), arm_fallback)
        rot[:, sh] = frames_from_axis(seg(sh), up)
        rot[:, el] = frames_from_axis(seg(el), arm_ref)
        rot[:, wr] = frames_from_axis(seg(wr), arm_ref)
    rot[:, J("spine")] = frames_from_axis(seg(J("spine")), hip_x)
    for name in ("thorax", "neck", "head"):
        rot[:, J(name)] = frames_from_axis(seg(J(name)), sh_x)
    return rot


def local_rotations(world: np.ndarray, rest: np.ndarray, parent_of: list[int]) -> np.ndarray:
    """Blender pose-bone rotations from world ones: basis = R^T R_p W_p^T W (armature at identity).

    world: (T, B, 3, 3) posed, rest: (B, 3, 3), parent_of[b] = parent slot or -1.
    """
    out = np.empty_like(world)
    for b, pb in enumerate(parent_of):
        if pb < 0:
            out[:, b] = rest[b].T @ world[:, b]
        else:
            out[:, b] = rest[b].T @ rest[pb] @ np.swapaxes(world[:, pb], -1, -2) @ world[:, b]
    return out


# ----------------------------------------------------------------------------- clean-up passes

def remove_root_motion(joints: np.ndarray) -> np.ndarray:
    """Keep the character in place: subtract the pelvis' horizontal path (height kept)."""
    out = np.array(joints, dtype=np.float64, copy=True)
    path = out[:, ROOT, :2] - out[:1, ROOT, :2]
    out[..., :2] -= path[:, None, :]
    return out


def detect_foot_contacts(joints: np.ndarray, fps: float, height: float = 0.05, speed: float = 0.25) -> np.ndarray:
    """(T, 17, 3) -> (T, 2) bool contacts for (left, right) ankles: within `height` metres of the
    clip's lowest ankle height and moving slower than `speed` m/s horizontally."""
    ankles = np.asarray(joints)[:, [joint("left_ankle"), joint("right_ankle")]]
    floor = np.percentile(ankles[..., 2], 2.0)
    vel = np.zeros(ankles.shape[:2])
    if len(ankles) > 1:
        v = np.linalg.norm(np.diff(ankles[..., :2], axis=0), axis=-1) * fps
        vel[1:] = v
        vel[0] = v[0]
    return (ankles[..., 2] < floor + height) & (vel < speed)


def _two_bone_ik(hip, knee, target, a, b):
    """Knee position putting the ankle on `target` with thigh/shin lengths a, b; keeps the knee's
    bend direction (its offset from the hip-ankle line)."""
    d_vec = target - hip
    d = np.clip(np.linalg.norm(d_vec, axis=-1), 1e-6, (a + b) * 0.9999)
    u = d_vec / np.maximum(np.linalg.norm(d_vec, axis=-1), 1e-9)[:, None]
    pole = knee - hip
    pole = pole - np.sum(pole * u, -1, keepdims=True) * u
    pole = unit(pole)
    x = (a ** 2 - b ** 2 + d ** 2) / (2 * d)
    r = np.sqrt(np.maximum(a ** 2 - x ** 2, 0.0))
    return hip + x[:, None] * u + r[:, None] * pole


def pin_feet(joints: np.ndarray, fps: float, blend_frames: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Foot-contact clean-up: hold each ankle still during a detected contact and re-solve the
    knee with two-bone IK (thigh and shin keep their per-frame lengths). Contacts ease in and out
    over `blend_frames`. Returns (cleaned joints, (T, 2) contacts)."""
    out = np.array(joints, dtype=np.float64, copy=True)
    contacts = detect_foot_contacts(out, fps)
    T = len(out)
    for k, side in enumerate(("left", "right")):
        hip, knee, ankle = joint(f"{side}_hip"), joint(f"{side}_knee"), joint(f"{side}_ankle")
        target = out[:, ankle].copy()
        weight = np.zeros(T)
        c = contacts[:, k]
        t = 0
        while t < T:
            if not c[t]:
                t += 1
                continue
            e = t
            while e < T and c[e]:
                e += 1
            anchor = out[t:e, ankle].mean(axis=0)
            target[t:e] = anchor
            weight[t:e] = 1.0
            for i in range(1, blend_frames + 1):  # ease out after / in before the contact
                w = 1.0 - i / (blend_frames + 1)
                for f in (t - i, e - 1 + i):
                    if 0 <= f < T and w > weight[f]:
                        weight[f] = w
                        target[f] = anchor
            t = e
        moved = weight > 0
        if not moved.any():
            continue
        goal = out[:, ankle] + weight[:, None] * (target - out[:, ankle])
        a = np.linalg.norm(out[:, knee] - out[:, hip], axis=-1)
        b = np.linalg.norm(out[:, ankle] - out[:, knee], axis=-1)
        new_knee = _two_bone_ik(out[:, hip], out[:, knee], goal, a, b)
        new_ankle = new_knee + unit(goal - new_knee) * b[:, None]
        out[moved, knee] = new_knee[moved]
        out[moved, ankle] = new_ankle[moved]
    return out, contacts


# ----------------------------------------------------------------------------- the solve

@dataclass
class RigMotion:
    """Everything needed to build and animate the generated rig.

    bone_names (B,) with parent_of (B,) slots (-1 for the root); rest_matrices (B, 4, 4) armature
    space; rest_lengths (B,); quaternions (T, B, 4) pose-bone rotations (w, x, y, z), continuous;
    scales (T, B) pose-bone Y scale; root_location (T, 3) pose location of the root bone;
    joints (T, 17, 3) the joints the posed rig reproduces; world_rotations (T, 17, 3, 3) and
    rest_rotations (17, 3, 3) of the source bones, for retargeting.
    """

    bone_names: tuple
    parent_of: list
    rest_matrices: np.ndarray
    rest_lengths: np.ndarray
    quaternions: np.ndarray
    scales: np.ndarray
    root_location: np.ndarray
    joints: np.ndarray
    rest_joints: np.ndarray
    world_rotations: np.ndarray
    rest_rotations: np.ndarray
    contacts: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.quaternions.shape[0])


def solve(joints_world: np.ndarray, fps: float = 30.0, root_motion: bool = True, foot_cleanup: bool = False) -> RigMotion:
    """(T, 17, 3) Blender-world joints -> RigMotion for the generated rig.

    With `root_motion=False` the pelvis keeps its first horizontal position; with `foot_cleanup`
    the feet are pinned during contacts. `RigMotion.joints` holds the joints after those passes.
    """
    joints = np.asarray(joints_world, dtype=np.float64)
    if not root_motion:
        joints = remove_root_motion(joints)
    contacts = None
    if foot_cleanup:
        joints, contacts = pin_feet(joints, fps)
    lengths = robust_bone_lengths(joints)
    rest_p = rest_joints(lengths)
    rest_rot = bone_world_rotations(rest_p[None])[0]
    world = bone_world_rotations(joints)

    # Bone slots: 0 = root, then one per joint j != ROOT in joint order (slot of joint j = j here
    # because the root is joint 0; kept general through `slot`).
    slot = {ROOT: 0}
    for i, j in enumerate(BONE_JOINTS, start=1):
        slot[j] = i
    order = (ROOT,) + BONE_JOINTS
    parent_of = [-1] + [slot[PARENTS[j]] for j in BONE_JOINTS]
    rest_m = np.tile(np.eye(4), (len(order), 1, 1))
    for s, j in enumerate(order):
        rest_m[s, :3, :3] = rest_rot[j]
        rest_m[s, :3, 3] = rest_p[j] if j == ROOT else rest_p[PARENTS[j]]
    local = local_rotations(world[:, list(order)], rest_rot[list(order)], parent_of)
    quats = quaternion_continuity(matrix_to_quaternion(local))
    T = len(joints)
    scales = np.ones((T, len(order)))
    scales[:, 1:] = bone_lengths(joints) / lengths[list(BONE_JOINTS)]  # slots 1.. are BONE_JOINTS
    root_loc = (joints[:, ROOT] - rest_p[ROOT]) @ rest_rot[ROOT]  # R^T (p - head), row-vector form
    return RigMotion(
        bone_names=tuple(JOINT_NAMES[j] for j in order), parent_of=parent_of, rest_matrices=rest_m,
        rest_lengths=np.array([lengths[j] for j in order]), quaternions=quats, scales=scales,
        root_location=root_loc, joints=joints, rest_joints=rest_p, world_rotations=world,
        rest_rotations=rest_rot, contacts=contacts,
    )
