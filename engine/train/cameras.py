"""Random pinhole cameras like the ones people film with, and projection through them.

World frame: metres, Y up, ground at y = 0 (clips are grounded when loaded). Camera frame: x right,
y down, z forward (shared conventions). The principal point is the image centre, so screen-normalised
coordinates (engine.frames.normalise_screen) of the optical axis are (0, 0) and a horizontal flip is
u -> -u. Everything is vectorised over a batch of cameras: arrays carry a leading (B,) axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..frames import DIAGONAL_35MM

# Image sizes of real cameras and phones, landscape and portrait.
IMAGE_SIZES = np.array([
    (1920, 1080), (1280, 720), (3840, 2160), (640, 480), (1440, 1080), (2560, 1440), (720, 576),
    (1080, 1920), (720, 1280), (2160, 3840), (1080, 1350), (1080, 1080),
], dtype=np.float64)
FOCAL_35MM = (18.0, 70.0)      # 35 mm-equivalent focal lengths, mm
DISTANCE = (2.5, 8.0)          # metres from the camera to the person (horizontally)
HEIGHT = (0.5, 2.2)            # camera height above the ground, metres
PITCH_JITTER = 0.15            # std of the tilt away from the person, as a fraction of half the
                               # vertical field of view (people are rarely framed dead centre)
ROLL_DEG = 3.0                 # std of the roll
# Real footage (issue #21): people anywhere in the frame and often filling it, cameras at chest or
# head height looking level. `random_cameras(..., anywhere=True)` draws these.
LEVEL_SHARE = 0.4              # share of cameras at LEVEL_HEIGHT looking level (no tilt)
LEVEL_HEIGHT = (1.2, 1.7)      # metres: a camera held at chest or head height
FILL_SHARE = 0.4               # share of cameras as close as the person's extent allows
FILL_DISTANCE = (1.0, 1.4)     # those cameras' distance, in multiples of the closest that fits
FILL_NEAREST = 1.0             # metres: no camera closer than this
OFF_AXIS = 0.9                 # how far the aim may stray: a share of the slack between the person's
                               # angular radius and the half field of view, on each axis


@dataclass
class Camera:
    """One pinhole camera: p_cam = R @ (p_world - centre); pixels = f * (x, y) / z + (w, h) / 2."""

    rotation: np.ndarray   # (3, 3) world -> camera
    centre: np.ndarray     # (3,) camera position in the world, metres
    focal_px: float
    width: int
    height: int

    def world_to_camera(self, p: np.ndarray) -> np.ndarray:
        return world_to_camera(self.rotation, self.centre, p)

    def camera_to_world(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(p) @ self.rotation + self.centre

    def project(self, p_world: np.ndarray) -> np.ndarray:
        """(..., 3) world -> (..., 2) pixels."""
        return project(self.world_to_camera(p_world), self.focal_px, self.width, self.height)

    def back_project(self, pixels: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """(..., 2) pixels + (...,) camera-frame depth z -> (..., 3) world points."""
        return self.camera_to_world(back_project(pixels, depth, self.focal_px, self.width, self.height))

    @property
    def focal_normalised(self) -> float:
        """Focal length in screen-normalised units (image width = 2)."""
        return self.focal_px / self.width * 2.0


def world_to_camera(rotation: np.ndarray, centre: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(3, 3) or (B, 3, 3) rotations, (3,) or (B, 3) centres, points (..., 3) with the batch axis
    first when batched (e.g. (B, N, 17, 3)) -> camera frame."""
    rotation, centre, p = np.asarray(rotation), np.asarray(centre), np.asarray(p)
    if rotation.ndim == 2:
        return (p - centre) @ rotation.T
    extra = p.ndim - 2
    c = centre.reshape(centre.shape[:1] + (1,) * extra + (3,))
    q = (p - c).reshape(p.shape[0], -1, 3)
    return np.matmul(q, rotation.transpose(0, 2, 1)).reshape(p.shape)  # matmul: 10x einsum here


def _batch(x, like: np.ndarray) -> np.ndarray:
    """Scalar or (B,) -> broadcastable against (B, ...) `like` (leading batch axis)."""
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(x.shape + (1,) * (like.ndim - x.ndim)) if x.ndim else x


def project(p_cam: np.ndarray, focal_px, width, height) -> np.ndarray:
    """(..., 3) camera frame -> (..., 2) pixels (principal point at the image centre)."""
    z = p_cam[..., 2]
    f, w, h = (_batch(a, z) for a in (focal_px, width, height))
    return np.stack([f * p_cam[..., 0] / z + w / 2.0, f * p_cam[..., 1] / z + h / 2.0], axis=-1)


def back_project(pixels: np.ndarray, depth: np.ndarray, focal_px, width, height) -> np.ndarray:
    """Inverse of `project` given the depth z: (..., 2) pixels -> (..., 3) camera frame."""
    depth = np.asarray(depth, dtype=np.float64)
    f, w, h = (_batch(a, depth) for a in (focal_px, width, height))
    x = (pixels[..., 0] - w / 2.0) * depth / f
    y = (pixels[..., 1] - h / 2.0) * depth / f
    return np.stack([x, y, depth], axis=-1)


def look_at(centre: np.ndarray, target: np.ndarray, roll_rad: np.ndarray) -> np.ndarray:
    """(B, 3) camera positions looking at (B, 3) targets, rolled -> (B, 3, 3) world->camera."""
    forward = target - centre
    forward /= np.linalg.norm(forward, axis=-1, keepdims=True)
    up = np.array([0.0, 1.0, 0.0])
    right = np.cross(forward, up)                 # x right = forward x world-up (y down = -up)
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    down = np.cross(forward, right)
    c, s = np.cos(roll_rad)[:, None], np.sin(roll_rad)[:, None]
    right, down = c * right + s * down, -s * right + c * down
    return np.stack([right, down, forward], axis=1)


def random_cameras(rng: np.random.Generator, target: np.ndarray,
                   radius: np.ndarray | None = None, anywhere: bool = False) -> dict[str, np.ndarray]:
    """Random cameras around (B, 3) world targets (e.g. the person's mean pelvis position).

    `radius` (B,): the person's extent around the target (metres); the distance is then drawn from
    what keeps that sphere in the narrower image side, so few cameras need re-drawing (beyond
    DISTANCE's far end only when even that is too close for the lens).
    `anywhere`: the camera is not aimed at the target but at a random direction that keeps the
    sphere in view (the person anywhere in the frame); LEVEL_SHARE of the cameras stand at chest or
    head height looking level, and FILL_SHARE stand as close as the sphere allows (the person
    filling the frame). Without it, the cameras of the first training runs (aimed at the target).
    Returns rotation (B, 3, 3), centre (B, 3), focal_px (B,), width (B,), height (B,).
    """
    b = target.shape[0]
    size = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES), size=b)]
    width, height = size[:, 0], size[:, 1]
    f_mm = np.exp(rng.uniform(*np.log(FOCAL_35MM), size=b))       # wide lenses as common as long
    focal_px = f_mm / DIAGONAL_35MM * np.hypot(width, height)
    yaw = rng.uniform(0.0, 2 * np.pi, size=b)
    fits = np.full(b, FILL_NEAREST)          # the closest distance that keeps the person in view
    if radius is not None:
        half_fov = np.arctan(np.minimum(width, height) / 2.0 / focal_px)
        fits = np.maximum(fits, radius / np.sin(0.8 * half_fov))
    near = np.maximum(DISTANCE[0], fits)
    distance = rng.uniform(near, np.maximum(near, DISTANCE[1]))
    height_m = rng.uniform(*HEIGHT, size=b)
    half_fov_v = np.arctan(height / 2.0 / focal_px)
    if anywhere:
        fill = rng.random(b) < FILL_SHARE
        distance = np.where(fill, fits * rng.uniform(*FILL_DISTANCE, size=b), distance)
        level = rng.random(b) < LEVEL_SHARE
        height_m = np.where(level, rng.uniform(*LEVEL_HEIGHT, size=b), height_m)
    centre = np.stack([target[:, 0] + distance * np.sin(yaw), height_m,
                       target[:, 2] + distance * np.cos(yaw)], axis=1)
    if anywhere:
        aim = centre + _stray_direction(rng, target - centre, radius, focal_px, width, height, level)
    else:
        aim = target.copy()
        aim[:, 1] += distance * np.tan(rng.normal(0.0, PITCH_JITTER, size=b) * half_fov_v)
    rotation = look_at(centre, aim, np.radians(rng.normal(0.0, ROLL_DEG, size=b)))
    return {"rotation": rotation, "centre": centre, "focal_px": focal_px, "width": width,
            "height": height}


def _stray_direction(rng: np.random.Generator, to_target: np.ndarray, radius, focal_px, width, height,
                     level: np.ndarray) -> np.ndarray:
    """(B, 3) unit view directions panned and tilted away from `to_target` by up to OFF_AXIS of the
    room the field of view leaves around the person's sphere; `level` cameras look horizontally."""
    b = to_target.shape[0]
    dist = np.linalg.norm(to_target, axis=-1)
    ang_r = np.arcsin(np.clip((radius if radius is not None else np.zeros(b)) / dist, 0.0, 0.99))
    slack_h = np.maximum(np.arctan(width / 2.0 / focal_px) - ang_r, 0.0)
    slack_v = np.maximum(np.arctan(height / 2.0 / focal_px) - ang_r, 0.0)
    azimuth = np.arctan2(to_target[:, 0], to_target[:, 2]) + OFF_AXIS * slack_h * rng.uniform(-1, 1, size=b)
    elevation = np.arctan2(to_target[:, 1], np.hypot(to_target[:, 0], to_target[:, 2]))
    elevation = np.where(level, 0.0, elevation + OFF_AXIS * slack_v * rng.uniform(-1, 1, size=b))
    return np.stack([np.sin(azimuth) * np.cos(elevation), np.sin(elevation),
                     np.cos(azimuth) * np.cos(elevation)], axis=1)


def in_view(pixels: np.ndarray, depth: np.ndarray, width, height, margin: float = 0.02) -> np.ndarray:
    """(B, ...) -> (B,) bool: every point in front of the camera (z > 0.3 m) and inside the image
    with a margin (fraction of the width)."""
    w, h = _batch(width, depth), _batch(height, depth)
    m = margin * w
    ok = ((depth > 0.3) & (pixels[..., 0] >= m) & (pixels[..., 0] <= w - m)
          & (pixels[..., 1] >= m) & (pixels[..., 1] <= h - m))
    return ok.reshape(ok.shape[0], -1).all(axis=1)


def camera(params: dict[str, np.ndarray], i: int) -> Camera:
    """The i-th camera of a `random_cameras` batch as a `Camera`."""
    return Camera(params["rotation"][i], params["centre"][i], float(params["focal_px"][i]),
                  int(params["width"][i]), int(params["height"][i]))
