"""Issue #20 in the real bpy 5.0.1 module: a video in the panel's input field ends in an animated
armature with the video as the camera's background (a movie clip lined up with the animation's
frames) and a camera matching the lift; the two panel settings turn them off; a failure late in
the apply leaves no camera or clip behind.

The end-to-end test runs the real engine (MediaPipe on a 30-frame cut of the shared sample video,
the tiny random-weight checkpoint); the others apply a result whose meta names a small video that
the test writes with OpenCV.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import addon_synth
from engine_support import require_shared

pytestmark = pytest.mark.bpy

cv2 = pytest.importorskip("cv2", reason="the [video] extra (OpenCV) is not installed")


def _footage_meta(video_path, frames, size=(320, 240)):
    """What the engine writes (engine/footage.py) for a camera 4 m in front of the rig, 1.2 m up."""
    rot = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])     # camera x right, y down, z forward
    return {"footage": {"video": {"path": str(video_path), "name": video_path.name, "frames": frames, "fps": 30.0,
                                  "image_size": list(size)},
                        "detector": {"name": "MediaPipe Pose", "model": "full"}, "first_frame": 0,
                        "camera": {"horizontal_fov_deg": 60.0, "image_size": list(size), "location": [0.0, -4.0, 1.2],
                                   "rotation": rot.tolist(), "reprojection_px": {"median": 3.0, "p90": 6.0}}}}


@pytest.fixture()
def small_video(tmp_path):
    from engine import video

    frames = [np.full((240, 320, 3), 40 + 4 * i, np.uint8) for i in range(60)]
    return video.write_video(tmp_path / "take.mp4", frames, 30.0)


@pytest.fixture()
def video_result(tmp_path, small_video):
    res = addon_synth.walking_result(frames=60)
    res.meta.update(_footage_meta(small_video, 60))
    path = tmp_path / "take_result.npz"
    res.save(path)
    return path


def _background(cam):
    bgs = [b for b in cam.data.background_images if b.source == "MOVIE_CLIP"]
    assert len(bgs) == 1 and cam.data.show_background_images
    return bgs[0]


def test_a_result_from_a_video_brings_its_clip_and_camera(registered, video_result, small_video):
    bpy = registered
    bpy.context.scene.frame_start = 11
    addon_synth.lift_in_panel(bpy, video_result, match_scene=True)
    scene = bpy.context.scene
    cam = scene.camera
    assert cam is not None and cam.name == "take camera" and cam.type == "CAMERA"
    bg = _background(cam)
    clip = bg.clip
    assert bpy.path.abspath(clip.filepath) == str(small_video) and clip.frame_duration == 60
    assert clip.frame_start == scene.frame_start == 11 and scene.frame_end == 70   # video frame i at frame 11 + i
    assert (scene.render.resolution_x, scene.render.resolution_y) == (320, 240)
    assert cam.data.sensor_fit == "HORIZONTAL" and math.degrees(cam.data.angle_x) == pytest.approx(60.0, abs=1e-3)
    m = np.array(cam.matrix_world)
    assert np.allclose(m[:3, 3], [0, -4, 1.2], atol=1e-5)
    assert np.allclose(m[:3, 2], [0, -1, 0], atol=1e-5)     # it looks down its -Z: along +Y, at the rig
    assert np.allclose(m[:3, 1], [0, 0, 1], atol=1e-5)      # its up is the world's up
    assert bpy.context.view_layer.objects.active.name == "DreamPose3D"   # the rig, not the camera
    # A second lift of the same video updates that camera and clip instead of adding more.
    addon_synth.lift_in_panel(bpy, video_result)
    assert len(bpy.data.cameras) == 1 and len(bpy.data.movieclips) == 1
    assert len(scene.camera.data.background_images) == 1


def test_the_panel_settings_turn_the_footage_off(registered, video_result):
    bpy = registered
    addon_synth.lift_in_panel(bpy, video_result, footage_background=False, footage_camera=False)
    assert bpy.context.scene.camera is None and not bpy.data.cameras and not bpy.data.movieclips
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_synth.lift_in_panel(bpy, video_result, footage_background=False, footage_camera=True)
    assert bpy.context.scene.camera is not None and not bpy.data.movieclips


def test_a_failure_after_the_footage_takes_it_away(registered, video_result, monkeypatch):
    from addon.blender import contacts

    bpy = registered
    bpy.context.scene.dreampose3d.input_path = str(video_result)

    def broken(*args, **kwargs):
        raise RuntimeError("the very last step broke")

    monkeypatch.setattr(contacts, "remove_overlay", broken)
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    assert not bpy.data.cameras and not bpy.data.movieclips and bpy.context.scene.camera is None
    assert (bpy.context.scene.render.resolution_x, bpy.context.scene.render.resolution_y) == (1920, 1080)


def test_a_moved_video_still_animates_the_rig(registered, video_result, small_video):
    bpy = registered
    small_video.rename(small_video.with_name("moved.mp4"))
    addon_synth.lift_in_panel(bpy, video_result)
    assert "DreamPose3D" in bpy.data.objects and not bpy.data.movieclips
    assert bpy.context.scene.camera is not None          # the camera needs no video


@pytest.mark.slow
@pytest.mark.shared
def test_a_video_in_the_input_field_ends_in_a_rig_over_the_footage(registered, tiny_checkpoint, tmp_path, monkeypatch):
    """End to end: the panel's input is a video; the real engine detects (MediaPipe full) and lifts."""
    from addon.blender import preferences
    from engine import video

    sample = require_shared("samples", "video", "sports2d_demo.mp4")
    clip_path = video.cut(sample, tmp_path / "wall.mp4", 30)
    bpy = registered
    monkeypatch.delenv("DREAMPOSE3D_PYTHON", raising=False)
    monkeypatch.setattr(preferences, "get_prefs", lambda context=None: preferences.Defaults(
        checkpoint=str(tiny_checkpoint), device="cpu"))
    import addon.blender.operators as ops

    monkeypatch.setattr(ops, "get_prefs", preferences.get_prefs)
    addon_synth.lift_in_panel(bpy, clip_path)
    scene = bpy.context.scene
    rig = bpy.data.objects["DreamPose3D"]
    assert rig.type == "ARMATURE" and len(rig.pose.bones) == 17 and scene.frame_end - scene.frame_start + 1 == 30
    heads = []
    for f in (scene.frame_start, scene.frame_start + 15, scene.frame_end):
        scene.frame_set(f)
        heads.append(np.array(rig.matrix_world @ rig.pose.bones["left_wrist"].tail))
    assert np.ptp(np.array(heads), axis=0).max() > 1e-3          # animated, not a still pose
    bg = _background(scene.camera)
    assert bpy.path.abspath(bg.clip.filepath) == str(clip_path.resolve()) and bg.clip.frame_duration == 30
    assert bg.clip.frame_start == scene.frame_start
    assert (scene.render.resolution_x, scene.render.resolution_y) == (1768, 994)
