"""The two files of the engine I/O contract (shared conventions): canonical keypoints and results.

`KeypointSequence` is what every reader produces and what the model consumes: one person,
Human3.6M-17, pixels, confidences. `LiftResult` is what `lift` writes and the add-on reads.
Both validate on construction-by-load and on save, raising `SequenceError` with one sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import limits
from .errors import SequenceError
from .skeleton import NUM_JOINTS

LAYOUT = "h36m17"


@dataclass
class KeypointSequence:
    """One person's 2D keypoints over time.

    keypoints: (T, 17, 2) float32 pixels, H36M-17 order; coordinates of missing joints are 0.
    scores:    (T, 17) float32 in [0, 1]; 0 means missing.
    image_size: (width, height) in pixels.  fps: frames per second.
    meta: free-form provenance (source format, source layout, mapping notes, person id, ...).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    fps: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.scores = np.asarray(self.scores, dtype=np.float32)
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        self.fps = float(self.fps)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    def validate(self, name: str = "keypoint sequence") -> "KeypointSequence":
        """Check the contract; raise `SequenceError` naming `name` and the first problem found."""
        k, s = self.keypoints, self.scores
        if k.ndim != 3 or k.shape[2] != 2:
            raise SequenceError(f"{name}: keypoints must have shape (frames, 17, 2), got {k.shape}.")
        if k.shape[1] != NUM_JOINTS:
            raise SequenceError(f"{name}: expected 17 joints (Human3.6M layout), got {k.shape[1]}.")
        if k.shape[0] == 0:
            raise SequenceError(f"{name}: the sequence has no frames.")
        if s.shape != k.shape[:2]:
            raise SequenceError(f"{name}: scores must have shape {k.shape[:2]}, got {s.shape}.")
        if not np.isfinite(k).all():
            raise SequenceError(f"{name}: keypoints contain NaN or infinite values.")
        if not np.isfinite(s).all():
            raise SequenceError(f"{name}: scores contain NaN or infinite values.")
        if (s < 0).any() or (s > 1).any():
            raise SequenceError(f"{name}: scores must lie in [0, 1].")
        if not (s > 0).any():
            raise SequenceError(f"{name}: every keypoint has confidence 0, so there is nothing to lift.")
        limits.image_size(*self.image_size, name)
        limits.fps(self.fps, name)
        return self

    def save(self, path: str | Path) -> None:
        """Write the canonical keypoints `.npz` (shared conventions)."""
        self.validate(str(path))
        np.savez_compressed(
            path,
            keypoints=self.keypoints,
            scores=self.scores,
            image_size=np.array(self.image_size, dtype=np.int64),
            fps=np.float64(self.fps),
            layout=np.str_(LAYOUT),
            meta=np.str_(json.dumps(self.meta)),
        )

    @classmethod
    def load(cls, path: str | Path) -> "KeypointSequence":
        """Read a canonical keypoints `.npz`; never unpickles (allow_pickle=False)."""
        name = Path(path).name
        try:
            with np.load(path, allow_pickle=False) as z:
                missing = {"keypoints", "scores", "image_size", "fps"} - set(z.files)
                if missing:
                    raise SequenceError(f"{name}: not a keypoints file, missing {', '.join(sorted(missing))}.")
                layout = str(z["layout"]) if "layout" in z.files else LAYOUT
                if layout != LAYOUT:
                    raise SequenceError(f"{name}: layout is '{layout}', expected '{LAYOUT}'.")
                meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
                seq = cls(z["keypoints"], z["scores"], tuple(z["image_size"].tolist()), np.asarray(z["fps"]).item(), meta)
        except SequenceError:
            raise
        except Exception as exc:  # zipfile/np errors: truncated, empty, not an npz
            raise SequenceError(f"{name}: cannot be read as a keypoints .npz ({type(exc).__name__}).") from exc
        return seq.validate(name)


# What a result frame is (LiftResult.frame_flags). The add-on reads the same numbers
# (addon/core/result_io.py); a gap's frames are marked on the timeline and kept out of the floor
# and bone-length estimates.
FRAME_DETECTED = 0        # a detection the model lifted
FRAME_INTERPOLATED = 1    # in a short gap (<= 0.5 s): interpolated between the detections around it
FRAME_HELD = 2            # in a long gap: the last detected pose held, not invented motion
FRAME_KINDS = (FRAME_DETECTED, FRAME_INTERPOLATED, FRAME_HELD)


@dataclass
class LiftResult:
    """What `lift` writes (shared conventions, "Result file").

    joints3d:       (T, 17, 3) float32 camera frame, metres, root-relative.
    joints3d_world: (T, 17, 3) float32 Blender frame, metres, grounded.
    action_names:   (C,) class names; action_probs (T, C) float32; prompt (T,) per-frame text.
    meta:           JSON-able dict (engine version, checkpoint id, input format, device, sampling).
    frame_flags:    (T,) uint8, what each frame is (FRAME_* below): detected, or a gap's frame that
                    was interpolated or held. Older results lack it (read as all detected).
    contacts:       (T, 2) bool, the left and right foot on the floor. Older results lack it.
    """

    joints3d: np.ndarray
    joints3d_world: np.ndarray
    fps: float
    action_names: list[str]
    action_probs: np.ndarray
    prompt: list[str]
    meta: dict = field(default_factory=dict)
    frame_flags: np.ndarray | None = None
    contacts: np.ndarray | None = None

    def validate(self, name: str = "result") -> "LiftResult":
        t = self.joints3d.shape[0]
        if self.frame_flags is None:
            self.frame_flags = np.full(t, FRAME_DETECTED, np.uint8)
        if self.contacts is None:
            self.contacts = np.zeros((t, 2), bool)
        if self.frame_flags.shape != (t,) or not np.isin(self.frame_flags, FRAME_KINDS).all():
            raise SequenceError(f"{name}: frame_flags must be ({t},) values in {list(FRAME_KINDS)}.")
        if self.contacts.shape != (t, 2):
            raise SequenceError(f"{name}: contacts must have shape ({t}, 2), got {self.contacts.shape}.")
        for key in ("joints3d", "joints3d_world"):
            a = getattr(self, key)
            if a.shape != (t, NUM_JOINTS, 3) or not np.isfinite(a).all():
                raise SequenceError(f"{name}: {key} must be finite with shape ({t}, 17, 3), got {a.shape}.")
        if self.action_probs.shape != (t, len(self.action_names)) or len(self.prompt) != t:
            raise SequenceError(f"{name}: action_probs/prompt do not match {t} frames.")
        return self

    def save(self, path: str | Path) -> None:
        self.validate(str(path))
        np.savez_compressed(
            path,
            joints3d=self.joints3d.astype(np.float32),
            joints3d_world=self.joints3d_world.astype(np.float32),
            fps=np.float64(self.fps),
            action_names=np.array(self.action_names, dtype=np.str_),
            action_probs=self.action_probs.astype(np.float32),
            prompt=np.array(self.prompt, dtype=np.str_),
            meta=np.str_(json.dumps(self.meta)),
            frame_flags=self.frame_flags.astype(np.uint8),
            contacts=self.contacts.astype(bool),
        )

    @classmethod
    def load(cls, path: str | Path) -> "LiftResult":
        name = Path(path).name
        try:
            with np.load(path, allow_pickle=False) as z:
                res = cls(
                    joints3d=z["joints3d"], joints3d_world=z["joints3d_world"],
                    fps=float(np.asarray(z["fps"]).item()),   # one number; an array is a clear error
                    action_names=[str(a) for a in z["action_names"]], action_probs=z["action_probs"],
                    prompt=[str(p) for p in z["prompt"]], meta=json.loads(str(z["meta"])),
                    frame_flags=z["frame_flags"] if "frame_flags" in z.files else None,
                    contacts=z["contacts"].astype(bool) if "contacts" in z.files else None,
                )
        except Exception as exc:
            raise SequenceError(f"{name}: cannot be read as a lift result ({type(exc).__name__}: {exc}).") from exc
        return res.validate(name)
