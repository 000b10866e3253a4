"""The footage of a result lifted from a video (result meta "footage", written by the engine's
`engine/footage.py`): the video file, its frames, and the camera that sees the lifted motion as the
video does. No bpy: `blender/footage.py` turns this into a movie clip and a camera.

The engine's camera: a pinhole with a horizontal field of view (the lift's lens, meta "camera_lens"),
principal point at the image centre, fixed for the clip, its centre `location` and axes
`rotation` (columns: x right, y down, z forward, in the result's world frame, which is the
generated rig's). A Blender camera looks down its local -Z with +Y up, so its world matrix has the
columns (x, -y, -z) and the centre as translation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class FootageCamera:
    matrix_world: np.ndarray      # (4, 4) Blender camera object matrix
    horizontal_fov: float         # radians
    image_size: tuple[int, int]   # (width, height) pixels: the render resolution that keeps its aspect
    reprojection_px: float | None  # the engine's median distance of the camera's view of the rig to the 2D


@dataclass(frozen=True)
class Footage:
    video: Path
    frames: int
    fps: float | None
    image_size: tuple[int, int]
    first_frame: int              # the video frame the result's frame 0 is (0: from the start)
    camera: FootageCamera | None
    detector: str                 # e.g. "MediaPipe Pose heavy" (what found the 2D)

    @property
    def exists(self) -> bool:
        return self.video.is_file()


def blender_camera_matrix(location, rotation) -> np.ndarray:
    """(4, 4) world matrix of a Blender camera from the engine's camera centre and axes."""
    r = np.asarray(rotation, dtype=np.float64).reshape(3, 3)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2] = r[:, 0], -r[:, 1], -r[:, 2]
    m[:3, 3] = np.asarray(location, dtype=np.float64).reshape(3)
    return m


def _camera(data) -> FootageCamera | None:
    if not isinstance(data, dict):
        return None
    try:
        matrix = blender_camera_matrix(data["location"], data["rotation"])
        fov = math.radians(float(data.get("horizontal_fov_deg", 60.0)))
        w, h = (int(v) for v in data["image_size"])
    except (KeyError, TypeError, ValueError):
        return None
    r = matrix[:3, :3]
    if not (np.isfinite(matrix).all() and abs(np.linalg.det(r) - 1) < 1e-3 and 0 < fov < math.pi and w > 0 and h > 0):
        return None
    err = (data.get("reprojection_px") or {}).get("median")
    return FootageCamera(matrix, fov, (w, h), float(err) if isinstance(err, (int, float)) else None)


def from_meta(meta: dict) -> Footage | None:
    """The footage of a result, or None when it was not lifted from a video (or says too little)."""
    fm = meta.get("footage") if isinstance(meta, dict) else None
    if not isinstance(fm, dict) or not isinstance(fm.get("video"), dict):
        return None
    v = fm["video"]
    try:
        path = Path(str(v["path"]))
        w, h = (int(x) for x in v["image_size"])
        frames = int(v.get("frames") or 0)
    except (KeyError, TypeError, ValueError):
        return None
    fps = v.get("fps")
    det = fm.get("detector") if isinstance(fm.get("detector"), dict) else {}
    detector = " ".join(str(x) for x in ("MediaPipe Pose" if det else "", det.get("model", "")) if x)
    return Footage(path, frames, float(fps) if isinstance(fps, (int, float)) else None, (w, h),
                   int(fm.get("first_frame") or 0), _camera(fm.get("camera")), detector)
