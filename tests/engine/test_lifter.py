"""Whole-clip lifting: windows, cross-fade stitching, padding, presets, action averaging, checkpoints."""

import numpy as np
import pytest
import torch

from engine.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from engine.errors import CheckpointError, SequenceError
from engine.lifter import PRESETS, Lifter, SamplingSettings
from engine.windows import stitch, window_starts
from engine.model import DreamPose3D, ModelConfig
from engine.smoothing import BUTTERWORTH_HZ, butterworth, moving_average, smooth


def test_window_starts_cover_the_clip_and_end_exactly():
    assert window_starts(10, 27, 8) == [0]
    s = window_starts(100, 27, 8)
    assert s[0] == 0 and s[-1] == 73 and all(b - a <= 19 for a, b in zip(s, s[1:]))


def test_stitching_is_continuous_at_window_borders():
    # Each window predicts a constant offset from the truth; a hard cut would jump by 1.0.
    n, t, overlap = 27, 80, 10
    starts = window_starts(t, n, overlap)
    values = np.stack([np.full((n, 1), float(i % 2)) for i in range(len(starts))])
    out = stitch(values, starts, t, overlap)[:, 0]
    assert np.abs(np.diff(out)).max() < 1.0 / overlap + 1e-3
    # Identical windows stitch back to the same signal.
    signal = np.sin(np.arange(t) / 5.0)[:, None]
    same = np.stack([signal[s:s + n] for s in starts])
    assert np.allclose(stitch(same, starts, t, overlap), signal, atol=1e-6)


def test_action_probabilities_are_averaged_over_a_centred_window():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=50)
    assert np.allclose(moving_average(probs, 0), probs) and np.allclose(moving_average(probs, 1), probs)
    avg = moving_average(probs, 9)
    assert np.allclose(avg.sum(-1), 1, atol=1e-6)                 # still probabilities, ends included
    assert np.allclose(avg[20], probs[16:25].mean(0), atol=1e-6)  # centred: 4 frames each side
    assert np.allclose(avg[0], probs[:5].mean(0), atol=1e-6)      # cut short at the start
    assert np.allclose(moving_average(probs, 1000), probs.mean(0), atol=1e-6)
    # A label that flips every frame between two classes settles on the majority.
    flicker = np.eye(2)[[0, 0, 1] * 10]
    assert (moving_average(flicker, 31).argmax(-1) == 0).all()


def test_default_filter_keeps_motion_and_fits_low_frame_rates():
    t = np.arange(300) / 30.0
    slow = np.sin(2 * np.pi * 1.0 * t)[:, None]                       # 1 Hz: kept
    jitter = 0.05 * np.random.default_rng(0).standard_normal((300, 1))  # white noise: mostly removed
    out = smooth(slow + jitter, 30.0, "butterworth")
    assert np.allclose(out, butterworth(slow + jitter, 30.0, BUTTERWORTH_HZ))
    assert np.abs(out - slow)[20:-20].std() < 0.4 * jitter.std()
    # At 6 fps the default cut-off drops below Nyquist (3 Hz) instead of failing; at 1 fps it is skipped.
    assert np.isfinite(smooth(slow[::5] + jitter[::5], 6.0, "butterworth")).all()
    assert np.array_equal(smooth(slow[::30], 1.0, "butterworth"), slow[::30].astype(np.float32))


def test_checkpoint_round_trip(tmp_path, tiny_checkpoint):
    diffusion, meta = load_checkpoint(tiny_checkpoint)
    assert meta["config"].window == 27 and meta["config"].actions == ["walk", "run", "other"]
    again = save_checkpoint(diffusion.model, tmp_path / "again.safetensors", meta["info"])
    d2, _ = load_checkpoint(again)
    for (k, a), (_, b) in zip(diffusion.model.state_dict().items(), d2.model.state_dict().items()):
        assert torch.equal(a, b), k
    half = save_checkpoint(diffusion.model, tmp_path / "half.safetensors", half=True)
    assert half.stat().st_size < again.stat().st_size * 0.7
    d3, _ = load_checkpoint(half)
    w = d3.model.hpd.head.weight
    assert w.dtype == torch.float32 and torch.allclose(w, diffusion.model.hpd.head.weight, atol=1e-3)


def test_corrupt_checkpoints_give_clear_errors(tmp_path, tiny_checkpoint):
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(tiny_checkpoint.read_bytes()[:2000])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="truncated|not a readable"):
        load_checkpoint(truncated)
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(garbage)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_metadata(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other), metadata={"format": "something-else"})
    with pytest.raises(CheckpointError, match="not a DreamPose3D checkpoint"):
        load_checkpoint(other)
    newer = tmp_path / "newer.safetensors"
    save_file({"w": torch.zeros(2)}, str(newer), metadata={"format": "dreampose3d", "format_version": "99", "config": "{}"})
    with pytest.raises(CheckpointError, match="newer engine"):
        load_checkpoint(newer)


def test_lift_any_length_deterministic_and_grounded(tiny_checkpoint):
    from engine_support import walking_keypoints

    lifter = Lifter(tiny_checkpoint, "cpu")
    for frames in (5, 27, 100):
        seq = walking_keypoints(frames)
        r1 = lifter.lift(seq, SamplingSettings(seed=3))
        r2 = lifter.lift(seq, SamplingSettings(seed=3))
        per_window = lifter.lift(seq, SamplingSettings(seed=3, action_window=0))
        assert np.array_equal(per_window.joints3d, r1.joints3d)   # the averaging touches only the probabilities
        assert np.allclose(r1.action_probs, moving_average(per_window.action_probs, SamplingSettings().action_window), atol=1e-6)
        assert r1.joints3d.shape == (frames, 17, 3) and r1.action_probs.shape == (frames, 3)
        assert np.array_equal(r1.joints3d, r2.joints3d)
        assert np.allclose(r1.joints3d[:, 0], 0)
        assert abs(np.percentile(r1.joints3d_world[:, [3, 6], 2], 1 if frames >= 100 else 0)) < 1e-5
        assert np.allclose(r1.action_probs.sum(-1), 1, atol=1e-5)
        assert all(p.startswith(("a ", "an ")) for p in r1.prompt)


def test_quality_preset_and_zero_confidence_joints(tiny_checkpoint):
    from engine_support import walking_keypoints

    lifter = Lifter(tiny_checkpoint, "cpu")
    seq = walking_keypoints(40)
    seq.scores[:, 13] = 0.0            # a wrist never detected
    seq.keypoints[:, 13] = 0.0
    q = PRESETS["quality"]
    for aggregation in ("mean", "jpma"):
        r = lifter.lift(seq, SamplingSettings(**{**q.__dict__, "steps": 2, "hypotheses": 3, "aggregation": aggregation}))
        assert np.isfinite(r.joints3d).all() and r.meta["sampling"]["aggregation"] == aggregation
        assert r.meta["sampling"]["flip"] is True


def test_bad_sequences_are_refused(tiny_checkpoint):
    from engine_support import walking_keypoints

    lifter = Lifter(tiny_checkpoint, "cpu")
    seq = walking_keypoints(10)
    seq.keypoints[3, 2, 0] = np.nan
    with pytest.raises(SequenceError, match="NaN"):
        lifter.lift(seq)
    seq = walking_keypoints(10)
    seq.scores[:] = 0
    with pytest.raises(SequenceError, match="confidence 0"):
        lifter.lift(seq)


def test_flip_tta_mirrors_left_right_action_probabilities():
    from engine.actions import mirrored_action_index

    actions = ["walk", "wave-left-hand", "wave-right-hand", "walk-turn-left", "walk-turn-right", "other"]
    assert list(mirrored_action_index(actions)) == [0, 2, 1, 4, 3, 5]
