"""One length per bone for the whole clip: the joints move, the bones do not stretch.

The model predicts every frame's joints on their own, so a forearm can be 4 cm or 29 cm long
depending on the frame. An animator's rig has fixed bones; a retarget of stretching bones
either stretches the rig or leaves the hands off their targets. The clip's length of each bone
is the median over confident detected frames, the same for the left and right side (real bodies
are symmetric), and every frame is rebuilt from the root outwards with those lengths, keeping
each bone's direction (`with_bone_lengths`). The first rebuild, from the model's own poses, keeps
what the camera saw instead (`with_bone_lengths_seen`): where a bone must grow or shrink, its depth
gives more than its image-plane extent, since the 2D was seen and the depth is the model's guess.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import BONES, FLIP_PERMUTATION, bone_lengths

CONFIDENT = 0.3      # both ends at least this confident for a frame to vote on a bone's length


def clip_bone_lengths(joints: np.ndarray, scores: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(T, 17, 3) joints, (T, 17) 2D scores, (T,) usable frames -> (16,) lengths (metres): the median
    over frames where both ends were seen confidently (all usable frames when too few were),
    averaged between each bone and its mirror."""
    lengths = bone_lengths(joints)                                          # (T, 16)
    parents, children = np.array(BONES).T
    seen = usable[:, None] & (scores[:, parents] > CONFIDENT) & (scores[:, children] > CONFIDENT)
    median = np.empty(len(BONES))
    for b in range(len(BONES)):
        votes = lengths[seen[:, b], b]
        if votes.size < 5:
            votes = lengths[usable, b] if usable.any() else lengths[:, b]
        median[b] = np.median(votes)
    mirror = [BONES.index((FLIP_PERMUTATION[p], FLIP_PERMUTATION[c])) for p, c in BONES]
    return (median + median[mirror]) / 2


# How much a depth error counts against an image-plane one in `with_bone_lengths_seen`. On lift's
# default preset with the shipped weights (2026-12-03), before the image fit existed: 0.5 took the
# real Detectron2 videos' reprojection median from 16.8 to 16.0 % of the torso height and `cross`
# MPJPE after the clean-up from 96.8 to 96.0 mm, jitter unchanged (9.3 mm/frame^2); 0.3 gained a
# little more but shook (10.4), 0 flipped depths (142 mm). After the image fit (engine.cleanup.
# image_fit), whose x, y it should keep, 0.7 shook less than 0.5 (9.8 against 10.1) for 0.6 mm on `cross`.
DEPTH_WEIGHT = 0.7


def with_bone_lengths_seen(joints: np.ndarray, lengths: np.ndarray, depth_weight: float = DEPTH_WEIGHT) -> np.ndarray:
    """(T, 17, 3) camera-frame joints rebuilt from the root with the (16,) bone lengths, each child
    put at its bone's length from its placed parent, at the point nearest where the model put it,
    with depth (camera z) differences counted `depth_weight` times the image-plane ones. Targeting
    the child's own position, not its bone's direction, keeps a chain's end where it was seen when a
    parent moved."""
    joints = np.asarray(joints, dtype=np.float64)
    out = joints.copy()
    for b, (p, c) in enumerate(BONES):
        out[:, c] = out[:, p] + _nearest_on_sphere(joints[:, c] - out[:, p], lengths[b], depth_weight)
    return out


def _nearest_on_sphere(d: np.ndarray, radius: float, depth_weight: float, iterations: int = 60) -> np.ndarray:
    """(T, 3) vectors -> (T, 3) vectors of length `radius`, each nearest its vector in the metric
    diag(1, 1, depth_weight). The minimiser is W d / (W + lam) for the Lagrange multiplier lam whose
    length is `radius`; that length falls as lam rises above -min(W), so bisection finds it."""
    w = np.array([1.0, 1.0, depth_weight])
    lo = np.full(len(d), -min(1.0, depth_weight) + 1e-9)
    hi = np.full(len(d), 1e3)
    for _ in range(iterations):
        lam = (lo + hi) / 2
        too_long = ((w * d / (w + lam[:, None])) ** 2).sum(-1) > radius ** 2
        lo, hi = np.where(too_long, lam, lo), np.where(too_long, hi, lam)
    return w * d / (w + hi[:, None])


def with_bone_lengths(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(T, 17, 3) joints rebuilt from the root with the (16,) bone lengths; each bone keeps its
    direction. BONES is in joint order, so a parent is always placed before its children."""
    joints = np.asarray(joints, dtype=np.float64)
    out = joints.copy()
    for b, (p, c) in enumerate(BONES):
        d = joints[:, c] - joints[:, p]
        norm = np.linalg.norm(d, axis=-1, keepdims=True)
        out[:, c] = out[:, p] + d / np.maximum(norm, 1e-9) * lengths[b]
    return out
