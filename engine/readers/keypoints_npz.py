"""The canonical keypoints `.npz` of the engine I/O contract (already H36M-17, one person).

Loading is `KeypointSequence.load` (never unpickles); its `SequenceError` is re-raised as a
`ReaderError` so every reader fails with the same error type. Going through `Detections` keeps
the flags (--image-size/--fps overrides) and gap filling identical to the other formats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import SequenceError
from ..sequence import KeypointSequence
from . import layouts
from ._io import fail
from .detections import Detections


def read(path: Path, **_) -> Detections:
    try:
        seq = KeypointSequence.load(path)
    except SequenceError as exc:
        raise fail(path, str(exc).split(": ", 1)[-1]) from None
    t = seq.num_frames
    return Detections(
        format="keypoints-npz", path_name=path.name, layout=layouts.H36M17, num_frames=t,
        frame=np.arange(t), keypoints=seq.keypoints, scores=seq.scores, single_identity=True,
        image_size=seq.image_size, fps=seq.fps,
        meta={"source_meta": seq.meta} if seq.meta else {},
    )
