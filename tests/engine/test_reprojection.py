"""The 2D-agreement check of `lift` (engine.reprojection): the fit, the error, the warning; and on real
Detectron2 output with the shipped weights, that it warns on push-ups and not on squats."""

import json

import numpy as np
import pytest

from engine.reprojection import POOR_FIT, fit_weak_perspective, reprojection_error, summarise
from engine.sequence import LiftResult
from engine.skeleton import JOINT_NAMES
from engine_support import require_shared

J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _poses(frames=20, seed=0):
    """Random camera-frame poses with a clear torso, and their exact weak-perspective 2D."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(0, 0.25, (frames, 17, 3))
    pose[:, J["thorax"], :2] = pose[:, J["pelvis"], :2] + [0.0, -0.5]
    pose[:, J["left_hip"], :2] = pose[:, J["pelvis"], :2] + [0.13, 0.0]
    pose[:, J["right_hip"], :2] = pose[:, J["pelvis"], :2] - [0.13, 0.0]
    scale = rng.uniform(300, 900, (frames, 1, 1))
    shift = rng.uniform(0, 1000, (frames, 1, 2))
    return pose, scale * pose[..., :2] + shift


def test_weak_perspective_fit_recovers_scale_and_shift():
    pose, kp = _poses()
    assert np.allclose(fit_weak_perspective(pose[..., :2], kp), kp, atol=1e-6)
    err = reprojection_error(pose, kp, np.ones((20, 17)))
    assert np.all(err < 1e-6)


def test_unseen_joints_do_not_count_and_a_narrow_body_does():
    pose, kp = _poses()
    scores = np.ones((20, 17))
    kp[:, J["right_wrist"]] = 1e5                 # garbage where the detector saw nothing
    scores[:, J["right_wrist"]] = 0
    assert np.all(reprojection_error(pose, kp, scores) < 1e-6)
    narrow = pose.copy()                          # hips half as wide as the 2D says
    for side in ("left_hip", "right_hip"):
        narrow[:, J[side], :2] = (pose[:, J[side], :2] + pose[:, J["pelvis"], :2]) / 2
    err = reprojection_error(narrow, kp, scores)
    assert np.all(err > 0.005) and np.all(err < 0.1)


def test_frames_without_a_torso_are_nan_and_the_summary_warns_above_the_threshold():
    pose, kp = _poses()
    scores = np.ones((20, 17))
    scores[:5, J["thorax"]] = 0
    err = reprojection_error(pose, kp, scores)
    assert np.isnan(err[:5]).all() and np.isfinite(err[5:]).all()
    good = summarise(np.full(30, POOR_FIT / 2))
    assert good["warning"] is None and good["frames"] == 30 and good["median"] == pytest.approx(POOR_FIT / 2)
    bad = summarise(np.r_[np.full(30, 2 * POOR_FIT), np.nan])
    assert bad["frames"] == 30 and bad["warning"].startswith("The 3D agrees poorly with the 2D keypoints")
    assert f"{2 * POOR_FIT:.0%}" in bad["warning"] and bad["warning"].count(".") == 1     # one sentence
    unmeasured = summarise(np.full(4, np.nan))          # silence would read as a good fit: say it could not be measured
    assert (unmeasured["median"], unmeasured["p90"], unmeasured["frames"]) == (None, None, 0)
    assert unmeasured["warning"].startswith("How well the 3D fits the 2D keypoints could not be measured")
    assert unmeasured["warning"].count(".") == 1


@pytest.mark.slow
@pytest.mark.shared
def test_lift_warns_on_push_ups_not_on_squats(engine, tmp_path):
    """Real Detectron2 keypoints, the shipped weights: a push-up (nothing like the standing motion capture)
    gets the warning on stderr and in the result's meta; a squat does not."""
    sample = require_shared("samples", "videopose3d_custom", "data_2d_custom_myvideos.npz")
    medians = {}
    for video in ("push_up_front_view.mp4", "squats.mp4"):
        out = tmp_path / f"{video}.npz"
        proc = engine("lift", str(sample), "--video", video, "--fps", "30", "-o", str(out), "--device", "cpu")
        assert proc.returncode == 0, proc.stderr[-2000:]
        fit = LiftResult.load(out).meta["reprojection"]
        assert fit["frames"] > 300
        medians[video] = fit["median"]
        warned = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
        if video.startswith("push_up"):
            assert fit["warning"] and warned == [f"warning: {sample}: {fit['warning']}"]
        else:
            assert fit["warning"] is None and not warned
    assert medians["squats.mp4"] < 0.15 < POOR_FIT < medians["push_up_front_view.mp4"]
    # --video picks a video of the file; a wrong one is a one-sentence error that writes nothing.
    info = json.loads(engine("inspect", str(sample), "--video", "3").stdout)
    assert info["video"] == info["videos"][3]["name"]
    proc = engine("lift", str(sample), "--video", "no_such.mp4", "--fps", "30", "-o", str(tmp_path / "x.npz"))
    assert proc.returncode != 0 and "has no video 'no_such.mp4'" in proc.stderr
    assert not (tmp_path / "x.npz").exists()
