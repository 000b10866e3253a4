"""Every real detector file in ../shared/samples (see its README), checked against raw values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.readers import Motion3D, detect_format, inspect_file, read_sequence
from engine.skeleton import JOINT_NAMES

SAMPLES = Path(__file__).parents[2].parent / "shared" / "samples"
FIX = Path(__file__).parent / "fixtures"
J = {n: i for i, n in enumerate(JOINT_NAMES)}
pytestmark = pytest.mark.shared


@pytest.fixture(autouse=True)
def _need_samples():
    if not SAMPLES.is_dir():
        pytest.skip(f"shared samples not found at {SAMPLES} (the sibling ../shared checkout is absent)")


def test_openpose_body25b():
    for cam in ("pose_cam1_json", "pose_cam2_json"):
        folder = SAMPLES / "openpose_body25b" / cam
        assert detect_format(folder) == "openpose"
        seq = read_sequence(folder, image_size=(540, 960), fps=60)
        assert seq.num_frames == 15 and seq.meta["source_layout"] == "body25b"
        raw = json.loads(next(folder.glob("*000000000003_keypoints.json")).read_text())
        kp = np.array(raw["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
        np.testing.assert_allclose(seq.keypoints[3, J["right_wrist"]], kp[10, :2], rtol=1e-6)
        np.testing.assert_allclose(seq.keypoints[3, J["head"]], kp[18, :2], rtol=1e-6)


def test_mediapipe_json_and_csv_agree_and_track_three_people():
    js = read_sequence(SAMPLES / "mediapipe33" / "sports2d_demo_mediapipe_pose.json")
    cs = read_sequence(SAMPLES / "mediapipe33" / "sports2d_demo_mediapipe_pose.csv")
    assert js.num_frames == cs.num_frames == 230
    assert js.image_size == cs.image_size == (1768, 994) and cs.fps == 30.0
    np.testing.assert_allclose(js.keypoints, cs.keypoints)
    raw = json.loads((SAMPLES / "mediapipe33" / "sports2d_demo_mediapipe_pose.json").read_text())
    lm = raw["frames"][10]["landmarks"][16]
    np.testing.assert_allclose(js.keypoints[10, J["right_wrist"]], [lm["x"] * 1768, lm["y"] * 994], rtol=1e-5)
    people = inspect_file(SAMPLES / "mediapipe33" / "sports2d_demo_mediapipe_pose.json")["people"]
    assert [(p["first_frame"], p["last_frame"]) for p in people] == [(3, 169), (171, 200), (202, 226)]
    assert js.meta["person"] == 0
    assert js.meta["gaps"]["interpolated"] == [[4, 4]]
    assert js.meta["gaps"]["long"] == [[0, 2], [170, 229]]


def test_vp3d_custom_videos():
    path = SAMPLES / "videopose3d_custom" / "data_2d_custom_myvideos.npz"
    info = inspect_file(path)
    assert len(info["videos"]) == 55 and sum(v["frames"] for v in info["videos"]) == 40659
    with pytest.raises(Exception, match="--fps"):
        read_sequence(path)
    seq = read_sequence(path, video="jumping_jacks_front.mp4", fps=30)
    assert seq.num_frames == 689 and seq.image_size == (1920, 1080)
    assert seq.meta["video"] == "jumping_jacks_front.mp4"


def test_detectron2_raw_best_box_equals_custom():
    raw = read_sequence(SAMPLES / "videopose3d_custom" / "jumping_jacks_front.mp4.npz", person="best",
                        fps=30, max_gap=0)
    custom = read_sequence(SAMPLES / "videopose3d_custom" / "data_2d_custom_myvideos.npz",
                           video="jumping_jacks_front.mp4", fps=30)
    detected = (raw.scores > 0).any(axis=1)
    assert raw.num_frames == 689 and int((~detected).sum()) == 249
    both = detected[:, None] & (raw.scores > 0)
    np.testing.assert_allclose(raw.keypoints[both], custom.keypoints[both], atol=1e-3)
    info = inspect_file(SAMPLES / "videopose3d_custom" / "jumping_jacks_front.mp4.npz")
    assert len(info["people"]) > 1 and info["image_size"] == [1920, 1080]


def test_alphapose_coco17_and_halpe26():
    info = inspect_file(SAMPLES / "alphapose_coco17" / "alphapose-results.json")
    assert info["format"] == "alphapose" and info["frames"] == 206
    with pytest.raises(Exception, match="--image-size"):
        read_sequence(SAMPLES / "alphapose_coco17" / "alphapose-results.json", fps=1)
    path = SAMPLES / "alphapose_halpe26" / "alphapose-results.first5.json"
    seq = read_sequence(path, image_size=(540, 960), fps=30)
    raw = json.loads(path.read_text())
    assert seq.num_frames == 3 and seq.meta["source_layout"] == "halpe26"
    kp0 = np.array(raw[0]["keypoints"]).reshape(26, 3)
    np.testing.assert_allclose(seq.keypoints[0, J["head"]], kp0[17, :2])
    np.testing.assert_allclose(seq.keypoints[0, J["pelvis"]], kp0[19, :2])
    assert seq.meta["person"] == 0 and inspect_file(path)["people"][0]["frames_visible"] == 3


def test_dlc_with_mapping():
    path = SAMPLES / "deeplabcut_csv" / "reachingvideo1shortDLC_resnet50_TESTNov4shuffle1_10.csv"
    assert detect_format(path) == "dlc"
    assert inspect_file(path)["bodyparts"] == ["bodypart1", "bodypart2", "bodypart3", "objectA"]
    seq = read_sequence(path, mapping=FIX / "dlc_mapping.json", image_size=(800, 800), fps=30)
    assert seq.num_frames == 12
    np.testing.assert_allclose(seq.keypoints[0, J["right_wrist"]], [786.5689558982849, 11.98408342897892], rtol=1e-6)
    assert seq.scores[:, J["pelvis"]].max() == 0


def test_trc_to_blender_frame():
    path = SAMPLES / "trc" / "S00_P01_T02_Participants1-2_P1_0-100.trc"
    m = read_sequence(path)
    assert isinstance(m, Motion3D) and m.num_frames == 100 and m.fps == 60.0
    lines = path.read_text().split("\n")
    names = [n for n in lines[3].split("\t")[2:] if n.strip()]
    row = np.array(lines[5].split("\t")[2:2 + 3 * len(names)], float).reshape(-1, 3)
    rw, rh = row[names.index("RWrist")], row[names.index("RHip")]
    want = np.array([rw[0] - rh[0], -(rw[2] - rh[2]), rw[1] - rh[1]])  # Y up -> Z up
    got = m.joints_world[0, J["right_wrist"]] - m.joints_world[0, J["right_hip"]]
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert min(m.joints_world[:, [3, 6], 2].min(), 0) > -0.05
