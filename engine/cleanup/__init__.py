"""Motion an animator can keep (issue #18): from the model's per-frame poses to a clip that stands
upright on the floor, with constant bones, planted feet and no invented frames.

`clean_motion` runs, in this order:
1. detections: which frames hold a real detection (joints clamped to the image border count as
   unseen; a few frames where the 2D snaps elsewhere and back are a glitch); gaps (interpolated
   when short, held when long) and segments (a tracker that jumped to another person, or a video
   cut to another zoom or angle, starts a new one);
2. image fit: joints seen more than 2 cm off the low-passed 2D drawn back to 2 cm of it, in x, y
   only (engine.cleanup.image_fit);
   bones: one length per bone for the clip, every frame rebuilt with them (a bone that must change
   length gives in depth more than in the image);
3. upright: the gravity direction in the camera frame, from the plumb line of the frames where
   the person is on their feet;
4. root: the robust perspective fit of the pelvis path (engine.trajectory), per segment, then
   moved so that planted feet sit where their rays meet the floor (ground); a segment in which the
   person stays on one spot of the image keeps one depth, and each segment continues where the
   one before it was;
5. root motion: free (default), held in place, or along a smoothed path;
6. contacts: feet on the floor and held still while they touch it, knees solved by two-bone IK.
Gap frames are kept out of 2-4 and filled after 4 (interpolated or held).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..frames import camera_to_blender
from ..sequence import FRAME_DETECTED
from ..skeleton import ROOT
from ..smoothing import gaussian
from ..trajectory import estimate_root_trajectory
from .bones import clip_bone_lengths, with_bone_lengths, with_bone_lengths_seen
from .contacts import detect_contacts, local_floor, plant_feet
from .image_fit import pulled_toward_2d
from .ground import floor_root, hold_still_depth, planted_in_image
from .detections import (at_image_edge, drop_brief_segments, fill_unusable, frame_flags, gap_runs, identity_segments, sudden_changes,
                         usable_frames)
from .upright import estimate_up, rotation_to_upright

ROOT_MOTIONS = ("free", "in-place", "path")
PATH_HZ = 0.25        # a walking path keeps what is slower than this
REBUILD_HZ = 4.0      # the smoothing after the bone-length rebuild: lift's default cut-off


@dataclass
class CleanMotion:
    world: np.ndarray         # (T, 17, 3) Blender world, metres, Z up, floor at z = 0
    joints3d: np.ndarray      # (T, 17, 3) camera frame, root-relative, constant bones, gaps filled
    frame_flags: np.ndarray   # (T,) uint8 FRAME_*
    contacts: np.ndarray      # (T, 2) bool, left and right foot
    meta: dict                # "cleanup", "gaps" and "segments" for the result's meta


def clean_motion(joints3d: np.ndarray, keypoints2d: np.ndarray, scores: np.ndarray, fps: float,
                 gaps_report: dict | None = None, root_motion: str = "free", lock_feet: bool = True,
                 image_aspect: float | None = None, *, focal: float) -> CleanMotion:
    """(T, 17, 3) root-relative camera-frame joints, (T, 17, 2) screen-normalised 2D, (T, 17) scores,
    frame rate, the reader's gap report, the image's height / width, the camera's screen-normalised
    focal (engine.frames.screen_focal) -> `CleanMotion`. Joints clamped to the image's border count
    as unseen here."""
    if root_motion not in ROOT_MOTIONS:
        raise ValueError(f"root_motion must be one of {ROOT_MOTIONS}, got {root_motion!r}")
    scores = np.where(at_image_edge(keypoints2d, image_aspect), 0.0, scores).astype(np.float32)
    usable = usable_frames(keypoints2d, scores, gaps_report)
    glitches, shot_cuts = sudden_changes(keypoints2d, scores, usable, fps)
    usable &= ~glitches
    segments = identity_segments(keypoints2d, scores, usable, shot_cuts)
    usable = drop_brief_segments(usable, segments, fps)
    segments = identity_segments(keypoints2d, scores, usable, shot_cuts)
    flags = frame_flags(usable, fps, segments)
    detected = flags == FRAME_DETECTED

    joints3d = pulled_toward_2d(joints3d - joints3d[:, :1], keypoints2d, scores, detected, fps, focal=focal)
    lengths = clip_bone_lengths(joints3d, scores, detected)
    pose = with_bone_lengths_seen(joints3d - joints3d[:, :1], lengths)
    # Rebuilding sums bone vectors down each chain, which adds up their directions' noise at the
    # hands and feet; smoothing once more and rebuilding keeps the lengths and the calm.
    pose = with_bone_lengths(gaussian(pose, fps, min(REBUILD_HZ, fps / 2 - 0.5)), lengths)
    up, up_report = estimate_up(pose, detected)
    rotation = rotation_to_upright(up)

    root = np.zeros((len(pose), 3))
    for s, e in segments:
        root[s:e + 1] = estimate_root_trajectory(pose[s:e + 1], keypoints2d[s:e + 1], scores[s:e + 1], fps,
                                                 focal, usable=detected[s:e + 1])
    pose_up = fill_unusable(pose, flags, segments) @ rotation.T
    root_up = fill_unusable(root, flags, segments) @ rotation.T
    first = camera_to_blender(pose_up + root_up[:, None])
    contacts = detect_contacts(first, fps, local_floor(first, fps, detected)) & detected[:, None]
    contacts |= planted_in_image(keypoints2d, scores, rotation, focal, fps, detected)
    root_up, ground_report = floor_root(pose_up, root_up, keypoints2d, scores, rotation, focal, contacts, fps)
    root_up, still = hold_still_depth(root_up, keypoints2d, scores, rotation, focal, detected, segments, fps)
    pose = pose_up @ rotation                                         # back to the camera frame
    world = _continuous(camera_to_blender(pose_up + root_up[:, None]), segments)
    world = _root_motion(world, root_motion, fps, segments)
    world, contacts, contact_report = plant_feet(world, fps, detected, lock_horizontal=lock_feet and root_motion != "in-place")
    world[..., :2] -= world[:1, ROOT, :2]               # the character starts over the world origin

    meta = {
        "cleanup": {"up": up_report, "up_camera": up_report["up_camera"], "root_motion": root_motion,
                    "floor_depth": ground_report, "depth_held": still, "shot_cuts": shot_cuts,
                    "bone_lengths_m": [round(float(x), 4) for x in lengths], "contacts": contact_report},
        "gaps": gap_runs(flags),
        "segments": segments,
    }
    return CleanMotion(world.astype(np.float32), pose.astype(np.float32), flags, contacts, meta)


def _continuous(world: np.ndarray, segments: list[list[int]]) -> np.ndarray:
    """Each segment moved over the floor so that it starts where the one before it ended. A segment
    starts at a video cut (another zoom or angle: its camera-relative root belongs to another camera)
    or where the tracker jumped to someone else; either way one character is animated, and it should
    not teleport."""
    out = world.copy()
    first_s, first_e = segments[0]
    anchor = np.median(out[first_s:first_e + 1, ROOT, :2], axis=0)
    for s, e in segments[1:]:
        out[s:e + 1, :, :2] += anchor - np.median(out[s:e + 1, ROOT, :2], axis=0)
    return out


def _root_motion(world: np.ndarray, mode: str, fps: float, segments: list[list[int]]) -> np.ndarray:
    """Apply the root-motion option to the horizontal pelvis path, per segment."""
    if mode == "free":
        return world
    out = world.copy()
    for s, e in segments:
        xy = world[s:e + 1, ROOT, :2]
        target = np.median(xy, axis=0, keepdims=True) if mode == "in-place" else gaussian(xy, fps, PATH_HZ)
        out[s:e + 1, :, :2] += (target - xy)[:, None]
    return out
