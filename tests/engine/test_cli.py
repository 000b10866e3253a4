"""The engine CLI through a subprocess, as the add-on runs it: the contract of shared conventions."""

import json

import numpy as np
import pytest

from engine_support import require_shared, walking_keypoints
from engine.sequence import LiftResult

pytestmark = pytest.mark.slow


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_lift_end_to_end(engine, tiny_checkpoint, keypoints_file, tmp_path):
    out = tmp_path / "result.npz"
    proc = engine("lift", str(keypoints_file), "-o", str(out), "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    ev = events(proc.stdout)
    from engine import __version__
    from engine.cli import PROTOCOL

    assert ev[0] == {"event": "hello", "engine_version": __version__, "protocol": PROTOCOL}     # the handshake
    assert {"event": "start", "input": str(keypoints_file), "frames": 60} in ev
    assert ev[-1]["event"] == "done" and ev[-1]["output"] == str(out)
    progress = [e for e in ev if e["event"] == "progress"]
    assert progress and progress[-1]["done"] == progress[-1]["total"]
    fractions = [e["fraction"] for e in ev if "fraction" in e]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and max(fractions[:-1]) < 1.0
    assert [e["stage"] for e in ev if e["event"] == "stage"] == ["reading", "loading the model", "smoothing",
                                                                  "cleaning up", "writing"]
    r = LiftResult.load(out)
    assert r.joints3d.shape == (60, 17, 3) and r.fps == 30.0
    assert r.meta["input_format"] == "keypoints-npz" and r.meta["sampling"]["seed"] == 1
    # Same seed, same numbers, in a second process.
    out2 = tmp_path / "again.npz"
    assert engine("lift", str(keypoints_file), "-o", str(out2), "--checkpoint", str(tiny_checkpoint), "--seed", "1",
                  "--action-window", "0").returncode == 0
    again = LiftResult.load(out2)
    assert np.array_equal(again.joints3d, r.joints3d) and again.meta["sampling"]["action_window"] == 0
    assert r.meta["sampling"]["action_window"] == 181
    assert r.meta["smoothing"] == {"method": "butterworth", "hz": 4.0}      # the default filter, its cut-off stated


def test_several_inputs_one_process(engine, tiny_checkpoint, tmp_path):
    paths = []
    for name, frames in (("a", 30), ("b", 45)):
        paths.append(tmp_path / f"{name}.npz")
        walking_keypoints(frames).save(paths[-1])
    proc = engine("lift", *map(str, paths), "-o", str(tmp_path / "out"), "--checkpoint", str(tiny_checkpoint),
                  "--smooth", "butterworth", "--smooth-hz", "5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("loaded ") == 1                      # the model is loaded once
    assert LiftResult.load(tmp_path / "out" / "b.npz").joints3d.shape[0] == 45


def test_lift_reads_openpose_folder_directly(engine, tiny_checkpoint, tmp_path):
    folder = require_shared("samples", "openpose_body25b", "pose_cam1_json")
    out = tmp_path / "op.npz"
    proc = engine("lift", str(folder), "-o", str(out), "--checkpoint", str(tiny_checkpoint),
                  "--image-size", "540", "960", "--fps", "60")
    assert proc.returncode == 0, proc.stderr
    r = LiftResult.load(out)
    assert r.joints3d.shape == (15, 17, 3) and r.meta["input_format"] == "openpose"


def test_lift_passes_3d_input_through(engine, tmp_path):
    trc = require_shared("samples", "trc", "S00_P01_T02_Participants1-2_P1_0-100.trc")
    out = tmp_path / "trc.npz"
    proc = engine("lift", str(trc), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    r = LiftResult.load(out)
    assert r.joints3d_world.shape == (100, 17, 3) and r.prompt[0] == "unknown" and r.fps == 60


def _bad(tmp_path, name, content: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(content)
    return str(p)


@pytest.mark.parametrize("case", ["empty", "corrupt", "wrong_joints", "nan", "zero_conf", "missing"])
def test_bad_input_one_sentence_nonzero_nothing_written(engine, tiny_checkpoint, tmp_path, case):
    seq = walking_keypoints(20)
    if case == "empty":
        path = _bad(tmp_path, "empty.npz", b"")
    elif case == "corrupt":
        good = tmp_path / "good.npz"
        seq.save(good)
        path = _bad(tmp_path, "corrupt.npz", good.read_bytes()[:300])
    elif case == "missing":
        path = str(tmp_path / "nope.npz")
    else:
        kp, sc = seq.keypoints, seq.scores
        if case == "wrong_joints":
            kp, sc = kp[:, :15], sc[:, :15]
        if case == "nan":
            kp = kp.copy()
            kp[4, 3] = np.nan
        if case == "zero_conf":
            sc = np.zeros_like(sc)
        path = str(tmp_path / f"{case}.npz")
        np.savez(path, keypoints=kp, scores=sc, image_size=np.array([1920, 1080]), fps=30.0, layout="h36m17")
    out = tmp_path / "out.npz"
    proc = engine("lift", path, "-o", str(out), "--checkpoint", str(tiny_checkpoint))
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()[-1]
    assert err.startswith("error: ") and err.endswith(".") and "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("out*"))


def test_bad_checkpoint_is_a_clear_error(engine, keypoints_file, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    proc = engine("lift", str(keypoints_file), "-o", str(tmp_path / "o.npz"), "--checkpoint", str(bad))
    assert proc.returncode != 0 and "not a readable safetensors file" in proc.stderr
    assert not (tmp_path / "o.npz").exists()


def test_info_and_inspect(engine, tiny_checkpoint, keypoints_file):
    proc = engine("info", "--checkpoint", str(tiny_checkpoint))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["actions"] == ["walk", "run", "other"] and info["device"] == "cpu"
    assert info["text_encoder"]["backend"] == "minilm"
    proc = engine("inspect", str(keypoints_file))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["frames"] == 60


def test_cancel_leaves_no_file(tiny_checkpoint, tmp_path):
    """SIGTERM during a lift (what the add-on's cancel sends): exit 130, no result file."""
    import signal
    import subprocess
    import sys
    import time

    from engine_support import REPO, engine_env

    kp = tmp_path / "long.npz"
    walking_keypoints(3000).save(kp)
    out = tmp_path / "long_out.npz"
    proc = subprocess.Popen([sys.executable, "-m", "engine", "lift", str(kp), "-o", str(out), "--checkpoint",
                             str(tiny_checkpoint), "--preset", "quality"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=engine_env(), cwd=REPO)
    for line in proc.stdout:                       # wait until the lift is under way
        if '"progress"' in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "cancelled" in err
    time.sleep(0.1)
    assert not out.exists() and not list(tmp_path.glob("long_out*"))


def test_bad_flags_are_one_sentence_errors_and_write_nothing(engine, tiny_checkpoint, keypoints_file, tmp_path):
    out = tmp_path / "o.npz"
    proc = engine("lift", str(keypoints_file), "-o", str(out), "--checkpoint", str(tiny_checkpoint),
                  "--smooth", "butterworth", "--smooth-hz", "100")          # above Nyquist at 30 fps
    assert proc.returncode != 0 and "the smoothing cut-off must lie between 0 and 15 Hz" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("o*"))
    proc = engine("lift", str(keypoints_file), str(keypoints_file), "-o", str(out), "--checkpoint", str(tiny_checkpoint))
    assert proc.returncode != 0 and "must name a folder" in proc.stderr and not out.exists()


@pytest.mark.parametrize("flag, value", [("--cleanup", "maybe"), ("--root-motion", "sideways")])
def test_bad_clean_up_flags_are_one_sentence_errors_and_write_nothing(engine, tiny_checkpoint, keypoints_file,
                                                                      tmp_path, flag, value):
    out = tmp_path / "o.npz"
    proc = engine("lift", str(keypoints_file), "-o", str(out), "--checkpoint", str(tiny_checkpoint), flag, value)
    assert proc.returncode == 2 and f"{flag}: invalid choice: '{value}'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not out.exists()


def test_the_lens_is_the_users_or_a_35mm_equivalent_one(engine, tiny_checkpoint, keypoints_file, tmp_path):
    """The focal length behind the aim, the root's depth and the floor: 35 mm-equivalent unless
    `--lens-mm` says otherwise, recorded in the result; a lens no camera has is refused."""
    from engine.frames import screen_focal

    out, phone = tmp_path / "default.npz", tmp_path / "phone.npz"
    for path, extra in ((out, []), (phone, ["--lens-mm", "26"])):
        proc = engine("lift", str(keypoints_file), "-o", str(path), "--checkpoint", str(tiny_checkpoint), *extra)
        assert proc.returncode == 0, proc.stderr
    lens, lens_phone = LiftResult.load(out).meta["camera_lens"], LiftResult.load(phone).meta["camera_lens"]
    assert lens["lens_mm_35"] == 35.0 and lens["focal_screen"] == pytest.approx(screen_focal(1920, 1080), abs=1e-6)
    assert lens_phone["lens_mm_35"] == 26.0 and lens_phone["horizontal_fov_deg"] > lens["horizontal_fov_deg"]
    proc = engine("lift", str(keypoints_file), "-o", str(tmp_path / "x.npz"), "--checkpoint", str(tiny_checkpoint),
                  "--lens-mm", "1")
    assert proc.returncode != 0 and "--lens-mm" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.npz").exists()
