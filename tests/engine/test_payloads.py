"""Reading an untrusted file never runs its code (issue #16).

Real payloads (pickled calls that would create a marker file) inside a VideoPose3D custom .npz, a
raw Detectron2 .npz and a DeepLabCut .h5 are refused with one sentence by the readers and by the
CLI's `inspect` and `lift`, and the marker never appears; pickle bombs are one sentence too; the
genuine files of these formats, written the way their tools write them, still read.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.core.multiarray import _reconstruct, scalar

from engine.cli import main
from engine.errors import EngineError
from engine.readers import inspect_file, read_sequence, safe_pickle
from engine.skeleton import JOINT_NAMES
from engine_support import OpensFile

FIX = Path(__file__).parent / "fixtures"
MAPPING = FIX / "dlc_multi_mapping.json"   # lhip -> left_hip, rhip -> right_hip
J = {n: i for i, n in enumerate(JOINT_NAMES)}
COCO_SYMMETRY = [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]]


class RunsCommand:
    """Unpickles as os.system("touch <marker>")."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class Reduces:
    """Unpickles as the given reduce tuple (for the bombs)."""

    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


@pytest.fixture(params=[RunsCommand, OpensFile])
def payload(request, tmp_path):
    return request.param(tmp_path / "PWNED")


def vp3d_custom(path: Path, positions: dict, metadata: dict | None = None) -> Path:
    """As VideoPose3D's prepare_data_2d_custom.py writes it (dicts saved as 0-d object arrays)."""
    if metadata is None:
        metadata = {"layout_name": "coco", "num_joints": 17, "keypoints_symmetry": COCO_SYMMETRY,
                    "video_metadata": {name: {"w": 640, "h": 480} for name in positions}}
    np.savez_compressed(path, positions_2d=positions, metadata=metadata)
    return path


def detectron2(path: Path, boxes: list, keypoints: list, metadata=None) -> Path:
    """As VideoPose3D's infer_video_d2.py writes it: per frame [[], person-class entry], in object arrays."""
    b, k = np.empty((len(boxes), 2), object), np.empty((len(boxes), 2), object)
    for t, (bt, kt) in enumerate(zip(boxes, keypoints)):
        b[t, 0], b[t, 1], k[t, 0], k[t, 1] = [], bt, [], kt
    np.savez_compressed(path, boxes=b, segments=np.full(len(boxes), None), keypoints=k,
                        metadata={"w": 640, "h": 480} if metadata is None else metadata)
    return path


def dlc_frame(multi: bool):
    pd = pytest.importorskip("pandas")
    levels = [["DLC"], ["ind1", "ind2"], ["lhip", "rhip", "nose"], ["x", "y", "likelihood"]]
    names = ["scorer", "individuals", "bodyparts", "coords"]
    if not multi:
        levels, names = levels[:1] + levels[2:], names[:1] + names[2:]
    cols = pd.MultiIndex.from_product(levels, names=names)
    values = np.random.default_rng(1).uniform(1, 200, (6, len(cols)))
    values[:, 2::3] = np.random.default_rng(2).uniform(0.2, 1, (6, len(cols) // 3))
    values[2, :3] = np.nan      # lhip of the first animal not detected in frame 2
    return pd.DataFrame(values, columns=cols)


def to_hdf(df, path: Path, **kwargs) -> Path:
    pytest.importorskip("tables", reason="writing the test's H5 needs pandas' PyTables support")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # PyTables' PerformanceWarning for pickled object columns
        df.to_hdf(path, key="df_with_missing", mode="w", **kwargs)
    return path


def assert_refused(path: Path, tmp_path: Path, capsys, match: str = "not plain data") -> None:
    marker = tmp_path / "PWNED"
    with pytest.raises(EngineError, match=match):
        read_sequence(path, fps=30, image_size=(640, 480), mapping=MAPPING)
    with pytest.raises(EngineError, match=match):
        inspect_file(path)
    capsys.readouterr()
    assert main(["inspect", str(path)]) == 2
    assert main(["lift", str(path), "-o", str(tmp_path / "o.npz"), "--fps", "30"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith(f"error: {path.name}: ") and match in line for line in err), err
    assert not marker.exists()
    assert not (tmp_path / "o.npz").exists()


def assert_pandas_runs_it(path: Path, tmp_path: Path) -> None:
    """The H5 payload is live: pandas.read_hdf, which the reader used before, runs it."""
    pd = pytest.importorskip("pandas")
    with contextlib.suppress(Exception), warnings.catch_warnings(), pd.HDFStore(path, mode="r") as store:
        warnings.simplefilter("ignore")
        store.get("df_with_missing")    # what pandas.read_hdf does
    assert (tmp_path / "PWNED").exists()


def test_the_payloads_are_live(payload, tmp_path):
    """Guards the tests below against passing vacuously: plain unpickling runs each payload."""
    path = vp3d_custom(tmp_path / "clip_keypoints.npz", {"clip": {"custom": [payload]}})
    with np.load(path, allow_pickle=True) as z:
        z["positions_2d"]
    assert (tmp_path / "PWNED").exists()


def test_payload_in_vp3d_custom_positions(payload, tmp_path, capsys):
    assert_refused(vp3d_custom(tmp_path / "clip_keypoints.npz", {"clip": {"custom": [payload]}}), tmp_path, capsys)


def test_payload_in_vp3d_custom_metadata(payload, tmp_path, capsys):
    kp = np.zeros((3, 17, 2), np.float32)
    path = vp3d_custom(tmp_path / "clip_keypoints.npz", {"clip": {"custom": [kp]}}, {"layout_name": payload})
    assert_refused(path, tmp_path, capsys)


def test_payload_in_detectron2_boxes(payload, tmp_path, capsys):
    path = detectron2(tmp_path / "clip.mp4.npz", [payload], [np.zeros((1, 4, 17), np.float32)])
    assert_refused(path, tmp_path, capsys)


def test_payload_in_detectron2_metadata(payload, tmp_path, capsys):
    path = detectron2(tmp_path / "clip.mp4.npz", [np.zeros((1, 5), np.float32)], [np.zeros((1, 4, 17), np.float32)],
                      metadata={"w": payload, "h": 480})
    assert_refused(path, tmp_path, capsys)


def test_payload_in_dlc_h5_object_column(payload, tmp_path, capsys):
    """pandas pickles an object column (fixed format); pandas.read_hdf would run it."""
    df = dlc_frame(multi=False)
    df[("DLC", "tail", "x")] = np.array([payload] * len(df), dtype=object)
    path = to_hdf(df, tmp_path / "videoDLC.h5", format="fixed")
    assert_refused(path, tmp_path, capsys, match="is not a DeepLabCut table")
    assert_pandas_runs_it(path, tmp_path)


@pytest.mark.parametrize("node, attr", [("df_with_missing", "non_index_axes"), ("df_with_missing", "info"),
                                        ("df_with_missing/table", "values_block_0_kind")])
def test_payload_in_dlc_h5_pickled_attribute(payload, node, attr, tmp_path, capsys):
    """PyTables unpickles these attributes on read, so pandas.read_hdf would run the payload."""
    h5py = pytest.importorskip("h5py")
    path = to_hdf(dlc_frame(multi=True), tmp_path / "videoDLC.h5", format="table")
    with h5py.File(path, "a") as f:
        f[node].attrs[attr] = np.bytes_(pickle.dumps(payload, protocol=0))
    assert_refused(path, tmp_path, capsys)
    assert_pandas_runs_it(path, tmp_path)


def raw_npz(path: Path, **pickles: bytes) -> Path:
    """An .npz whose members are 0-d object arrays holding the given raw pickle streams."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in pickles.items():
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": ()})
            z.writestr(name + ".npy", header.getvalue() + data)
    return path


def _text(s: str) -> bytes:
    return b"X" + len(s).to_bytes(4, "little") + s.encode()


def deep_list_pickle(depth: int) -> bytes:
    """{'clip': {'custom': [[[[...]]]]}} nested `depth` lists deep, which pickle.dumps cannot write."""
    deep = b"]" * depth + b"a" * (depth - 1)
    return b"\x80\x02}" + _text("clip") + b"}" + _text("custom") + b"]" + deep + b"ass."


BOMBS = {
    "allocating _reconstruct": (lambda: Reduces(_reconstruct, (np.ndarray, (10**12,), b"b")), "numpy did not write"),
    "object array state longer than its list": (   # numpy itself segfaults on this one
        lambda: Reduces(_reconstruct, (np.ndarray, (0,), b"b"), (1, (3,), np.dtype(object), False, [1])), "not plain data"),
    "object array state of a terabyte": (
        lambda: Reduces(_reconstruct, (np.ndarray, (0,), b"b"), (1, (2**37,), np.dtype(object), False, [])), "512 MB limit"),
    "record dtype with an offset out of bounds": (
        lambda: Reduces(np.dtype, ("V8", False, True), (3, "|", None, ("a",), {"a": (np.dtype("f8"), 10**8)}, 8, 1, 16)),
        "not plain data"),
    "zeroed scalar of 2 GB": (lambda: Reduces(scalar, (np.dtype("V2000000000"),)), "corrupt"),
}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_numpy_bombs(bomb, tmp_path):
    make, match = BOMBS[bomb]
    path = vp3d_custom(tmp_path / "clip.npz", {"clip": {"custom": [make()]}})
    with pytest.raises(EngineError, match=match):
        read_sequence(path, fps=30)


def test_deeply_nested_lists(tmp_path):
    path = raw_npz(tmp_path / "clip.npz", positions_2d=deep_list_pickle(200_000),
                   metadata=pickle.dumps({"layout_name": "coco"}, protocol=2))
    with pytest.raises(EngineError, match="clip.npz: "):
        read_sequence(path, fps=30)


def test_shared_references_expanding_to_billions(tmp_path, monkeypatch):
    """A list holding the same list twice, 40 deep: a few hundred bytes for 2**40 items."""
    monkeypatch.setattr(safe_pickle, "MAX_ITEMS", 100_000)      # the real limit takes seconds to reach
    level = [[1.0, 2.0]] * 17
    for _ in range(40):
        level = [level, level]
    path = vp3d_custom(tmp_path / "clip.npz", {"clip": {"custom": [level]}})
    assert path.stat().st_size < 4000
    with pytest.raises(EngineError, match="more than 100,000 items"):
        read_sequence(path, fps=30)


def test_size_step_and_persistent_id_limits(tmp_path, monkeypatch):
    kp = np.random.default_rng(0).uniform(0, 400, (20_000, 17, 2)).astype(np.float32)      # 2.7 MB
    big = vp3d_custom(tmp_path / "big.npz", {"clip": {"custom": [kp]}})
    monkeypatch.setattr(safe_pickle, "MAX_BYTES", 2**20)
    with pytest.raises(EngineError, match="big.npz: has an array 'positions_2d' of 2 MB, more than the 1 MB limit"):
        read_sequence(big, fps=30)
    monkeypatch.setattr(safe_pickle, "MAX_OPS", 1000)
    many = vp3d_custom(tmp_path / "many.npz", {"clip": {"custom": [kp[:100].tolist()]}})
    with pytest.raises(EngineError, match="more than 1,000 steps"):
        read_sequence(many, fps=30)
    persistent = raw_npz(tmp_path / "pid.npz", positions_2d=b"\x80\x02" + _text("x") + b"Q.", metadata=b"\x80\x02}.")
    with pytest.raises(EngineError, match="persistent id"):
        read_sequence(persistent, fps=30)


def test_dlc_h5_claiming_a_huge_dataset(tmp_path):
    """HDF5 stores no chunk of a never-written dataset, so a few kB can claim 7 GB of values."""
    h5py = pytest.importorskip("h5py")
    path = to_hdf(dlc_frame(multi=False), tmp_path / "videoDLC.h5", format="fixed")
    with h5py.File(path, "a") as f:
        del f["df_with_missing/block0_values"]
        f["df_with_missing"].create_dataset("block0_values", shape=(10**8, 9), dtype="f8", chunks=(1000, 9))
    assert path.stat().st_size < 100_000
    with pytest.raises(EngineError, match="videoDLC.h5: holds a dataset of more than 512 MB"):
        read_sequence(path, fps=30, image_size=(640, 480), mapping=MAPPING)


def test_vp3d_custom_still_reads(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 480, (5, 17, 2)).astype(np.float32), rng.uniform(0, 480, (8, 17, 2)).astype(np.float32)
    path = vp3d_custom(tmp_path / "data_2d_custom_mine.npz", {"a.mp4": {"custom": [a]}, "b.mp4": {"custom": [b]}})
    assert [(v["name"], v["frames"]) for v in inspect_file(path)["videos"]] == [("a.mp4", 5), ("b.mp4", 8)]
    seq = read_sequence(path, video="b.mp4", fps=30)
    assert seq.num_frames == 8 and seq.image_size == (640, 480)
    np.testing.assert_allclose(seq.keypoints[:, J["right_wrist"]], b[:, 10])
    np.testing.assert_allclose(seq.keypoints[:, J["pelvis"]], (b[:, 11] + b[:, 12]) / 2, rtol=1e-6)


def test_detectron2_still_reads(tmp_path):
    rng = np.random.default_rng(0)
    kps = [rng.uniform(0, 400, (2, 4, 17)).astype(np.float32) for _ in range(3)]
    for k in kps:
        k[:, 3] = 0.9
    boxes = [np.array([[0, 0, 10, 10, 0.5], [0, 0, 10, 10, 0.9]], np.float32)] * 3
    boxes[1], kps[1] = [], []       # nothing detected in frame 1
    seq = read_sequence(detectron2(tmp_path / "clip.mp4.npz", boxes, kps), person="best", fps=30)
    assert seq.num_frames == 3 and seq.image_size == (640, 480)
    np.testing.assert_allclose(seq.keypoints[0, J["left_wrist"]], kps[0][1, :2, 9])    # the 0.9 box
    np.testing.assert_allclose(seq.keypoints[2, J["right_knee"]], kps[2][1, :2, 14])


@pytest.mark.parametrize("fmt", ["table", "fixed"])
@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi-animal"])
def test_dlc_h5_reads_like_its_csv(fmt, multi, tmp_path):
    pytest.importorskip("h5py")
    df = dlc_frame(multi)
    csv = tmp_path / "videoDLC.csv"
    df.to_csv(csv)
    h5 = to_hdf(df, tmp_path / "videoDLC.h5", format=fmt)
    person = "ind2" if multi else None
    a = read_sequence(csv, mapping=MAPPING, image_size=(200, 200), fps=30, person=person)
    b = read_sequence(h5, mapping=MAPPING, image_size=(200, 200), fps=30, person=person)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert {**inspect_file(csv), "file": None} == {**inspect_file(h5), "file": None}
    assert inspect_file(h5)["bodyparts"] == ["lhip", "rhip", "nose"]
    col = df.columns.get_loc(("DLC", "ind2", "rhip", "x") if multi else ("DLC", "rhip", "x"))
    np.testing.assert_allclose(b.keypoints[0, J["right_hip"]], df.iloc[0, col:col + 2].to_numpy())
