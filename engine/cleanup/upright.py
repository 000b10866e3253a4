"""Which way is up: the gravity direction in the camera frame, from the lifted body itself.

The lift is in the camera's frame. A camera pitched down at a person makes the whole figure lean
back or forward in that frame, and the model's own bias adds to it (real clips leaned 9-16 deg,
feet behind the pelvis, head ahead). A person on their feet keeps their centre of mass over their
feet, whether standing, walking, jumping or squatting: so gravity's up is the direction from the
ankles' midpoint to the centre of the torso, taken as the median over the detected frames (robust
to a few bad ones). The camera's roll and pitch then follow from that one vector.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import LEFT_ANKLE, RIGHT_ANKLE

TORSO = (0, 1, 4, 7, 8, 11, 14)          # pelvis, hips, spine, thorax, shoulders: the centre of mass
CAMERA_UP = np.array([0.0, -1.0, 0.0])   # camera frame: y points down


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def estimate_up(joints: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, dict]:
    """(T, 17, 3) camera-frame joints, (T,) usable frames -> unit up vector in the camera frame and a
    JSON report (from how many frames, and how far the camera's frame was tilted)."""
    usable = usable if usable.any() else np.ones(len(joints), bool)
    body = joints[usable]
    feet = (body[:, LEFT_ANKLE] + body[:, RIGHT_ANKLE]) / 2
    up = _unit(np.median(_unit(body[:, list(TORSO)].mean(axis=1) - feet), axis=0))
    tilt = float(np.degrees(np.arccos(np.clip(up @ CAMERA_UP, -1, 1))))
    return up, {"method": "ankles' midpoint to torso centre", "frames": int(usable.sum()),
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
