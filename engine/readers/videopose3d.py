"""VideoPose3D 2D inputs: the custom dataset `.npz` and raw Detectron2 per-video `.npz`.

TRUST BOUNDARY: both formats keep dicts and lists as pickled object arrays, and `np.load(...,
allow_pickle=True)` would run any code a crafted file names (issue #16; `inspect`, and so the
add-on's Scan button, picks these readers by array names alone). They are read with
`safe_pickle.load_npz` instead, which rebuilds only plain containers, numbers, strings and numpy
arrays/dtypes/scalars, never imports anything else, and checks numpy's state and the sizes before
numpy trusts them; any other pickled object is a one-sentence ReaderError. Arrays without objects
are read with allow_pickle=False, as every other reader does.

- Custom (`prepare_data_2d_custom.py`): `positions_2d = {video: {'custom': [(T, 17, 2)]}}`,
  `metadata = {'layout_name': 'coco', 'video_metadata': {video: {'w', 'h'}}}`. Several videos per
  file: `video=` picks one (name or index; default the first). No confidences are stored (all
  joints get score 1) and frames were already gap-interpolated by VideoPose3D.
- Raw Detectron2 (`infer_video_d2.py`): `boxes[t][1]` (K, 5) x1 y1 x2 y2 score, `keypoints[t][1]`
  (K, 4, 17) rows x, y, logit, prob; `metadata = {'w', 'h'}`. Frames without a box are missing.

Neither stores fps, and guessing one would silently change the motion's speed, so fps must be
given (`--fps`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ReaderError
from .. import limits
from . import layouts, safe_pickle
from ._io import fail, require_finite
from .detections import Detections


def _load_pickled(path: Path, keys: set[str], encoding: str = "ASCII") -> dict:
    try:
        arrays = safe_pickle.load_npz(path, keys, encoding)
    except ReaderError:
        raise
    except Exception as exc:  # zipfile, numpy and pickle raise many types for a truncated or corrupt file
        raise fail(path, f"cannot be read as a VideoPose3D .npz, truncated or corrupt ({type(exc).__name__})") from None
    missing = keys - set(arrays)
    if missing:
        raise fail(path, f"is not the expected VideoPose3D file (missing {', '.join(sorted(missing))})")
    return arrays


def _item(path: Path, arr, what: str):
    try:
        return arr.item() if isinstance(arr, np.ndarray) else arr
    except ValueError:
        raise fail(path, f"has a malformed '{what}' entry") from None


def custom_videos(path: Path) -> tuple[dict, dict]:
    """(positions_2d, video_metadata) of a custom VideoPose3D file, checked."""
    z = _load_pickled(path, {"positions_2d", "metadata"})
    positions, metadata = _item(path, z["positions_2d"], "positions_2d"), _item(path, z["metadata"], "metadata")
    if not isinstance(positions, dict) or not isinstance(metadata, dict):
        raise fail(path, "has 'positions_2d' or 'metadata' that is not a dictionary")
    if not positions:
        raise fail(path, "contains no videos")
    if metadata.get("layout_name", "coco") != "coco":
        raise fail(path, f"uses layout '{metadata.get('layout_name')}'; only 'coco' (COCO-17) is supported")
    video_meta = metadata.get("video_metadata", {})
    return positions, video_meta if isinstance(video_meta, dict) else {}


def read_custom(path: Path, video=None, **_) -> Detections:
    positions, video_meta = custom_videos(path)
    names = list(positions)
    if video is None:
        name = names[0]
    elif str(video) in positions:
        name = str(video)
    elif isinstance(video, int) or str(video).isdigit():
        if not 0 <= int(video) < len(names):
            raise fail(path, f"has {len(names)} videos, so video index {video} does not exist")
        name = names[int(video)]
    else:
        raise fail(path, f"has no video '{video}' (see 'inspect' for the list)")
    try:
        kp = np.asarray(positions[name]["custom"][0], dtype=np.float32)
    except (KeyError, IndexError, TypeError, ValueError):
        raise fail(path, f"video '{name}' has no positions_2d[...]['custom'][0] array") from None
    if kp.ndim != 3 or kp.shape[1:] != (17, 2) or kp.shape[0] == 0:
        raise fail(path, f"video '{name}' has keypoints of shape {kp.shape}, expected (frames, 17, 2)")
    require_finite(path, kp)
    size = None
    wh = video_meta.get(name)
    if isinstance(wh, dict) and "w" in wh and "h" in wh:
        size = limits.image_size(wh["w"], wh["h"], path.name)
    videos = []
    for n in names:
        try:
            t = len(positions[n]["custom"][0])
        except (KeyError, IndexError, TypeError):
            t = None
        m = video_meta.get(n) if isinstance(video_meta.get(n), dict) else {}
        videos.append({"name": n, "frames": t, "image_size": [m.get("w"), m.get("h")] if m else None})
    t = kp.shape[0]
    return Detections(
        format="vp3d-custom", path_name=path.name, layout=layouts.COCO17, num_frames=t,
        frame=np.arange(t), keypoints=kp, scores=np.ones((t, 17), np.float32),
        single_identity=True, image_size=size, videos=videos, meta={"video": name},
        warnings=["VideoPose3D custom files store no confidences; every joint gets score 1"],
    )


def read_detectron2(path: Path, **_) -> Detections:
    z = _load_pickled(path, {"boxes", "keypoints", "metadata"}, encoding="latin1")
    boxes, keypoints, metadata = z["boxes"], z["keypoints"], _item(path, z["metadata"], "metadata")
    if np.ndim(boxes) == 0 or np.ndim(keypoints) == 0:
        raise fail(path, "has boxes/keypoints that are single values, not one entry per frame")
    if len(boxes) != len(keypoints) or len(boxes) == 0:
        raise fail(path, f"has {len(boxes)} box frames and {len(keypoints)} keypoint frames")
    frames, kps, bxs = [], [], []
    for t in range(len(boxes)):
        try:
            b, k = boxes[t][1], keypoints[t][1]
        except (IndexError, TypeError, KeyError):
            raise fail(path, f"frame {t} is not in the Detectron class-list layout") from None
        if len(b) == 0:
            continue
        b = np.asarray(b, dtype=np.float32)
        k = np.asarray(k, dtype=np.float32)
        if b.ndim != 2 or b.shape[1] != 5 or k.shape != (b.shape[0], 4, 17):
            raise fail(path, f"frame {t} has boxes {b.shape} and keypoints {k.shape}, expected (K, 5) and (K, 4, 17)")
        frames.append(np.full(len(b), t))
        kps.append(k)
        bxs.append(b)
    if not kps:
        raise fail(path, "contains no people (no frame has a detection)")
    k = np.concatenate(kps)
    b = np.concatenate(bxs)
    require_finite(path, k[:, [0, 1, 3]], b)
    size = None
    if isinstance(metadata, dict) and "w" in metadata and "h" in metadata:
        size = limits.image_size(metadata["w"], metadata["h"], path.name)
    return Detections(
        format="detectron2-npz", path_name=path.name, layout=layouts.COCO17, num_frames=len(boxes),
        frame=np.concatenate(frames).astype(np.int64), keypoints=np.ascontiguousarray(k[:, :2].transpose(0, 2, 1)),
        scores=np.clip(k[:, 3], 0, 1), boxes=b[:, :4], det_scores=b[:, 4], image_size=size,
    )
