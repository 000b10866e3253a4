"""The Human3.6M 17-joint skeleton: the engine's only internal layout (see shared conventions).

Every other fact about the skeleton (bones, flip permutation, adjacency) is derived here from
`PARENTS` and `FLIP_PAIRS`, so there is exactly one copy of it in the project.
"""

from __future__ import annotations

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)
NUM_JOINTS = len(JOINT_NAMES)
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
FLIP_PAIRS: tuple[tuple[int, int], ...] = ((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16))
ROOT = 0
LEFT_ANKLE, RIGHT_ANKLE = 6, 3
LEFT_KNEE, RIGHT_KNEE = 5, 2
LEFT_HIP, RIGHT_HIP = 4, 1
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 14
LEFT_ELBOW, RIGHT_ELBOW = 12, 15
LEFT_WRIST, RIGHT_WRIST = 13, 16
THORAX = 8
NOSE = 9                  # "neck" in H36M's names: detectors give the nose there
HEAD = 10                 # the top of the head in H36M's layout
FACE = (NOSE, HEAD)       # the joints detectors miss together (engine.missing_face)

# (parent, child) for every joint but the root, in joint order.
BONES: tuple[tuple[int, int], ...] = tuple((PARENTS[j], j) for j in range(1, NUM_JOINTS))


def _flip_permutation() -> np.ndarray:
    perm = np.arange(NUM_JOINTS)
    for a, b in FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm


# Index array that swaps left and right joints: `joints[..., FLIP_PERMUTATION, :]`.
FLIP_PERMUTATION: np.ndarray = _flip_permutation()


def flip_left_right(joints: np.ndarray) -> np.ndarray:
    """Mirror a pose horizontally: negate x and swap left/right joints.

    Works for screen-normalised 2D (..., 17, 2) (u -> -u) and camera 3D (..., 17, 3) (x -> -x),
    because both frames have their origin on the image's vertical centre line / optical axis.
    """
    out = np.array(joints, copy=True)[..., FLIP_PERMUTATION, :]
    out[..., 0] *= -1
    return out


def adjacency(self_loops: bool = True) -> np.ndarray:
    """(17, 17) symmetric 0/1 bone adjacency, with ones on the diagonal when `self_loops`."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS), dtype=np.float32)
    for p, c in BONES:
        a[p, c] = a[c, p] = 1.0
    if self_loops:
        a += np.eye(NUM_JOINTS, dtype=np.float32)
    return a


def bone_lengths(joints):
    """Lengths of the 16 bones of (..., 17, D) joints, shape (..., 16), in the joints' unit.

    numpy arrays or torch tensors: the training loss takes a tensor's lengths through autograd,
    so the one definition of a bone serves the losses, the data code and the checks alike."""
    diff = joints[..., _BONE_CHILDREN, :] - joints[..., _BONE_PARENTS, :]
    if isinstance(diff, np.ndarray):
        return np.linalg.norm(diff, axis=-1)
    return diff.norm(dim=-1)


_BONE_PARENTS = [p for p, _ in BONES]
_BONE_CHILDREN = [c for _, c in BONES]