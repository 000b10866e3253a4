"""Which frames hold a real detection of the person, and what to do with the others.

The model lifts whatever 2D it is given. Frames where the detector saw nobody (filled by the reader,
or left at score 0) or saw something else (a tiny false detection, another person the tracker jumped
to) would otherwise become invented motion. Here they are found, so the cleanup can interpolate
short gaps, hold the pose over long ones, flag both, keep them out of the floor and bone-length
estimates, and cut the clip into one segment per identity.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..gaps import runs
from ..sequence import FRAME_DETECTED, FRAME_HELD, FRAME_INTERPOLATED

SHORT_GAP_SECONDS = 0.5     # gaps up to this long are interpolated, longer ones held (issue #18)
MIN_JOINTS = 6              # fewer confident joints than this: no usable detection
MIN_SCORE = 0.05
TINY_SIZE = 0.4             # a person smaller than this share of the clip's median size is a false detection
# The person's centre moving this many body sizes (box diagonals) in one frame: someone else. The
# readers' tracker already keeps identities apart in multi-person files; this catches the single-
# person trackers (MediaPipe) that jump. Smaller jumps and size changes happen to one person when
# the detector loses a limb (on the real samples: up to 0.7 sizes and 4x), so they do not cut.
JUMP_SIZES = 1.0
MIN_SEGMENT_SECONDS = 0.5   # a segment with less detected time than this is a false detection
CUT_SIZES = 0.25            # median joint step in one frame (at 30 fps), in body sizes: a cut or a glitch
CUT_SCORE = 0.3             # joints at least this confident decide it
GLITCH_SECONDS = 0.5        # a jump that comes back within this is a glitch, not a cut
EDGE = 0.005                # screen-normalised: a joint this close to the image's border was clamped there


def person_centre_size(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 17, 2), (T, 17) -> centre (T, 2) and size (T,) (box diagonal) of the confident joints;
    NaN where no joint is confident."""
    vis = scores > MIN_SCORE
    big = np.where(vis[..., None], keypoints, np.nan)
    with warnings.catch_warnings():      # all-NaN rows (frames without a person) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanmin(big, axis=1), np.nanmax(big, axis=1)
    return (lo + hi) / 2, np.linalg.norm(hi - lo, axis=-1)


def at_image_edge(keypoints: np.ndarray, aspect: float | None) -> np.ndarray:
    """(T, 17) bool: joints on the image's border (within EDGE of it, either side; screen-normalised:
    x in [-1, 1], y in [-aspect, aspect] with aspect = height / width; y is not checked when the
    aspect is unknown). Joints well outside the picture are a detector's extrapolation (MediaPipe),
    scored by it, and kept. Detectors clamp a joint that left the picture to the border and still give it a
    high score (Detectron2 on the real samples), so its position there says nothing about the body:
    an ankle stuck on the edge made a leg-raise clip travel 1.7 m."""
    edge = np.abs(np.abs(keypoints[..., 0]) - 1.0) <= EDGE
    if aspect is not None:
        edge |= np.abs(np.abs(keypoints[..., 1]) - aspect) <= EDGE
    return edge


def usable_frames(keypoints: np.ndarray, scores: np.ndarray, gaps_report: dict | None) -> np.ndarray:
    """(T,) bool: frames with a real detection of the person.

    Not usable: frames the reader reported as missing the whole person (its `gaps` report, before or
    after filling), frames with fewer than MIN_JOINTS confident joints, and frames where the person
    is tiny against the clip's median size (a false detection in the background)."""
    t = len(scores)
    usable = (scores > MIN_SCORE).sum(axis=1) >= MIN_JOINTS
    for key in ("interpolated", "long"):
        for s, e in (gaps_report or {}).get(key, []):
            usable[s:e + 1] = False
    _, size = person_centre_size(keypoints, scores)
    if usable.any():
        median = np.nanmedian(size[usable])
        with np.errstate(invalid="ignore"):
            usable &= ~(size < TINY_SIZE * median)
    return usable if t else np.zeros(0, bool)


def identity_segments(keypoints: np.ndarray, scores: np.ndarray, usable: np.ndarray,
                      shot_cuts: list[int] | tuple = ()) -> list[list[int]]:
    """Inclusive [start, end] frame runs, one per identity and shot: a new one starts where the
    person's centre jumps by more than JUMP_SIZES body sizes between two consecutive usable frames
    (a single-person tracker that switched to someone else; across a gap of k frames, sqrt(k) times
    as far), and at each of `shot_cuts` (see `sudden_changes`)."""
    t = len(scores)
    if t == 0:
        return []
    centre, size = person_centre_size(keypoints, scores)
    idx = np.flatnonzero(usable)
    cuts = []
    for a, b in zip(idx[:-1], idx[1:]):
        allowed = JUMP_SIZES * (b - a) ** 0.5     # across a gap, allow for the missing frames' motion
        jump = np.linalg.norm(centre[b] - centre[a]) / max(size[a], size[b], 1e-6)
        if jump > allowed:
            cuts.append(int(b))
    cuts = sorted({*cuts, *(int(c) for c in shot_cuts if 0 < c < t)})
    starts = [0, *cuts]
    ends = [c - 1 for c in cuts] + [t - 1]
    return [[s, e] for s, e in zip(starts, ends)]


def sudden_changes(keypoints: np.ndarray, scores: np.ndarray, usable: np.ndarray,
                   fps: float) -> tuple[np.ndarray, list[int]]:
    """Frames where the 2D changes more than a body can move: (T,) bool glitch frames, and the shot
    cuts (frame indices).

    Between two consecutive usable frames the median joint (over the joints confident in both) moves
    more than CUT_SIZES of the clip's median body size (box diagonal). Real motion stays far below
    that (the real samples' 99th percentile is 0.01-0.09 at 30 fps); edited exercise videos cut to
    another zoom or angle, and detectors snap to something else for a few frames. If the 2D comes
    back to where it was within GLITCH_SECONDS, the frames in between are a glitch (not usable, so
    they become a flagged gap); otherwise the video cut there, and a new segment starts: its depth
    and floor are the new shot's, and its root continues from where the last one ended."""
    t = len(keypoints)
    glitch = np.zeros(t, bool)
    cuts: list[int] = []
    _, size = person_centre_size(keypoints, scores)
    idx = np.flatnonzero(usable)
    if t < 2 or idx.size < 2:
        return glitch, cuts
    body = float(np.nanmedian(size[idx]))
    if not body > 0:
        return glitch, cuts
    limit = CUT_SIZES * max(1.0, 30.0 / fps) * body
    confident = scores > CUT_SCORE

    def moved(a: int, b: int) -> float:
        both = confident[a] & confident[b]
        if both.sum() < MIN_JOINTS:
            return 0.0
        return float(np.median(np.linalg.norm(keypoints[b, both] - keypoints[a, both], axis=-1)))

    horizon = max(1, int(round(GLITCH_SECONDS * fps)))
    i = 0
    while i < idx.size - 1:
        a, b = int(idx[i]), int(idx[i + 1])
        if moved(a, b) <= limit * (b - a) ** 0.5:
            i += 1
            continue
        back = next((k for k in range(i + 2, idx.size) if idx[k] - a <= horizon
                     and moved(a, int(idx[k])) <= limit), None)
        if back is None:
            cuts.append(b)
            i += 1
        else:
            glitch[b:int(idx[back])] = True
            i = back
    return glitch, cuts


def drop_brief_segments(usable: np.ndarray, segments: list[list[int]], fps: float) -> np.ndarray:
    """`usable` without the frames of segments holding under MIN_SEGMENT_SECONDS of detections:
    a few frames of someone else (or of a false box) are not a person to animate."""
    usable = usable.copy()
    least = max(2, int(round(MIN_SEGMENT_SECONDS * fps)))
    for s, e in segments:
        if usable[s:e + 1].sum() < least:
            usable[s:e + 1] = False
    return usable


def frame_flags(usable: np.ndarray, fps: float, segments: list[list[int]]) -> np.ndarray:
    """(T,) uint8 FRAME_* per frame: a run of unusable frames no longer than SHORT_GAP_SECONDS with a
    usable frame of the same segment on both sides is interpolated; every other run is held."""
    flags = np.full(len(usable), FRAME_DETECTED, np.uint8)
    short = max(1, int(round(SHORT_GAP_SECONDS * fps)))
    for seg_start, seg_end in segments:
        part = usable[seg_start:seg_end + 1]
        for s, e in runs(~part):
            inside = s > 0 and e < len(part) - 1
            flags[seg_start + s:seg_start + e + 1] = FRAME_INTERPOLATED if inside and e - s + 1 <= short else FRAME_HELD
    return flags


def fill_unusable(values: np.ndarray, flags: np.ndarray, segments: list[list[int]]) -> np.ndarray:
    """(T, ...) per-frame values with the gap frames replaced: interpolated frames linearly between
    the detected frames around them, held frames by the nearest detected frame of their segment
    (the last one before, or for a gap at a segment's start the first one after). A segment without
    any detection keeps its values."""
    out = np.array(values, dtype=np.float64, copy=True)
    for seg_start, seg_end in segments:
        f = flags[seg_start:seg_end + 1]
        v = out[seg_start:seg_end + 1]
        good = np.flatnonzero(f == FRAME_DETECTED)
        if good.size == 0:
            continue
        for s, e in runs(f != FRAME_DETECTED):
            before = good[good < s]
            after = good[good > e]
            if f[s] == FRAME_INTERPOLATED and before.size and after.size:
                a, b = before[-1], after[0]
                w = ((np.arange(s, e + 1) - a) / (b - a)).reshape((-1,) + (1,) * (v.ndim - 1))
                v[s:e + 1] = v[a] * (1 - w) + v[b] * w
            else:
                v[s:e + 1] = v[before[-1]] if before.size else v[after[0]]
    return out.astype(np.asarray(values).dtype)


def gap_runs(flags: np.ndarray) -> dict:
    """The JSON report of the flagged frames: inclusive runs per kind, and counts."""
    return {"interpolated": runs(flags == FRAME_INTERPOLATED), "held": runs(flags == FRAME_HELD),
            "frames_interpolated": int((flags == FRAME_INTERPOLATED).sum()),
            "frames_held": int((flags == FRAME_HELD).sum())}
