"""The bounds every input value must respect, and the one place they are checked.

A value that comes from a file or a flag (image size, frame rate, a frame number, a clip's length)
is checked here before anything is allocated or computed from it, so an absurd value is one
sentence up front instead of a traceback, a memory error or a silently wrong lift later. Readers
call these with the file's name as `who`, the CLI with the flag's name.

The limits are generous for real footage: 8K video is 7,680 px wide, high-speed cameras record
1,000 fps, and an hour at 30 fps is 108,000 frames (`--max-frames` raises that bound).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from .errors import InputError

IMAGE_SIZE_RANGE = (1, 20_000)        # pixels, each side
FPS_RANGE = (1.0, 1_000.0)            # frames per second
MAX_FRAMES = 108_000                  # frames in one clip by default (an hour at 30 fps)
MAX_GAP_SECONDS = 600.0               # longest stretch without a detection inside a clip (10 minutes)
MAX_FRAME_NUMBER = 2 ** 53            # frame numbers and ids beyond this are not frame numbers
MAX_SEED = 2 ** 63 - 1                # random seeds: torch.Generator's range
LENS_MM_RANGE = (4.0, 2_000.0)        # 35 mm-equivalent focal lengths: a fisheye to a long telephoto


def _say(who: str, problem: str) -> InputError:
    return InputError(f"{who}: {problem}.")


def _real(value, what: str, who: str) -> float:
    """A finite real number (not a bool, not a string), as float."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise _say(who, f"{what} must be a number, got {type(value).__name__} {short_repr(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise _say(who, f"{what} {short_repr(value)} is out of range") from None
    if not math.isfinite(number):
        raise _say(who, f"{what} must be finite, got {number}")
    return number


def short_repr(value) -> str:
    """The value's repr cut to 24 characters, so a message stays one short line whatever a file holds."""
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def one_of(*options: str):
    """A check for the config validators: None when the value is one of `options`, else what it must be."""
    return lambda v: None if isinstance(v, str) and v in options else "one of " + ", ".join(map(repr, options))


def image_size(width, height, who: str) -> tuple[int, int]:
    """(width, height) as whole pixels within IMAGE_SIZE_RANGE, else an InputError."""
    lo, hi = IMAGE_SIZE_RANGE
    size = []
    for value, what in ((width, "image width"), (height, "image height")):
        number = _real(value, what, who)
        if not lo <= number <= hi:
            raise _say(who, f"{what} {number:g} px is outside {lo}-{hi:,} px")
        size.append(int(round(number)))
    return size[0], size[1]


def fps(value, who: str) -> float:
    """A frame rate within FPS_RANGE, else an InputError."""
    number = _real(value, "frame rate", who)
    lo, hi = FPS_RANGE
    if not lo <= number <= hi:
        raise _say(who, f"frame rate {number:g} fps is outside {lo:g}-{hi:,.0f} fps")
    return number


def frame_number(value, who: str, what: str = "frame number") -> int:
    """An integer frame number or id whose size is that of a frame number, else an InputError."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise _say(who, f"{what} {short_repr(value)} is not an integer")
    if abs(int(value)) > MAX_FRAME_NUMBER:
        raise _say(who, f"{what} {short_repr(value)} is too large to be a frame number")
    return int(value)


def clip_frames(num_frames: int, who: str, max_frames: int = MAX_FRAMES) -> int:
    """The number of frames a file spans, refused above `max_frames` before anything is allocated."""
    if num_frames > max_frames:
        raise _say(who, f"spans {num_frames:,} frames, more than the limit of {max_frames:,} "
                        f"(raise it with --max-frames, or split the file)")
    return int(num_frames)


def longest_gap(frames, who: str, rate: float) -> None:
    """Refuse a clip whose detections (sorted frame indices) leave more than MAX_GAP_SECONDS empty."""
    import numpy as np

    frames = np.unique(np.asarray(frames, dtype=np.int64))
    if len(frames) < 2:
        return
    steps = np.diff(frames)
    worst = int(steps.argmax())
    missing = int(steps[worst]) - 1
    if missing > MAX_GAP_SECONDS * rate:
        a, b = int(frames[worst]), int(frames[worst + 1])
        raise _say(who, f"has no detection for {missing:,} frames ({missing / rate / 60:.1f} minutes, frames "
                        f"{a + 1}-{b - 1}), longer than the {MAX_GAP_SECONDS / 60:.0f}-minute limit; "
                        f"split the file at the gap")
