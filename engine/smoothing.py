"""Temporal smoothing of lifted joints, done in the engine so the add-on needs no scipy.

- `one_euro`: the 1-euro filter (Casiez et al. 2012): adaptive low-pass, little lag on fast
  moves, strong smoothing when still. Causal.
- `butterworth`: zero-phase low-pass (scipy.signal.filtfilt) at a cutoff in Hz; the usual choice
  in biomechanics, no lag, needs the whole clip. Clips too short for it (`short_clip_frames`) get
  `gaussian` at the same cut-off, so a 15-frame clip is smoothed too.

`moving_average` is for per-frame class probabilities (the action prompt), not for joints.

The default of `lift` (CLI and add-on) is `butterworth` at 4 Hz, the best cut-off on the
validation split; one-euro's lag cost accuracy at every cut-off tried. The measurements are in
the model card (weights/MODEL_CARD.md, "Evaluation"), where they are kept current.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import EngineError

METHODS = ("none", "one-euro", "butterworth")
DEFAULT_METHOD = "butterworth"
BUTTERWORTH_HZ = 4.0


def _alpha(cutoff: np.ndarray | float, fps: float) -> np.ndarray | float:
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau * fps)


def one_euro(x: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.3, d_cutoff: float = 1.0) -> np.ndarray:
    """Filter (T, ...) along time. `min_cutoff` in Hz; `beta` raises the cutoff with speed."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    out[0] = prev = x[0]
    dprev = np.zeros_like(x[0])
    a_d = _alpha(d_cutoff, fps)
    for i in range(1, len(x)):
        dx = (x[i] - prev) * fps
        dprev = a_d * dx + (1 - a_d) * dprev
        a = _alpha(min_cutoff + beta * np.abs(dprev), fps)
        prev = a * x[i] + (1 - a) * prev
        out[i] = prev
    return out.astype(np.float32)


def butterworth(x: np.ndarray, fps: float, cutoff_hz: float = BUTTERWORTH_HZ, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass of (T, ...) along time."""
    from scipy.signal import butter, filtfilt

    nyquist = fps / 2.0
    if not 0 < cutoff_hz < nyquist:
        raise EngineError(f"The smoothing cutoff must lie between 0 and {nyquist:g} Hz (half the frame rate), got {cutoff_hz:g}.")
    b, a = butter(order, cutoff_hz / nyquist)
    if len(x) <= short_clip_frames(order):   # filtfilt's edge padding needs more frames
        return gaussian(x, fps, cutoff_hz)
    return filtfilt(b, a, np.asarray(x, dtype=np.float64), axis=0).astype(np.float32)


def short_clip_frames(order: int = 4) -> int:
    """Clips of at most this many frames are too short for the Butterworth filter's edge padding
    (3 x its length); `butterworth` smooths them with `gaussian` at the same cut-off instead."""
    return 3 * (order + 1)


# A Gaussian of standard deviation sigma (seconds) has the response exp(-2 pi^2 sigma^2 f^2): half
# the power passes at f = sqrt(ln 2) / (2 pi sigma), the point a Butterworth cut-off names.
_GAUSS_HALF_POWER = math.sqrt(math.log(2)) / (2 * math.pi)


def gaussian(x: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase Gaussian low-pass of (T, ...) along time with its half-power point at `cutoff_hz`.

    It works at any length (edges are extended by repeating the end frames), so short clips and
    short root paths are smoothed too, where the Butterworth filter cannot run."""
    x = np.asarray(x, dtype=np.float64)
    sigma = _GAUSS_HALF_POWER / cutoff_hz * fps          # in frames
    if len(x) < 2 or sigma < 0.3:
        return x.astype(np.float32)
    half = int(math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.concatenate([np.repeat(x[:1], half, 0), x, np.repeat(x[-1:], half, 0)])
    flat = padded.reshape(len(padded), -1)
    out = np.stack([np.convolve(flat[:, i], k, mode="valid") for i in range(flat.shape[1])], axis=1)
    return out.reshape(x.shape).astype(np.float32)


def cutoff_hz(method: str, fps: float, hz: float | None = None, who: str = "input") -> float | None:
    """The cut-off `smooth` uses: `hz` if given, else the method's default (Butterworth's lowered
    below Nyquist for clips of very low frame rate); None when nothing is filtered. A given `hz`
    must lie below half the frame rate of `who`; `lift` calls this before the model runs."""
    if method not in METHODS:
        raise EngineError(f"Unknown smoothing '{method}'; use one of {', '.join(METHODS)}.")
    if method == "none":
        return None
    if hz is not None:
        if not 0 < hz < fps / 2:
            raise EngineError(f"{who}: the smoothing cut-off must lie between 0 and {fps / 2:g} Hz "
                              f"(half its frame rate of {fps:g} fps), got {hz:g}.")
        return float(hz)
    if method == "one-euro":
        return 1.0
    default = min(BUTTERWORTH_HZ, fps / 2 - 0.5)
    return default if default > 0 else None


def smooth(x: np.ndarray, fps: float, method: str = "none", hz: float | None = None) -> np.ndarray:
    hz = cutoff_hz(method, fps, hz)
    if hz is None:
        return np.asarray(x, dtype=np.float32)
    if method == "one-euro":
        return one_euro(x, fps, min_cutoff=hz)
    return butterworth(x, fps, cutoff_hz=hz)


def running_percentile(x: np.ndarray, width: int, q: float) -> np.ndarray:
    """Centred running `q`-th percentile of a 1-D series over 2 * (width // 2) + 1 frames, the ends
    repeated (a width under 2: unchanged). A running median (q = 50) takes out a few bad frames
    that a low-pass would smear; a low percentile follows a floor under a bouncing signal."""
    x = np.asarray(x, dtype=np.float64)
    half = width // 2
    if half == 0:
        return x.copy()
    padded = np.pad(x, half, mode="edge")
    return np.percentile(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), q, axis=1)


def moving_average(x: np.ndarray, frames: int) -> np.ndarray:
    """Centred mean of (T, ...) over `frames` frames (odd or even; 0 or 1: unchanged).

    Near the clip's ends the window is cut short and the mean is over the frames that exist, so a
    probability vector stays a probability vector everywhere."""
    x = np.asarray(x, dtype=np.float64)
    if frames <= 1 or len(x) <= 1:
        return x.astype(np.float32)
    before, after = frames // 2, (frames - 1) // 2
    csum = np.concatenate([np.zeros_like(x[:1]), np.cumsum(x, axis=0)])
    idx = np.arange(len(x))
    lo, hi = np.clip(idx - before, 0, len(x)), np.clip(idx + after + 1, 0, len(x))
    count = (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))
    return ((csum[hi] - csum[lo]) / count).astype(np.float32)
