"""COCO-style keypoint results: one JSON list of detections.

- COCO results (MMPose/RTMPose/ViTPose test output, Detectron2 `coco_instances_results.json`):
  `{"image_id", "category_id", "keypoints": [x, y, score] * K, "score"}`.
- AlphaPose (COCO-17 or HALPE-26): the same plus `"box": [x, y, w, h]` and `"idx"` (format
  "alphapose"). Its `idx` is not a reliable identity across frames (image mode), so identities are
  tracked like any multi-person file.
- MMPose's own prediction JSON (format "mmpose"): `{"meta_info", "instance_info": [{"frame_id",
  "instances": [{"keypoints": [[x, y]] * K, "keypoint_scores": [..], "bbox": [[x1, y1, x2, y2]],
  "bbox_score"}]}]}` from the video demos, the inferencer's `{"predictions": [[instances]]}`, or a
  bare per-image list of instances.

Frames: integer image ids (or the last number in an image file name, "12.jpg") are frame
numbers; otherwise images are taken in order of first appearance. The layout follows K
(17 COCO, 26 HALPE, 133 COCO-WholeBody). Neither schema stores image size or fps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import limits
from . import layouts
from ._io import fail, frame_number, load_json, require_finite
from .detections import Detections


def is_results_list(data) -> bool:
    return (isinstance(data, list) and bool(data) and isinstance(data[0], dict)
            and "image_id" in data[0] and "keypoints" in data[0])


def is_alphapose(data) -> bool:
    return is_results_list(data) and ("box" in data[0] or "idx" in data[0])


def is_mmpose(data) -> bool:
    if isinstance(data, dict):
        return isinstance(data.get("instance_info"), list) or isinstance(data.get("predictions"), list)
    return (isinstance(data, list) and bool(data) and isinstance(data[0], dict)
            and "keypoint_scores" in data[0])


def _layout_for(path: Path, k: int) -> layouts.Layout:
    if k not in (17, 26, 133):
        raise fail(path, f"has {k} keypoints per person; expected 17 (COCO), 26 (HALPE) or 133 (COCO-WholeBody)")
    return layouts.BY_COUNT[k]


def _frames_from_ids(path: Path, image_ids: list) -> tuple[np.ndarray, int, list[str]]:
    """Frame index per detection from its image id, plus the clip length and warnings."""
    unique = list(dict.fromkeys(image_ids))
    numbers = [i if isinstance(i, int) and not isinstance(i, bool) else frame_number(str(i)) for i in unique]
    if (None not in numbers and len(set(numbers)) == len(numbers)
            and max(numbers) - min(numbers) < 4 * len(numbers) + 100):  # not timestamps
        lo = min(numbers)
        lookup = {u: n - lo for u, n in zip(unique, numbers)}
        return np.array([lookup[i] for i in image_ids], np.int64), max(numbers) - lo + 1, []
    lookup = {u: n for n, u in enumerate(unique)}
    return (np.array([lookup[i] for i in image_ids], np.int64), len(unique),
            ["image ids carry no frame numbers; frames follow their order of first appearance"])


def read_results(path: Path, fmt: str = "coco-json", **_) -> Detections:
    data = load_json(path)
    if isinstance(data, list) and not data:
        raise fail(path, "contains no people (an empty results list)")
    if not is_results_list(data):
        raise fail(path, "is not a COCO-style results list (items need 'image_id' and 'keypoints')")
    image_ids, rows, det_scores, boxes = [], [], [], []
    k = None
    for n, item in enumerate(data):
        if not isinstance(item, dict) or "keypoints" not in item or "image_id" not in item:
            raise fail(path, f"detection {n} lacks 'image_id' or 'keypoints'")
        if isinstance(item.get("category_id"), int) and item["category_id"] != 1:
            continue  # not a person
        try:
            kp = np.asarray(item["keypoints"], dtype=np.float64).reshape(-1)
            score = float(item.get("score", np.nan))
        except (TypeError, ValueError):
            raise fail(path, f"detection {n} has non-numeric keypoints or score") from None
        if kp.size % 3 or kp.size == 0:
            raise fail(path, f"detection {n}'s keypoints are not x, y, score triples")
        if k is None:
            k = kp.size // 3
        elif kp.size // 3 != k:
            raise fail(path, f"mixes layouts ({k} and {kp.size // 3} keypoints per person)")
        iid = item["image_id"]
        if not isinstance(iid, (int, str)) or isinstance(iid, bool):
            raise fail(path, f"detection {n} has an image_id that is neither a number nor a name")
        image_ids.append(iid)
        rows.append(kp)
        det_scores.append(score)
        box = item.get("box")
        boxes.append(box if isinstance(box, list) and len(box) == 4 else None)
    if not rows:
        raise fail(path, "contains no person detections")
    layout = _layout_for(path, k)
    arr = np.stack(rows).reshape(len(rows), k, 3)
    require_finite(path, arr)
    frame, num_frames, warnings = _frames_from_ids(path, image_ids)
    ds = np.asarray(det_scores, dtype=np.float64)
    if np.isnan(ds).any():
        ds = None
    else:
        require_finite(path, ds)
    box_arr = None
    if all(b is not None for b in boxes):
        try:
            xywh = np.asarray(boxes, dtype=np.float64)
        except (TypeError, ValueError):
            raise fail(path, "has a non-numeric 'box'") from None
        require_finite(path, xywh)
        box_arr = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1).astype(np.float32)
    return Detections(
        format=fmt, path_name=path.name, layout=layout, num_frames=num_frames, frame=frame,
        keypoints=arr[:, :, :2].astype(np.float32), scores=np.clip(arr[:, :, 2], 0, 1).astype(np.float32),
        boxes=box_arr, det_scores=ds, warnings=warnings,
    )


def read_alphapose(path: Path, **kw) -> Detections:
    return read_results(path, fmt="alphapose")


def _mmpose_frames(path: Path, data) -> list[tuple[int, list]]:
    if isinstance(data, dict) and isinstance(data.get("instance_info"), list):
        out = []
        for n, entry in enumerate(data["instance_info"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("instances"), list):
                raise fail(path, f"instance_info entry {n} has no 'instances' list")
            fid = limits.frame_number(entry.get("frame_id", n), path.name, f"instance_info entry {n}'s frame_id")
            out.append((fid, entry["instances"]))
        return out
    if isinstance(data, dict) and isinstance(data.get("predictions"), list):
        preds = data["predictions"]
        if preds and all(isinstance(p, dict) for p in preds):
            preds = [preds]
        return [(n, p) for n, p in enumerate(preds)]
    if isinstance(data, list):
        return [(0, data)]
    raise fail(path, "is not an MMPose prediction file ('instance_info' or 'predictions' missing)")


def read_mmpose(path: Path, **_) -> Detections:
    data = load_json(path)
    entries = _mmpose_frames(path, data)
    frames, kps, scs, boxes, det_scores = [], [], [], [], []
    for fid, instances in entries:
        if not isinstance(instances, list):
            raise fail(path, f"frame {fid}'s instances are not a list")
        for inst in instances:
            if not isinstance(inst, dict) or "keypoints" not in inst or "keypoint_scores" not in inst:
                raise fail(path, f"frame {fid} has an instance without 'keypoints' and 'keypoint_scores'")
            try:
                kp = np.asarray(inst["keypoints"], dtype=np.float64)
                sc = np.asarray(inst["keypoint_scores"], dtype=np.float64)
                box = np.asarray(inst.get("bbox", [[np.nan] * 4]), dtype=np.float64).reshape(-1)[:4]
                bs = np.asarray(inst.get("bbox_score", np.nan), dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise fail(path, f"frame {fid} has non-numeric or ragged keypoints") from None
            if kp.ndim != 2 or kp.shape[1] != 2 or sc.shape != (kp.shape[0],):
                raise fail(path, f"frame {fid} has keypoints of shape {kp.shape} with {sc.size} scores")
            if kps and kp.shape[0] != kps[0].shape[0]:
                raise fail(path, f"mixes layouts ({kps[0].shape[0]} and {kp.shape[0]} keypoints per person)")
            frames.append(fid)
            kps.append(kp)
            scs.append(sc)
            boxes.append(box if box.size == 4 else np.full(4, np.nan))
            det_scores.append(bs[0] if bs.size else np.nan)
    if not kps:
        raise fail(path, "contains no people")
    layout = _layout_for(path, kps[0].shape[0])
    kp, sc = np.stack(kps), np.stack(scs)
    require_finite(path, kp, sc)
    frame = np.asarray(frames, dtype=np.int64)
    lo = int(frame.min())
    box_arr = np.stack(boxes)
    ds = np.asarray(det_scores)
    meta = {}
    if isinstance(data, dict) and isinstance(data.get("meta_info"), dict):
        name = data["meta_info"].get("dataset_name")
        if isinstance(name, str):
            meta["dataset_name"] = name
    return Detections(
        format="mmpose", path_name=path.name, layout=layout, num_frames=int(frame.max()) - lo + 1,
        frame=frame - lo, keypoints=kp.astype(np.float32), scores=np.clip(sc, 0, 1).astype(np.float32),
        boxes=None if np.isnan(box_arr).any() else box_arr.astype(np.float32),
        det_scores=None if np.isnan(ds).any() else ds, meta=meta,
    )
