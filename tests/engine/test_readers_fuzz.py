"""Property test: on arbitrary or mutated bytes, readers raise one-sentence EngineErrors or return a valid sequence."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.readers import read_sequence
from engine.sequence import KeypointSequence

EXTS = [".json", ".csv", ".npz", ".trc", ".h5", ".txt"]
SEEDS = {
    ".json": json.dumps([{"image_id": 1, "category_id": 1, "keypoints": [1.0, 2.0, 0.5] * 17, "score": 1}]).encode(),
    ".csv": ("frame," + ",".join(f"x{i},y{i},z{i},v{i}" for i in range(33)) + "\n0" + ",0.5" * 132 + "\n").encode(),
    ".trc": b"PathFileType\t4\t(X/Y/Z)\tx.trc\nDataRate\tUnits\n60\tm\nFrame#\tTime\tRHip\t\t\n\t\tX1\tY1\tZ1\n1\t0\t1\t2\t3\n",
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["people", "pose_keypoints_2d", "image_id", "keypoints", "score", "frames",
                         "landmarks", "image_width", "instance_info", "instances", "keypoint_scores"]),
        c, max_size=4),
    max_leaves=20)


def _read(tmp_path, name, data: bytes):
    """Read the bytes as a file: an error must be one sentence, a success a sequence that keeps the
    contract (finite, scores in [0, 1], some pose of more than a point), and the file stays as it was."""
    path = tmp_path / name
    path.write_bytes(data)
    try:
        seq = read_sequence(path, image_size=(100, 100), fps=30, mapping=None)
    except EngineError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and message.endswith("."), "errors are one sentence"
    else:
        seq.validate()
        if isinstance(seq, KeypointSequence):
            seen = seq.scores > 0
            assert seen.any() and np.ptp(seq.keypoints[seen], axis=0).max() >= 1.0
    assert path.read_bytes() == data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ext=st.sampled_from(EXTS), data=st.binary(max_size=300))
def test_random_bytes(tmp_path, ext, data):
    _read(tmp_path, "f" + ext, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ext=st.sampled_from(sorted(SEEDS)), cut=st.integers(0, 2000), flip=st.integers(0, 2000), byte=st.integers(0, 255))
def test_mutated_valid_files(tmp_path, ext, cut, flip, byte):
    data = bytearray(SEEDS[ext])
    if data:
        data[flip % len(data)] = byte
    _read(tmp_path, "f" + ext, bytes(data[: cut % (len(data) + 1)]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_arbitrary_json_structures(tmp_path, value):
    _read(tmp_path, "f.json", json.dumps(value).encode())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.sets(st.sampled_from(["keypoints", "scores", "image_size", "fps", "layout", "joints3d",
                                      "joints3d_world", "positions_2d", "metadata", "boxes"]), max_size=5),
       shape=st.lists(st.integers(0, 3), min_size=0, max_size=3))
@example(keys={"scores", "boxes", "keypoints", "metadata"}, shape=[])   # 0-d arrays: once crashed the Detectron2 reader
def test_npz_with_wrong_arrays(tmp_path, keys, shape):
    buf = io.BytesIO()
    np.savez(buf, **{k: np.zeros(shape, np.float32) for k in keys})
    _read(tmp_path, "f.npz", buf.getvalue())


def test_truncated_zip(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("keypoints.npy", b"\x93NUMPY")
    _read(tmp_path, "f.npz", buf.getvalue()[:-5])
