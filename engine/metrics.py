"""Pose metrics in millimetres (shared conventions, "Metrics"); numpy, separate from the losses.

All take (T, 17, 3) predictions and targets in metres and return millimetres.
"""

from __future__ import annotations

import numpy as np

from .skeleton import ROOT


def _root_relative(x: np.ndarray) -> np.ndarray:
    return x - x[..., ROOT:ROOT + 1, :]


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error after root alignment."""
    return float(np.linalg.norm(_root_relative(pred) - _root_relative(gt), axis=-1).mean() * 1000)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per frame, the similarity transform (rotation, scale, translation) of pred that best fits gt."""
    mu_p, mu_g = pred.mean(-2, keepdims=True), gt.mean(-2, keepdims=True)
    p, g = pred - mu_p, gt - mu_g
    u, s, vt = np.linalg.svd(np.swapaxes(p, -1, -2) @ g)
    d = np.sign(np.linalg.det(u @ vt))                       # no reflections
    s[..., -1] *= d
    u[..., :, -1] *= d[..., None]
    r = u @ vt
    scale = s.sum(-1)[..., None, None] / (p ** 2).sum((-1, -2))[..., None, None]
    return scale * p @ r + mu_g


def p_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE after rigid Procrustes alignment with scale, per frame."""
    return float(np.linalg.norm(procrustes_align(pred, gt) - gt, axis=-1).mean() * 1000)


def mpjve(pred: np.ndarray, gt: np.ndarray) -> float:
    """Error of per-frame joint velocities (mm/frame), root-relative."""
    return float(np.linalg.norm(np.diff(_root_relative(pred), axis=0) - np.diff(_root_relative(gt), axis=0), axis=-1).mean() * 1000)


def accel_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Error of joint accelerations (mm/frame^2), root-relative."""
    ap, ag = np.diff(_root_relative(pred), 2, axis=0), np.diff(_root_relative(gt), 2, axis=0)
    return float(np.linalg.norm(ap - ag, axis=-1).mean() * 1000)


def all_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    return {"mpjpe": mpjpe(pred, gt), "p_mpjpe": p_mpjpe(pred, gt), "mpjve": mpjve(pred, gt), "accel": accel_error(pred, gt)}
