"""Issue #19, item 14: `addon/batch.py` with the real engine (tiny checkpoint) on inputs that
failed before: files that store neither image size nor fps (OpenPose, AlphaPose samples), which
need `--image-size W H` and `--fps F`, and a folder whose file names hold more than one dot
(`take.v1.npz`, the sample `jumping_jacks_front.mp4.npz`), whose results the engine names by its
own rule. Batch takes each result's path from the engine's `done` events, so no name is guessed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from engine_support import require_shared

pytestmark = [pytest.mark.bpy, pytest.mark.slow]


def _batch(repo, *args, timeout=300):
    return subprocess.run([sys.executable, str(repo / "addon" / "batch.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def _meta(path):
    with np.load(path, allow_pickle=False) as z:
        return float(z["fps"]), json.loads(str(z["meta"]))


@pytest.mark.shared
def test_batch_passes_image_size_and_fps_for_the_openpose_sample(repo, tiny_checkpoint, tmp_path):
    sample = require_shared("samples", "openpose_body25b", "pose_cam1_json")
    common = ["--input", sample, "--checkpoint", tiny_checkpoint, "--device", "cpu", "--export", "bvh"]
    bare = _batch(repo, *common, "--output", tmp_path / "bare")
    assert bare.returncode == 1 and "image size" in bare.stderr.strip().splitlines()[-1]
    out = tmp_path / "out"
    r = _batch(repo, *common, "--output", out, "--image-size", 540, 960, "--fps", 60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert {p.name for p in out.iterdir()} == {"pose_cam1_json.npz", "pose_cam1_json.bvh"}
    fps, meta = _meta(out / "pose_cam1_json.npz")
    assert fps == 60.0 and meta["image_size"] == [540, 960]
    assert "Frame Time: 0.016667" in (out / "pose_cam1_json.bvh").read_text()


@pytest.mark.shared
def test_batch_lifts_the_alphapose_sample_with_image_size_and_fps(repo, tiny_checkpoint, tmp_path):
    sample = require_shared("samples", "alphapose_halpe26", "alphapose-results.first5.json")
    out = tmp_path / "out"
    r = _batch(repo, "--input", sample, "--output", out, "--image-size", 540, 960, "--fps", 25,
               "--checkpoint", tiny_checkpoint, "--device", "cpu", "--export", "bvh")
    assert r.returncode == 0, r.stderr[-2000:]
    fps, meta = _meta(out / "alphapose-results.first5.npz")
    assert fps == 25.0 and meta["image_size"] == [540, 960]


@pytest.mark.shared
def test_batch_finds_the_results_of_files_with_several_dots(repo, tiny_checkpoint, keypoints_file, tmp_path):
    """Two inputs go to one engine process with a folder `-o`; the engine writes `take.npz` and
    `jumping_jacks_front.npz` there, and batch must find them (it looked for `take.v1.npz`)."""
    clips = tmp_path / "clips"
    clips.mkdir()
    shutil.copy(keypoints_file, clips / "take.v1.npz")
    shutil.copy(require_shared("samples", "videopose3d_custom", "jumping_jacks_front.mp4.npz"), clips)
    out = tmp_path / "out"
    r = _batch(repo, "--input", clips, "--output", out, "--fps", 30, "--checkpoint", tiny_checkpoint,
               "--device", "cpu", "--export", "bvh")
    assert r.returncode == 0, r.stderr[-2000:]
    assert {p.name for p in out.iterdir()} == {"take.v1.npz", "take.v1.bvh", "jumping_jacks_front.mp4.npz",
                                               "jumping_jacks_front.mp4.bvh"}
    starts = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith('{"event": "start"')]
    assert len(starts) == 2  # one engine process for both
    assert "Frames: 60" in (out / "take.v1.bvh").read_text()
    assert "Frames: 689" in (out / "jumping_jacks_front.mp4.bvh").read_text()
