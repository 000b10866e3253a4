"""MediaPipe Pose (33 landmarks) dumps, JSON and CSV (schemas: shared/samples/README.md).

Coordinates are normalised by the image width and height, so pixels need the image size: the
JSON stores it (and fps); the CSV does not, so it comes from a sibling `*_video_info.json`
(`width`, `height`, `fps`) or the flags. `visibility` is the confidence. Frames without a pose
(empty `landmarks` / empty CSV cells) become missing frames. MediaPipe's tracker is single-person
but may jump between people, so identities are still tracked and the most visible one is chosen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import limits
from . import layouts
from ._io import fail, load_json, parse_numeric_csv, read_text, require_finite
from .detections import Detections

N = 33
CSV_HEADER = "frame," + ",".join(f"x{i},y{i},z{i},v{i}" for i in range(N))


def is_mediapipe_json(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("frames"), list) and (
        "landmark_names" in data or "image_width" in data)


def landmark_detections(path: Path, fmt: str, frame_ids: np.ndarray, values: np.ndarray, size, fps, meta) -> Detections:
    """values: (F, 33, 4) x, y, z, visibility normalised, NaN rows = no pose. Shared by the two
    dump readers and the video detector (engine.detector), so MediaPipe's output is turned into
    detections (pixels, visibility as the confidence) in one place."""
    has_pose = ~np.isnan(values).all(axis=(1, 2))
    if np.isnan(values[has_pose]).any():
        raise fail(path, "has frames with some landmark values missing")
    require_finite(path, values[has_pose])
    if not has_pose.any():
        raise fail(path, "contains no people (no frame has a pose)")
    if frame_ids.size and (np.diff(frame_ids) <= 0).any():
        raise fail(path, "has frame numbers that are not increasing")
    lo = int(frame_ids.min())
    if size is None:
        raise fail(path, "stores normalised coordinates but no image size; pass --image-size WIDTH HEIGHT")
    scale = np.array(size, dtype=np.float64)
    v = values[has_pose]
    return Detections(
        format=fmt, path_name=path.name, layout=layouts.MEDIAPIPE33,
        num_frames=int(frame_ids.max()) - lo + 1, frame=(frame_ids[has_pose] - lo).astype(np.int64),
        keypoints=(v[:, :, :2] * scale).astype(np.float32),
        scores=np.clip(v[:, :, 3], 0, 1).astype(np.float32),
        image_size=size, fps=fps, meta=meta,
    )


def _size_and_fps(path: Path, width, height, rate) -> tuple[tuple[int, int] | None, float | None]:
    """The stored image size and fps, each None when the file leaves it out, checked when present."""
    size = None if width is None and height is None else limits.image_size(width, height, path.name)
    return size, (None if rate is None else limits.fps(rate, path.name))


def read_json(path: Path, image_size=None, **_) -> Detections:
    data = load_json(path)
    if not is_mediapipe_json(data):
        raise fail(path, "is not a MediaPipe pose dump (needs 'frames' and 'image_width')")
    frames = data["frames"]
    values = np.full((len(frames), N, 4), np.nan)
    ids = np.empty(len(frames), dtype=np.int64)
    for n, fr in enumerate(frames):
        if not isinstance(fr, dict) or not isinstance(fr.get("landmarks"), list):
            raise fail(path, f"frame entry {n} has no 'landmarks' list")
        fid = limits.frame_number(fr.get("frame", n), path.name, f"frame entry {n}'s 'frame'")
        ids[n] = fid
        lms = fr["landmarks"]
        if not lms:
            continue
        if len(lms) != N:
            raise fail(path, f"frame {fid} has {len(lms)} landmarks, expected {N}")
        try:
            values[n] = [[lm["x"], lm["y"], lm.get("z", 0.0), lm.get("visibility", 1.0)] for lm in lms]
        except (TypeError, KeyError, ValueError):
            raise fail(path, f"frame {fid} has a landmark without numeric x, y") from None
    size, fps = _size_and_fps(path, data.get("image_width"), data.get("image_height"), data.get("fps"))
    if size is None and image_size is not None:
        size = (int(image_size[0]), int(image_size[1]))
    if not frames:
        raise fail(path, "contains no frames")
    return landmark_detections(path, "mediapipe-json", ids, values, size, fps,
                       {"detector": str(data.get("detector", "mediapipe"))})


def video_info(path: Path) -> tuple[tuple[int, int] | None, float | None, str | None]:
    """Image size and fps from the CSV's sibling `*_video_info.json`, when there is one."""
    stem = path.stem.removesuffix("_mediapipe_pose")
    candidates = [path.with_name(f"{stem}_video_info.json")]
    candidates += sorted(p for p in path.parent.glob("*_video_info.json") if p not in candidates)
    existing = [c for c in candidates if c.is_file()]
    if not existing or (not candidates[0].is_file() and len(existing) > 1):
        return None, None, None
    info = load_json(existing[0])
    if not isinstance(info, dict):
        raise fail(existing[0], "is not a video info object")
    size, fps = _size_and_fps(existing[0], info.get("width"), info.get("height"), info.get("fps"))
    return size, fps, existing[0].name


def read_csv(path: Path, image_size=None, **_) -> Detections:
    text = read_text(path)
    header, _, body = text.partition("\n")
    if header.strip().replace(" ", "") != CSV_HEADER:
        raise fail(path, f"does not start with the MediaPipe CSV header 'frame,x0,y0,z0,v0,...' ({N} landmarks)")
    if not body.strip():
        raise fail(path, "has a header but no frames")
    data = parse_numeric_csv(path, body, 1 + 4 * N)
    if np.isnan(data[:, 0]).any() or (data[:, 0] != np.round(data[:, 0])).any():
        raise fail(path, "has a row without an integer frame number")
    size, fps, info_name = video_info(path)
    meta = {"video_info": info_name} if info_name else {}
    if size is None and image_size is not None:
        size = (int(image_size[0]), int(image_size[1]))
    if size is None:
        raise fail(path, "stores normalised coordinates but no image size (no *_video_info.json beside it); pass --image-size WIDTH HEIGHT")
    return landmark_detections(path, "mediapipe-csv", data[:, 0].astype(np.int64), data[:, 1:].reshape(-1, N, 4),
                       size, fps, meta)
