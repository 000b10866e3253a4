"""Root trajectory: where the pelvis is in the camera frame, from root-relative 3D + 2D keypoints.

The model predicts poses relative to the pelvis. For root motion in Blender we solve, per frame,
for the translation T that makes the perspective projection of (pose + T) match the 2D keypoints:
u_j (Z_j + T_z) = f (X_j + T_x) and v_j (Z_j + T_z) = f (Y_j + T_y), linear in T, weighted by the
keypoint confidences. The focal length is unknown for video from the wild; we assume a typical
60-degree horizontal field of view (f = 1 / tan(30 deg) in screen-normalised units). A wrong focal
scales depth, not the shape of the path across the image.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_FOCAL = 1.0 / math.tan(math.radians(30.0))


def estimate_root_trajectory(joints3d: np.ndarray, keypoints2d: np.ndarray, scores: np.ndarray,
                             focal: float = DEFAULT_FOCAL) -> np.ndarray:
    """(T, 17, 3) root-relative camera joints, (T, 17, 2) screen-normalised 2D, (T, 17) scores
    -> (T, 3) camera-frame pelvis positions in metres."""
    x, y, z = joints3d[..., 0], joints3d[..., 1], joints3d[..., 2]
    u, v = keypoints2d[..., 0], keypoints2d[..., 1]
    w = np.sqrt(np.clip(scores, 0.0, 1.0))[..., None]                     # (T, J, 1)
    zeros, f = np.zeros_like(u), np.full_like(u, focal)
    rows_u = np.stack([f, zeros, -u], axis=-1)                             # (T, J, 3)
    rows_v = np.stack([zeros, f, -v], axis=-1)
    a = np.concatenate([rows_u * w, rows_v * w], axis=1).astype(np.float64)   # (T, 2J, 3)
    b = np.concatenate([(u * z - focal * x)[..., None] * w, (v * z - focal * y)[..., None] * w], axis=1)
    ata = a.transpose(0, 2, 1) @ a + 1e-6 * np.eye(3)
    atb = a.transpose(0, 2, 1) @ b.astype(np.float64)
    t = np.linalg.solve(ata, atb)[..., 0]
    t[:, 2] = np.maximum(t[:, 2], 0.5)                                     # in front of the camera
    return t.astype(np.float32)
