"""Depth from where the feet meet the floor.

The root's depth from the person's apparent size (engine.trajectory) swings whenever the model's
3D shape and the 2D disagree: a squat whose torso the model keeps too upright reads as the person
stepping back, and an exercise done on one spot surged up to 3 m. A planted foot pins the person
down better: it is on the floor, so its 2D position alone, seen along the camera's ray, says how far
away it is, once the camera's height over the floor is known. That height is one number for the
clip (the camera does not move), the median over the contact frames of the ankles' height below the
camera by the size-based fit, so the size-based errors average out.

In contact frames the root is moved to put the contacting ankle where its ray meets the floor;
between contacts it keeps the size-based motion, shifted by the offset interpolated from the
contacts around it (a jump keeps its arc).
"""

from __future__ import annotations

import numpy as np

from ..gaps import interpolate_missing
from ..skeleton import LEFT_ANKLE, RIGHT_ANKLE
from ..smoothing import gaussian
from ..trajectory import DEFAULT_FOCAL

MIN_RAY_DEG = 4.0       # an ankle ray closer to the horizon than this says little about depth
MAX_RATIO = 2.0         # the floor depth may differ from the size-based one at most this much
OFFSET_HZ = 1.0         # the correction changes no faster than this


def floor_root(pose_up: np.ndarray, root_up: np.ndarray, keypoints2d: np.ndarray, scores: np.ndarray,
               rotation: np.ndarray, contacts: np.ndarray, fps: float) -> tuple[np.ndarray, dict]:
    """Camera-upright frame (y down along gravity): (T, 17, 3) root-relative pose, (T, 3) size-based
    root, (T, 17, 2) screen-normalised 2D, (T, 17) scores, the (3, 3) upright rotation, (T, 2) contacts
    -> (T, 3) root with the contacting feet on the floor, and a report."""
    ankles = [LEFT_ANKLE, RIGHT_ANKLE]
    t = len(pose_up)
    feet = pose_up[:, ankles] + root_up[:, None]                         # (T, 2, 3)
    seen = contacts & (scores[:, ankles] > 0.3)
    if seen.sum() < 5:
        return root_up, {"used": False, "why": "too few confident foot contacts"}
    camera_height = float(np.median(feet[..., 1][seen]))
    rays = np.concatenate([keypoints2d[:, ankles] / DEFAULT_FOCAL, np.ones((t, 2, 1))], axis=-1) @ rotation.T
    below = rays[..., 1] / np.linalg.norm(rays, axis=-1) > np.sin(np.radians(MIN_RAY_DEG))
    if camera_height <= 0:
        return root_up, {"used": False, "why": "the camera is not above the floor"}
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = camera_height / rays[..., 1]
        on_floor = scale[..., None] * rays                               # (T, 2, 3) ankle on the floor
        ratio = on_floor[..., 2] / feet[..., 2]
    good = seen & below & (ratio < MAX_RATIO) & (ratio > 1 / MAX_RATIO)
    if good.sum() < 5:
        return root_up, {"used": False, "why": "the feet are seen too close to the horizon"}
    offsets = np.where(good[..., None], on_floor - feet, 0.0).sum(1) / np.maximum(good.sum(1), 1)[:, None]
    known = good.any(axis=1)
    offset = gaussian(interpolate_missing(offsets, known), fps, min(OFFSET_HZ, fps / 2 - 0.5))
    return root_up + offset, {"used": True, "camera_height_m": round(camera_height, 3),
                              "frames": int(known.sum())}
