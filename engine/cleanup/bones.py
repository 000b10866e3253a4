"""One length per bone for the whole clip: the joints move, the bones do not stretch.

The model predicts every frame's joints on their own, so a forearm can be 4 cm or 29 cm long
depending on the frame. An animator's rig has fixed bones; a retarget of stretching bones
either stretches the rig or leaves the hands off their targets. The clip's length of each bone
is the median over confident detected frames, the same for the left and right side (real bodies
are symmetric), and every frame is rebuilt from the root outwards with those lengths, keeping
each bone's direction.
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
