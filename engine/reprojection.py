"""How well the lifted 3D agrees with the 2D it was lifted from: the one check that needs no 3D truth.

Each lifted pose is seen from the camera (its camera-frame x, y) and fitted to the frame's 2D keypoints
with one scale and one shift (weak perspective, least squares over the joints the detector saw). The
mean distance that remains, divided by the 2D torso height (hip centre to thorax), says how much of
the detection the 3D ignores. Poses unlike anything in the training data (planks, push-ups)
score far worse than standing ones, and noise and perspective leave a floor even for the true 3D;
the figures are in the model card (weights/MODEL_CARD.md) and `benchmarks/bench_real_input.py`
measures them. `lift` records the median in the result's meta and warns above `POOR_FIT`, so a
user learns that a lift is unreliable before animating with it. It flags lifts that ignore the
2D, not small errors.
"""

from __future__ import annotations

import numpy as np
import torch

from .skeleton import LEFT_HIP, RIGHT_HIP, THORAX

POOR_FIT = 0.25       # median error above this (a quarter of the torso height): warn


def torso_height(keypoints: np.ndarray) -> np.ndarray:
    """(T, 17, 2) 2D -> (T,) distance from the hip centre to the thorax, the unit of the error."""
    return np.linalg.norm((keypoints[:, LEFT_HIP] + keypoints[:, RIGHT_HIP]) / 2 - keypoints[:, THORAX], axis=-1)


def fit_weak_perspective(xy3d, xy2d, weights=None):
    """(..., J, 2) camera-frame x, y, (..., J, 2) 2D and optional (..., J) weights -> (..., J, 2) the
    3D's projection under the scale and shift that fit the 2D best (closed-form weighted least
    squares, per frame: min sum_j w_j |s * X_j + t - u_j|^2). Scale-free, so it needs no camera
    intrinsics. Torch tensors in, tensors out (the sampler's JPMA picks hypotheses with it on the
    GPU); numpy arrays in, float64 numpy out."""
    as_numpy = not isinstance(xy3d, torch.Tensor)
    if as_numpy:
        xy3d, xy2d = torch.from_numpy(np.asarray(xy3d, np.float64)), torch.from_numpy(np.asarray(xy2d, np.float64))
        weights = None if weights is None else torch.from_numpy(np.asarray(weights, np.float64))
    w = torch.ones_like(xy2d[..., 0]) if weights is None else weights.to(xy2d.dtype)
    w = w[..., None]
    wsum = w.sum(-2, keepdim=True).clamp_min(1e-6)
    c3, c2 = (w * xy3d).sum(-2, keepdim=True) / wsum, (w * xy2d).sum(-2, keepdim=True) / wsum
    a, b = xy3d - c3, xy2d - c2
    scale = (w * a * b).sum((-2, -1), keepdim=True) / (w * a * a).sum((-2, -1), keepdim=True).clamp_min(1e-9)
    proj = scale * a + c2
    return proj.numpy() if as_numpy else proj


def reprojection_error(joints3d: np.ndarray, keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(T, 17, 3) camera-frame 3D, (T, 17, 2) 2D (any units, aspect kept) and (T, 17) scores -> (T,)
    mean reprojection error over the seen joints as a fraction of the torso height; NaN in frames
    whose hips and thorax were not all seen or that have fewer than 6 seen joints."""
    seen = np.asarray(scores) > 0
    proj = fit_weak_perspective(np.asarray(joints3d)[..., :2], np.asarray(keypoints), seen)
    dist = np.linalg.norm(proj - keypoints, axis=-1)
    n = seen.sum(axis=1)
    err = (dist * seen).sum(axis=1) / np.maximum(n, 1)
    torso = torso_height(keypoints)
    ok = seen[:, [LEFT_HIP, RIGHT_HIP, THORAX]].all(axis=1) & (n >= 6) & (torso > 1e-6)
    return np.where(ok, err / np.where(ok, torso, 1.0), np.nan)


def summarise(err: np.ndarray) -> dict:
    """Per-frame errors -> the JSON summary `lift` puts in the result's meta. `warning` is the one
    sentence the CLI logs and the add-on shows, or None when the fit is good."""
    valid = err[np.isfinite(err)]
    if not len(valid):
        return {"median": None, "p90": None, "frames": 0,
                "warning": "How well the 3D fits the 2D keypoints could not be measured, because no frame shows both "
                           "hips, the thorax and six joints, so check the motion."}
    median = float(np.median(valid))
    warning = None
    if median > POOR_FIT:
        warning = (f"The 3D agrees poorly with the 2D keypoints (median reprojection error {median:.0%} of the "
                   f"torso height), so check the motion: poses unlike the training data, such as lying down, "
                   f"lift unreliably.")
    return {"median": round(median, 4), "p90": round(float(np.quantile(valid, 0.9)), 4),
            "frames": int(len(valid)), "warning": warning}
