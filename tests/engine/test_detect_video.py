"""Issue #20: a video file as input. `engine detect` runs the real MediaPipe Pose (0.10.14) on the
real sample video and reproduces the shared MediaPipe dump; `lift VIDEO` detects then lifts in one
process; bad videos (corrupt, truncated, no person, a still image) are one sentence each and write
nothing; a cancel mid-run leaves nothing behind.

The videos these tests make (no person, corrupt, cuts of the sample) are written with the same
OpenCV the engine decodes with. Tests that need the sample video skip when ../shared is absent;
every test skips when the [video] extra (mediapipe, OpenCV) is not installed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from engine_support import REPO, engine_env, require_shared

pytest.importorskip("cv2", reason="the [video] extra (OpenCV) is not installed")
pytest.importorskip("mediapipe", reason="the [video] extra (mediapipe) is not installed")

from engine import video  # noqa: E402
from engine.readers import inspect_file, read_sequence  # noqa: E402
from engine.sequence import KeypointSequence, LiftResult  # noqa: E402

SAMPLE = ("samples", "video", "sports2d_demo.mp4")
SHARED_JSON = ("samples", "mediapipe33", "sports2d_demo_mediapipe_pose.json")


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def one_sentence(proc) -> str:
    """The error line of a failed run: exit 2, one line on stderr, no traceback."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and lines[0].endswith("."), lines
    return lines[0]


def noise_video(path, frames: int = 20, size=(320, 240), fps: float = 25.0):
    """A video of grey noise: no person in it."""
    rng = np.random.default_rng(0)
    w, h = size
    return video.write_video(path, (rng.integers(90, 160, (h, w, 3), dtype=np.uint8) for _ in range(frames)), fps)


@pytest.fixture(scope="module")
def sample_cut(tmp_path_factory):
    """The first 45 frames of the sample video (the man on the wall), re-encoded."""
    src = require_shared(*SAMPLE)
    return video.cut(src, tmp_path_factory.mktemp("cut") / "sports2d_first45.mp4", 45)


def test_inspect_reports_frames_fps_and_size_without_detecting(engine, tmp_path):
    clip = noise_video(tmp_path / "noise.mp4", frames=12, size=(320, 240), fps=25)
    info = inspect_file(clip)
    assert (info["format"], info["frames"], info["fps"], info["image_size"]) == ("video", 12, 25.0, [320, 240])
    proc = engine("inspect", str(clip))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["frames"] == 12


@pytest.mark.slow
@pytest.mark.shared
def test_detect_reproduces_the_shared_mediapipe_dump(engine, tmp_path):
    """Complexity 1 (full) on the sample video against the shared dump of the same MediaPipe
    version: within 1 px median on the frames where both follow the same person."""
    sample, dump = require_shared(*SAMPLE), require_shared(*SHARED_JSON)
    out = tmp_path / "sports2d.npz"
    proc = engine("detect", str(sample), "-o", str(out), "--detector-model", "full")
    assert proc.returncode == 0, proc.stderr
    ev = events(proc.stdout)
    assert ev[0] == {"event": "start", "input": str(sample), "frames": 230, "fps": 30.0, "image_size": [1768, 994]}
    progress = [e for e in ev if e["event"] == "progress"]
    assert progress and all(e["stage"] == "detecting" for e in progress)
    assert progress[-1]["done"] == progress[-1]["total"] == 230
    assert ev[-1]["event"] == "done" and ev[-1]["output"] == str(out) and ev[-1]["model"] == "full"

    ours = KeypointSequence.load(out)            # the canonical file, checked by its own loader
    assert ours.keypoints.shape == (230, 17, 2) and ours.image_size == (1768, 994) and ours.fps == 30.0
    assert ours.meta["detector"]["model"] == "full" and ours.meta["detector"]["model_complexity"] == 1
    seen = ours.scores > 0
    assert 0 < ours.scores[seen].min() and ours.scores[seen].max() <= 1.0 and len(np.unique(ours.scores)) > 100
    # MediaPipe followed three people in turn; the most visible (the man on the wall) is kept and
    # every other frame is missing, not another person's pose.
    assert [p["first_frame"] for p in ours.meta["people_tracked"]] == [3, 170, 202]
    kept = np.flatnonzero(seen.any(axis=1))
    assert kept.min() == 3 and kept.max() <= 169 and not seen[170:].any()
    assert (ours.keypoints[~seen] == 0).all()

    ref = read_sequence(dump, max_gap=0)         # the dump through the same reader: same person rule
    both = (ref.scores > 0) & seen
    frames_both = np.flatnonzero(both.any(axis=1))
    assert len(frames_both) > 150
    err = np.linalg.norm(ref.keypoints - ours.keypoints, axis=-1)[both]
    print(f"median {np.median(err):.3f} px, p90 {np.percentile(err, 90):.2f} px over {len(frames_both)} frames")
    assert np.median(err) < 1.0


@pytest.mark.slow
@pytest.mark.shared
def test_lift_a_video_in_one_process(engine, tiny_checkpoint, sample_cut, tmp_path):
    out = tmp_path / "result.npz"
    proc = engine("lift", str(sample_cut), "-o", str(out), "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
                  "--detector-model", "full")
    assert proc.returncode == 0, proc.stderr
    ev = events(proc.stdout)
    detecting = [e for e in ev if e.get("stage") == "detecting"]
    assert detecting and detecting[-1]["done"] == detecting[-1]["total"] == 45
    fractions = [e["fraction"] for e in ev if "fraction" in e]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    r = LiftResult.load(out)
    assert r.joints3d.shape == (45, 17, 3) and r.fps == 30.0 and r.meta["input_format"] == "video"
    assert r.meta["source"]["detector"]["model"] == "full"      # the result names the detector and its model
    assert r.meta["source"]["detector"]["name"].startswith("MediaPipe Pose")
    footage = r.meta["footage"]
    assert footage["video"]["path"] == str(sample_cut.resolve()) and footage["video"]["frames"] == 45
    cam = footage["camera"]
    rot = np.array(cam["rotation"])
    assert cam["horizontal_fov_deg"] == pytest.approx(r.meta["camera_lens"]["horizontal_fov_deg"], abs=1e-3)
    assert r.meta["camera_lens"]["lens_mm_35"] == 35.0 and cam["image_size"] == [1768, 994]
    assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-4) and np.linalg.det(rot) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.slow
@pytest.mark.shared
def test_detect_then_lift_the_keypoints_file_keeps_the_footage(engine, tiny_checkpoint, sample_cut, tmp_path):
    kp = tmp_path / "kp.npz"
    assert engine("detect", str(sample_cut), "-o", str(kp), "--detector-model", "lite").returncode == 0
    seq = KeypointSequence.load(kp)
    assert seq.meta["detector"]["model"] == "lite" and seq.meta["detector"]["model_complexity"] == 0
    out = tmp_path / "r.npz"
    proc = engine("lift", str(kp), "-o", str(out), "--checkpoint", str(tiny_checkpoint), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert LiftResult.load(out).meta["footage"]["video"]["path"] == str(sample_cut.resolve())


@pytest.mark.slow
def test_a_video_with_no_person_is_one_sentence(engine, tmp_path):
    clip = noise_video(tmp_path / "empty_room.mp4")
    for command in ("detect", "lift"):
        out = tmp_path / f"{command}.npz"
        line = one_sentence(engine(command, str(clip), "-o", str(out), "--detector-model", "full"))
        assert line == "error: empty_room.mp4: shows no person MediaPipe can find in any of its 20 frames."
        assert not out.exists() and not list(tmp_path.glob(f"*{command}*"))


def test_corrupt_and_truncated_videos_are_one_sentence(engine, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    whole = noise_video(tmp_path / "whole.mp4", frames=30)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])     # its index (at the end) is gone
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    expected = {junk: "cannot be opened as a video", cut: "cannot be opened as a video", empty: "is empty"}
    for clip, words in expected.items():
        out = tmp_path / f"{clip.stem}_out.npz"
        line = one_sentence(engine("detect", str(clip), "-o", str(out)))
        assert line.startswith(f"error: {clip.name}: ") and words in line, line
        assert not out.exists()


@pytest.mark.shared
def test_a_video_cut_short_after_its_index_is_one_sentence(engine, tmp_path):
    """The sample keeps its index at the start, so a cut copy still opens: it must not pass for a
    shorter video."""
    sample = require_shared(*SAMPLE)
    data = sample.read_bytes()
    cut = tmp_path / "sports2d_cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    info = video.probe(cut)
    if info.frames != 230:
        pytest.skip("this sample's index is not at its start")
    decoded = sum(1 for _ in zip(range(5), video.frames(cut, info)))
    assert decoded == 5
    with pytest.raises(Exception, match=r"ends after \d+ of the 230 frames its header states"):
        for _ in video.frames(cut, info):
            pass


def test_a_still_image_is_one_sentence(engine, tmp_path):
    import cv2

    png = tmp_path / "photo.png"
    cv2.imwrite(str(png), np.full((120, 160, 3), 128, np.uint8))
    for command in ("detect", "lift", "inspect"):
        args = (command, str(png)) + (() if command == "inspect" else ("-o", str(tmp_path / "o.npz")))
        line = one_sentence(engine(*args))
        assert line.startswith("error: photo.png: is a still image (PNG), not a video"), line
    single = noise_video(tmp_path / "one_frame.mp4", frames=1)
    line = one_sentence(engine("detect", str(single), "-o", str(tmp_path / "o.npz")))
    assert "holds a single frame, a still image rather than a video" in line
    assert not (tmp_path / "o.npz").exists()


def test_detect_refuses_a_keypoint_file(engine, keypoints_file, tmp_path):
    line = one_sentence(engine("detect", str(keypoints_file), "-o", str(tmp_path / "o.npz")))
    assert "is not a video file" in line


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cancel_mid_detection_leaves_nothing(tmp_path, sig):
    clip = noise_video(tmp_path / "long.mp4", frames=400, size=(640, 360))
    out_dir = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "engine", "detect", str(clip), "-o", str(out_dir / "kp.npz"),
                             "--detector-model", "full"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=engine_env(), cwd=REPO)
    for line in proc.stdout:                       # wait until frames are going through the detector
        if '"progress"' in line and json.loads(line)["done"] > 1:
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "cancelled" in err and "Traceback" not in err
    time.sleep(0.1)
    assert not out_dir.exists()                    # not the file, not a staged copy, not the folder made for it


def test_heavy_without_its_file_says_how_to_get_it(tmp_path, monkeypatch):
    """Where neither mediapipe's folder nor any candidate has the heavy model, the sentence names
    the setup step and the flag (mediapipe's own folder is pointed at an empty one)."""
    from engine import detector
    from engine.errors import EngineError

    monkeypatch.setattr(detector, "_package_model_path", lambda mp, model: tmp_path / "pkg" / detector.model_file(model))
    monkeypatch.setattr(detector, "CACHE_DIRS", (tmp_path / "nothing",))
    monkeypatch.delenv(detector.WEIGHTS_ENV, raising=False)
    with pytest.raises(EngineError) as exc:
        detector.ensure_model("heavy")
    msg = str(exc.value)
    assert "make mediapipe-models" in msg and "--detector-weights" in msg and "@mediapipe/pose" in msg
    assert detector.resolve_model("auto") == "full"        # auto falls back to the wheel's model
    not_a_model = tmp_path / "pose_landmark_heavy.tflite"
    not_a_model.write_bytes(b"not a model at all")
    with pytest.raises(EngineError, match="is not a TFLite model file"):
        detector.ensure_model("heavy", not_a_model)
    with pytest.raises(EngineError, match="does not exist"):
        detector.ensure_model("heavy", tmp_path / "missing.tflite")


def test_a_weights_file_is_installed_where_mediapipe_reads_it(tmp_path, monkeypatch):
    from engine import detector

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    monkeypatch.setattr(detector, "_package_model_path", lambda mp, model: pkg / detector.model_file(model))
    src = tmp_path / "mine" / "pose_landmark_lite.tflite"
    src.parent.mkdir()
    src.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64)          # a TFLite flatbuffer's header
    assert detector.ensure_model("lite", src.parent) == pkg / "pose_landmark_lite.tflite"
    assert (pkg / "pose_landmark_lite.tflite").read_bytes() == src.read_bytes()
    assert not list(pkg.glob(".*"))                                   # no temporary copy left
