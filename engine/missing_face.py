"""The nose and head top placed from the body where a detector gives neither (issue #21).

Why: many detectors never report the H36M nose and head top, or lose them for seconds when the
person turns away, and the model leans on them: on the `cross` split (shipped weights, noisy 2D)
MPJPE is 107 mm with the face and 174 mm with both face joints missing; the hidden real set showed
the same (151 -> 184 mm). A face placed from the rest of the body brings it back to 111 mm
(`evaluate --missing face`, model card).

How: in each frame's torso frame (origin the thorax, first axis pelvis -> thorax, lengths in
torso lengths, so the map holds for any position, size and in-plane turn of the person in the
image), the nose and head top are a linear function of the other joints (FEATURES: the pelvis and
thorax are left out, as that frame puts them at fixed points, and fitting to constants only made
the least squares ill-conditioned). The map is fitted by
least squares on the training split's noisy 2D (`python -m engine fit-face-map`, which writes
engine/assets/face_from_body.json with what it was fitted on). A body joint that is missing enters
at its training mean. A placed joint gets PLACED_SCORE: low, as for a joint the detector is unsure
of, since it says where a face usually is, not where this one looks. Only what is missing is
placed; a frame without its pelvis or thorax is left as it is.

The placement only feeds the model: the clean-up, the root fit and the reprojection check still
see the detector's own joints.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import EngineError
from .skeleton import FACE, NUM_JOINTS, ROOT, THORAX

BODY = tuple(j for j in range(NUM_JOINTS) if j not in FACE)
FEATURES = tuple(j for j in BODY if j not in (ROOT, THORAX))   # (-1, 0) and (0, 0) in the torso frame
PLACED_SCORE = 0.3          # lin. fill at 0.3 and 0.8 scored alike on `cross` (111.2 / 111.9 mm)
FACE_MAP_FILE = Path(__file__).resolve().parent / "assets" / "face_from_body.json"


def torso_axes(kp: np.ndarray):
    """(T, 17, 2) -> origin (T, 2), up and side unit axes (T, 2), torso length (T,)."""
    origin = kp[:, THORAX]
    along = kp[:, THORAX] - kp[:, ROOT]
    length = np.linalg.norm(along, axis=-1)
    up = along / np.maximum(length, 1e-9)[:, None]
    side = np.stack([-up[:, 1], up[:, 0]], axis=-1)
    return origin, up, side, length


def to_torso_frame(kp: np.ndarray) -> np.ndarray:
    """(T, 17, 2) image 2D -> (T, 17, 2) in each frame's torso frame (torso lengths)."""
    origin, up, side, length = torso_axes(kp)
    rel = kp - origin[:, None]
    local = np.stack([(rel * up[:, None]).sum(-1), (rel * side[:, None]).sum(-1)], axis=-1)
    return local / np.maximum(length, 1e-9)[:, None, None]


def from_torso_frame(local: np.ndarray, kp: np.ndarray) -> np.ndarray:
    """(T, K, 2) torso-frame points of the frames of (T, 17, 2) `kp` -> image 2D."""
    origin, up, side, length = torso_axes(kp)
    return origin[:, None] + (local[..., :1] * up[:, None] + local[..., 1:] * side[:, None]) * length[:, None, None]


def features(local: np.ndarray, seen: np.ndarray, body_mean: np.ndarray) -> np.ndarray:
    """(T, 17, 2) torso-frame 2D + (T, 17) seen -> (T, 2 * 13 + 1) regression inputs: the FEATURES
    joints, each missing one at its training mean, and a constant."""
    body = np.where(seen[:, FEATURES, None], local[:, FEATURES], body_mean[None])
    return np.concatenate([body.reshape(len(body), -1), np.ones((len(body), 1))], axis=1)


def fit_face_map(kp: np.ndarray, sc: np.ndarray) -> dict:
    """Least-squares face map from (T, 17, 2) 2D + (T, 17) scores of frames with every joint seen
    (the others are dropped here). Returns the JSON-able map with its fit residuals (torso lengths)."""
    full = (sc > 0).all(axis=1) & (np.linalg.norm(kp[:, THORAX] - kp[:, ROOT], axis=-1) > 1e-6)
    if full.sum() < 100:
        raise EngineError(f"A face map needs at least 100 frames with every joint seen, got {int(full.sum())}.")
    local = to_torso_frame(kp[full])
    body_mean = local[:, FEATURES].mean(axis=0)
    x = features(local, np.ones(local.shape[:2], bool), body_mean)
    y = local[:, FACE].reshape(len(local), -1)
    weights, *_ = np.linalg.lstsq(x, y, rcond=None)
    rms = lambda e: float(np.sqrt((e ** 2).mean()))     # noqa: E731
    return {"feature_joints": list(FEATURES), "face_joints": list(FACE), "weights": weights.tolist(),
            "body_mean": body_mean.tolist(), "frames": int(full.sum()),
            "rms_torso_lengths": rms(x @ weights - y), "rms_torso_lengths_mean_face": rms(y - y.mean(axis=0))}


@lru_cache(maxsize=4)
def load_face_map(path: str | Path = FACE_MAP_FILE) -> tuple[np.ndarray, np.ndarray]:
    """The (27, 4) weights and (13, 2) feature-joint mean of a fitted map (engine/assets by default)."""
    try:
        data = json.loads(Path(path).read_text())
        weights, body_mean = np.asarray(data["weights"], np.float64), np.asarray(data["body_mean"], np.float64)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineError(f"The face map {path} could not be read ({exc}); run `python -m engine fit-face-map`.") from exc
    if weights.shape != (2 * len(FEATURES) + 1, 2 * len(FACE)) or body_mean.shape != (len(FEATURES), 2) \
            or data.get("feature_joints") != list(FEATURES) or data.get("face_joints") != list(FACE):
        raise EngineError(f"The face map {path} does not fit this skeleton; run `python -m engine fit-face-map`.")
    return weights, body_mean


def place_missing_face(kp: np.ndarray, sc: np.ndarray, path: str | Path = FACE_MAP_FILE):
    """(T, 17, 2) 2D + (T, 17) scores -> copies with each missing face joint placed from the body
    (score PLACED_SCORE), and the (T,) mask of frames where something was placed. Works in any 2D
    units whose axes share one scale (pixels or screen-normalised)."""
    kp, sc = np.array(kp, np.float32, copy=True), np.array(sc, np.float32, copy=True)
    missing = sc[:, FACE] <= 0                                                    # (T, 2)
    frames = missing.any(axis=1) & (sc[:, ROOT] > 0) & (sc[:, THORAX] > 0)
    frames &= np.linalg.norm(kp[:, THORAX] - kp[:, ROOT], axis=-1) > 1e-6
    if not frames.any():
        return kp, sc, frames
    weights, body_mean = load_face_map(path)
    sub_kp = kp[frames].astype(np.float64)
    local = features(to_torso_frame(sub_kp), sc[frames] > 0, body_mean) @ weights
    placed = from_torso_frame(local.reshape(-1, len(FACE), 2), sub_kp)           # (F, 2, 2)
    for k, joint in enumerate(FACE):
        put = missing[frames, k]
        rows = np.flatnonzero(frames)[put]
        kp[rows, joint] = placed[put, k]
        sc[rows, joint] = PLACED_SCORE
    return kp, sc, frames
