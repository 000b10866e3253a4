"""Root trajectory: where the pelvis is in the camera frame, from root-relative 3D + 2D keypoints.

The model predicts poses relative to the pelvis. For root motion in Blender we solve, per frame,
for the translation T that makes the perspective projection of (pose + T) match the 2D keypoints:
u_j (Z_j + T_z) = f (X_j + T_x) and v_j (Z_j + T_z) = f (Y_j + T_y), linear in T, weighted by the
keypoint confidences. The focal length is the caller's: for video from the wild it is unknown, and
`lift` assumes a 35 mm-equivalent lens (engine.frames.screen_focal). A wrong focal scales depth,
not the shape of the path across the image.

Depth is the weak part: it comes from the person's apparent size, and a jumping jack's spread
arms change the 2D more than the 3D, which made an exercise done in place surge 3 m back and
forth. So the fit is made robust (joints whose residual is large are down-weighted, Huber-style),
only the torso, whose shape the model gets best, decides the depth, depths far from those of the
seconds around them are dropped (a wrong detection's), depth is median-filtered over
a second and low-passed at DEPTH_HZ (people rarely change depth faster; a steady walk towards
the camera is a ramp, which the zero-phase filter keeps), and only then are the
sideways and vertical positions solved with that depth, from all joints.
"""

from __future__ import annotations

import warnings

import numpy as np

from .gaps import interpolate_missing
from .smoothing import gaussian, running_percentile

TORSO = (0, 1, 4, 7, 8, 11, 14)          # pelvis, hips, spine, thorax, shoulders
DEPTH_HZ = 0.2                           # on the real samples: in-place drift 0.97 -> 0.69 m against 1 Hz
SIDEWAYS_HZ = 2.0                        # jitter 10.5 -> 8.9 mm/frame^2 against 3 Hz
HUBER = 0.02                             # screen-normalised residual where down-weighting starts


def _solve(joints3d, u, v, w, focal):
    """Weighted least squares for T per frame: (T, J, 3), (T, J), (T, J), (T, J) -> (T, 3)."""
    x, y, z = joints3d[..., 0], joints3d[..., 1], joints3d[..., 2]
    zeros, f = np.zeros_like(u), np.full_like(u, focal)
    ws = np.sqrt(w)[..., None]
    a = np.concatenate([np.stack([f, zeros, -u], -1) * ws, np.stack([zeros, f, -v], -1) * ws], axis=1)
    b = np.concatenate([((u * z - focal * x) * ws[..., 0])[..., None], ((v * z - focal * y) * ws[..., 0])[..., None]], axis=1)
    ata = a.transpose(0, 2, 1) @ a + 1e-6 * np.eye(3)
    return np.linalg.solve(ata, a.transpose(0, 2, 1) @ b)[..., 0]


def fit_translation(joints3d: np.ndarray, keypoints2d: np.ndarray, scores: np.ndarray,
                    focal: float, iterations: int = 3) -> np.ndarray:
    """Per-frame robust fit of the translation: (T, J, 3), (T, J, 2), (T, J) -> (T, 3); joints whose
    reprojection residual exceeds HUBER lose weight as 1/residual (iteratively reweighted)."""
    p = np.asarray(joints3d, dtype=np.float64)
    u, v = keypoints2d[..., 0].astype(np.float64), keypoints2d[..., 1].astype(np.float64)
    w0 = np.clip(scores, 0.0, 1.0).astype(np.float64)
    w = w0
    for _ in range(iterations):
        t = _solve(p, u, v, w, focal)
        q = p + t[:, None]
        depth = np.maximum(q[..., 2], 1e-3)
        res = np.hypot(focal * q[..., 0] / depth - u, focal * q[..., 1] / depth - v)
        w = w0 * np.minimum(1.0, HUBER / np.maximum(res, 1e-9))
    return t


def estimate_root_trajectory(joints3d: np.ndarray, keypoints2d: np.ndarray, scores: np.ndarray, fps: float,
                             focal: float, usable: np.ndarray | None = None) -> np.ndarray:
    """(T, 17, 3) root-relative camera joints, (T, 17, 2) screen-normalised 2D, (T, 17) scores,
    frame rate, screen-normalised focal, optional (T,) usable frames -> (T, 3) camera-frame pelvis
    positions in metres.

    Frames that are not usable take their depth from the usable frames around them."""
    t = len(joints3d)
    usable = np.ones(t, bool) if usable is None else usable
    torso_w = np.zeros_like(scores, dtype=np.float64)
    torso_w[:, TORSO] = scores[:, TORSO]
    depth = fit_translation(joints3d, keypoints2d, torso_w, focal)[:, 2]
    good = usable & np.isfinite(depth) & ~_depth_outliers(depth, usable, fps)
    depth = interpolate_missing(depth, good)
    if len(depth) >= 3:                    # a running median of one or two frames only bends them
        depth = running_percentile(depth, max(1, int(round(fps))) | 1, 50.0)
    depth = np.maximum(depth, 0.5)
    depth = gaussian(depth, fps, DEPTH_HZ)
    # Sideways and vertical position with that depth, from all joints (closed form per frame).
    p = np.asarray(joints3d, dtype=np.float64)
    w = np.clip(scores, 0.0, 1.0).astype(np.float64) + 1e-9
    zj = p[..., 2] + depth[:, None]
    tx = (w * (keypoints2d[..., 0] * zj / focal - p[..., 0])).sum(1) / w.sum(1)
    ty = (w * (keypoints2d[..., 1] * zj / focal - p[..., 1])).sum(1) / w.sum(1)
    side = interpolate_missing(np.stack([tx, ty], axis=1), good)
    side = gaussian(side, fps, SIDEWAYS_HZ)
    return np.column_stack([side, depth]).astype(np.float32)


OUTLIER_SECONDS = 3.0     # the span a frame's depth is compared with
OUTLIER_SHARE = 0.25      # depths further than this share of that span's median are outliers


def _depth_outliers(depth: np.ndarray, usable: np.ndarray, fps: float) -> np.ndarray:
    """(T,) bool: usable frames whose depth is more than OUTLIER_SHARE away from the median of the
    usable depths within OUTLIER_SECONDS around them: a few frames of a wrong detection (another
    box, after a gap) otherwise drag the whole smoothed path towards them."""
    half = max(1, int(round(OUTLIER_SECONDS * fps / 2)))
    values = np.where(usable, depth, np.nan)
    padded = np.pad(values, half, mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)    # windows without a usable frame
        median = np.nanmedian(windows, axis=1)
    return usable & np.isfinite(median) & (np.abs(depth - median) > OUTLIER_SHARE * np.abs(median))
