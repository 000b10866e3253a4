"""Read and check the engine's result `.npz` (shared conventions, "Result file"). No bpy here.

Errors are `ResultError` (an `AddonError`) with one sentence naming the file; the operators and
the batch script show that sentence as it is.

Besides the joints, a result may say what each frame is (`frame_flags`: detected, or a gap's
frame that the engine interpolated or held) and when each foot is on the floor (`contacts`).
Both are optional, because older results lack them: they read as "all detected" and "no
contact". The gap runs and counts the timeline, the panel and the batch show are derived here,
from `frame_flags`, and nowhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ResultError
from .skeleton import NUM_JOINTS

REQUIRED = ("joints3d", "joints3d_world", "fps", "action_names", "action_probs", "prompt")

# What a frame is (`frame_flags`): the add-on's copy of engine/sequence.py FRAME_* (the add-on
# cannot import the engine; a test compares the two).
FRAME_DETECTED = 0        # a detection the model lifted
FRAME_INTERPOLATED = 1    # in a short gap, interpolated between the detections around it
FRAME_HELD = 2            # in a long gap: the last detected pose held, not real motion
FRAME_KINDS = (FRAME_DETECTED, FRAME_INTERPOLATED, FRAME_HELD)
GAP_KINDS = {"interpolated": FRAME_INTERPOLATED, "held": FRAME_HELD}


def runs(mask) -> list[tuple[int, int]]:
    """(first, last) inclusive frame indices of each run of True in a (T,) mask."""
    m = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.r_[0, m.astype(np.int8), 0]))
    return [(int(s), int(e) - 1) for s, e in zip(edges[0::2], edges[1::2])]


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
    frame_flags: np.ndarray | None = None   # (T,) uint8 FRAME_*; None reads as all detected
    contacts: np.ndarray | None = None      # (T, 2) bool, left and right foot; None reads as none
    segments: list = field(default_factory=list)  # identity segments [(first, last), ...] (meta)

    def __post_init__(self):
        t = self.num_frames
        if self.frame_flags is None:
            self.frame_flags = np.full(t, FRAME_DETECTED, dtype=np.uint8)
        if self.contacts is None:
            self.contacts = np.zeros((t, 2), dtype=bool)

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

    def gap_runs(self) -> dict[str, list[tuple[int, int]]]:
        """{"interpolated": [(first, last), ...], "held": [...]}: inclusive frame indices."""
        return {kind: runs(self.frame_flags == flag) for kind, flag in GAP_KINDS.items()}

    def gap_counts(self) -> dict[str, int]:
        """{"interpolated": frames, "held": frames}."""
        return {kind: int(np.count_nonzero(self.frame_flags == flag)) for kind, flag in GAP_KINDS.items()}

    def gap_summary(self) -> str:
        """The gaps in words, e.g. "60 frames held, 3 interpolated" (the panel and the batch show
        it), or "" without gaps."""
        c = self.gap_counts()
        if not any(c.values()):
            return ""
        return f"{c['held']} frame{'s' * (c['held'] != 1)} held, {c['interpolated']} interpolated"


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
            flags = np.asarray(z["frame_flags"]) if "frame_flags" in z.files else None
            contacts = np.asarray(z["contacts"]) if "contacts" in z.files else None
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
    meta = meta if isinstance(meta, dict) else {}
    return Result(world, camera, fps, names, probs, prompt, meta, str(p),
                  frame_flags=None if flags is None else _check_flags(name, flags, t),
                  contacts=None if contacts is None else _check_contacts(name, contacts, t),
                  segments=_check_segments(name, meta.get("segments"), t))


def _holds_only(a: np.ndarray, allowed) -> bool:
    """True when the numeric or bool array `a` holds only values from `allowed`."""
    if a.dtype.kind not in "biuf":
        return False
    return bool(np.isin(a, list(allowed)).all())


def _check_flags(name: str, flags: np.ndarray, t: int) -> np.ndarray:
    if flags.shape != (t,) or not _holds_only(flags, FRAME_KINDS):
        raise ResultError(f"{name}: frame_flags must hold one value per frame ({t}), each 0 (detected), "
                          f"1 (interpolated) or 2 (held), got shape {flags.shape}.")
    return flags.astype(np.uint8)


def _check_contacts(name: str, contacts: np.ndarray, t: int) -> np.ndarray:
    if contacts.shape != (t, 2) or not _holds_only(contacts, (0, 1)):
        raise ResultError(f"{name}: contacts must be ({t}, 2) true/false values (left and right foot), "
                          f"got shape {contacts.shape}.")
    return contacts.astype(bool)


def _check_segments(name: str, segments, t: int) -> list[tuple[int, int]]:
    """meta["segments"]: identity segments [[first, last], ...] in frame order, or absent."""
    if segments is None:
        return []
    try:
        out = [(int(s), int(e)) for s, e in segments]
    except (TypeError, ValueError):
        out = None
    if out is None or any(not 0 <= s <= e < t for s, e in out) or any(b[0] <= a[1] for a, b in zip(out, out[1:])):
        raise ResultError(f"{name}: meta segments must be [first, last] frame pairs in order within the {t} frames.")
    return out
