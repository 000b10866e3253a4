"""engine.cleanup: upright, on the floor, constant bones, planted feet, gaps flagged not invented."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cleanup import clean_motion
from engine.cleanup.bones import with_bone_lengths, with_bone_lengths_seen
from engine.cleanup.contacts import on_their_feet, plant_feet, two_bone_ik
from engine.cleanup.ground import hold_still_depth, planted_in_image
from engine.cleanup.detections import at_image_edge, frame_flags, identity_segments, sudden_changes, usable_frames
from engine.gaps import fill_gaps
from engine.sequence import FRAME_DETECTED, FRAME_HELD, FRAME_INTERPOLATED
from engine.skeleton import BONES, JOINT_NAMES, LEFT_ANKLE, RIGHT_ANKLE, bone_lengths
from engine.smoothing import butterworth, short_clip_frames

from synthetic_walk import FOCAL, view, walk

FPS = 30.0


def _lean_deg(world: np.ndarray) -> float:
    """Median angle between +Z and the pelvis -> head direction (the walker's torso is vertical)."""
    v = world[:, 10] - world[:, 0]
    return float(np.degrees(np.median(np.arccos(v[:, 2] / np.linalg.norm(v, axis=1)))))


@pytest.mark.parametrize("pitch", [0.0, 15.0])
def test_a_walk_filmed_by_a_pitched_camera_stands_upright_on_the_floor(pitch):
    world, contact = walk(150, FPS)
    joints, uv = view(world, pitch)
    scores = np.ones(uv.shape[:2], np.float32)
    before = _lean_deg(np.stack([joints[..., 0], joints[..., 2], -joints[..., 1]], -1))
    assert before == pytest.approx(pitch, abs=1.0)            # the camera's pitch leans the raw lift
    out = clean_motion(joints, uv, scores, FPS, focal=FOCAL)
    assert _lean_deg(out.world) < 2.0
    ankles = out.world[:, [LEFT_ANKLE, RIGHT_ANKLE], 2]
    planted = np.abs(ankles[contact])                          # on the floor within 2 cm
    assert np.median(planted) < 0.005 and np.percentile(planted, 90) < 0.02
    assert ankles[~contact].max() == pytest.approx(0.10, abs=0.03)   # the swing keeps its 10 cm arc
    found = out.contacts
    assert (found == contact).mean() > 0.85                    # contacts found where the feet are planted


def test_planted_feet_do_not_slide_and_bones_stay_constant():
    world, contact = walk(150, FPS)
    joints, uv = view(world, 10.0)
    rng = np.random.default_rng(0)
    noisy = joints + rng.normal(0, 0.01, joints.shape).astype(np.float32)     # a model's jitter
    noisy[:, 1:] *= rng.uniform(0.9, 1.1, (len(joints), 1, 1)).astype(np.float32)   # stretching bones
    out = clean_motion(noisy, uv, np.ones(uv.shape[:2], np.float32), FPS, focal=FOCAL)
    lengths = bone_lengths(out.world)
    assert (lengths.std(axis=0) / lengths.mean(axis=0)).max() < 0.01     # IK keeps thigh and shin
    for k, ankle in enumerate((LEFT_ANKLE, RIGHT_ANKLE)):
        both = out.contacts[1:, k] & out.contacts[:-1, k]
        slide = np.linalg.norm(np.diff(out.world[:, ankle, :2], axis=0), axis=1)[both] * FPS
        assert np.median(slide) < 0.05


def test_a_person_lying_down_is_not_swung_round_their_planted_feet():
    """A plank whose heading wobbles 4 degrees about the pelvis (the model's noise): moving the body
    to hold the feet would swing the pelvis some 6 cm round them; lying down, the body is turned back
    about the pelvis instead, so the pelvis stays and the planted feet stay too."""
    standing = walk(1, FPS)[0][0]
    tilt = np.radians(80.0)                                    # pitched over onto the floor, along +x
    rot = np.array([[np.cos(tilt), 0, np.sin(tilt)], [0, 1, 0], [-np.sin(tilt), 0, np.cos(tilt)]])
    plank = (standing - standing[0]) @ rot.T
    t = np.arange(120) / FPS
    yaw = np.radians(4.0) * np.sin(2 * np.pi * 0.5 * t)
    turn = np.stack([np.stack([np.cos(yaw), -np.sin(yaw), 0 * yaw], 1),
                     np.stack([np.sin(yaw), np.cos(yaw), 0 * yaw], 1),
                     np.stack([0 * yaw, 0 * yaw, 1 + 0 * yaw], 1)], 1)
    world = np.einsum("tij,kj->tki", turn, plank)
    world[..., 2] -= world[0, [LEFT_ANKLE, RIGHT_ANKLE], 2].min()
    assert not on_their_feet(world).any() and on_their_feet(walk(30, FPS)[0]).all()
    out, contacts, report = plant_feet(world, FPS, np.ones(len(world), bool))
    assert contacts.any(axis=1).mean() > 0.9 and report["lying_frames"] == len(world)
    pelvis = out[:, 0, :2]
    assert np.linalg.norm(pelvis - pelvis[0], axis=1).max() < 0.01
    ankles = out[:, [LEFT_ANKLE, RIGHT_ANKLE]]
    assert np.abs(ankles[..., 2][contacts]).max() < 0.01       # the feet are on the floor
    held = contacts[1:] & contacts[:-1]
    slide = np.linalg.norm(np.diff(ankles[..., :2], axis=0), axis=-1)[held] * FPS
    assert np.median(slide) < 0.01 and slide.max() < 0.05       # and do not slide
    def knee_deg(j):
        thigh, shin = j[:, [2, 5]] - j[:, [1, 4]], j[:, [3, 6]] - j[:, [2, 5]]
        cos = (thigh * shin).sum(-1) / np.linalg.norm(thigh, axis=-1) / np.linalg.norm(shin, axis=-1)
        return np.degrees(np.arccos(np.clip(cos, -1, 1)))
    assert np.abs(knee_deg(out) - knee_deg(world)).max() < 5.0  # the legs keep their shape (13 deg bent by IK alone)


def test_feet_still_in_the_image_are_found_as_planted():
    """The image-based contacts (ground.planted_in_image) need no 3D: a size-based depth that surges
    cannot hide them. On the walk, filmed level from the side, they are the stance phases; a foot
    held still in the air is not planted. (The stance's first and last frames are lost to the speed's
    low-pass; the floor depth needs a few sure frames, not all of them.)"""
    world, contact = walk(150, FPS)
    _, uv = view(world, 0.0)
    scores, detected = np.ones(uv.shape[:2], np.float32), np.ones(len(uv), bool)
    found = planted_in_image(uv, scores, np.eye(3), FOCAL, FPS, detected)
    assert found[contact].mean() > 0.5 and not found[~contact].any()   # most of each stance, no swing
    stand = np.repeat(walk(1, FPS)[0], 60, axis=0)
    stand[:, RIGHT_ANKLE, 2] += 0.3                             # the right foot held up, still
    _, uv = view(stand, 0.0)
    found = planted_in_image(uv, np.ones(uv.shape[:2], np.float32), np.eye(3), FOCAL, FPS, np.ones(60, bool))
    assert found[:, 0].all() and not found[:, 1].any()


def test_a_two_second_gap_is_flagged_and_held_not_invented():
    world, _ = walk(240, FPS)
    joints, uv = view(world, 10.0)
    scores = np.ones(uv.shape[:2], np.float32)
    gap = slice(90, 150)                                       # 2 s without a detection
    uv[gap], scores[gap] = 0.0, 0.0
    joints[gap] = np.random.default_rng(1).normal(0, 0.3, joints[gap].shape)   # what a model invents
    uv, scores, report = fill_gaps(uv, scores)
    out = clean_motion(joints, uv, scores, FPS, report, focal=FOCAL)
    assert (out.frame_flags[gap] == FRAME_HELD).all()
    assert (out.frame_flags[:90] == FRAME_DETECTED).all() and (out.frame_flags[150:] == FRAME_DETECTED).all()
    held = out.joints3d[gap]
    assert np.abs(held - out.joints3d[89]).max() < 1e-5        # the last detected pose, held
    assert out.meta["gaps"]["frames_held"] == 60


def test_a_short_gap_is_interpolated_and_flagged():
    usable = np.ones(60, bool)
    usable[20:25] = False
    flags = frame_flags(usable, FPS, [[0, 59]])
    assert (flags[20:25] == FRAME_INTERPOLATED).all() and (flags[:20] == FRAME_DETECTED).all()
    usable[0:3] = False                                          # at the clip's start: nothing before
    assert (frame_flags(usable, FPS, [[0, 59]])[0:3] == FRAME_HELD).all()


def test_a_tiny_false_detection_and_an_identity_jump_are_found():
    world, _ = walk(90, FPS)
    _, uv = view(world, 0.0)
    scores = np.ones(uv.shape[:2], np.float32)
    tiny = uv.copy()
    tiny[80:] = uv[80:] * 0.1 + 0.5                            # a tiny box elsewhere
    assert not usable_frames(tiny, scores, None)[80:].any()
    assert usable_frames(uv, scores, None).all()
    uv2 = uv.copy()
    uv2[45:] = uv[45:] + np.array([0.8, 0.0], np.float32)     # the tracker jumps to someone else
    segments = identity_segments(uv2, scores, np.ones(90, bool))
    assert [s for s, _ in segments] == [0, 45]


def test_two_bone_ik_reaches_the_target_and_keeps_lengths():
    hip = np.array([[0.0, 0.0, 0.9]])
    knee = np.array([[0.05, 0.0, 0.45]])
    ankle = np.array([[0.0, 0.0, 0.02]])
    target = np.array([[0.15, 0.05, 0.1]])     # within the leg's reach
    k2, a2 = two_bone_ik(hip, knee, ankle, target)
    assert np.allclose(a2, target, atol=1e-6)
    assert np.linalg.norm(k2 - hip) == pytest.approx(np.linalg.norm(knee - hip))
    assert np.linalg.norm(a2 - k2) == pytest.approx(np.linalg.norm(ankle - knee))


def test_a_bone_rebuilt_to_its_clip_length_keeps_what_the_camera_saw():
    """A forearm predicted 0.30 m long, half of it in depth, rebuilt to the clip's 0.25 m: keeping its
    direction moves the wrist 3.3 cm in the image; the seen rebuild (depth counted half) moves it 2.3 cm and
    takes the rest out of the depth. Lengths are exact either way."""
    joints = walk(2)[0][:1].astype(np.float64)
    joints -= joints[:, :1]
    lengths = bone_lengths(joints)[0]
    elbow, wrist = JOINT_NAMES.index("left_elbow"), JOINT_NAMES.index("left_wrist")
    forearm = BONES.index((elbow, wrist))
    joints[:, wrist] = joints[:, elbow] + np.array([0.2, 0.0, 0.2236])
    lengths[forearm] = 0.25
    kept_direction = with_bone_lengths(joints, lengths)
    seen = with_bone_lengths_seen(joints, lengths, depth_weight=0.5)
    for rebuilt in (kept_direction, seen):
        assert np.allclose(bone_lengths(rebuilt)[0], lengths)
    image_shift = lambda r: np.linalg.norm(r[0, wrist, :2] - joints[0, wrist, :2])   # noqa: E731
    assert image_shift(kept_direction) > 0.03
    assert image_shift(seen) < 0.75 * image_shift(kept_direction)
    assert image_shift(seen) < image_shift(with_bone_lengths_seen(joints, lengths)) < image_shift(kept_direction)
    assert seen[0, wrist, 2] - seen[0, elbow, 2] > 0.0      # the depth keeps its side
    others = [j for j in range(17) if j != wrist]
    assert np.allclose(seen[:, others], joints[:, others])      # the other bones already had their lengths


def test_a_fifteen_frame_clip_is_smoothed():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(0, 0.01, (15, 17, 3)), axis=0) + rng.normal(0, 0.02, (15, 17, 3))
    assert 15 <= short_clip_frames()
    y = butterworth(x, 60.0, 4.0)
    assert np.abs(np.diff(y, 2, axis=0)).mean() < 0.5 * np.abs(np.diff(x, 2, axis=0)).mean()


def test_the_shipped_model_flags_a_two_second_gap_instead_of_animating_it(repo):
    """The whole lift (real weights, the bundled demo walk): 60 frames without a detection are
    held and flagged, the frames around them stay detected, the bones stay constant."""
    from engine.lifter import Lifter
    from engine.sequence import KeypointSequence

    seq = KeypointSequence.load(repo / "engine/assets/demo_keypoints.npz")
    kp, sc = seq.keypoints.copy(), seq.scores.copy()
    kp[150:210], sc[150:210] = 0.0, 0.0
    kp, sc, report = fill_gaps(kp, sc)
    gapped = KeypointSequence(kp, sc, seq.image_size, seq.fps, {**seq.meta, "gaps": report})
    result = Lifter(repo / "weights/dreampose3d.safetensors", "cpu").lift(gapped)
    assert (result.frame_flags[150:210] == FRAME_HELD).all()
    assert (result.frame_flags[:150] == FRAME_DETECTED).all() and (result.frame_flags[210:] == FRAME_DETECTED).all()
    assert np.ptp(result.joints3d[150:210], axis=0).max() < 1e-5          # one held pose, no motion
    assert result.meta["gaps"]["frames_held"] == 60
    lengths = bone_lengths(result.joints3d)
    assert (lengths.std(axis=0) / lengths.mean(axis=0)).max() < 1e-4
    assert result.contacts[:150].any()


def _standing(frames: int) -> np.ndarray:
    """The walker's first pose held for `frames` frames, arms swinging: an exercise on one spot."""
    world = np.repeat(walk(1, FPS)[0], frames, axis=0)
    t = np.arange(frames) / FPS
    world[:, [13, 16], 2] += 0.3 * np.sin(2 * np.pi * t)[:, None]
    return world


def test_a_glitch_is_a_gap_and_a_cut_starts_a_segment():
    """Edited videos cut to another zoom, and detectors snap elsewhere for a few frames: the few
    frames that come back are a flagged gap; a change that stays starts a new segment."""
    _, uv = view(_standing(120), 10.0)
    scores = np.ones(uv.shape[:2], np.float32)
    uv[40:43] += np.array([0.5, 0.1], np.float32)             # three frames on something else
    uv[80:] = uv[80:] * 1.6 + np.array([0.1, 0.3], np.float32)   # the video zooms in and stays
    glitch, cuts = sudden_changes(uv, scores, np.ones(120, bool), FPS)
    assert np.flatnonzero(glitch).tolist() == [40, 41, 42] and cuts == [80]
    joints, _ = view(_standing(120), 10.0)
    out = clean_motion(joints, uv, scores, FPS, focal=FOCAL)
    assert (out.frame_flags[40:43] == FRAME_INTERPOLATED).all()
    assert [s for s, _ in out.meta["segments"]] == [0, 80]
    pelvis = out.world[:, 0, :2]
    assert np.linalg.norm(pelvis[80:].mean(0) - pelvis[:80].mean(0)) < 0.05   # no teleport at the cut
    _, walk_uv = view(walk(120, FPS)[0], 10.0)                 # a brisk walk is neither
    glitch, cuts = sudden_changes(walk_uv, scores, np.ones(120, bool), FPS)
    assert not glitch.any() and cuts == []


def test_a_person_who_keeps_their_distance_keeps_one_depth():
    """The size-based depth of an exercise on a mat wandered up to 2 m. Where the body meets the
    floor in the image says how far away it is: a person on one spot, or walking across the picture,
    is held at one depth along the pelvis's viewing ray; one walking away from the camera is not."""
    _, uv = view(_standing(180), 10.0)
    scores = np.ones(uv.shape[:2], np.float32)
    t = np.arange(180) / FPS
    true = np.array([0.0, 0.5, 5.0])
    root = true * (1.0 + 0.3 * np.sin(2 * np.pi * t / 3)[:, None])   # +-1.5 m of depth error
    held, report = hold_still_depth(root, uv, scores, np.eye(3), FOCAL, np.ones(180, bool), [[0, 179]], FPS)
    assert [r["held"] for r in report] == [True]
    assert np.ptp(held[:, 2]) < 1e-6 and abs(held[0, 2] - 5.0) < 0.2
    assert np.allclose(held[:, :2] / held[:, 2:], root[:, :2] / root[:, 2:])   # same image position
    across = walk(180, FPS)[0]
    _, across_uv = view(across, 10.0)
    _, report = hold_still_depth(root, across_uv, scores, np.eye(3), FOCAL, np.ones(180, bool), [[0, 179]], FPS)
    assert [r["held"] for r in report] == [True]
    away = across[..., [1, 0, 2]]                               # the same walk, away from the camera
    _, away_uv = view(away, 10.0)
    kept, report = hold_still_depth(root, away_uv, scores, np.eye(3), FOCAL, np.ones(180, bool), [[0, 179]], FPS)
    assert [r["held"] for r in report] == [False] and np.array_equal(kept, root)


def test_joints_clamped_to_the_image_border_count_as_unseen():
    uv = np.array([[[0.995, 0.0], [-1.0, 0.1], [0.5, 0.5625], [1.4, 0.0], [0.2, 0.3]]], np.float32)
    assert at_image_edge(uv, 0.5625).tolist() == [[True, True, True, False, False]]
    assert at_image_edge(uv, None).tolist() == [[True, True, False, False, False]]
