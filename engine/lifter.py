"""`Lifter`: a whole clip of 2D keypoints in, a `LiftResult` out.

Any length is handled by overlapping windows of the model's N frames, blended back into one
clip (engine.windows). Clips shorter than N are padded by repeating their edge frames. All
windows go through the model in batches. `progress` counts the passes of the network over each
batch (the denoising steps), so a clip of one batch still moves a progress bar; the batches stay
as large as they were (smaller ones cost time: each call of the model has a fixed overhead). The
action probabilities of each window are spread over its frames with the same weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import __version__
from .actions import mirrored_action_index
from .checkpoint import load_checkpoint
from .cleanup import clean_motion
from .errors import EngineError
from .frames import LENS_MM, horizontal_fov_deg, normalise_screen, screen_focal, to_grounded_blender
from .limits import MAX_SEED
from .missing_face import place_missing_face
from .reprojection import reprojection_error, summarise as summarise_reprojection
from .sequence import KeypointSequence, LiftResult
from .skeleton import FLIP_PERMUTATION, flip_left_right
from .smoothing import DEFAULT_METHOD, cutoff_hz, moving_average, smooth
from .text_encoder import prompt_text
from .trajectory import estimate_root_trajectory
from .view_aim import AIM_MODES, aim_points, aim_rotations, rotate_view, unrotate_joints
from .windows import stitch, window_starts


MAX_STEPS = 1000          # DDIM steps: no more than the diffusion's timesteps
MAX_HYPOTHESES = 64       # hypotheses per window: memory grows with them


@dataclass
class SamplingSettings:
    steps: int = 3               # K DDIM steps
    hypotheses: int = 1          # H
    aggregation: str = "mean"    # "mean" | "jpma"
    # Flip test-time augmentation: the clip and its mirror image are lifted and averaged. On by
    # default since 2026-12-03: on `cross` (other people and skeletons, noisy 2D, 4 Hz) 103.3 -> 101.1
    # mm (P-MPJPE 76.9 -> 74.7), on `test` -4 %, at twice the network passes (model card).
    flip: bool = True
    overlap: int = 16            # frames shared by neighbouring windows
    batch_windows: int = 32
    seed: int = 0
    # Frames over which the action/style probabilities are averaged (0: off): an action lasts
    # seconds. 181 (6 s at 30 fps) was the best width on the validation split (model card).
    action_window: int = 181
    # Turn a virtual camera to each window's person before the model sees it (engine.view_aim).
    aim: str = "window"
    # Place a nose and head top the detector did not give from the body (engine.missing_face).
    place_face: bool = True

    def __post_init__(self) -> None:
        """Refuse settings the sampler would silently bend (0 steps ran as 1) or crash on."""
        ints = {"steps": (1, MAX_STEPS), "hypotheses": (1, MAX_HYPOTHESES), "overlap": (0, 10_000),
                "batch_windows": (1, 10_000), "seed": (0, MAX_SEED), "action_window": (0, 10 ** 7)}
        for name, (lo, hi) in ints.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise EngineError(f"Sampling setting {name} must be a whole number from {lo:,} to {hi:,}, got {value!r}.")
        if self.aim not in AIM_MODES:
            raise EngineError(f"Sampling setting aim must be one of {', '.join(AIM_MODES)}, got {self.aim!r}.")
        if self.aggregation not in ("mean", "jpma"):
            raise EngineError(f"Sampling setting aggregation must be 'mean' or 'jpma', got {self.aggregation!r}.")


PRESETS: dict[str, SamplingSettings] = {
    "fast": SamplingSettings(),      # 3 DDIM steps, 1 hypothesis, flip
    # Quality: the mean of 5 hypotheses plus flip augmentation: more accurate and smoother than one
    # hypothesis; per-joint JPMA selection was as accurate but jittery (model card, "Evaluation").
    "quality": SamplingSettings(steps=3, hypotheses=5, aggregation="mean", flip=True, overlap=27, batch_windows=8),
}


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise EngineError("--device cuda was requested but no CUDA GPU is available.")
    if device not in ("cpu", "cuda"):
        raise EngineError(f"Unknown device '{device}'; use auto, cpu or cuda.")
    return torch.device(device)


class Lifter:
    """Loads a checkpoint once; `lift` many sequences with it."""

    def __init__(self, checkpoint: str | Path, device: str = "auto"):
        t0 = time.perf_counter()
        self.device = resolve_device(device)
        self.diffusion, self.meta = load_checkpoint(checkpoint, self.device)
        self.config = self.meta["config"]
        self.checkpoint = Path(checkpoint)
        self.load_seconds = time.perf_counter() - t0

    def lift(self, seq: KeypointSequence, settings: SamplingSettings | None = None, smoothing: str = DEFAULT_METHOD,
             smooth_hz: float | None = None, progress: Callable[[int, int], None] | None = None,
             input_format: str = "keypoints-npz", cleanup: bool = True, root_motion: str = "free",
             stage: Callable[[str], None] | None = None, lens_mm: float = LENS_MM) -> LiftResult:
        """`cleanup` (default): engine.cleanup's upright, grounded, constant-bone, planted-feet clip
        with gaps flagged; off: the model's poses as they come, the root fit and the lowest ankle
        put on the floor (what the engine did before issue #18; kept for comparison).

        `progress(done, total)` is called after each denoising step of each batch of windows, over
        every pass (the flip pass too), so `done == total` only when the model is finished;
        `stage(name)` is called as the work after the model begins ("smoothing", then "cleaning up"
        when `cleanup`). `lens_mm`: the camera's 35 mm-equivalent focal length, where the aim, the
        root's depth and the floor come from (engine.frames.screen_focal)."""
        s = settings or SamplingSettings()
        seq.validate(seq.meta.get("source", "input"))
        w, h = seq.image_size
        kp = normalise_screen(seq.keypoints, w, h)
        sc = seq.scores.astype(np.float32)
        focal = screen_focal(w, h, lens_mm)
        kp_model, sc_model, face_placed = self.model_input(kp, sc, s)
        joints3d, action_probs, style_probs = self.lift_normalised(kp_model, sc_model, s, progress, focal=focal)
        if stage is not None:
            stage("smoothing")
        joints3d = joints3d - joints3d[:, :1]          # exactly root-relative
        joints3d = smooth(joints3d, seq.fps, smoothing, smooth_hz)
        extra, flags, contacts = {}, None, None
        if cleanup and stage is not None:
            stage("cleaning up")
        if cleanup:
            clean = clean_motion(joints3d, kp, sc, seq.fps, seq.meta.get("gaps"), root_motion=root_motion,
                                 image_aspect=h / w, focal=focal)
            joints3d, world, flags, contacts, extra = clean.joints3d, clean.world, clean.frame_flags, clean.contacts, clean.meta
        else:
            world = to_grounded_blender(joints3d, estimate_root_trajectory(joints3d, kp, sc, seq.fps, focal))
        cfg = self.config
        prompts = [prompt_text(cfg.styles[si], cfg.actions[ai])
                   for si, ai in zip(style_probs.argmax(-1), action_probs.argmax(-1))]
        meta = {
            "engine_version": __version__, "checkpoint": self.meta["id"], "input_format": input_format,
            "source_layout": seq.meta.get("source_layout", seq.meta.get("layout", "h36m17")),
            "source": seq.meta, "device": str(self.device), "sampling": asdict(s),
            "smoothing": {"method": smoothing, "hz": cutoff_hz(smoothing, seq.fps, smooth_hz)}, "image_size": list(seq.image_size),
            "reprojection": summarise_reprojection(reprojection_error(joints3d, kp, sc)),
            "face_placed_frames": int(face_placed.sum()),
            "style_names": list(cfg.styles), "text_encoder": self.meta["info"].get("text_encoder", {}),
            "camera_lens": {"lens_mm_35": float(lens_mm), "focal_screen": round(focal, 6),
                            "horizontal_fov_deg": round(horizontal_fov_deg(focal), 4)},
            **extra,
        }
        return LiftResult(joints3d=joints3d, joints3d_world=world, fps=seq.fps, action_names=list(cfg.actions),
                          action_probs=action_probs.astype(np.float32), prompt=prompts, meta=meta,
                          frame_flags=flags, contacts=contacts)

    @staticmethod
    def model_input(kp: np.ndarray, sc: np.ndarray, s: SamplingSettings):
        """What the model is given for the detector's 2D, and the (T,) frames where a missing nose
        or head top was placed from the body (`s.place_face`). The clean-up and the checks keep the
        detector's own 2D."""
        return place_missing_face(kp, sc) if s.place_face else (kp, sc, np.zeros(len(sc), bool))

    def lift_normalised(self, kp: np.ndarray, sc: np.ndarray, s: SamplingSettings, progress=None, *, focal: float):
        """Screen-normalised 2D (T, 17, 2) + scores (T, 17) of a camera with screen-normalised
        `focal` -> 3D (T, 17, 3), per-frame action and style probabilities; with `s.flip`, averaged
        with the mirrored clip's (flip TTA).

        The probabilities are then averaged over `s.action_window` frames: an action lasts seconds,
        so a prompt that flickers from frame to frame is noise to an animator, not information."""
        kp = np.where(sc[..., None] > 0, kp, 0.0).astype(np.float32)     # missing joints sit at (0, 0)
        passes = 2 if s.flip else 1
        units = self._progress_units(kp.shape[0], s)

        def counted_from(first: int):     # one count over both passes: done == total only at the very end
            return None if progress is None else (lambda done, _: progress(first + done, passes * units))

        joints3d, action_probs, style_probs = self._lift_windows(kp, sc, s, counted_from(0), focal)
        if s.flip:
            j_f, a_f, s_f = self._lift_windows(flip_left_right(kp), sc[:, FLIP_PERMUTATION], s, counted_from(units),
                                               focal, seed_offset=1)
            j_f = flip_left_right(j_f)                                      # mirroring is its own inverse
            a_f = a_f[:, list(mirrored_action_index(self.config.actions))]  # the mirror of "wave-left" is "wave-right"
            joints3d, action_probs, style_probs = (joints3d + j_f) / 2, (action_probs + a_f) / 2, (style_probs + s_f) / 2
        return joints3d, moving_average(action_probs, s.action_window), moving_average(style_probs, s.action_window)

    def _progress_units(self, frames: int, s: SamplingSettings) -> int:
        """What one pass over a clip of `frames` frames reports: batches x passes of the network."""
        windows = len(window_starts(max(frames, self.config.window), self.config.window, s.overlap))
        return -(-windows // s.batch_windows) * self.diffusion.sample_passes(s.steps)

    @torch.no_grad()
    def _lift_windows(self, kp: np.ndarray, sc: np.ndarray, s: SamplingSettings, progress, focal: float,
                      seed_offset: int = 0):
        n, t = self.config.window, kp.shape[0]
        if t < n:   # pad short clips by repeating the edge frames
            pad = n - t
            kp = np.concatenate([kp, np.repeat(kp[-1:], pad, 0)])
            sc = np.concatenate([sc, np.repeat(sc[-1:], pad, 0)])
        starts = window_starts(kp.shape[0], n, s.overlap)
        generator = torch.Generator().manual_seed(s.seed + 7919 * seed_offset)
        steps = self.diffusion.sample_passes(s.steps)
        units = -(-len(starts) // s.batch_windows) * steps
        outs, actions, styles = [], [], []
        for k, b0 in enumerate(range(0, len(starts), s.batch_windows)):
            batch = starts[b0:b0 + s.batch_windows]
            on_step = None if progress is None else (lambda i, _, k=k: progress(k * steps + i, units))
            kp_np = np.stack([kp[i:i + n] for i in batch])
            sc_np = np.stack([sc[i:i + n] for i in batch])
            if s.aim == "window":
                turns = aim_rotations(aim_points(kp_np, sc_np), focal)
                kp_np = rotate_view(kp_np, sc_np, turns, focal)
            kp_w = torch.from_numpy(kp_np).to(self.device)
            sc_w = torch.from_numpy(sc_np).to(self.device)
            out = self.diffusion.sample(kp_w, sc_w, steps=s.steps, hypotheses=s.hypotheses,
                                        aggregation=s.aggregation, generator=generator, on_step=on_step)
            joints_w = out["joints3d"].float().cpu().numpy()
            outs.append(unrotate_joints(joints_w, turns) if s.aim == "window" else joints_w)
            num_windows = len(batch)
            if out["action_logits"] is not None:
                actions.append(torch.softmax(out["action_logits"], -1).float().cpu().numpy())
                styles.append(torch.softmax(out["style_logits"], -1).float().cpu().numpy())
            else:
                actions.append(np.full((num_windows, len(self.config.actions)), 1.0 / len(self.config.actions), np.float32))
                styles.append(np.full((num_windows, len(self.config.styles)), 1.0 / len(self.config.styles), np.float32))
        total = kp.shape[0]
        joints = stitch(np.concatenate(outs), starts, total, s.overlap)[:t]
        a = np.concatenate(actions)
        st = np.concatenate(styles)
        per_frame_a = stitch(np.repeat(a[:, None], n, 1), starts, total, s.overlap)[:t]
        per_frame_s = stitch(np.repeat(st[:, None], n, 1), starts, total, s.overlap)[:t]
        return joints, per_frame_a, per_frame_s
