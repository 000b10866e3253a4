"""Which way is up: the gravity direction in the camera frame, from the lifted body itself.

The lift is in the camera's frame. A camera pitched down at a person makes the whole figure lean
back or forward in that frame, and the model's own bias adds to it (real clips leaned 9-16 deg,
feet behind the pelvis, head ahead). A person on their feet stands on a plumb line from the ankles
through the shoulders to the head: so gravity's up is the direction from the ankles' midpoint to the
mean of thorax, neck and head top, taken as the median over the detected frames where the person is
on their feet (robust to a few bad ones). On the real samples this left a median lean of 2.6 deg
(the torso's centre instead: 6.5 deg, the head alone: 2.2 deg, but one joint that detectors often
miss). The camera's roll and pitch then follow from
that one vector. A person lying down (a plank, a crunch) keeps the camera's own up.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import LEFT_ANKLE, RIGHT_ANKLE

PLUMB = (8, 9, 10)                       # thorax, neck/nose, head top: over the ankles when standing
CAMERA_UP = np.array([0.0, -1.0, 0.0])   # camera frame: y points down
MAX_TILT_DEG = 35.0      # cameras filming people are rarely pitched or rolled more than this
MIN_FRAMES, MIN_SHARE = 10, 0.25   # on-their-feet frames needed to trust the body's up


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def body_line(joints: np.ndarray) -> np.ndarray:
    """(T, 17, 3) joints -> (T, 3) the plumb line of each frame, from the ankles' midpoint to the
    mean of thorax, neck and head top (not normalised; in whatever frame the joints are)."""
    return joints[:, list(PLUMB)].mean(axis=1) - (joints[:, LEFT_ANKLE] + joints[:, RIGHT_ANKLE]) / 2


def estimate_up(joints: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, dict]:
    """(T, 17, 3) camera-frame joints, (T,) usable frames -> unit up vector in the camera frame and a
    JSON report (from how many frames, and how far the camera's frame was tilted)."""
    usable = usable if usable.any() else np.ones(len(joints), bool)
    per_frame = _unit(body_line(joints[usable]))
    # Frames where the person is on their feet: their body line within MAX_TILT_DEG of the camera's
    # up. A plank, a push-up or a crunch is lying down, not a camera pitched by 80 degrees.
    on_feet = per_frame @ CAMERA_UP > np.cos(np.radians(MAX_TILT_DEG))
    if on_feet.sum() < max(MIN_FRAMES, MIN_SHARE * len(per_frame)):
        return CAMERA_UP.copy(), {"method": "the camera's own up (the person is not on their feet)",
                                  "frames": 0, "up_camera": CAMERA_UP.tolist(), "tilt_deg": 0.0}
    up = _unit(np.median(per_frame[on_feet], axis=0))
    tilt = float(np.degrees(np.arccos(np.clip(up @ CAMERA_UP, -1, 1))))
    return up, {"method": "ankles' midpoint to thorax, neck and head", "frames": int(on_feet.sum()),
                "up_camera": [round(float(x), 4) for x in up], "tilt_deg": round(tilt, 2)}


def rotation_to_upright(up: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking `up` onto the camera's up (0, -1, 0), so the corrected
    camera frame has gravity along -y and the view direction keeps its heading (Rodrigues)."""
    a, b = _unit(np.asarray(up, dtype=np.float64)), CAMERA_UP
    v, c = np.cross(a, b), float(a @ b)
    if c < -0.999999:                      # upside down: turn half a circle about x
        return np.diag([1.0, -1.0, -1.0])
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)
