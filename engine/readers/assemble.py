"""The steps shared by every 2D reader: identities, person choice, layout conversion to
H36M-17, gap filling, image size / fps resolution and the final contract check.

Readers produce `Detections`; this module turns them into one `KeypointSequence` (or the
`inspect` summary), so each step exists exactly once.
"""

from __future__ import annotations

import numpy as np

from .. import gaps, limits, tracking
from ..sequence import KeypointSequence
from ._io import fail
from .detections import Detections

BEST = "best"  # person="best": the highest-scoring detection of each frame (VideoPose3D's rule)


def identities(det: Detections) -> np.ndarray:
    """Identity per detection: given by the file, one by construction, or tracked."""
    if det.identities is not None:
        return np.asarray(det.identities).astype(str)
    if det.single_identity or len(det.frame) == 0:
        return np.zeros(len(det.frame), dtype=np.int64)
    return tracking.assign_tracks(det.frame, det.keypoints, det.scores, det.boxes)


def people(det: Detections, ids: np.ndarray | None = None) -> list[dict]:
    ids = identities(det) if ids is None else ids
    return tracking.summarise_tracks(ids, det.frame, det.scores)


def _select(det: Detections, ids: np.ndarray, person) -> tuple[np.ndarray, object]:
    """Indices of the chosen person's detections (at most one per frame) and its id."""
    if len(det.frame) == 0:
        raise fail(det.path_name, "contains no people (zero detections)")
    if person == BEST:
        conf = det.det_scores if det.det_scores is not None else det.scores.mean(axis=1)
        order = np.lexsort((-conf, det.frame))
        first = np.concatenate([[True], np.diff(det.frame[order]) != 0])
        return order[first], BEST
    rows = tracking.summarise_tracks(ids, det.frame, det.scores)
    if person is None:
        chosen = tracking.most_visible(rows)
    else:
        wanted = str(person)
        names = [str(r["id"]) for r in rows]
        if wanted not in names:
            listed = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            raise fail(det.path_name, f"has no person '{person}'; its tracks are {listed}")
        chosen = rows[names.index(wanted)]["id"]
    sel = np.flatnonzero(ids.astype(str) == str(chosen))
    return sel, chosen


def _resolve(det: Detections, image_size, fps) -> tuple[tuple[int, int], float]:
    """The image size and fps to use: the flags over the file's values, each checked (limits)."""
    if image_size is not None:
        size = limits.image_size(image_size[0], image_size[1], "--image-size")
        if det.image_size is not None and tuple(det.image_size) != size:
            det.warnings.append(f"--image-size {size[0]}x{size[1]} overrides the file's "
                                f"{det.image_size[0]}x{det.image_size[1]}")
    elif det.image_size is not None:
        size = limits.image_size(det.image_size[0], det.image_size[1], det.path_name)
    else:
        raise fail(det.path_name, "does not store the image size; pass it with --image-size WIDTH HEIGHT")
    if fps is not None:
        rate = limits.fps(fps, "--fps")
        if det.fps is not None and abs(det.fps - rate) > 1e-6:
            det.warnings.append(f"--fps {rate:g} overrides the file's {det.fps:g}")
    elif det.fps is not None:
        rate = limits.fps(det.fps, det.path_name)
    else:
        raise fail(det.path_name, "does not store the frame rate; pass it with --fps")
    return size, rate


COLLAPSED_PX = 1.0        # a "pose" whose seen keypoints all lie within this many pixels is no pose
OUTSIDE_MARGIN = 0.5      # keypoints may lie this fraction of the image beyond its edges
OUTSIDE_SHARE = 0.05      # more than this share of seen keypoints beyond that: the image size is wrong


def _drop_collapsed(det: Detections, kp: np.ndarray, sc: np.ndarray) -> None:
    """Mark frames whose seen keypoints sit at one point as missing (in place), and refuse a clip
    that has nothing else: the lift of a point is a pose of zero size, not a person."""
    seen = sc > 0
    big = np.float32(1e30)
    hi = np.where(seen[..., None], kp, -big).max(axis=1)
    lo = np.where(seen[..., None], kp, big).min(axis=1)
    collapsed = seen.any(axis=1) & ((hi - lo).max(axis=1) < COLLAPSED_PX)
    if not collapsed.any():
        return
    if collapsed.sum() == seen.any(axis=1).sum():
        raise fail(det.path_name, "has all keypoints of every frame at one point, so there is no pose to lift")
    sc[collapsed] = 0.0
    det.warnings.append(f"{int(collapsed.sum())} frame(s) whose keypoints all lie at one point were treated as missing")


def _refuse_outside(det: Detections, kp: np.ndarray, sc: np.ndarray, size: tuple[int, int]) -> None:
    """Keypoints far outside the image mean the image size is wrong (a typo, a huge stored value):
    lifting them would squeeze or stretch the person into nonsense, so say so instead."""
    pts = kp[sc > 0]
    if not len(pts):
        return
    dims = np.array(size, dtype=np.float32)
    outside = ((pts < -OUTSIDE_MARGIN * dims) | (pts > (1 + OUTSIDE_MARGIN) * dims)).any(axis=1)
    if outside.mean() > OUTSIDE_SHARE:
        span = pts.max(axis=0) - pts.min(axis=0)
        raise fail(det.path_name, f"has keypoints far outside its {size[0]}x{size[1]} image (they span "
                                  f"{span[0]:.0f}x{span[1]:.0f} px), so the image size is wrong; pass the "
                                  f"video's size with --image-size WIDTH HEIGHT")


def to_sequence(det: Detections, person=None, image_size=None, fps=None,
                max_gap: int = gaps.DEFAULT_MAX_GAP) -> KeypointSequence:
    """Choose one person, convert to H36M-17, fill short gaps and check the contract."""
    size, rate = _resolve(det, image_size, fps)
    ids = identities(det) if person != BEST else np.zeros(len(det.frame), dtype=np.int64)
    sel, chosen = _select(det, ids, person)
    limits.longest_gap(det.frame, det.path_name, rate)
    t, s = det.num_frames, det.layout.size
    kp = np.zeros((t, s, 2), dtype=np.float32)
    sc = np.zeros((t, s), dtype=np.float32)
    kp[det.frame[sel]] = det.keypoints[sel]
    sc[det.frame[sel]] = det.scores[sel]
    _drop_collapsed(det, kp, sc)
    _refuse_outside(det, kp, sc, size)
    h36m, h36m_scores = det.layout.to_h36m(kp, sc)
    h36m, h36m_scores, report = gaps.fill_gaps(h36m, h36m_scores, max_gap)
    meta = {
        "format": det.format,
        "source_file": det.path_name,
        "source_layout": det.layout.name,
        "mapping": det.layout.notes(),
        "derived_joints": det.layout.derived(),
        "person": chosen.item() if hasattr(chosen, "item") else chosen,
        "people": len(set(ids.tolist())) if person != BEST else None,
        "gaps": report,
        **det.meta,
    }
    if report["long"]:
        det.warnings.append(f"{len(report['long'])} gap(s) longer than {max_gap} frames left missing (score 0)")
    meta["warnings"] = list(det.warnings)
    seq = KeypointSequence(h36m, h36m_scores, size, rate, meta)
    return seq.validate(det.path_name)


def summary(det: Detections) -> dict:
    """The JSON-able `engine inspect` record of a 2D file."""
    return {
        "format": det.format,
        "file": det.path_name,
        "frames": int(det.num_frames),
        "fps": det.fps,
        "image_size": list(det.image_size) if det.image_size is not None else None,
        "layout": det.layout.name,
        "people": people(det),
        "videos": det.videos,
        "warnings": list(det.warnings),
        **({k: v for k, v in det.meta.items() if k in ("video",)}),
    }
