"""engine.motion_quality on synthetic motion whose answer is known by construction, plus the
missing-frame count on the real Detectron2 jumping-jacks file (skipped without ../shared)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engine import motion_quality as mq
from engine.sequence import FRAME_DETECTED, FRAME_HELD, FRAME_INTERPOLATED, KeypointSequence
from engine.skeleton import BONES, JOINT_NAMES, LEFT_ANKLE, RIGHT_ANKLE
from engine_support import REPO, require_shared

FPS = 30.0
J = {n: i for i, n in enumerate(JOINT_NAMES)}


def standing_pose() -> np.ndarray:
    """(17, 3) Blender-world pose standing upright, ankles on z = 0, head top right above the
    ankles' midpoint (so its lean is exactly 0)."""
    p = np.zeros((17, 3))
    for side, x in (("right", -0.1), ("left", 0.1)):
        p[J[f"{side}_hip"]] = (x, 0, 0.9)
        p[J[f"{side}_knee"]] = (x, 0, 0.5)
        p[J[f"{side}_ankle"]] = (x, 0, 0.0)
    for side, x in (("right", -0.2), ("left", 0.2)):
        p[J[f"{side}_shoulder"]] = (x, 0, 1.4)
        p[J[f"{side}_elbow"]] = (x, 0, 1.15)
        p[J[f"{side}_wrist"]] = (x, 0, 0.9)
    p[J["pelvis"]] = (0, 0, 0.9)
    p[J["spine"]] = (0, 0, 1.15)
    p[J["thorax"]] = (0, 0, 1.4)
    p[J["neck"]] = (0, -0.05, 1.5)
    p[J["head"]] = (0, 0, 1.7)
    return p


def clip(frames: int = 60) -> np.ndarray:
    return np.repeat(standing_pose()[None], frames, axis=0)


def rotation(axis: str, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def test_upright_has_no_lean_and_a_tilt_reads_back():
    assert mq.lean_deg(clip()) == pytest.approx(0.0, abs=1e-6)
    pivot = standing_pose()[[LEFT_ANKLE, RIGHT_ANKLE]].mean(axis=0)
    for axis in ("x", "y"):                    # pitched forward, rolled sideways
        tilted = (clip() - pivot) @ rotation(axis, 10.0).T + pivot
        assert mq.lean_deg(tilted) == pytest.approx(10.0, abs=0.5)
    # turning about the vertical changes nothing; an invalid frame lying flat is ignored
    turned = clip() @ rotation("z", 70.0).T
    turned[5] = turned[5] @ rotation("x", 90.0).T
    valid = np.ones(60, bool)
    valid[5] = False
    assert mq.lean_deg(turned, valid) == pytest.approx(0.0, abs=1e-6)
    assert mq.lean_deg(turned) == pytest.approx(0.0, abs=1e-6)   # the median shrugs off one frame...
    turned[:40] = turned[:40] @ rotation("x", 90.0).T
    assert mq.lean_deg(turned) == pytest.approx(90.0, abs=1e-6)  # ...but not most of the clip


def test_float_is_the_lower_ankle_height_in_mm():
    x = clip()
    x[..., 2] += 0.07
    x[:, LEFT_ANKLE, 2] += 0.3                     # one foot raised: the lower one counts
    assert mq.float_mm(x) == pytest.approx(70.0, abs=1e-6)
    x[:10, :, 2] += 1.0                            # a jump the valid mask leaves out
    valid = np.arange(60) >= 10
    assert mq.float_mm(x, valid) == pytest.approx(70.0, abs=1e-6)
    assert mq.float_mm(x, valid, ankle_height_m=0.08) == pytest.approx(-10.0, abs=1e-6)
    x[..., 2] -= 0.12
    assert mq.float_mm(x, valid) == pytest.approx(-50.0, abs=1e-6)   # sunk below the floor


def test_a_planted_foot_sliding_at_0_3_mps_reads_0_3():
    x = clip(31)
    x[:, LEFT_ANKLE, 0] += 0.3 / FPS * np.arange(31)       # on the floor, sliding along x
    x[:, RIGHT_ANKLE, 2] += 0.2                            # the other foot in the air: not counted
    slide, pairs = mq.foot_slide(x, FPS)
    assert slide == pytest.approx(0.3, abs=1e-9) and pairs == 30
    assert mq.foot_slide_mps(x, FPS) == pytest.approx(0.3, abs=1e-9)
    # the raised foot moving fast is swing, not slide
    x[:, RIGHT_ANKLE, 1] += 2.0 / FPS * np.arange(31)
    assert mq.foot_slide_mps(x, FPS) == pytest.approx(0.3, abs=1e-9)
    # the same foot slides at 0.3 m/s in a 60 fps clip when it moves half as far per frame
    y = clip(31)
    y[:, LEFT_ANKLE, 1] -= 0.3 / 60.0 * np.arange(31)
    y[:, RIGHT_ANKLE, 2] += 0.2
    assert mq.foot_slide_mps(y, 60.0) == pytest.approx(0.3, abs=1e-9)


def test_still_feet_do_not_slide_and_feet_in_the_air_give_zero_pairs():
    assert mq.foot_slide(clip(), FPS) == (0.0, 118)               # two ankles x 59 pairs
    x = clip()
    x[..., 2] += mq.CONTACT_HEIGHT_M + 0.01                       # just above the contact band
    x[:, :, 0] += 0.05 * np.arange(60)[:, None]                   # flying sideways fast
    assert mq.foot_slide(x, FPS) == (0.0, 0)
    # an ankle inside the band counts; a pair broken by an invalid frame does not
    x[..., 2] -= 0.02
    valid = np.ones(60, bool)
    valid[::2] = False
    assert mq.foot_slide(x, FPS, valid) == (0.0, 0)
    assert mq.foot_slide(x, FPS)[0] == pytest.approx(0.05 * FPS)


def test_rigid_motion_keeps_bone_cv_zero_and_a_stretching_bone_shows_up():
    frames = []
    for t in range(60):                                           # walk, turn and bob: lengths stay
        frames.append(standing_pose() @ rotation("z", 3.0 * t).T + (0.02 * t, -0.01 * t, 0.05 * np.sin(t)))
    x = np.stack(frames)
    assert mq.bone_cv_pct(x) == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(mq.bone_cv_per_bone(x), 0.0, atol=1e-9)
    # the head bone (neck -> head top) alternates between two lengths: 10 % CV for it alone
    neck, head = J["neck"], J["head"]
    unit = (x[:, head] - x[:, neck]) / np.linalg.norm(x[:, head] - x[:, neck], axis=-1, keepdims=True)
    length = np.where(np.arange(60) % 2 == 0, 0.18, 0.22)
    x[:, head] = x[:, neck] + unit * length[:, None]
    per_bone = mq.bone_cv_per_bone(x)
    head_bone = BONES.index((neck, head))
    assert per_bone[head_bone] == pytest.approx(10.0, abs=1e-6)
    assert np.delete(per_bone, head_bone) == pytest.approx(0.0, abs=1e-9)
    assert mq.bone_cv_pct(x) == pytest.approx(0.0, abs=1e-9)      # the median over 16 bones
    valid = np.arange(60) % 2 == 0                                # one of the two lengths only
    assert mq.bone_cv_per_bone(x, valid)[head_bone] == pytest.approx(0.0, abs=1e-9)


def test_inplace_drift_is_the_pelvis_distance_from_its_median_spot():
    t = np.arange(120)
    x = clip(120)
    x[..., 2] += np.abs(0.3 * np.sin(t / 5.0))[:, None]           # jumping on the spot
    assert mq.inplace_drift_m(x) == pytest.approx(0.0, abs=1e-9)
    angle = 2 * np.pi * t / 120
    x[..., 0] += 0.2 * np.cos(angle)[:, None]                     # circling 20 cm around a spot
    x[..., 1] += 0.2 * np.sin(angle)[:, None]
    x[7, :, :2] += 5.0                                            # one invalid frame far away
    valid = t != 7
    assert mq.inplace_drift_m(x, valid) == pytest.approx(0.2, abs=1e-3)
    y = clip(120)
    y[:, :, 0] += 0.01 * t[:, None]                               # walking off 1.19 m along x
    assert mq.inplace_drift_m(y) == pytest.approx(0.95 * 0.595, abs=0.01)
    assert mq.inplace_drift_m(y) == pytest.approx(np.percentile(np.abs(0.01 * t - 0.595), 95))


def test_jitter_is_the_mean_second_difference_in_mm():
    t = np.arange(60)
    x = clip() + 0.01 * t[:, None, None]                          # constant velocity: no jitter
    assert mq.jitter_mm(x) == pytest.approx(0.0, abs=1e-9)
    x[..., 0] += 0.001 * (-1.0) ** t[:, None]                     # +-1 mm shake: |1 + 2 + 1| mm
    assert mq.jitter_mm(x) == pytest.approx(4.0, abs=1e-6)
    valid = np.ones(60, bool)
    valid[30] = False
    x[30] += 1.0                                                  # a glitch on an invalid frame
    assert mq.jitter_mm(x, valid) == pytest.approx(4.0, abs=1e-6)
    assert mq.jitter_mm(x) > 40


def test_gap_frames_unflagged_counts_missing_frames_called_detected():
    missing = np.array([False, True, True, False, True, True])
    flags = np.array([FRAME_DETECTED, FRAME_INTERPOLATED, FRAME_HELD, FRAME_DETECTED, FRAME_DETECTED, FRAME_HELD], np.uint8)
    assert mq.gap_frames_unflagged(missing, flags) == 1
    assert mq.gap_frames_unflagged(missing, None) == 4            # a result without flags
    assert mq.gap_frames_unflagged(np.zeros(6, bool), None) == 0
    with pytest.raises(ValueError):
        mq.gap_frames_unflagged(missing, flags[:5])


def test_missing_input_frames_joins_empty_frames_and_the_readers_gap_report():
    scores = np.ones((12, 17), np.float32)
    scores[9:] = 0                                               # a long gap left at score 0
    kp = np.full((12, 17, 2), 100.0, np.float32)
    meta = {"gaps": {"interpolated": [[2, 4]], "long": [[9, 11]]}}   # frames 2-4 were filled by the reader
    missing = mq.missing_input_frames(KeypointSequence(kp, scores, (640, 480), FPS, meta))
    assert np.flatnonzero(missing).tolist() == [2, 3, 4, 9, 10, 11]
    assert mq.missing_input_frames(KeypointSequence(kp, np.ones((12, 17)), (640, 480), FPS)).sum() == 0


def test_summarise_has_the_agreed_keys_and_values():
    x = clip()
    x[..., 2] += 0.03
    s = mq.summarise(x, FPS)
    assert tuple(s) == mq.SUMMARY_KEYS == ("lean_deg", "float_mm", "foot_slide_mps", "bone_cv_pct",
                                           "inplace_drift_m", "jitter_mm")
    assert s["float_mm"] == pytest.approx(30.0) and s["lean_deg"] == pytest.approx(0.0, abs=1e-6)
    assert s["foot_slide_mps"] == 0.0 and s["bone_cv_pct"] == pytest.approx(0.0, abs=1e-9)
    assert s["inplace_drift_m"] == pytest.approx(0.0) and s["jitter_mm"] == pytest.approx(0.0, abs=1e-9)
    assert all(isinstance(v, float) for v in s.values())
    none_valid = mq.summarise(x, FPS, np.zeros(60, bool))         # nothing to go on: NaN, not 0
    assert np.isnan(none_valid["lean_deg"]) and np.isnan(none_valid["inplace_drift_m"])
    with pytest.raises(ValueError):
        mq.summarise(x[:, :16], FPS)
    with pytest.raises(ValueError):
        mq.summarise(x, FPS, np.ones(59, bool))


def test_the_module_needs_neither_torch_nor_bpy():
    code = ("import sys, engine.motion_quality; bad = {'torch', 'bpy'} & set(sys.modules); "
            "sys.exit(f'imported {bad}' if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.shared
def test_real_detectron2_jumping_jacks_missing_frames():
    from engine.readers import inspect_file, read_sequence

    path = require_shared("samples", "videopose3d_custom", "jumping_jacks_front.mp4.npz")
    # samples/README.md: 689 frames, 249 with no detection (the best box of each frame, VideoPose3D's rule)
    best = read_sequence(path, fps=30, person="best")
    assert best.num_frames == 689 and mq.missing_input_frames(best).sum() == 249
    # the default person is one track: every frame it is not seen in is missing for the lift
    seq = read_sequence(path, fps=30)
    track = next(p for p in inspect_file(path)["people"] if p["id"] == seq.meta["person"])
    assert mq.missing_input_frames(seq).sum() == 689 - track["frames_visible"]
    assert (mq.gap_report_frames(seq.meta["gaps"], 689) == mq.missing_input_frames(seq)).all()


# --- evaluate --motion (engine.train.evaluate) ---------------------------------------------------

def _mocap_clip(frames: int = 40):
    """A standing mocap clip as the cache holds it: Y up, floor at y = 0, ankles ANKLE_HEIGHT above it."""
    from engine.train.mocap_dataset import ANKLE_HEIGHT, MocapClip

    z_up = clip(frames)
    z_up[..., 2] += ANKLE_HEIGHT
    z_up[:, LEFT_ANKLE, 2] += 0.1 * (np.arange(frames) % 2)      # one foot tapping
    y_up = np.stack([z_up[..., 0], z_up[..., 2], -z_up[..., 1]], axis=-1).astype(np.float32)
    return MocapClip("syn_motion", "custom", y_up, FPS, "walk", "normal")


class _PerfectLifter:
    """Stands in for `Lifter`: answers every clip with the truth (up vector, grounded world joints)
    minus `sink` metres, so the figures evaluate_motion derives from it are known."""

    def __init__(self, truth_up, world, sink: float = 0.0):
        self.config = type("Config", (), {"window": 27})()
        self.truth_up, self.world, self.sink, self.calls = truth_up, world, sink, []

    def lift(self, seq, settings=None, cleanup: bool = True):
        from engine.sequence import LiftResult

        self.calls.append((seq.num_frames, seq.image_size, cleanup))
        t = seq.num_frames
        world = self.world - np.array([0, 0, self.sink])
        return LiftResult(world, world, seq.fps, ["walk"], np.ones((t, 1), np.float32), ["x"] * t,
                          {"cleanup": {"up_camera": list(self.truth_up)}} if cleanup else {})


def test_evaluate_motion_scores_up_vector_and_floor_against_the_truth():
    from engine.train.evaluate import CAMERA_UP, angle_deg, evaluate_motion
    from engine.train.mocap_dataset import ANKLE_HEIGHT, WindowSampler

    mocap = _mocap_clip()
    data = WindowSampler([mocap], window=27, noise=True).windows_for_eval(mocap)
    true_up = data["camera"].rotation @ np.array([0.0, 1.0, 0.0])
    tilt = angle_deg(CAMERA_UP, true_up)
    assert 0.5 < tilt < 45                                   # the eval camera looks down or up a little
    z_up = np.stack([mocap.joints[..., 0], -mocap.joints[..., 2], mocap.joints[..., 1]], axis=-1)
    fake = _PerfectLifter(true_up, z_up, sink=ANKLE_HEIGHT)  # the engine's convention: ankle on z = 0
    out = evaluate_motion(fake, [mocap], settings=None)
    assert set(out) == {"off", "on"} and fake.calls[0][:2] == (40, tuple(int(v) for v in data["image_size"]))
    on, off = out["on"], out["off"]
    assert on["lean_err_deg"]["median"] == pytest.approx(0.0, abs=1e-3)    # used meta["cleanup"]["up_camera"]
    assert off["lean_err_deg"]["median"] == pytest.approx(tilt, abs=1e-6)  # no clean-up: the camera's up
    assert on["floor_err_mm"]["median"] == pytest.approx(1000 * ANKLE_HEIGHT, abs=1e-3)
    assert on["floor_err_ankle_mm"]["median"] == pytest.approx(0.0, abs=1e-3)   # the engine's convention
    assert on["clips"] == 1


def test_evaluate_motion_runs_the_real_lift_with_a_tiny_model(tiny_checkpoint):
    from engine.lifter import PRESETS, Lifter
    from engine.train.evaluate import evaluate_motion

    out = evaluate_motion(Lifter(tiny_checkpoint, "cpu"), [_mocap_clip()], PRESETS["fast"])
    assert 0 < out["off"]["lean_err_deg"]["mean"] < 45          # the camera's own up vs the true up
    for stage in out.values():                                  # random weights: any up the clean-up finds
        assert stage["clips"] == 1
        assert 0 <= stage["lean_err_deg"]["mean"] <= 180 and np.isfinite(stage["floor_err_mm"]["mean"])
