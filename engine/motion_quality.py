"""What an animator sees wrong in a lifted motion, as numbers (issue #18, "Motion an animator can keep").

No ground truth exists for real video, but some faults need none: a person standing still should
be upright, touch the floor, keep their bones one length, keep a planted foot where it is, stay on
the spot during an in-place exercise, and not shake. Each function below measures one of these on
Blender-world joints (T, 17, 3) in metres, Z up, grounded (floor at z = 0, which under the engine's
convention passes through the planted ankle joint; pass `ankle_height_m` when a world puts the
floor under the foot instead). `valid` (T,) bool marks the frames that were detected: a frame the
engine held or interpolated over a detector gap says nothing about the model, so it is left out.

The benchmark (`benchmarks/bench_motion_quality.py`) runs these on every real sample, before and
after the engine's clean-up; the unit tests check each against synthetic motion with a known answer.
Pure numpy: no torch, no bpy.
"""

from __future__ import annotations

import numpy as np

from .sequence import FRAME_DETECTED, KeypointSequence
from .skeleton import BONES, HEAD, LEFT_ANKLE, RIGHT_ANKLE, ROOT, bone_lengths

HEAD_TOP = HEAD                          # the top of the head, the far end of the lean line

CONTACT_HEIGHT_M = 0.05
"""An ankle at most this high above the floor counts as planted (metres).

A planted ankle in a lifted clip wobbles by a couple of centimetres with the model's noise, while a
foot that is really lifted clears the floor by more: in walking the swinging ankle rises 10-15 cm, in
jumping jacks and high knees far more. 5 cm sits between the two, so noise on a planted foot does not
hide its slide and a swinging foot's travel is not counted as sliding."""

SUMMARY_KEYS = ("lean_deg", "float_mm", "foot_slide_mps", "bone_cv_pct", "inplace_drift_m", "jitter_mm")


def _frames(world: np.ndarray, valid) -> tuple[np.ndarray, np.ndarray]:
    """(T, 17, 3) float64 joints and a (T,) bool mask (all True when `valid` is None)."""
    world = np.asarray(world, dtype=np.float64)
    if world.ndim != 3 or world.shape[1:] != (17, 3):
        raise ValueError(f"joints must have shape (frames, 17, 3), got {world.shape}")
    mask = np.ones(len(world), bool) if valid is None else np.asarray(valid, bool)
    if mask.shape != (len(world),):
        raise ValueError(f"valid must have shape ({len(world)},), got {mask.shape}")
    return world, mask


def _median(values: np.ndarray) -> float:
    """Median, NaN for no values (a clip with no valid frame has no answer, not 0)."""
    return float(np.median(values)) if np.size(values) else float("nan")


def lean_deg(world: np.ndarray, valid=None) -> float:
    """Median over valid frames of the angle (degrees) between +Z and the line from the ankles'
    midpoint to the head top: ~0-3 for a person standing upright, the forward pitch of a clip seen
    from a camera that looked down at the person when the engine takes the camera as level."""
    world, mask = _frames(world, valid)
    body = world[mask, HEAD_TOP] - world[mask][:, [LEFT_ANKLE, RIGHT_ANKLE]].mean(axis=1)
    norm = np.linalg.norm(body, axis=-1)
    cos = np.clip(body[:, 2] / np.maximum(norm, 1e-12), -1.0, 1.0)
    return _median(np.degrees(np.arccos(cos)))


def lowest_ankle_height(world: np.ndarray, ankle_height_m: float = 0.0) -> np.ndarray:
    """(T,) height of the lower ankle above where a planted ankle sits, metres."""
    world = np.asarray(world, dtype=np.float64)
    return world[:, [LEFT_ANKLE, RIGHT_ANKLE], 2].min(axis=1) - ankle_height_m


def float_mm(world: np.ndarray, valid=None, ankle_height_m: float = 0.0) -> float:
    """Median over valid frames of the lower ankle's height above the floor, mm: a character that
    hovers (or sinks, negative) for most of the clip."""
    world, mask = _frames(world, valid)
    return 1000.0 * _median(lowest_ankle_height(world[mask], ankle_height_m))


def foot_slide(world: np.ndarray, fps: float, valid=None, ankle_height_m: float = 0.0,
               contact_height_m: float = CONTACT_HEIGHT_M) -> tuple[float, int]:
    """(median horizontal speed in m/s, number of frame pairs) of the ankles while planted.

    A pair is two consecutive valid frames in which the same ankle is within `contact_height_m` of
    the floor in both; its speed is that ankle's xy displacement times fps. Both ankles' pairs are
    pooled. No pair at all (a clip in the air, or all invalid) gives (0.0, 0): nothing slid."""
    world, mask = _frames(world, valid)
    speeds = []
    for ankle in (LEFT_ANKLE, RIGHT_ANKLE):
        down = (world[:, ankle, 2] - ankle_height_m <= contact_height_m) & mask
        pair = down[:-1] & down[1:]
        step = np.linalg.norm(np.diff(world[:, ankle, :2], axis=0), axis=-1)
        speeds.append(step[pair] * float(fps))
    speeds = np.concatenate(speeds)
    return (float(np.median(speeds)), int(speeds.size)) if speeds.size else (0.0, 0)


def foot_slide_mps(world: np.ndarray, fps: float, valid=None, ankle_height_m: float = 0.0) -> float:
    """Median horizontal speed of a planted ankle, m/s (0 when no foot is ever planted); see `foot_slide`."""
    return foot_slide(world, fps, valid, ankle_height_m)[0]


def bone_cv_per_bone(world: np.ndarray, valid=None) -> np.ndarray:
    """(16,) coefficient of variation (std / mean x 100) of each bone's length over valid frames,
    in `engine.skeleton.BONES` order: a rig has one length per bone, so any change is a fault."""
    world, mask = _frames(world, valid)
    lengths = bone_lengths(world[mask])
    if not len(lengths):
        return np.full(len(BONES), np.nan)
    return 100.0 * lengths.std(axis=0) / np.maximum(lengths.mean(axis=0), 1e-12)


def bone_cv_pct(world: np.ndarray, valid=None) -> float:
    """Median over the 16 bones of `bone_cv_per_bone`, percent."""
    return float(np.median(bone_cv_per_bone(world, valid)))


def inplace_drift_m(world: np.ndarray, valid=None) -> float:
    """95th percentile over valid frames of the pelvis's horizontal distance from its median
    position, metres. Only meaningful for an exercise done on the spot (jumping jacks, squats): there
    the true figure is a few centimetres, and more is the root wandering off."""
    world, mask = _frames(world, valid)
    xy = world[mask, ROOT, :2]
    if not len(xy):
        return float("nan")
    return float(np.percentile(np.linalg.norm(xy - np.median(xy, axis=0), axis=-1), 95))


def jitter_mm(world: np.ndarray, valid=None) -> float:
    """Mean magnitude of the joints' second difference, mm/frame^2, over frame triples that are all
    valid: frame-to-frame shaking (real motion contributes too, so compare clips with themselves)."""
    world, mask = _frames(world, valid)
    if len(world) < 3:
        return float("nan")
    acc = np.linalg.norm(world[2:] - 2 * world[1:-1] + world[:-2], axis=-1)      # (T-2, 17)
    keep = mask[2:] & mask[1:-1] & mask[:-2]
    return 1000.0 * float(acc[keep].mean()) if keep.any() else float("nan")


def gap_report_frames(report: dict | None, frames: int) -> np.ndarray:
    """(frames,) bool: the whole-person gaps of a reader's gap report (`KeypointSequence.meta["gaps"]`,
    kept in a result's `meta["source"]["gaps"]`): runs it interpolated and runs it left missing."""
    missing = np.zeros(frames, bool)
    report = report or {}
    for start, end in [*report.get("interpolated", []), *report.get("long", [])]:
        missing[start:end + 1] = True
    return missing


def missing_input_frames(seq: KeypointSequence) -> np.ndarray:
    """(T,) bool: frames where the input had no usable detection of the person, before the engine
    filled them: every score 0, or a whole-person gap the reader interpolated (`meta["gaps"]`)."""
    empty = ~(np.asarray(seq.scores) > 0).any(axis=1)
    return empty | gap_report_frames(seq.meta.get("gaps"), len(empty))


def gap_frames_unflagged(input_missing_mask, frame_flags=None) -> int:
    """Frames with no usable detection in the input that the result calls detected (should be 0):
    an invented pose the animator is not told about. `frame_flags` None (a result written before
    flags existed) means every frame is called detected."""
    missing = np.asarray(input_missing_mask, bool)
    flags = np.full(missing.shape, FRAME_DETECTED, np.uint8) if frame_flags is None else np.asarray(frame_flags)
    if flags.shape != missing.shape:
        raise ValueError(f"frame_flags {flags.shape} and the missing mask {missing.shape} differ in length")
    return int((missing & (flags == FRAME_DETECTED)).sum())


def summarise(world: np.ndarray, fps: float, valid=None, ankle_height_m: float = 0.0) -> dict:
    """Every measure above for one clip, under the keys of `SUMMARY_KEYS` (floats; NaN where a
    measure has no frames to go on)."""
    return {
        "lean_deg": lean_deg(world, valid),
        "float_mm": float_mm(world, valid, ankle_height_m),
        "foot_slide_mps": foot_slide_mps(world, fps, valid, ankle_height_m),
        "bone_cv_pct": bone_cv_pct(world, valid),
        "inplace_drift_m": inplace_drift_m(world, valid),
        "jitter_mm": jitter_mm(world, valid),
    }
