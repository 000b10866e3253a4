"""Identity tracking across frames for multi-person keypoint files.

Detectors write people per frame without stable identities, so the engine links detections
into tracks itself: each frame, live tracks are matched to detections with the Hungarian
algorithm (scipy's `linear_sum_assignment`) on a cost that mixes box overlap (1 - IoU) and the
mean distance of jointly visible keypoints (relative to the track's box diagonal). Track boxes
and keypoints are predicted with a constant velocity, so two people crossing keep their
identities. Pairs above `MAX_COST` are never matched; unmatched detections start new tracks and
tracks unseen for more than `max_age` frames end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

MAX_COST = 0.8
DEFAULT_MAX_AGE = 30


def boxes_from_keypoints(keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(N, S, 2) + (N, S) -> (N, 4) x1, y1, x2, y2 around the visible keypoints (0 if none)."""
    vis = scores > 0
    big = np.float32(np.inf)
    x = keypoints[..., 0]
    y = keypoints[..., 1]
    x1 = np.where(vis, x, big).min(axis=1)
    y1 = np.where(vis, y, big).min(axis=1)
    x2 = np.where(vis, x, -big).max(axis=1)
    y2 = np.where(vis, y, -big).max(axis=1)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    boxes[~vis.any(axis=1)] = 0.0
    return boxes.astype(np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(M, 4) x (K, 4) boxes -> (M, K) intersection over union."""
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def _cost(t_box, t_kp, t_vis, d_box, d_kp, d_vis) -> np.ndarray:
    """(M tracks) x (K detections) matching cost in [0, 1]: mean of 1 - IoU and keypoint distance."""
    overlap = 1.0 - iou(t_box, d_box)
    both = t_vis[:, None, :] & d_vis[None, :, :]
    dist = np.linalg.norm(t_kp[:, None] - d_kp[None, :], axis=-1)
    mean_dist = np.where(both, dist, 0).sum(-1) / np.maximum(both.sum(-1), 1)
    diag = np.hypot(t_box[:, 2] - t_box[:, 0], t_box[:, 3] - t_box[:, 1])
    rel = np.minimum(mean_dist / np.maximum(diag, 1.0)[:, None], 1.0)
    rel = np.where(both.any(-1), rel, 1.0)
    return 0.5 * overlap + 0.5 * rel


@dataclass
class _Track:
    box: np.ndarray
    kp: np.ndarray
    vis: np.ndarray
    frame: int
    v_box: np.ndarray
    v_kp: np.ndarray

    def predict(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        dt = frame - self.frame
        return self.box + self.v_box * dt, self.kp + self.v_kp * dt


def assign_tracks(frame: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                  boxes: np.ndarray | None = None, max_age: int = DEFAULT_MAX_AGE) -> np.ndarray:
    """Track ids (N,) int, numbered 0, 1, ... in order of first appearance.

    frame (N,), keypoints (N, S, 2), scores (N, S), boxes (N, 4) or None (keypoint boxes).
    """
    n = len(frame)
    ids = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return ids
    boxes = boxes_from_keypoints(keypoints, scores) if boxes is None else np.asarray(boxes, np.float32)
    vis = scores > 0
    order = np.argsort(frame, kind="stable")
    cuts = np.flatnonzero(np.diff(frame[order])) + 1
    tracks: dict[int, _Track] = {}
    for group in np.split(order, cuts):
        f = int(frame[group[0]])
        live = [tid for tid, tr in tracks.items() if f - tr.frame <= max_age]
        matches: list[tuple[int, int]] = []
        if live:
            pred = [tracks[t].predict(f) for t in live]
            cost = _cost(np.stack([p[0] for p in pred]), np.stack([p[1] for p in pred]),
                         np.stack([tracks[t].vis for t in live]), boxes[group], keypoints[group], vis[group])
            if cost.shape == (1, 1):
                rows, cols = np.array([0]), np.array([0])
            else:
                rows, cols = linear_sum_assignment(cost)
            matches = [(live[r], c) for r, c in zip(rows, cols) if cost[r, c] <= MAX_COST]
        taken = set()
        for tid, c in matches:
            det = group[c]
            tr = tracks[tid]
            dt = max(f - tr.frame, 1)
            both = (tr.vis & vis[det])[:, None]
            tr.v_box = (boxes[det] - tr.box) / dt
            tr.v_kp = np.where(both, (keypoints[det] - tr.kp) / dt, 0.0)
            tr.box, tr.frame = boxes[det], f
            tr.kp = np.where(vis[det][:, None], keypoints[det], tr.kp)
            tr.vis = tr.vis | vis[det]
            ids[det] = tid
            taken.add(c)
        for c, det in enumerate(group):
            if c not in taken:
                tid = len(tracks)
                tracks[tid] = _Track(boxes[det], keypoints[det].astype(np.float64), vis[det].copy(), f,
                                     np.zeros(4), np.zeros_like(keypoints[det], dtype=np.float64))
                ids[det] = tid
    return ids


def summarise_tracks(ids: np.ndarray, frame: np.ndarray, scores: np.ndarray) -> list[dict]:
    """One JSON-able row per track: id, first/last frame, frames visible, mean confidence and
    total confidence (the sum of keypoint scores, used to pick the most visible track)."""
    rows = []
    for tid in np.unique(ids):
        sel = ids == tid
        sc = scores[sel]
        vis = sc > 0
        rows.append({
            "id": tid.item() if hasattr(tid, "item") else tid,
            "first_frame": int(frame[sel].min()),
            "last_frame": int(frame[sel].max()),
            "frames_visible": int(np.unique(frame[sel][vis.any(axis=1)]).size),
            "mean_confidence": round(float(sc[vis].mean()) if vis.any() else 0.0, 4),
            "total_confidence": round(float(sc.sum()), 3),
        })
    return rows


def most_visible(rows: list[dict]):
    """Id of the track with the largest total keypoint confidence (ties: earliest track)."""
    return max(rows, key=lambda r: (r["total_confidence"], -r["first_frame"]))["id"]
