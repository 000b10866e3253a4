"""The footage behind a lift: which video it came from and the camera that sees the lifted motion
as the video does, for the add-on's camera background and matching camera (result meta "footage").

The lift assumes a pinhole camera with the lens in its meta (`camera_lens`: 35 mm-equivalent
unless the user gave one; engine.frames.screen_focal), fixed for the whole clip, and puts the motion in the Blender world (engine.frames; the clean-up
turns it upright and moves it onto the floor and the origin). That camera is recovered from the
result itself, so it matches whatever the clean-up did:
- its orientation M (camera axes x right, y down, z forward as columns, in world coordinates) is
  the rotation that takes the result's camera-frame poses (`joints3d`, root-relative) to the world
  poses (`joints3d_world`, root-relative): Kabsch over the detected frames' torso joints;
- its centre c solves, in the least-squares sense, the pinhole equations of every confident 2D
  keypoint: u (m3 . (p - c)) = f (m1 . (p - c)) and v (m3 . (p - c)) = f (m2 . (p - c)), linear in
  c, with p the keypoint's world joint and (u, v) its screen-normalised position (engine.frames).
`reprojection_px` says how well the camera puts the rig over the person (median pixel distance).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .frames import denormalise_screen, horizontal_fov_deg, normalise_screen, screen_focal
from .sequence import FRAME_DETECTED, KeypointSequence, LiftResult
from .trajectory import TORSO


def video_meta(meta: dict) -> dict | None:
    """The "video" record of a sequence's meta: a video's own, or that of the keypoints file
    `detect` wrote from one."""
    for m in (meta, meta.get("source_meta") or {}):
        if isinstance(m, dict) and isinstance(m.get("video"), dict):
            return m
    return None


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation R minimising sum |R a_i - b_i|^2 over (N, 3) point pairs."""
    h = a.T @ b
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def fit_camera(result: LiftResult, keypoints: np.ndarray, scores: np.ndarray, image_size) -> dict | None:
    """The fixed camera of the lift in the world frame (see the module doc), or None when the clip
    gives too little to fit it."""
    w, h = image_size
    world = np.asarray(result.joints3d_world, np.float64)
    cam = np.asarray(result.joints3d, np.float64)
    t = min(len(world), len(keypoints))
    flags = result.frame_flags if result.frame_flags is not None else np.zeros(t, np.uint8)
    detected = (flags[:t] == FRAME_DETECTED) & (scores[:t] > 0).any(axis=1)
    if detected.sum() < 2:
        return None
    a = (cam[:t] - cam[:t, :1])[detected][:, TORSO].reshape(-1, 3)
    b = (world[:t] - world[:t, :1])[detected][:, TORSO].reshape(-1, 3)
    rot = _kabsch(a, b)                                   # camera-frame vector -> world vector
    m1, m2, m3 = rot[:, 0], rot[:, 1], rot[:, 2]
    uv = normalise_screen(keypoints[:t], w, h).astype(np.float64)[detected]
    p = world[:t][detected]
    wgt = np.clip(scores[:t][detected], 0, 1).astype(np.float64)
    u, v = uv[..., 0:1], uv[..., 1:2]
    f = float((result.meta.get("camera_lens") or {}).get("focal_screen") or screen_focal(w, h))
    rows = np.concatenate([(u * m3 - f * m1).reshape(-1, 3), (v * m3 - f * m2).reshape(-1, 3)])
    pts = np.concatenate([p.reshape(-1, 3), p.reshape(-1, 3)])
    ww = np.sqrt(np.concatenate([wgt.reshape(-1), wgt.reshape(-1)]))
    keep = ww > 0
    A, rhs = rows[keep] * ww[keep, None], (rows[keep] * pts[keep]).sum(1) * ww[keep]
    if len(A) < 3:
        return None
    centre, *_ = np.linalg.lstsq(A, rhs, rcond=None)
    q = (p - centre) @ rot                                  # camera coordinates of the world joints
    depth = np.maximum(q[..., 2], 1e-6)
    px = denormalise_screen(f * q[..., :2] / depth[..., None], w, h)
    err = np.linalg.norm(px - keypoints[:t][detected], axis=-1)[wgt > 0]
    return {
        "model": "pinhole, fixed for the clip, principal point at the image centre",
        "horizontal_fov_deg": round(horizontal_fov_deg(f), 6),
        "image_size": [int(w), int(h)],
        "location": [round(float(x), 5) for x in centre],
        "rotation": [[round(float(x), 6) for x in row] for row in rot],   # columns: camera x right, y down, z forward
        "reprojection_px": {"median": round(float(np.median(err)), 2), "p90": round(float(np.percentile(err, 90)), 2)},
        "root_motion": (result.meta.get("cleanup") or {}).get("root_motion", "free"),
    }


def annotate(result: LiftResult, seq: KeypointSequence) -> None:
    """Put meta["footage"] (the video and the matching camera) on a result lifted from a video or
    from a keypoints file `detect` wrote; leaves other results alone."""
    meta = video_meta(seq.meta)
    if meta is None:
        return
    info = dict(meta["video"])
    footage = {"video": info, "detector": meta.get("detector"), "first_frame": 0,
               "camera": fit_camera(result, seq.keypoints, seq.scores, seq.image_size)}
    if info.get("path") and not Path(info["path"]).is_file():
        footage["note"] = "the video is no longer where it was detected"
    result.meta["footage"] = footage
