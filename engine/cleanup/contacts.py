"""Feet on the floor: find the foot contacts, put the contacting feet on the floor and keep them
still while they touch it, moving the pelvis and bending the knees to suit (two-bone IK).

Works in the Blender world frame (metres, Z up) after the clip has been stood upright. The floor
is local: depth errors of a pitched camera raise and lower the whole body slowly, so the floor
height is a running low percentile of the lowest ankle over FLOOR_SECONDS. A foot is in contact
when its ankle is within CONTACT_HEIGHT of that floor and moves slower than CONTACT_SPEED.

The pelvis correction is built frame by frame: while a foot touches the floor its ankle is held at
the place where the contact began (its anchor) by moving the whole body, and between contacts the
last correction is kept for the horizontal and interpolated for the height (so a jump keeps its
arc). Both feet touching: the body moves by the mean of the two, and IK puts each ankle exactly on
its anchor, the thigh and shin keeping their lengths and the knee its bending plane.

Lying down (a plank, a push-up, a crunch: not `on_their_feet`) the feet are the far end of a body a
metre or more long. Moving the body to hold them swung the pelvis round them with every degree of
the model's heading wobble, and on the real mat exercises the root drifted further than with no hold
at all. There the body is turned about the pelvis instead, so that the planted feet point back at
their anchors, and IK takes up the rest; the pelvis keeps the root trajectory's place. On the real
samples (`bench_motion_quality.py`, shipped weights) the in-place drift median went 0.303 -> 0.258 m
and the foot slide stayed 0.00 m/s. Tried and dropped: lying feet just put down where they are
(drift 0.258 m, but slide 0.09 m/s); turned, then moved by what is left (drift 0.320 m).
"""

from __future__ import annotations

import numpy as np

from ..gaps import interpolate_missing, runs
from ..skeleton import LEFT_ANKLE, LEFT_HIP, LEFT_KNEE, RIGHT_ANKLE, RIGHT_HIP, RIGHT_KNEE, ROOT
from ..smoothing import gaussian, running_percentile
from .upright import body_line

LEGS = ((LEFT_HIP, LEFT_KNEE, LEFT_ANKLE), (RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE))   # contact order: left, right
CONTACT_HEIGHT = 0.06     # metres above the local floor
CONTACT_SPEED = 0.6       # metres per second, horizontal
MIN_CONTACT_FRAMES = 3    # shorter contacts are noise
FLOOR_SECONDS = 2.0
FLOOR_PERCENTILE = 20.0
# Low-passes, in Hz, chosen on the real samples (bench_motion_quality) against 6, 4 and 5 Hz:
# jitter 9.1 -> 8.8 mm/frame^2, in-place drift 0.65 -> 0.61 m. The pelvis correction at 2 Hz was
# calmer still (8.5) but lifted planted feet of the synthetic walk over 2 cm (tests/engine).
SPEED_HZ = 2.0            # the ankle path before its speed is judged (faster: contacts flicker)
SHIFT_HZ = 3.0            # the pelvis correction
EASE_HZ = 2.0             # the foot IK's weight, easing in and out around each contact
STANDING_DEG = 45.0       # body line (ankles to thorax, neck, head) within this of vertical: on their feet
MIN_TURN_RADIUS = 0.2     # metres: a foot nearer the pelvis than this says little about the heading


def local_floor(world: np.ndarray, fps: float, detected: np.ndarray) -> np.ndarray:
    """(T,) floor height under the person: a running FLOOR_PERCENTILE of the lowest ankle over
    FLOOR_SECONDS of detected frames (gap frames take the detected frames' values)."""
    lowest = interpolate_missing(world[:, [LEFT_ANKLE, RIGHT_ANKLE], 2].min(axis=1), detected)
    return running_percentile(lowest, max(3, int(round(FLOOR_SECONDS * fps))), FLOOR_PERCENTILE)


def detect_contacts(world: np.ndarray, fps: float, floor: np.ndarray) -> np.ndarray:
    """(T, 17, 3), fps, (T,) floor -> (T, 2) bool contacts, left and right."""
    ankles = world[:, [LEFT_ANKLE, RIGHT_ANKLE]]
    height = ankles[..., 2] - floor[:, None]
    contact = (height < CONTACT_HEIGHT) & (feet_speed(ankles[..., :2], fps) < CONTACT_SPEED)
    return without_short_runs(contact, MIN_CONTACT_FRAMES)


def feet_speed(paths: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2, D) paths of the two feet -> (T, 2) speed per second after the SPEED_HZ low-pass (each
    frame: the mean of the steps before and after it; 0 for a single frame)."""
    xy = gaussian(paths, fps, min(SPEED_HZ, fps / 2 - 0.5)) if len(paths) > 2 else paths
    speed = np.zeros(paths.shape[:2])
    if len(paths) > 1:
        step = np.linalg.norm(np.diff(xy, axis=0), axis=-1) * fps
        speed[1:-1] = (step[1:] + step[:-1]) / 2
        speed[0], speed[-1] = step[0], step[-1]
    return speed


def without_short_runs(mask: np.ndarray, min_frames: int) -> np.ndarray:
    """(T, K) bool with every run shorter than `min_frames` frames cleared, per column (in place)."""
    for k in range(mask.shape[1]):
        for s, e in runs(mask[:, k]):
            if e - s + 1 < min_frames:
                mask[s:e + 1, k] = False
    return mask


def _nearest(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(T, D) values taken from the nearest `known` frame (before or after); zeros if none."""
    t = len(values)
    idx = np.flatnonzero(known)
    if idx.size == 0:
        return np.zeros_like(values)
    pos = np.clip(np.searchsorted(idx, np.arange(t)), 0, idx.size - 1)
    before = idx[np.maximum(pos - 1, 0)]
    after = idx[pos]
    pick = np.where(np.abs(np.arange(t) - before) < np.abs(after - np.arange(t)), before, after)
    return values[pick]


def on_their_feet(world: np.ndarray) -> np.ndarray:
    """(T,) bool: frames whose body line, from the ankles' midpoint to the mean of thorax, neck and
    head top, is within STANDING_DEG of +Z (standing, walking, squatting; not lying or on all fours)."""
    line = body_line(world)
    return line[:, 2] > np.cos(np.radians(STANDING_DEG)) * np.linalg.norm(line, axis=-1)


def _turn(xy: np.ndarray, angle) -> np.ndarray:
    """(..., 2) vectors turned by `angle` radians (scalar or broadcasting (...,)) about the vertical."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * xy[..., 0] - s * xy[..., 1], s * xy[..., 0] + c * xy[..., 1]], axis=-1)


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Signed angle (radians) that turns the 2-vector `a` towards `b` about the vertical."""
    return float(np.arctan2(a[0] * b[1] - a[1] * b[0], a @ b))


def root_correction(world: np.ndarray, contact: np.ndarray, lock_horizontal: bool,
                    standing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> ((T, 3) translation, (T,) heading turn about the pelvis in radians, (T, 2, 2) anchors' xy,
    NaN where a foot is not in contact).

    The translation puts contacting ankles on z = 0. With `lock_horizontal`, a contacting foot is
    held at its anchor: on their feet (`standing`) by moving the body; lying down by turning it
    about the pelvis so that the feet point back at their anchors (the model's heading wobble),
    leaving the pelvis where the root trajectory put it and the rest to the IK. Between contacts the
    last correction is kept; the turn is 0 while the person stands."""
    t = len(world)
    ankles, pelvis = world[:, [LEFT_ANKLE, RIGHT_ANKLE]], world[:, ROOT, :2]
    anchors = np.full((t, 2, 2), np.nan)
    shift_xy, yaw = np.zeros((t, 2)), np.zeros(t)
    current, turn = np.zeros(2), 0.0
    for i in range(t):
        if standing[i]:
            turn = 0.0
        rel = ankles[i, :, :2] - pelvis[i]
        placed = _turn(rel, turn) + pelvis[i] + current           # the ankles with the correction so far
        down = [k for k in range(2) if contact[i, k]]
        for k in down:
            if i == 0 or not contact[i - 1, k] or standing[i] != standing[i - 1]:
                anchors[i, k] = placed[k]                         # where the foot lands, or the body stands up or lies down
            else:
                anchors[i, k] = anchors[i - 1, k]
        if not (lock_horizontal and down):
            shift_xy[i], yaw[i] = current, turn
            continue
        if not standing[i]:
            turns = [_angle(rel[k], anchors[i, k] - pelvis[i] - current)
                     for k in down if np.linalg.norm(rel[k]) > MIN_TURN_RADIUS]
            turn = float(np.mean(turns)) if turns else turn
        else:
            current = current + np.mean([anchors[i, k] - placed[k] for k in down], axis=0)
        shift_xy[i], yaw[i] = current, turn
    any_contact = contact.any(axis=1)
    lowest_contact = np.where(contact, ankles[..., 2], np.inf).min(axis=1)
    if any_contact.any():      # heights interpolated between contacts: a jump keeps its arc
        shift_z = interpolate_missing(-lowest_contact, any_contact)
    else:
        shift_z = np.full(t, -np.percentile(ankles[..., 2].min(axis=1), FLOOR_PERCENTILE))
    return np.column_stack([shift_xy, shift_z]), yaw, anchors


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray):
    """(N, 3) each -> new (knee, ankle) with the ankle on the target where the leg reaches (else as
    near as it reaches), thigh and shin lengths kept, the knee bending in its old plane."""
    l1 = np.linalg.norm(knee - hip, axis=-1, keepdims=True)
    l2 = np.linalg.norm(ankle - knee, axis=-1, keepdims=True)
    d = target - hip
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    n = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, np.abs(l1 - l2) + 1e-4, l1 + l2 - 1e-4)
    a = (l1 ** 2 - l2 ** 2 + dist ** 2) / (2 * dist)
    r = np.sqrt(np.maximum(l1 ** 2 - a ** 2, 0.0))
    pole = (knee - hip) - ((knee - hip) * n).sum(-1, keepdims=True) * n
    pole /= np.maximum(np.linalg.norm(pole, axis=-1, keepdims=True), 1e-9)
    new_knee = hip + a * n + r * pole
    return new_knee, hip + dist * n


def plant_feet(world: np.ndarray, fps: float, detected: np.ndarray, lock_horizontal: bool = True):
    """(T, 17, 3) upright world joints -> (grounded joints with planted feet, (T, 2) contacts, report).

    The result's floor is z = 0 wherever a foot touches it."""
    floor = local_floor(world, fps, detected)
    contact = detect_contacts(world, fps, floor)
    standing = on_their_feet(world)
    shift, yaw, anchors = root_correction(world, contact, lock_horizontal, standing)
    if len(world) > 2:
        hz = min(SHIFT_HZ, fps / 2 - 0.5)
        shift, yaw = gaussian(shift, fps, hz), gaussian(yaw, fps, hz)
    out = world.copy()
    pelvis = world[:, ROOT:ROOT + 1, :2]
    out[..., :2] = _turn(world[..., :2] - pelvis, yaw[:, None]) + pelvis
    out += shift[:, None]
    # The IK eases in and out over a few frames around each contact (weight from a smoothed
    # contact mask), so a foot does not snap onto its anchor when it lands or off it when it lifts.
    weight = gaussian(contact.astype(np.float64), fps, min(EASE_HZ, fps / 2 - 0.5)) if len(world) > 2 else contact * 1.0
    weight = np.where(contact, 1.0, np.clip(weight, 0.0, 1.0))
    held = np.stack([_nearest(anchors[:, k], contact[:, k]) for k in range(2)], axis=1)
    for k, (hip, knee, ankle) in enumerate(LEGS):
        m = weight[:, k] > 0.01
        if not contact[:, k].any():
            continue
        xy = held[m, k] if lock_horizontal else out[m, ankle, :2]          # held still, or just put down
        goal = np.column_stack([xy, np.zeros(m.sum())])
        w = weight[m, k][:, None]
        target = out[m, ankle] * (1 - w) + goal * w
        out[m, knee], out[m, ankle] = two_bone_ik(out[m, hip], out[m, knee], out[m, ankle], target)
    # No foot through the floor: a frame whose lowest ankle is below it is raised (a swing foot
    # between two contacts whose heights were interpolated, or a clip without contacts).
    lowest = out[:, [LEFT_ANKLE, RIGHT_ANKLE], 2].min(axis=1)
    out[..., 2] += np.maximum(0.0, -lowest)[:, None]
    report = {"frames_left": int(contact[:, 0].sum()), "frames_right": int(contact[:, 1].sum()),
              "locked": bool(lock_horizontal), "lying_frames": int((~standing).sum()), "height_m": CONTACT_HEIGHT, "speed_mps": CONTACT_SPEED}
    return out, contact, report
