"""2D noise that looks like a real keypoint detector's, and the horizontal flip augmentation.

Why: the lifter sees detector output at test time, never clean projections. Real detectors have
jitter that grows with the person's size in the image, a per-joint bias that is stable over a clip
(e.g. hips placed too high), occasional left/right confusions, missed joints (score 0), and scores
that are lower where the error is larger. All arrays are (B, N, 17, 2) screen-normalised.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import FACE, FLIP_PAIRS, FLIP_PERMUTATION, flip_left_right

# Relative jitter per joint (COCO keypoint sigmas, mapped onto H36M-17): wrists and ankles are
# noisier than hips and shoulders; derived joints (pelvis, spine, thorax) are averages, so calmer.
JOINT_SIGMA = np.array([0.8, 1.07, 0.87, 0.89, 1.07, 0.87, 0.89, 0.8, 0.79, 0.5, 0.7,
                        0.79, 0.72, 0.62, 0.79, 0.72, 0.62]) / 0.8


def person_size(keypoints: np.ndarray) -> np.ndarray:
    """(B, N, 17, 2) -> (B, 1, 1, 1) bounding-box diagonal averaged over the window."""
    span = keypoints.max(axis=2) - keypoints.min(axis=2)              # (B, N, 2)
    return np.linalg.norm(span, axis=-1).mean(axis=1)[:, None, None, None]


def add_detector_noise(clean: np.ndarray, rng: np.random.Generator,
                       strength: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(B, N, 17, 2) clean keypoints -> (noisy keypoints, scores (B, N, 17) in [0, 1]).

    Each window gets its own noise level, so the model sees both clean and bad detections.
    """
    f32 = np.float32
    clean = np.asarray(clean, dtype=f32)
    b, n, j, _ = clean.shape
    size = person_size(clean)
    level = strength * rng.uniform(0.003, 0.03, size=(b, 1, 1, 1)).astype(f32)  # std / person size
    sigma = level * size * JOINT_SIGMA.astype(f32)[None, None, :, None]
    noisy = clean + rng.standard_normal((b, n, j, 2), dtype=f32) * sigma
    noisy += rng.standard_normal((b, 1, j, 2), dtype=f32) * (sigma * 0.7)     # per-clip bias

    # Left/right confusions: a pair swaps for a frame now and then (more often in noisy windows).
    swap_rate = rng.uniform(0.0, 0.02, size=(b, 1, 1)) * strength
    swap = rng.random((b, n, len(FLIP_PAIRS)), dtype=f32) < swap_rate
    for k, (left, right) in enumerate(FLIP_PAIRS):
        m = swap[..., k]
        if m.any():
            noisy[m, left], noisy[m, right] = noisy[m, right].copy(), noisy[m, left].copy()

    # Outliers: rare large errors (a wrist snapping onto the other arm, a knee lost in clutter).
    outlier = np.nonzero(rng.random((b, n, j), dtype=f32) < 0.005 * strength)
    noisy[outlier] += (rng.standard_normal((len(outlier[0]), 2), dtype=f32)
                       * size[outlier[0], 0, 0] * 0.15)

    # Scores fall with the error relative to the person's size; a bit of independent noise.
    err = np.linalg.norm(noisy - clean, axis=-1) / size[..., 0]          # (B, N, 17)
    scores = np.exp(-0.5 * (err / 0.05) ** 2) * (0.75 + 0.25 * rng.random((b, n, j), dtype=f32))
    scores += 0.03 * rng.standard_normal((b, n, j), dtype=f32)

    # Dropouts: missed joints have score 0 and coordinates 0 (the canonical "missing" encoding).
    drop_rate = rng.uniform(0.0, 0.05, size=(b, 1, 1)) * strength
    drop = rng.random((b, n, j), dtype=f32) < drop_rate
    noisy[drop] = 0.0
    scores = np.where(drop, f32(0.0), np.clip(scores, 0.01, 1.0))
    return noisy, scores.astype(f32)


# Joints detectors miss together (issue #21): the face (nose, head top) for long stretches, and a
# limb's elbow and wrist or knee and ankle when it leaves the frame or is hidden.
LIMB_ENDS = ((12, 13), (15, 16), (2, 3), (5, 6))


def drop_joint_groups(keypoints: np.ndarray, scores: np.ndarray, rng: np.random.Generator,
                      rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Mark whole joint groups missing (score 0, coordinates 0) over a stretch of each window.

    A share `rate` of the windows lose the face, half of them for the whole window; a third as many
    lose one limb end. The stretch is random, so the model sees both the joint vanishing and
    coming back. Returns new arrays; (B, N, 17, 2) and (B, N, 17)."""
    if rate <= 0:
        return keypoints, scores
    keypoints, scores = keypoints.copy(), scores.copy()
    b, n = scores.shape[:2]
    for group_rate, pick in ((rate, lambda: FACE), (rate / 3, lambda: LIMB_ENDS[rng.integers(len(LIMB_ENDS))])):
        for i in np.flatnonzero(rng.random(b) < group_rate):
            if rng.random() < 0.5:
                lo, hi = 0, n
            else:
                lo = int(rng.integers(n))
                hi = int(min(n, lo + rng.integers(1, n + 1)))
            joints = list(pick())
            keypoints[i, lo:hi, joints] = 0.0
            scores[i, lo:hi, joints] = 0.0
    return keypoints, scores


def flip_batch(batch: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """Mirror the windows where (B,) `mask` is true: 2D and 3D together, scores permuted, root x
    negated. Both frames have their origin on the optical axis, so mirroring is x -> -x."""
    if not mask.any():
        return batch
    for key in ("keypoints2d", "keypoints2d_clean", "joints3d"):
        batch[key][mask] = flip_left_right(batch[key][mask])
    batch["scores"][mask] = batch["scores"][mask][..., FLIP_PERMUTATION]
    batch["root"][mask, ..., 0] *= -1
    # Dropped joints stay at exactly (0, 0): -0.0 == 0.0, so nothing to fix.
    return batch
