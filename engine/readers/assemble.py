"""The steps shared by every 2D reader: identities, person choice, layout conversion to
H36M-17, gap filling, image size / fps resolution and the final contract check.

Readers produce `Detections`; this module turns them into one `KeypointSequence` (or the
`inspect` summary), so each step exists exactly once.
"""

from __future__ import annotations

import numpy as np

from .. import gaps, tracking
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
    if image_size is not None:
        size = (int(image_size[0]), int(image_size[1]))
        if det.image_size is not None and tuple(det.image_size) != size:
            det.warnings.append(f"--image-size {size[0]}x{size[1]} overrides the file's "
                                f"{det.image_size[0]}x{det.image_size[1]}")
    elif det.image_size is not None:
        size = tuple(int(v) for v in det.image_size)
    else:
        raise fail(det.path_name, "does not store the image size; pass it with --image-size WIDTH HEIGHT")
    if fps is not None:
        rate = float(fps)
        if det.fps is not None and abs(det.fps - rate) > 1e-6:
            det.warnings.append(f"--fps {rate:g} overrides the file's {det.fps:g}")
    elif det.fps is not None:
        rate = float(det.fps)
    else:
        raise fail(det.path_name, "does not store the frame rate; pass it with --fps")
    if size[0] <= 0 or size[1] <= 0 or not np.isfinite(rate) or rate <= 0:
        raise fail(det.path_name, f"has an invalid image size {size[0]}x{size[1]} or fps {rate:g}")
    return size, rate


def to_sequence(det: Detections, person=None, image_size=None, fps=None,
                max_gap: int = gaps.DEFAULT_MAX_GAP) -> KeypointSequence:
    """Choose one person, convert to H36M-17, fill short gaps and check the contract."""
    size, rate = _resolve(det, image_size, fps)
    ids = identities(det) if person != BEST else np.zeros(len(det.frame), dtype=np.int64)
    sel, chosen = _select(det, ids, person)
    t, s = det.num_frames, det.layout.size
    kp = np.zeros((t, s, 2), dtype=np.float32)
    sc = np.zeros((t, s), dtype=np.float32)
    kp[det.frame[sel]] = det.keypoints[sel]
    sc[det.frame[sel]] = det.scores[sel]
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
