"""Readers on the hand-written fixtures (tests/engine/fixtures) and on edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.errors import EngineError, ReaderError
from engine.readers import FORMATS, Motion3D, detect_format, inspect_file, read_sequence
from engine.readers.layouts import BODY25, COCO17, LAYOUTS
from engine.sequence import KeypointSequence, LiftResult
from engine.skeleton import JOINT_NAMES

FIX = Path(__file__).parent / "fixtures"
J = {n: i for i, n in enumerate(JOINT_NAMES)}


def test_format_names_are_documented():
    import engine.readers as r
    for name in FORMATS:
        assert f'"{name}"' in r.__doc__


def test_every_layout_maps_all_17_joints():
    for lay in LAYOUTS.values():
        assert lay.missing() == [], lay.name


def test_openpose_body25_guessed_and_mapped():
    seq = read_sequence(FIX / "openpose_body25", image_size=(640, 480), fps=25)
    assert seq.meta["source_layout"] == "body25" and seq.num_frames == 3
    raw = json.loads((FIX / "openpose_body25" / "clip_000000000002_keypoints.json").read_text())
    kp = np.array(raw["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
    np.testing.assert_allclose(seq.keypoints[2, J["right_wrist"]], kp[4, :2])
    np.testing.assert_allclose(seq.keypoints[2, J["pelvis"]], (kp[9, :2] + kp[12, :2]) / 2)
    assert "pelvis" in seq.meta["derived_joints"]


def test_openpose_coco18_by_count():
    seq = read_sequence(FIX / "openpose_coco18", image_size=(640, 480), fps=25)
    assert seq.meta["source_layout"] == "coco18"
    assert seq.keypoints[1, J["left_ankle"]].tolist() == [111.0, 250.0]


def test_openpose_forced_layout_and_bad_layout():
    seq = read_sequence(FIX / "openpose_body25", layout="BODY_25", image_size=(640, 480), fps=25)
    assert seq.meta["source_layout"] == BODY25.name
    with pytest.raises(ReaderError, match="coco18"):
        read_sequence(FIX / "openpose_body25", layout="coco18", image_size=(640, 480), fps=25)


def test_crossing_people_keep_identity():
    info = inspect_file(FIX / "openpose_crossing")
    assert info["frames"] == 12 and len(info["people"]) == 2
    default = read_sequence(FIX / "openpose_crossing", image_size=(640, 480), fps=25)
    xs = default.keypoints[:, J["pelvis"], 0]
    assert np.all(np.diff(xs) > 0), "the most visible person (A) walks right through the crossing"
    other = [p["id"] for p in info["people"] if p["id"] != default.meta["person"]][0]
    seq_b = read_sequence(FIX / "openpose_crossing", person=other, image_size=(640, 480), fps=25)
    assert seq_b.meta["gaps"]["interpolated"] == [[7, 7]]
    assert np.all(np.diff(seq_b.keypoints[:, J["pelvis"], 0]) < 0)
    with pytest.raises(ReaderError, match="no person '9'"):
        read_sequence(FIX / "openpose_crossing", person=9, image_size=(640, 480), fps=25)


def test_missing_size_and_fps_name_the_flag():
    with pytest.raises(ReaderError, match="--image-size"):
        read_sequence(FIX / "openpose_body25", fps=25)
    with pytest.raises(ReaderError, match="--fps"):
        read_sequence(FIX / "openpose_body25", image_size=(640, 480))


def test_coco_results_json():
    assert detect_format(FIX / "coco_results.json") == "coco-json"
    seq = read_sequence(FIX / "coco_results.json", image_size=(1000, 1000), fps=30)
    assert seq.num_frames == 2 and seq.meta["source_layout"] == COCO17.name
    assert seq.keypoints[1, J["right_wrist"]].tolist() == [101.0, 151.0]  # COCO 10 -> +1 shift
    best = read_sequence(FIX / "coco_results.json", person="best", image_size=(1000, 1000), fps=30)
    np.testing.assert_allclose(best.keypoints, seq.keypoints)


def test_mmpose_prediction_json():
    assert detect_format(FIX / "mmpose_predictions.json") == "mmpose"
    seq = read_sequence(FIX / "mmpose_predictions.json", image_size=(640, 480), fps=30)
    assert seq.num_frames == 4
    assert seq.meta["gaps"]["interpolated"] == [[2, 2]]
    np.testing.assert_allclose(seq.keypoints[2, J["left_knee"]], [130 + 4, 165])


def test_dlc_multi_animal_identities(tmp_path):
    info = inspect_file(FIX / "dlc_multi.csv")
    assert sorted(p["id"] for p in info["people"]) == ["ind1", "ind2"]
    seq = read_sequence(FIX / "dlc_multi.csv", person="ind2", mapping=FIX / "dlc_multi_mapping.json",
                        image_size=(200, 200), fps=10)
    np.testing.assert_allclose(seq.keypoints[0, J["pelvis"]], [120, 120])
    assert seq.meta["gaps"]["joint_frames_interpolated"] > 0
    with pytest.raises(ReaderError, match="--mapping"):
        read_sequence(FIX / "dlc_multi.csv", image_size=(200, 200), fps=10)
    bad = tmp_path / "m.json"
    bad.write_text('{"lhip": "hip_left"}')
    with pytest.raises(ReaderError, match="unknown joint"):
        read_sequence(FIX / "dlc_multi.csv", mapping=bad, image_size=(200, 200), fps=10)


def test_dlc_h5(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables", reason="pandas HDF5 support (the 'tables' package) is not installed")
    cols = pd.MultiIndex.from_product([["DLC"], ["lhip", "rhip"], ["x", "y", "likelihood"]],
                                      names=["scorer", "bodyparts", "coords"])
    df = pd.DataFrame(np.array([[10, 20, 0.9, 30, 20, 0.9]] * 3, float), columns=cols)
    path = tmp_path / "videoDLC.h5"
    df.to_hdf(path, key="df_with_missing", format="table", mode="w")
    seq = read_sequence(path, mapping=FIX / "dlc_multi_mapping.json", image_size=(100, 100), fps=10)
    np.testing.assert_allclose(seq.keypoints[0, J["pelvis"]], [20, 20])


def test_keypoints_npz_roundtrip(tmp_path):
    k = np.random.default_rng(0).uniform(0, 100, (5, 17, 2)).astype(np.float32)
    s = np.ones((5, 17), np.float32)
    s[2] = 0
    path = tmp_path / "kp.npz"
    KeypointSequence(k, s, (640, 480), 25.0, {"a": 1}).save(path)
    assert detect_format(path) == "keypoints-npz"
    seq = read_sequence(path)
    np.testing.assert_allclose(seq.keypoints[[0, 1, 3, 4]], k[[0, 1, 3, 4]])
    assert seq.meta["gaps"]["interpolated"] == [[2, 2]] and seq.fps == 25.0


def test_result_npz_is_motion3d(tmp_path):
    t = 4
    j = np.random.default_rng(1).normal(scale=0.3, size=(t, 17, 3)).astype(np.float32)
    path = tmp_path / "res.npz"
    LiftResult(j, j + 1, 30.0, ["walk"], np.ones((t, 1), np.float32), ["walking"] * t, {}).save(path)
    m = read_sequence(path)
    assert isinstance(m, Motion3D) and m.fps == 30.0
    np.testing.assert_allclose(m.joints_world, j + 1)
    assert inspect_file(path)["frames"] == t


@pytest.mark.parametrize("name,content", [
    ("empty.json", ""),
    ("trunc.json", '[{"image_id": 1, "keypoints": [1, 2'),
    ("nan.json", '[{"image_id": 1, "category_id": 1, "keypoints": [NaN, 1, 1], "score": 1}]'),
    ("zero.json", "[]"),
    ("schema.json", '{"hello": 1}'),
    ("empty.npz", ""),
    ("junk.npz", "PK\x03\x04garbage"),
    ("junk.csv", "a,b\n1,2\n"),
    ("empty.trc", ""),
])
def test_bad_files_raise_one_sentence(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(EngineError) as exc:
        read_sequence(path, image_size=(10, 10), fps=1)
    msg = str(exc.value)
    assert msg.startswith(name) and msg.endswith(".") and "\n" not in msg


def test_zero_people_openpose(tmp_path):
    (tmp_path / "a_000000000000_keypoints.json").write_text('{"version":1.3,"people":[]}')
    with pytest.raises(ReaderError, match="no people"):
        read_sequence(tmp_path, image_size=(10, 10), fps=1)


def test_mixed_layouts_in_folder(tmp_path):
    for src in sorted((FIX / "openpose_body25").iterdir())[:1] + sorted((FIX / "openpose_coco18").iterdir())[1:]:
        (tmp_path / src.name).write_text(src.read_text())
    with pytest.raises(ReaderError, match="mixes layouts"):
        read_sequence(tmp_path, image_size=(640, 480), fps=25)


def test_unrelated_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ReaderError, match="format is unknown"):
        detect_format(tmp_path)


def test_unknown_format_name():
    with pytest.raises(ReaderError, match="known formats"):
        read_sequence(FIX / "coco_results.json", format="bvh")
