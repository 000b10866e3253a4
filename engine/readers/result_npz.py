"""Our own `lift` result `.npz` read back as 3D input (LiftResult.load; never unpickles), so the
add-on can retarget a saved result without lifting again."""

from __future__ import annotations

from pathlib import Path

from ..errors import SequenceError
from ..sequence import LiftResult
from ._io import fail
from .motion import Motion3D


def load(path: Path) -> LiftResult:
    try:
        return LiftResult.load(path)
    except SequenceError as exc:
        raise fail(path, str(exc).split(": ", 1)[-1]) from None


def read(path: Path, fps=None, **_) -> Motion3D:
    res = load(path)
    meta = {"format": "result-npz", "source_file": path.name, "source_layout": "h36m17",
            "source_meta": res.meta, "person": 0}
    return Motion3D(res.joints3d_world, fps if fps is not None else res.fps, meta).validate(path.name)


def summary(path: Path) -> dict:
    res = load(path)
    t = int(res.joints3d.shape[0])
    return {"format": "result-npz", "file": path.name, "frames": t, "fps": res.fps, "image_size": None,
            "layout": "h36m17", "people": [{"id": 0, "first_frame": 0, "last_frame": t - 1,
                                            "frames_visible": t, "mean_confidence": None}],
            "videos": None, "warnings": []}
