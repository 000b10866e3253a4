"""Issue #20: the camera that sees a lifted clip as its video does (engine/footage.py), and its
Blender form (addon/core/footage.py). A clip is made in a known camera (pitched down, off to the
side), projected through the lens the lift was told (a 26 mm phone lens, in the result's meta) and moved into the world the way the clean-up
does (turned upright, grounded, started over the origin): the fit must find that camera again, and
the Blender camera built from it must put the world joints on the same pixels."""

from __future__ import annotations

import math

import numpy as np

from engine import footage
from engine.frames import camera_to_blender, horizontal_fov_deg, screen_focal
from engine.sequence import KeypointSequence, LiftResult
from engine_support import walking_keypoints

W, H = 1280, 720
F = screen_focal(W, H, 26.0)


def _rot_x(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _clip(frames: int = 40):
    rng = np.random.default_rng(0)
    seq = walking_keypoints(frames, W, H)
    pose = np.zeros((frames, 17, 3))
    pose[..., :2] = (seq.keypoints - seq.keypoints[:, :1]) / 800.0                   # metres, root-relative
    pose[..., 2] = 0.1 * rng.standard_normal((frames, 17))
    root = np.stack([np.linspace(-0.5, 0.5, frames), np.full(frames, 0.3), np.full(frames, 4.0)], axis=1)
    cam_points = pose + root[:, None]                       # camera frame: x right, y down, z forward
    u = F * cam_points[..., 0] / cam_points[..., 2]
    v = F * cam_points[..., 1] / cam_points[..., 2]
    px = np.stack([(u + 1) * W / 2, (v + H / W) * W / 2], axis=-1)
    upright = _rot_x(math.radians(12.0))                    # the clean-up's turn to gravity
    world = camera_to_blender(cam_points @ upright.T)
    offset = np.array([world[0, 0, 0], world[0, 0, 1], world[..., 2].min()])
    world = world - offset                                  # over the origin, on the floor
    true_centre = -offset                                   # where the camera's origin went
    c2b = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]])
    true_rot = c2b @ upright                                # camera axes in the world
    result = LiftResult(pose.astype(np.float32), world.astype(np.float32), 30.0, ["walk"], np.ones((frames, 1), np.float32),
                        ["a person walking"] * frames, {"camera_lens": {"lens_mm_35": 26.0, "focal_screen": F}})
    kp = KeypointSequence(px.astype(np.float32), np.full((frames, 17), 0.9, np.float32), (W, H), 30.0, {})
    return result, kp, true_centre, true_rot


def test_the_fit_finds_the_camera_the_clip_was_made_in():
    result, kp, centre, rot = _clip()
    cam = footage.fit_camera(result, kp.keypoints, kp.scores, kp.image_size)
    assert np.allclose(cam["location"], centre, atol=1e-3)
    assert np.allclose(cam["rotation"], rot, atol=1e-4)
    assert cam["reprojection_px"]["median"] < 0.1 and cam["horizontal_fov_deg"] == round(horizontal_fov_deg(F), 6) > 60 and cam["image_size"] == [W, H]


def test_annotate_only_touches_results_from_a_video():
    result, kp, _, _ = _clip()
    footage.annotate(result, kp)
    assert "footage" not in result.meta
    kp.meta = {"video": {"path": "/nowhere/clip.mp4", "frames": 40, "fps": 30.0, "image_size": [W, H]},
               "detector": {"model": "full"}}
    footage.annotate(result, kp)
    assert result.meta["footage"]["camera"]["image_size"] == [W, H]
    assert result.meta["footage"]["note"] == "the video is no longer where it was detected"
    kp.meta = {"source_meta": dict(kp.meta)}                 # a keypoints file `detect` wrote
    result.meta.clear()
    footage.annotate(result, kp)
    assert result.meta["footage"]["video"]["path"] == "/nowhere/clip.mp4"


def test_the_blender_camera_puts_the_joints_on_their_pixels():
    """Blender's camera looks down its -Z with +Y up; projecting through its matrix reproduces the 2D."""
    from addon.core import footage as addon_footage

    result, kp, _, _ = _clip()
    footage.annotate(result, KeypointSequence(kp.keypoints, kp.scores, kp.image_size, 30.0,
                                              {"video": {"path": "/v.mp4", "frames": 40, "fps": 30.0, "image_size": [W, H]}}))
    info = addon_footage.from_meta(result.meta)
    m = info.camera.matrix_world
    p = np.asarray(result.joints3d_world, np.float64).reshape(-1, 3)
    local = (p - m[:3, 3]) @ m[:3, :3]                      # camera-local: x right, y up, looking down -z
    half = math.tan(info.camera.horizontal_fov / 2)
    x = (local[:, 0] / -local[:, 2] / half + 1) * W / 2
    y = (H / 2) - local[:, 1] / -local[:, 2] / half * W / 2
    assert np.median(np.hypot(x - kp.keypoints.reshape(-1, 2)[:, 0], y - kp.keypoints.reshape(-1, 2)[:, 1])) < 0.1
    assert info.image_size == (W, H) and info.frames == 40
