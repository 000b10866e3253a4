"""OpenPose `--write_json` folders: one `*_keypoints.json` per frame, several people each.

BODY_25 and BODY_25B both have 25 points, so the count cannot tell them apart; unless the user
forces `layout=`, `guess_body25_variant` uses geometry (shared/samples/README.md): in BODY_25
point 1 (neck) lies between the shoulders 2 and 5, in BODY_25B point 17 lies between the
shoulders 5 and 6. COCO-18 (18 points) is recognised by its count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import layouts
from ._io import fail, flat_keypoints, frame_number, load_json, require_finite
from .detections import Detections

FORMAT = "openpose"
LAYOUT_CHOICES = {"body25": layouts.BODY25, "body25b": layouts.BODY25B, "coco18": layouts.COCO18}


def frame_files(path: Path) -> list[Path]:
    """The per-frame files of an OpenPose folder (or the single file given), in frame order."""
    if path.is_file():
        return [path]
    files = sorted(path.glob("*_keypoints.json"))
    if not files:
        raise fail(path, "holds no OpenPose '*_keypoints.json' files")
    return files


def is_openpose_json(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("people"), list)


def _mid_error(kp: np.ndarray, sc: np.ndarray, mid: int, a: int, b: int) -> float:
    vis = (sc[:, [mid, a, b]] > 0).all(axis=1)
    if not vis.any():
        return np.inf
    centre = (kp[vis, a] + kp[vis, b]) / 2
    width = np.linalg.norm(kp[vis, a] - kp[vis, b], axis=1)
    return float(np.median(np.linalg.norm(kp[vis, mid] - centre, axis=1) / np.maximum(width, 1.0)))


def guess_body25_variant(kp: np.ndarray, sc: np.ndarray) -> layouts.Layout | None:
    """BODY_25 or BODY_25B from (N, 25, 2) points, or None when the geometry cannot tell."""
    e25 = _mid_error(kp, sc, 1, 2, 5)
    e25b = _mid_error(kp, sc, 17, 5, 6)
    if not np.isfinite(min(e25, e25b)) or abs(e25 - e25b) < 0.05:
        return None
    return layouts.BODY25 if e25 < e25b else layouts.BODY25B


def _refuse_repeated_frames(path: Path, files: list[Path], numbers: list) -> None:
    """Two files with one frame number are two clips in one folder (OpenPose run on two cameras
    writes `..._cam1_000000000000_keypoints.json` and `..._cam2_000000000000_...`): joining them
    would play one camera after the other as a single motion."""
    seen: dict[int, str] = {}
    for f, n in zip(files, numbers):
        if n in seen:
            raise fail(path, f"holds two files for frame {n} ({seen[n]} and {f.name}), so it mixes several "
                             f"clips or cameras; put each clip's files in a folder of its own")
        seen[n] = f.name


def read(path: Path, layout: str | None = None, **_) -> Detections:
    files = frame_files(path)
    numbers = [frame_number(f.name) for f in files]
    if len(files) > 1 and None in numbers:
        numbers = list(range(len(files)))  # no usable frame numbers: keep the sorted order
    _refuse_repeated_frames(path, files, numbers)
    numbers = [n or 0 for n in numbers] if len(files) == 1 else numbers
    order = np.argsort(numbers, kind="stable")
    first = min(numbers)
    frames, points, counts = [], [], set()
    count_file: dict[int, str] = {}
    for i in order:
        f = files[i]
        data = load_json(f)
        if not is_openpose_json(data):
            raise fail(f, "is not an OpenPose keypoints file (no 'people' list)")
        for k, person in enumerate(data["people"]):
            if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
                raise fail(f, f"person {k} has no 'pose_keypoints_2d'")
            values = person["pose_keypoints_2d"]
            if not values:
                continue
            arr = flat_keypoints(f, values, f"person {k}'s pose_keypoints_2d")
            if len(arr) not in (18, 25):
                raise fail(f, f"has {len(arr)} body points per person; OpenPose writes 18 (COCO) or 25 (BODY_25/25B)")
            count_file.setdefault(len(arr), f.name)
            counts.add(len(arr))
            if len(counts) > 1:
                raise fail(f, f"mixes layouts in one folder ({' and '.join(f'{c} points in {n}' for c, n in count_file.items())})")
            frames.append(numbers[i] - first)
            points.append(arr)
    num_frames = max(numbers) - first + 1
    name = path.name
    if not points:
        raise fail(path, f"contains no people in any of its {len(files)} frame files")
    data = np.stack(points)
    require_finite(path, data)
    kp = data[:, :, :2].astype(np.float32)
    sc = np.clip(data[:, :, 2], 0, 1).astype(np.float32)
    warnings: list[str] = []
    if layout is not None:
        key = layout.lower().replace("_", "").replace("-", "")
        if key not in LAYOUT_CHOICES:
            raise fail(path, f"unknown OpenPose layout '{layout}' (choose body25, body25b or coco18)")
        chosen = LAYOUT_CHOICES[key]
        if chosen.size != kp.shape[1]:
            raise fail(path, f"has {kp.shape[1]} points per person but layout {chosen.name} has {chosen.size}")
    elif kp.shape[1] == 18:
        chosen = layouts.COCO18
    else:
        chosen = guess_body25_variant(kp, sc)
        if chosen is None:
            raise fail(path, "could be BODY_25 or BODY_25B and the keypoints cannot tell; pass --layout body25 or body25b")
        warnings.append(f"layout {chosen.name} guessed from the keypoint geometry (force it with --layout)")
    return Detections(
        format=FORMAT, path_name=name, layout=chosen, num_frames=num_frames,
        frame=np.asarray(frames, dtype=np.int64), keypoints=kp, scores=sc,
        meta={"first_frame_number": int(first), "frame_files": len(files)}, warnings=warnings,
    )
