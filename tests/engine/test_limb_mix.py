"""Limb mixing (engine.train.limb_mix): a window's legs or arms move as another window's, in its own
heading, with its own bone lengths; the labels of a mixed window are left out of the losses."""

from __future__ import annotations

import numpy as np
import torch
from standing_body import standing_body

from engine.skeleton import LEFT_ANKLE, LEFT_HIP, LEFT_KNEE, RIGHT_ANKLE, bone_lengths
from engine.train.limb_mix import IGNORE_LABEL, PARTS, mix_limbs
from engine.train.losses import labelled_cross_entropy
from engine.train.mocap_dataset import MocapClip, WindowSampler


def _turned(pose: np.ndarray, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return pose @ r.T


def _left_knee_raised(pose: np.ndarray) -> np.ndarray:
    """The left thigh forward and level, the shank hanging: a step up (the cross split's climbing)."""
    out = pose.copy()
    hip = out[LEFT_HIP]
    out[LEFT_KNEE] = hip + [0, 0, 0.45]
    out[LEFT_ANKLE] = out[LEFT_KNEE] + [0, -0.42, 0]
    return out


def test_a_donor_that_is_the_host_turned_gives_back_the_host():
    host = standing_body()[None].repeat(5, axis=0)
    for part in PARTS:
        mixed = mix_limbs(host, _turned(host, 90) + [3.0, 0.0, -1.0], part)
        np.testing.assert_allclose(mixed, host, atol=1e-6)


def test_mixed_legs_take_the_donor_pose_in_the_host_heading_with_the_host_lengths():
    host = _turned(standing_body(), 90)[None].repeat(3, axis=0)
    donor = _left_knee_raised(standing_body())[None].repeat(3, axis=0)
    donor[..., [0, 2]] *= 1.2                       # a wider, longer-legged donor (its lengths must not come along)
    mixed = mix_limbs(host, donor, "legs")
    np.testing.assert_allclose(bone_lengths(mixed), bone_lengths(host), atol=1e-6)
    unchanged = [j for j in range(17) if j not in (2, 3, 5, 6)]
    np.testing.assert_allclose(mixed[:, unchanged], host[:, unchanged] + (mixed[:, :1] - host[:, :1]), atol=1e-6)
    # The host faces +x (turned 90 degrees about the vertical): its raised knee points along +x.
    thigh = mixed[0, LEFT_KNEE] - mixed[0, LEFT_HIP]
    assert thigh[0] > 0.4 and abs(thigh[1]) < 1e-6 and abs(thigh[2]) < 1e-6
    # Lowest ankle where the host's was: the standing right foot still on the floor.
    assert np.isclose(mixed[:, [LEFT_ANKLE, RIGHT_ANKLE], 1].min(), host[:, [LEFT_ANKLE, RIGHT_ANKLE], 1].min())


def test_the_sampler_mixes_the_given_share_and_leaves_mixed_labels_out():
    walk = np.repeat(standing_body()[None], 120, axis=0).astype(np.float32)
    walk[:, :, 2] += np.linspace(0, 4, 120)[:, None]
    clips = [MocapClip("walk", "custom", walk, 30.0, "walk", "normal"),
             MocapClip("step", "custom", np.repeat(_left_knee_raised(standing_body())[None], 120, 0).astype(np.float32),
                       30.0, "bow", "normal")]
    s = WindowSampler(clips, window=27, noise=False, flip=True, limb_mix=0.3, seed=0)
    b = s.sample(2000, np.random.default_rng(0))
    ignored = b["action"] == IGNORE_LABEL
    assert 0.25 < ignored.mean() < 0.35
    np.testing.assert_array_equal(ignored, b["style"] == IGNORE_LABEL)
    assert (b["action"][~ignored] >= 0).all()
    plain = WindowSampler(clips, window=27, noise=False, flip=True, seed=0).sample(200, np.random.default_rng(0))
    assert (plain["action"] >= 0).all()


def test_losses_leave_out_unlabelled_windows_and_stay_finite_without_any():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]])
    labels = torch.tensor([0, IGNORE_LABEL, IGNORE_LABEL])
    expected = torch.nn.functional.cross_entropy(logits[:1], labels[:1])
    assert torch.isclose(labelled_cross_entropy(logits, labels), expected)
    none = labelled_cross_entropy(logits, torch.full((3,), IGNORE_LABEL))
    assert torch.isfinite(none) and none.item() == 0.0
