"""engine.cleanup.image_fit: the model's x, y drawn toward the 2D, slowly, where it was seen."""

from __future__ import annotations

import numpy as np

from engine.cleanup.image_fit import SLACK, pulled_toward_2d
from engine.skeleton import JOINT_NAMES

from synthetic_walk import FOCAL, view, walk

FPS = 30.0
WRIST = JOINT_NAMES.index("left_wrist")


def _filmed_walk(frames: int = 90):
    joints, uv = view(walk(frames, FPS)[0], 10.0)
    return joints.astype(np.float64), uv, np.ones(uv.shape[:2], np.float32), np.ones(frames, bool)


def test_a_wrist_the_model_put_off_its_detection_is_drawn_toward_it_in_the_image_only():
    truth, uv, scores, detected = _filmed_walk()
    model = truth.copy()
    model[:, WRIST, 0] += 0.10                  # 10 cm off to the side in every frame
    pulled = pulled_toward_2d(model, uv, scores, detected, FPS, focal=FOCAL)
    left = np.abs(pulled[:, WRIST, 0] - truth[:, WRIST, 0])
    assert np.median(left) < SLACK + 0.015                             # back to within the slack
    assert np.array_equal(pulled[..., 2], model[..., 2])               # depth stays the model's
    others = [j for j in range(17) if j != WRIST]
    assert np.median(np.linalg.norm(pulled[:, others] - truth[:, others], axis=-1)) < 0.02


def test_unseen_joints_and_undetected_frames_are_left_where_the_model_put_them():
    truth, uv, scores, detected = _filmed_walk()
    model = truth.copy()
    model[:, WRIST, 0] += 0.10
    scores[:, WRIST] = 0.0                        # the detector never saw the wrist
    pulled = pulled_toward_2d(model, uv, scores, detected, FPS, focal=FOCAL)
    assert np.allclose(pulled[:, WRIST, 0] - truth[:, WRIST, 0], 0.10, atol=0.02)
    uv_far = uv.copy()
    uv_far[30:60] += 0.3                          # nonsense 2D, but those frames hold no detection
    detected[:] = True
    detected[20:70] = False
    pulled = pulled_toward_2d(truth, uv_far, np.ones_like(scores), detected, FPS, focal=FOCAL)
    assert np.abs(pulled[30:60] - truth[30:60]).max() < 0.01


def test_detector_noise_does_not_shake_the_pose():
    truth, uv, scores, detected = _filmed_walk()
    rng = np.random.default_rng(0)
    noisy_2d = uv + rng.normal(0, 0.01, uv.shape).astype(np.float32)      # a few pixels, every frame
    pulled = pulled_toward_2d(truth, noisy_2d, scores, detected, FPS, focal=FOCAL)
    shake = lambda x: np.linalg.norm(np.diff(x, 2, axis=0), axis=-1).mean()   # noqa: E731
    assert shake(pulled) < 1.2 * shake(truth)
    assert np.linalg.norm(pulled - truth, axis=-1).mean() < 0.01
