"""Aim a virtual camera at the person before the model sees the 2D (issue #21, input representation).

Training cameras aim at each window's mean pelvis (engine.train.cameras), so the model has seen
people near the image centre only. In real footage people stand anywhere in the frame (the issue
measured centres from -0.8 to +0.4 in screen units, against +-0.21 in training). Shifting the 2D
is not enough: an off-centre person is seen from the side of the lens, and their image is the
centred view *rotated*. So we turn the camera instead, as a pan-and-tilt that keeps the
horizon's roll: every keypoint's viewing ray (u / f, v / f, 1) is rotated so the aim point's ray
becomes the optical axis, and projected again. The model then lifts a view like the ones it
was trained on, and its root-relative 3D is turned back into the real camera's frame.

The focal length is the lift's (engine.frames.screen_focal: a 35 mm-equivalent lens unless the user
gives theirs). A wrong focal turns the view by the wrong angle, and the 3D is turned back by it: a
lens 2.5 times longer than assumed cost 17 mm on `cross` (110.6 -> 127.2 mm, its P-MPJPE unchanged),
which is why the assumed lens follows the image's diagonal rather than its width.

Modes: "window" (the default) aims at the confidence-weighted mean pelvis of each model window,
exactly the training cameras' rule; "off" feeds the 2D as it is (what `lift` did before). Measured
on the shipped weights (noisy 2D, 4 Hz; model card): `cross` 108.0 -> 107.3 mm, `cross` seen by
cameras drawn like real footage's (`evaluate --cameras anywhere`) 112.9 -> 106.4 mm, a 60-clip
subset of `test` 68.7 -> 65.4 mm.
"""

from __future__ import annotations

import numpy as np

from .skeleton import LEFT_HIP, RIGHT_HIP, ROOT

AIM_MODES = ("off", "window")


def aim_points(kp: np.ndarray, sc: np.ndarray) -> np.ndarray:
    """(B, N, 17, 2) screen-normalised 2D + (B, N, 17) scores -> (B, 2): each window's aim, the
    score-weighted mean over its frames of the pelvis (else the hips' midpoint, else every seen
    joint's mean); (0, 0), the image centre, for a window with nothing seen."""
    centre = np.zeros(kp.shape[:2] + (2,), np.float64)
    weight = np.zeros(kp.shape[:2], np.float64)
    hips = np.minimum(sc[..., LEFT_HIP], sc[..., RIGHT_HIP])
    seen = sc > 0
    any_seen = seen.sum(-1)
    mean_seen = (kp * seen[..., None]).sum(-2) / np.maximum(any_seen, 1)[..., None]
    for points, w in ((mean_seen, (any_seen > 0) * 0.1),
                      ((kp[..., LEFT_HIP, :] + kp[..., RIGHT_HIP, :]) / 2, hips),
                      (kp[..., ROOT, :], sc[..., ROOT])):
        better = w > 0
        centre = np.where(better[..., None], points, centre)   # later, better sources win
        weight = np.where(better, w, weight)
    total = weight.sum(1)
    aim = (centre * weight[..., None]).sum(1) / np.maximum(total, 1e-9)[:, None]
    return np.where(total[:, None] > 0, aim, 0.0)


def aim_rotations(aim: np.ndarray, focal: float) -> np.ndarray:
    """(B, 2) screen-normalised aim points -> (B, 3, 3) rotations R (camera frame: x right, y down,
    z forward) with R @ ray(aim) on the optical axis and no roll: the new x axis stays level."""
    forward = np.concatenate([aim / focal, np.ones(aim.shape[:1] + (1,))], axis=1)
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    right = np.cross(np.array([0.0, 1.0, 0.0]), forward)
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=1)


def rotate_view(kp: np.ndarray, sc: np.ndarray, rotations: np.ndarray, focal: float) -> np.ndarray:
    """(B, N, 17, 2) 2D seen by the real camera -> the same 2D seen by the camera turned by
    `rotations` (B, 3, 3); missing joints (score 0) stay at (0, 0), where the model expects them."""
    rays = np.concatenate([kp / focal, np.ones(kp.shape[:-1] + (1,))], axis=-1)
    turned = np.einsum("bij,bnkj->bnki", rotations, rays)
    out = focal * turned[..., :2] / turned[..., 2:3]
    return np.where(sc[..., None] > 0, out, 0.0).astype(np.float32)


def unrotate_joints(joints: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """(B, N, 17, 3) camera-frame 3D in the turned cameras -> in the real camera (R^T p)."""
    return np.einsum("bji,bnkj->bnki", rotations, joints).astype(np.float32)
