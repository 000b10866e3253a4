"""A procedural walk with a known floor and known foot contacts, seen by a pitched camera.

The walker (H36M-17, Blender world: metres, Z up, floor z = 0, ankles on the floor in stance)
walks along +x at 1.2 m/s: each foot is planted for 60 % of a 1 s gait cycle and swings in a
10 cm arc for the rest; the knees follow by two-bone IK, the torso stays vertical over the pelvis.
`view` films it with a camera pitched down by a given angle and returns what the lifter's cleanup
sees: root-relative camera-frame joints and screen-normalised 2D.
"""

from __future__ import annotations

import numpy as np

from engine.frames import screen_focal

FOCAL = screen_focal(1920, 1080)       # the camera `lift` assumes for a 1920 x 1080 video

SPEED, CYCLE, STANCE, ARC = 1.2, 1.0, 0.6, 0.10
THIGH, SHIN, PELVIS_Z = 0.45, 0.43, 0.84


def _foot(t: np.ndarray, phase: float, lateral: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) ankle positions and (T,) contact of one foot whose stance starts at `phase` cycles."""
    c = (t / CYCLE - phase) % 1.0
    k = np.floor(t / CYCLE - phase)
    stride = SPEED * CYCLE
    planted_x = (k + STANCE / 2) * stride + phase * stride      # under the pelvis at mid-stance
    swing = np.clip((c - STANCE) / (1 - STANCE), 0, 1)
    x = np.where(c < STANCE, planted_x, planted_x + swing * stride)
    z = np.where(c < STANCE, 0.0, ARC * np.sin(np.pi * swing))
    return np.stack([x, np.full_like(x, lateral), z], axis=1), c < STANCE


def _knee(hip, ankle):
    d = ankle - hip
    dist = np.linalg.norm(d, axis=1, keepdims=True)
    n = d / dist
    a = (THIGH ** 2 - SHIN ** 2 + dist ** 2) / (2 * dist)
    r = np.sqrt(np.maximum(THIGH ** 2 - a ** 2, 0))
    forward = np.array([1.0, 0, 0]) - (n @ np.array([1.0, 0, 0]))[:, None] * n
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    return hip + a * n + r * forward


def walk(frames: int = 150, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """-> (T, 17, 3) world joints and (T, 2) true contacts (left, right)."""
    t = np.arange(frames) / fps
    j = np.zeros((frames, 17, 3))
    pelvis = np.stack([SPEED * t, np.zeros_like(t), PELVIS_Z + 0.02 * np.cos(4 * np.pi * t / CYCLE)], axis=1)
    left, left_c = _foot(t, 0.0, 0.1)
    right, right_c = _foot(t, 0.5, -0.1)
    j[:, 0] = pelvis
    for hip_i, knee_i, ankle_i, side, foot in ((4, 5, 6, 0.1, left), (1, 2, 3, -0.1, right)):
        j[:, hip_i] = pelvis + [0, side, 0]
        j[:, ankle_i] = foot
        j[:, knee_i] = _knee(j[:, hip_i], foot)
    for idx, up in ((7, 0.25), (8, 0.5), (9, 0.62), (10, 0.78)):
        j[:, idx] = pelvis + [0, 0, up]
    swing = 0.15 * np.sin(2 * np.pi * t / CYCLE)[:, None]
    for sh, el, wr, side, sign in ((11, 12, 13, 0.18, 1), (14, 15, 16, -0.18, -1)):
        j[:, sh] = j[:, 8] + [0, side, 0]
        j[:, el] = j[:, sh] + np.concatenate([sign * swing, np.zeros_like(swing), np.full_like(swing, -0.28)], 1)
        j[:, wr] = j[:, el] + np.concatenate([sign * swing * 1.2, np.zeros_like(swing), np.full_like(swing, -0.25)], 1)
    return j, np.stack([left_c, right_c], axis=1)


def view(world: np.ndarray, pitch_deg: float, height: float = 1.6, distance: float = 5.0):
    """Film the walk from the side, the camera pitched down by `pitch_deg`, aimed ahead of the
    walker's middle -> (root-relative camera joints (T, 17, 3), screen-normalised 2D (T, 17, 2))."""
    centre = np.array([world[:, 0, 0].mean(), -distance, height])
    p = np.radians(pitch_deg)
    # camera axes in the world (Blender): right = +x, forward = +y tilted down, down = right x forward
    forward = np.array([0.0, np.cos(p), -np.sin(p)])
    right = np.array([1.0, 0.0, 0.0])
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])                  # world -> camera
    cam = (world - centre) @ rot.T
    uv = FOCAL * cam[..., :2] / cam[..., 2:3]
    return (cam - cam[:, :1]).astype(np.float32), uv.astype(np.float32)

