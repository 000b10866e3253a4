"""Coordinate frames, each conversion next to its inverse (shared conventions, "Coordinate frames").

- Image: pixels, origin top-left, x right, y down.
- Screen-normalised (model input): u = x / w * 2 - 1, v = y / w * 2 - h / w. Both axes are scaled
  by the width, so the aspect ratio is kept and the image centre maps to (0, 0).
- Camera: metres, x right, y down, z forward.
- Blender world: metres, Z up, (x, y, z)_blender = (x, z, -y)_camera; grounded so the lowest
  ankle over the clip is at z = 0.
"""

from __future__ import annotations

import math

import numpy as np

from .skeleton import LEFT_ANKLE, RIGHT_ANKLE

DIAGONAL_35MM = 43.2666    # diagonal of a 36 x 24 mm frame; "35 mm-equivalent" focal lengths refer to it
# The lens assumed when the footage does not say (`lift --lens-mm`): 35 mm-equivalent, the
# geometric mean of the training cameras' 18-70 mm. Measured on `cross` (shipped weights, 4 Hz):
# against the 60-degree horizontal field of view assumed before, 105.6 -> 103.4 mm with aimed
# cameras, 105.2 -> 104.3 with cameras anywhere, and on its portrait clips 105.1 -> 92.0 (a width
# based field of view is far too wide for a portrait frame); a 28 mm lens scored 104.0 / 104.0.
LENS_MM = 35.0


def screen_focal(width: float, height: float, lens_mm: float = LENS_MM) -> float:
    """The focal length in screen-normalised units (u = f x / z) of a `lens_mm` 35 mm-equivalent
    lens on a `width` x `height` image: equivalent focal lengths scale with the image diagonal."""
    return float(lens_mm / DIAGONAL_35MM * math.hypot(width, height) / (width / 2.0))


def horizontal_fov_deg(focal: float) -> float:
    """The horizontal field of view of a screen-normalised focal length (u spans [-1, 1])."""
    return math.degrees(2.0 * math.atan(1.0 / focal))


def normalise_screen(xy: np.ndarray, width: float, height: float) -> np.ndarray:
    """(..., 2) pixels -> (..., 2) screen-normalised coordinates."""
    xy = np.asarray(xy, dtype=np.float32)
    out = np.empty_like(xy)
    out[..., 0] = xy[..., 0] / width * 2.0 - 1.0
    out[..., 1] = xy[..., 1] / width * 2.0 - height / width
    return out


def denormalise_screen(uv: np.ndarray, width: float, height: float) -> np.ndarray:
    """Inverse of `normalise_screen`: (..., 2) screen-normalised -> (..., 2) pixels."""
    uv = np.asarray(uv, dtype=np.float32)
    out = np.empty_like(uv)
    out[..., 0] = (uv[..., 0] + 1.0) * width / 2.0
    out[..., 1] = (uv[..., 1] + height / width) * width / 2.0
    return out


def camera_to_blender(p: np.ndarray) -> np.ndarray:
    """(..., 3) camera frame (x right, y down, z forward) -> Blender frame (Z up)."""
    p = np.asarray(p)
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def blender_to_camera(p: np.ndarray) -> np.ndarray:
    """Inverse of `camera_to_blender`."""
    p = np.asarray(p)
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def ground_offset(joints_blender: np.ndarray) -> float:
    """Height to subtract so the lowest ankle over the whole clip sits at z = 0.

    A robust low percentile is used instead of the minimum so one bad frame does not lift or sink
    the whole clip.
    """
    ankles_z = joints_blender[..., [LEFT_ANKLE, RIGHT_ANKLE], 2].reshape(-1)
    if ankles_z.size == 0:
        return 0.0
    return float(np.percentile(ankles_z, 1.0)) if ankles_z.size >= 100 else float(ankles_z.min())


def to_grounded_blender(joints_camera: np.ndarray, root_trajectory: np.ndarray | None = None) -> np.ndarray:
    """(T, 17, 3) root-relative camera joints (+ optional (T, 3) camera root path) -> grounded
    Blender world joints (T, 17, 3).

    With a root trajectory the horizontal path is made relative to the first frame, so the
    character starts at the world origin and walks from there.
    """
    joints = np.asarray(joints_camera, dtype=np.float32)
    if root_trajectory is not None:
        root = np.asarray(root_trajectory, dtype=np.float32)
        root = root - root[:1]
        joints = joints + root[:, None, :]
    world = camera_to_blender(joints)
    world[..., 2] -= ground_offset(world)
    return world.astype(np.float32)
