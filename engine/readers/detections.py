"""`Detections`: what every 2D format reader returns before a person is chosen.

Readers only parse; the shared steps (tracking identities, choosing a person, the layout
conversion, gap filling, image size / fps resolution) live in `engine.readers.assemble`, so each
of them exists once. The flat (N detections) form holds single- and multi-person files alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layouts import Layout


@dataclass
class Detections:
    """N person detections over `num_frames` frames of one clip, in the source layout.

    frame: (N,) int frame index of each detection, in [0, num_frames).
    keypoints: (N, S, 2) float32 pixels.  scores: (N, S) float32 in [0, 1], 0 = missing.
    boxes: (N, 4) float32 x1, y1, x2, y2 from the detector, or None (taken from the keypoints).
    det_scores: (N,) detector confidence (for `person="best"`), or None (mean keypoint score).
    identities: (N,) str identities given by the file (DeepLabCut individuals), or None; when
        None and `single_identity` is False, identities are tracked (engine.tracking).
    single_identity: the file holds one subject by construction (no tracking needed).
    """

    format: str
    path_name: str
    layout: Layout
    num_frames: int
    frame: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray | None = None
    det_scores: np.ndarray | None = None
    identities: np.ndarray | None = None
    single_identity: bool = False
    image_size: tuple[int, int] | None = None
    fps: float | None = None
    videos: list[dict] | None = None
    meta: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
