"""Missing frames and joints: short gaps are interpolated, long ones reported.

A gap is a run of frames where one joint has score 0. When it is bounded by visible frames on
both sides and no longer than `max_gap` frames it is filled linearly, and the filled points get
`INTERPOLATED_SCORE_FACTOR` times the lower of the two bounding scores: the model should trust
them less than observed points but not treat them as missing. Longer gaps and gaps at the start
or end of the clip (nothing to interpolate towards) stay at score 0 and are reported in meta.
"""

from __future__ import annotations

import numpy as np

DEFAULT_MAX_GAP = 10
INTERPOLATED_SCORE_FACTOR = 0.5


def runs(mask: np.ndarray) -> list[list[int]]:
    """Inclusive [start, end] runs of True in a 1-D bool mask."""
    if not mask.any():
        return []
    edges = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [[int(s), int(e)] for s, e in zip(starts, ends)]


def interpolate_missing(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(T, ...) per-frame values, (T,) bool frames where they are known -> float64 values on every
    frame, linear between known frames and held at the ends; unchanged when nothing is known."""
    values = np.asarray(values, dtype=np.float64)
    idx = np.flatnonzero(known)
    if idx.size == 0:
        return values.copy()
    flat = values.reshape(len(values), -1)
    frames = np.arange(len(values))
    out = np.stack([np.interp(frames, idx, flat[idx, d]) for d in range(flat.shape[1])], axis=1)
    return out.reshape(values.shape)


def fill_gaps(points: np.ndarray, scores: np.ndarray, max_gap: int = DEFAULT_MAX_GAP):
    """(T, J, D) points + (T, J) scores -> filled copies and a JSON-able report.

    The report lists frame runs where the whole person is missing, split into `interpolated`
    (every joint filled) and `long` (left missing), plus the number of joint-frames filled.
    """
    points = np.array(points, dtype=np.float32, copy=True)
    scores = np.array(scores, dtype=np.float32, copy=True)
    t = points.shape[0]
    empty_before = ~(scores > 0).any(axis=1)
    filled = 0
    for j in range(points.shape[1]):
        vis = scores[:, j] > 0
        idx = np.flatnonzero(vis)
        if idx.size < 2 or idx.size == t:
            continue
        gap_frames = np.flatnonzero(~vis)
        gap_frames = gap_frames[(gap_frames > idx[0]) & (gap_frames < idx[-1])]
        if gap_frames.size == 0:
            continue
        nxt = np.searchsorted(idx, gap_frames)
        before, after = idx[nxt - 1], idx[nxt]
        short = (after - before - 1) <= max_gap
        g, b, a = gap_frames[short], before[short], after[short]
        if g.size == 0:
            continue
        w = ((g - b) / (a - b))[:, None].astype(np.float32)
        points[g, j] = points[b, j] * (1 - w) + points[a, j] * w
        scores[g, j] = INTERPOLATED_SCORE_FACTOR * np.minimum(scores[b, j], scores[a, j])
        filled += int(g.size)
    empty_after = ~(scores > 0).any(axis=1)
    report = {
        "max_gap": int(max_gap),
        "interpolated": runs(empty_before & ~empty_after),
        "long": runs(empty_after),
        "joint_frames_interpolated": filled,
        "joint_frames_missing": int((scores <= 0).sum()),
    }
    return points, scores, report
