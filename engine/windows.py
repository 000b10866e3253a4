"""Sliding windows over a clip: where they start, and how their outputs blend back into frames.

The model sees N frames at a time. Windows overlap, and each window's output is weighted by a ramp
that falls to ~0 at its edges, so every frame is a weighted mean of the windows that cover it and
there is no step at window borders. Inference (engine.lifter) and evaluation windows
(engine.train.mocap_dataset) start at the same frames.
"""

from __future__ import annotations

import numpy as np


def window_starts(num_frames: int, window: int, overlap: int) -> list[int]:
    """First frame of each window; the last window ends exactly at the clip's end."""
    if num_frames <= window:
        return [0]
    stride = max(1, window - overlap)
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] != num_frames - window:
        starts.append(num_frames - window)
    return starts


def crossfade_weights(window: int, overlap: int, ramp_in: bool = True, ramp_out: bool = True) -> np.ndarray:
    """(N,) weights: a linear ramp over `overlap` frames at each end that has a neighbour, 1 in
    between, never 0. The clip's first and last frames have no neighbour, so no ramp there."""
    i = np.arange(window, dtype=np.float64)
    ramp = max(1, overlap)
    up = (i + 0.5) / ramp if ramp_in else np.ones(window)
    down = (window - i - 0.5) / ramp if ramp_out else np.ones(window)
    return np.clip(np.minimum(up, down), 1e-3, 1.0)


def stitch(window_values: np.ndarray, starts: list[int], num_frames: int, overlap: int) -> np.ndarray:
    """Blend per-window values (W, N, ...) into per-frame values (T, ...) with cross-fade weights."""
    n = window_values.shape[1]
    total = max(num_frames, n)
    acc = np.zeros((max(num_frames, n),) + window_values.shape[2:], dtype=np.float64)
    wsum = np.zeros(max(num_frames, n), dtype=np.float64)
    shape = (n,) + (1,) * (window_values.ndim - 2)
    for values, s in zip(window_values, starts):
        weights = crossfade_weights(n, overlap, ramp_in=s > 0, ramp_out=s + n < total)
        acc[s:s + n] += values * weights.reshape(shape)
        wsum[s:s + n] += weights
    return (acc / wsum.reshape((-1,) + shape[1:]))[:num_frames].astype(np.float32)
