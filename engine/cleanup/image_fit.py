"""The model's poses drawn toward the 2D they were lifted from, before the bones are fixed.

The network's image-plane x, y stray from the detection: it bends an unfamiliar pose (the `cross`
split's climbing) toward the familiar ones, and each window averages what it has seen. The 2D
itself is noisy from frame to frame and biased over a clip (hips placed high, say). So each frame's
pose is placed in front of the camera (the translation that projects it onto the 2D best,
engine.trajectory.fit_translation), each confidently seen joint's target is the point on its
detection's ray at the joint's own depth, the difference to the target is low-passed at PULL_HZ,
and the joint is moved by what of it exceeds SLACK: a small disagreement is the detector's bias,
which the model has learnt to see through on bodies it knows, a large one is the model's. Depth
stays the model's; the bone rebuild that follows (engine.cleanup.bones) keeps the clip's lengths.
The full perspective matters: a weak-perspective (scale and shift) target bends a correct pose of
someone off-centre.

Measured on 2026-12-03 with the shipped weights, lift's default preset and the clean-up (model
card, "Clean-up: the image fit"): `cross` (other people and skeletons, noisy 2D) 96.0 -> 91.7 mm
MPJPE, P-MPJPE 71.8 -> 66.4; `test` 61.2 -> 61.4 (P-MPJPE 45.8 -> 45.6); the real Detectron2
videos' reprojection median 16.2 -> 10.3 % of the torso height, jitter 9.2 -> 9.8 mm/frame^2.
Without the slack the pull cost `test` 3 % (0.7 of the difference: 63.1 mm); unfiltered, it shook.
"""

from __future__ import annotations

import numpy as np

from ..smoothing import gaussian
from ..trajectory import fit_translation
from .bones import CONFIDENT      # joints seen at least this confidently are pulled and decide the fit

PULL_HZ = 0.6         # the difference's low-pass cut-off: slower than the detector's noise
SLACK = 0.02          # metres of low-passed difference left alone
MIN_JOINTS = 6        # fewer confident joints than this: the frame is left as the model put it
MIN_DEPTH = 0.1       # metres: a frame whose fitted pose reaches nearer the camera is left alone


def pulled_toward_2d(joints: np.ndarray, keypoints2d: np.ndarray, scores: np.ndarray, detected: np.ndarray,
                     fps: float, *, focal: float, slack: float = SLACK, hz: float = PULL_HZ) -> np.ndarray:
    """(T, 17, 3) root-relative camera-frame joints, (T, 17, 2) screen-normalised 2D, (T, 17) scores,
    (T,) frames with a real detection, the camera's screen-normalised focal -> (T, 17, 3) the joints
    with x, y moved to within `slack` metres of where the 2D puts them (low-passed at `hz`). Joints
    and frames without a confident detection add no difference; the low-pass fades the pull in and
    out around them."""
    joints = np.asarray(joints, dtype=np.float64)
    seen = detected[:, None] & (scores >= CONFIDENT)
    root = fit_translation(joints, keypoints2d, seen.astype(np.float64), focal)
    depth = joints[..., 2] + root[:, 2:3]
    frame_ok = (seen.sum(axis=1) >= MIN_JOINTS) & (depth.min(axis=1) > MIN_DEPTH)
    use = seen & frame_ok[:, None]
    target = keypoints2d * np.maximum(depth, MIN_DEPTH)[..., None] / focal - root[:, None, :2]
    difference = np.where(use[..., None], target - joints[..., :2], 0.0)        # metres, camera x, y
    slow = gaussian(difference, fps, hz)
    size = np.linalg.norm(slow, axis=-1, keepdims=True)
    out = joints.copy()
    out[..., :2] += slow * np.maximum(0.0, 1.0 - slack / np.maximum(size, 1e-9))
    return out
