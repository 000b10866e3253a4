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

Which feet are planted is read from the image as well as from the first 3D (`planted_in_image`):
contacts found in 3D need a steady 3D path, and a size-based depth that surges a metre moves the
feet too fast to count as planted, so the surge that this correction is for hid the frames it
needed (the jumping-jacks sample drifted 1.7 m that way). With a still camera, a foot whose image
does not move, at the bottom of the figure, is on the floor whatever the depth fit says.
"""

from __future__ import annotations

import numpy as np

from ..gaps import interpolate_missing
from ..skeleton import HEAD, LEFT_ANKLE, RIGHT_ANKLE, ROOT
from ..smoothing import gaussian, running_percentile
from .contacts import feet_speed, without_short_runs
from .detections import person_centre_size

MIN_RAY_DEG = 4.0       # an ankle ray closer to the horizon than this says little about depth
MAX_RATIO = 2.0         # the floor depth may differ from the size-based one at most this much
STILL_SPEED = 0.25      # body heights per second: an ankle slower than this in the image is still
LOWEST_MARGIN = 0.04    # body heights: an ankle this close to the lower ankle's level counts as low
MIN_STILL_FRAMES = 3
OFFSET_HZ = 1.0         # the correction changes no faster than this


def floor_root(pose_up: np.ndarray, root_up: np.ndarray, keypoints2d: np.ndarray, scores: np.ndarray,
               rotation: np.ndarray, focal: float, contacts: np.ndarray, fps: float) -> tuple[np.ndarray, dict]:
    """Camera-upright frame (y down along gravity): (T, 17, 3) root-relative pose, (T, 3) size-based
    root, (T, 17, 2) screen-normalised 2D, (T, 17) scores, the (3, 3) upright rotation, the
    screen-normalised focal, (T, 2) contacts
    -> (T, 3) root with the contacting feet on the floor, and a report."""
    ankles = [LEFT_ANKLE, RIGHT_ANKLE]
    t = len(pose_up)
    feet = pose_up[:, ankles] + root_up[:, None]                         # (T, 2, 3)
    seen = contacts & (scores[:, ankles] > 0.3)
    if seen.sum() < 5:
        return root_up, {"used": False, "why": "too few confident foot contacts"}
    camera_height = float(np.median(feet[..., 1][seen]))
    rays = upright_rays(keypoints2d[:, ankles], rotation, focal)
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


def planted_in_image(keypoints2d: np.ndarray, scores: np.ndarray, rotation: np.ndarray, focal: float, fps: float,
                     detected: np.ndarray) -> np.ndarray:
    """(T, 17, 2) screen-normalised 2D, (T, 17) scores, the (3, 3) upright rotation, focal, fps, (T,)
    detected frames -> (T, 2) bool: the ankle stands still in the image (slower than STILL_SPEED
    body heights per second after the contacts' SPEED_HZ low-pass) at the level of the lower ankle,
    seen with confidence, for at least MIN_STILL_FRAMES frames. The image is first turned upright
    (rays through `rotation`), so "lower" is along gravity, not the image's tilted vertical."""
    ankles = [LEFT_ANKLE, RIGHT_ANKLE]
    t = len(keypoints2d)
    out = np.zeros((t, 2), bool)
    rays = upright_rays(keypoints2d, rotation, focal)
    flat = rays[..., :2] / np.maximum(rays[..., 2:3], 1e-6)                 # upright image plane
    seen = (scores > 0.3) & detected[:, None]
    both = seen[:, ankles].all(axis=1) & seen[:, HEAD]
    if both.sum() < 5 or t < 3:
        return out
    height = float(np.median(flat[both][:, ankles, 1].mean(axis=1) - flat[both, HEAD, 1]))
    if not height > 0:
        return out
    feet = interpolate_missing(flat[:, ankles].reshape(t, 4), seen[:, ankles].all(axis=1)).reshape(t, 2, 2)
    speed = feet_speed(feet, fps) / height                                  # body heights per second
    low = flat[:, ankles, 1] >= flat[:, ankles, 1].max(axis=1, keepdims=True) - LOWEST_MARGIN * height
    return without_short_runs((speed < STILL_SPEED) & low & seen[:, ankles], MIN_STILL_FRAMES)


def upright_rays(keypoints2d: np.ndarray, rotation: np.ndarray, focal: float) -> np.ndarray:
    """(..., 2) screen-normalised 2D -> (..., 3) viewing rays (z = 1 before the turn) of a camera
    with screen-normalised `focal`, turned by the (3, 3) upright rotation, so their y runs along
    gravity."""
    return np.concatenate([keypoints2d / focal, np.ones(keypoints2d.shape[:-1] + (1,))], axis=-1) @ rotation.T


STILL_FOOTPRINT = 0.12   # body sizes: the floor line's image height may wander this much (5th-95th percentile)
FLOOR_LINE_SECONDS = 1.0  # the floor line: the running 90th percentile of the lowest joint's image height
MIN_DEPTH = 0.3           # metres: a root nearer the camera than this is a failed fit, not a direction


def hold_still_depth(root_up: np.ndarray, keypoints2d: np.ndarray, scores: np.ndarray, rotation: np.ndarray,
                     focal: float, detected: np.ndarray, segments: list[list[int]], fps: float) -> tuple[np.ndarray, list[dict]]:
    """Segments in which the person keeps their distance from the camera keep one depth.

    With a still camera over a level floor, how far away a person is shows in where they meet the
    floor: the image height of their lowest point (the floor line). When that stays within
    STILL_FOOTPRINT body sizes (5th to 95th percentile over the frames that see the pelvis and at
    least six joints), the person has not moved towards or away from the camera, whatever they do
    on the spot or sideways, and the size-based fit's depth changes are the model's shape errors (an
    exercise on a mat surged up to 2 m). Such a segment's root keeps its viewing ray (so it still
    projects onto the 2D pelvis, and a walk across the picture keeps its path) at the segment's
    median depth. Returns the root and, per segment, a report: held or not, and the floor line's
    spread in body sizes."""
    out = root_up.copy()
    reports = []
    flat = upright_rays(keypoints2d, rotation, focal)
    pelvis_rays = flat[:, ROOT] / np.maximum(flat[:, ROOT, 2:3], 1e-6)
    flat = flat[..., :2] / np.maximum(flat[..., 2:3], 1e-6)
    seen = (scores > 0.3) & detected[:, None]
    for s, e in segments:
        f, ok = flat[s:e + 1], seen[s:e + 1]
        frames = (ok.sum(axis=1) >= 6) & ok[:, ROOT]
        depth = out[s:e + 1, 2]
        fitted = detected[s:e + 1] & (depth > MIN_DEPTH)
        if frames.sum() < 10 or not fitted.any():
            reports.append({"held": False})
            continue
        size = float(np.median(person_centre_size(f[frames], ok[frames].astype(np.float32))[1]))
        # where the body meets the floor, second by second: the lowest joint's image height (y runs
        # down) at its running 90th percentile, so a jump, a raised leg or a bad frame is no step
        lowest = np.where(ok, f[..., 1], -np.inf).max(axis=1)[frames]
        lowest = running_percentile(lowest, max(1, int(round(FLOOR_LINE_SECONDS * fps))) | 1, 90.0)
        footprint = float(np.subtract(*np.percentile(lowest, [95, 5]))) / size
        held = footprint < STILL_FOOTPRINT
        reports.append({"held": bool(held), "footprint": round(footprint, 3)})
        if held:
            ray = np.where((depth > MIN_DEPTH)[:, None], out[s:e + 1] / np.maximum(depth, MIN_DEPTH)[:, None],
                           pelvis_rays[s:e + 1])
            out[s:e + 1] = ray * np.median(depth[fitted])
    return out, reports
