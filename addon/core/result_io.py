"""Read and check the engine's result `.npz` (shared conventions, "Result file"). No bpy here.

Errors are `ResultError` (an `AddonError`) with one sentence naming the file; the operators and
the batch script show that sentence as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ResultError
from .skeleton import NUM_JOINTS

REQUIRED = ("joints3d", "joints3d_world", "fps", "action_names", "action_probs", "prompt")


@dataclass
class Result:
    """joints_world: (T, 17, 3) Blender metres, grounded, Z up, facing -Y (the rig's target).
    joints_camera: (T, 17, 3) camera metres, root-relative. prompt: per-frame action text."""

    joints_world: np.ndarray
    joints_camera: np.ndarray
    fps: float
    action_names: list
    action_probs: np.ndarray
    prompt: list
    meta: dict = field(default_factory=dict)
    path: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.joints_world.shape[0])

    @property
    def warning(self) -> str:
        """The engine's one-sentence warning about this lift (a poor fit to the 2D), or ""."""
        return str((self.meta.get("reprojection") or {}).get("warning") or "")

    def action_segments(self) -> list[tuple[int, str]]:
        """(first frame index, prompt) for each run of equal prompts; one timeline marker each."""
        segments = []
        for i, text in enumerate(self.prompt):
            if not segments or segments[-1][1] != text:
                segments.append((i, text))
        return segments


def is_result_file(path) -> bool:
    """True when `path` is an .npz holding `joints3d_world` (so the engine can be skipped)."""
    p = Path(path)
    if p.suffix.lower() != ".npz" or not p.is_file():
        return False
    try:
        with np.load(p, allow_pickle=False) as z:
            return "joints3d_world" in z.files
    except Exception:
        return False


def load_result(path) -> Result:
    """Load and validate a result `.npz`; never unpickles."""
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise ResultError(f"The result file {name} does not exist.")
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = [k for k in REQUIRED if k not in z.files]
            if missing:
                raise ResultError(f"{name} is not a DreamPose3D result: it lacks {', '.join(missing)}.")
            world = np.asarray(z["joints3d_world"], dtype=np.float64)
            camera = np.asarray(z["joints3d"], dtype=np.float64)
            fps = float(z["fps"])
            names = [str(a) for a in z["action_names"]]
            probs = np.asarray(z["action_probs"], dtype=np.float64)
            prompt = [str(s) for s in np.atleast_1d(z["prompt"])]
            meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    except ResultError:
        raise
    except Exception as exc:  # truncated zip, pickled arrays, bad JSON
        raise ResultError(f"{name} cannot be read as a result file ({type(exc).__name__}).") from exc
    t = world.shape[0] if world.ndim == 3 else 0
    if world.ndim != 3 or world.shape[1:] != (NUM_JOINTS, 3) or t == 0:
        raise ResultError(f"{name}: joints3d_world must have shape (frames, {NUM_JOINTS}, 3), got {world.shape}.")
    if camera.shape != world.shape:
        raise ResultError(f"{name}: joints3d has shape {camera.shape}, expected {world.shape}.")
    if not (np.isfinite(world).all() and np.isfinite(camera).all()):
        raise ResultError(f"{name}: the joint positions contain NaN or infinite values.")
    if not np.isfinite(fps) or fps <= 0:
        raise ResultError(f"{name}: fps must be positive, got {fps}.")
    if len(prompt) != t or probs.shape != (t, len(names)):
        raise ResultError(f"{name}: action_probs and prompt do not match the {t} frames.")
    return Result(world, camera, fps, names, probs, prompt, meta if isinstance(meta, dict) else {}, str(p))
