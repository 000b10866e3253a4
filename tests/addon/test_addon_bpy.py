"""The add-on in the real bpy 5.0.1 module: registration, the Lift operator, the generated rig,
retargeting, keyframes, and that failures leave the scene as it was."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from addon_rigs import build_mixamo_rig, odd_armature, posed_heads_tails
from addon_synth import snapshot

pytestmark = pytest.mark.bpy


def test_register_and_unregister(clean_bpy):
    import addon

    bpy = clean_bpy
    addon.register()
    try:
        assert hasattr(bpy.ops.dreampose3d, "lift")
        assert bpy.context.scene.dreampose3d.target == "NEW"
        assert "DREAMPOSE3D_PT_lift" in dir(bpy.types)
        assert bpy.types.DREAMPOSE3D_PT_lift.bl_category == "Lift to 3D"
    finally:
        addon.unregister()
    assert not hasattr(bpy.types.Scene, "dreampose3d")
    assert "DREAMPOSE3D_PT_lift" not in dir(bpy.types)


def test_operator_on_a_result_builds_an_exact_rig(registered, walk_npz):
    from addon.core import result_io
    from addon.core.skeleton import JOINT_INDEX, PARENTS

    bpy = registered
    bpy.context.scene.dreampose3d.input_path = str(walk_npz)
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"}
    res = result_io.load_result(walk_npz)
    obj = bpy.data.objects["DreamPose3D"]
    worst = 0.0
    for frame in (1, 23, 45, 90):
        pose = posed_heads_tails(bpy, obj, frame)
        want = res.joints_world[frame - 1]
        for name, (head, tail) in pose.items():
            j = JOINT_INDEX[name]
            if PARENTS[j] < 0:
                worst = max(worst, np.abs(head - want[j]).max())
            else:
                worst = max(worst, np.abs(head - want[PARENTS[j]]).max(), np.abs(tail - want[j]).max())
    assert worst < 1e-3  # metres: posed joints within 1 mm of joints3d_world
    scene = bpy.context.scene
    assert [(m.name, m.frame) for m in sorted(scene.timeline_markers, key=lambda m: m.frame)] == \
        [("a person walking", 1), ("a person waving", 46)]
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, 90, 30)
    from addon.blender.apply import prompt_at

    assert prompt_at(scene, 50) == "a person waving"


def test_keyframe_counts_and_quaternion_continuity(registered, walk_npz):
    from addon.blender import keyframes

    bpy = registered
    bpy.context.scene.dreampose3d.input_path = str(walk_npz)
    bpy.ops.dreampose3d.lift()
    obj = bpy.data.objects["DreamPose3D"]
    curves = keyframes.fcurves_of(obj)
    # root: 4 rotation + 3 location; 16 bones: 4 rotation + 1 Y scale; 2 foot-contact properties
    assert len(curves) == 7 + 16 * 5 + 2
    assert all(len(fc.keyframe_points) == 90 for fc in curves)
    by_bone = {}
    for fc in curves:
        if fc.data_path.endswith("rotation_quaternion"):
            vals = np.zeros(180)
            fc.keyframe_points.foreach_get("co", vals)
            by_bone.setdefault(fc.data_path, {})[fc.array_index] = vals[1::2]
    for path, comps in by_bone.items():
        q = np.stack([comps[i] for i in range(4)], -1)
        assert np.sum(q[1:] * q[:-1], -1).min() > 0.9, path


def test_keyframes_use_slotted_actions_in_blender_5(registered, walk_npz):
    bpy = registered
    bpy.context.scene.dreampose3d.input_path = str(walk_npz)
    bpy.ops.dreampose3d.lift()
    ad = bpy.data.objects["DreamPose3D"].animation_data
    assert ad.action_slot is not None and ad.action_slot.target_id_type == "OBJECT"


def _segment_angle_errors(bpy, rig, mapping, motion, frames):
    worst = 0.0
    for frame in frames:
        pose = posed_heads_tails(bpy, rig, frame)
        for bone, (a, b) in mapping.bones.items():
            head, tail = pose[bone]
            d = (tail - head) / np.linalg.norm(tail - head)
            s = motion.joints[frame - 1, b] - motion.joints[frame - 1, a]
            s /= np.linalg.norm(s)
            worst = max(worst, math.degrees(math.acos(np.clip(d @ s, -1, 1))))
    return worst


def test_retarget_onto_rigify_metarig(registered, walk_npz):
    import addon_utils
    from addon.blender import retarget_rig as retarget
    from addon.core import result_io, rig_solver

    bpy = registered
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    rig = bpy.context.object
    s = bpy.context.scene.dreampose3d
    s.input_path, s.target, s.armature, s.mapping = str(walk_npz), "EXISTING", rig, "rigify_metarig"
    objects_before = len(bpy.data.objects)
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"}
    assert len(bpy.data.objects) == objects_before  # no new rig
    motion = rig_solver.solve(result_io.load_result(walk_npz).joints_world)
    mapping = retarget.mapping_for(rig, "rigify_metarig")
    assert _segment_angle_errors(bpy, rig, mapping, motion, (1, 30, 60, 90)) < 1.0


def test_retarget_onto_a_mixamo_rig_with_auto_mapping(registered, walk_npz):
    from addon.blender import retarget_rig as retarget
    from addon.core import result_io, rig_solver

    bpy = registered
    rig = build_mixamo_rig(bpy)
    s = bpy.context.scene.dreampose3d
    s.input_path, s.target, s.armature, s.mapping = str(walk_npz), "EXISTING", rig, "AUTO"
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"}
    res = result_io.load_result(walk_npz)
    motion = rig_solver.solve(res.joints_world)
    mapping = retarget.mapping_for(rig, "AUTO")
    assert mapping.name == "Mixamo"
    assert _segment_angle_errors(bpy, rig, mapping, motion, (1, 45, 90)) < 1.0
    # root motion scaled by leg length: target thigh + shin vs the source's
    target_leg = 0.44 + math.hypot(0.45, 0.02)
    src_leg = motion.rest_lengths[2] + motion.rest_lengths[3]
    hips = [posed_heads_tails(bpy, rig, f)["mixamorig:Hips"][0] for f in (1, 90)]
    travelled = hips[1][:2] - hips[0][:2]
    src = motion.joints[89, 0, :2] - motion.joints[0, 0, :2]
    assert np.allclose(travelled, src * (target_leg / src_leg), atol=1e-3)


def test_operator_runs_the_engine_and_reports_progress(registered, fake_engine, tmp_path):
    bpy = registered
    (tmp_path / "clip.json").write_text("{}")
    bpy.context.scene.dreampose3d.input_path = str(tmp_path / "clip.json")
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"}
    assert "DreamPose3D" in bpy.data.objects


@pytest.mark.parametrize("case", ["crash", "missing", "bad_file", "no_input"])
def test_failure_leaves_the_scene_unchanged(registered, fake_engine, monkeypatch, tmp_path, case):
    bpy = registered
    (tmp_path / "clip.json").write_text("{}")
    path = tmp_path / "clip.json"
    if case == "crash":
        monkeypatch.setenv("FAKE_ENGINE_MODE", "crash")
    elif case == "missing":
        monkeypatch.setenv("DREAMPOSE3D_PYTHON", str(tmp_path / "no_such_python"))
    elif case == "bad_file":
        bad = tmp_path / "bad_result.npz"
        np.savez(bad, joints3d_world=np.full((4, 17, 3), np.nan), joints3d=np.zeros((4, 17, 3)), fps=30.0,
                 action_names=np.array(["a"]), action_probs=np.ones((4, 1)), prompt=np.array(["a"] * 4))
        path = bad
    elif case == "no_input":
        path = tmp_path / "does_not_exist.json"
    bpy.context.scene.dreampose3d.input_path = str(path)
    before = snapshot(bpy)
    with pytest.raises(RuntimeError):  # bpy.ops raises on an ERROR report in background mode
        bpy.ops.dreampose3d.lift()
    assert snapshot(bpy) == before
    message = bpy.context.window_manager.dreampose3d_run.last_error
    assert message.endswith(".") and "\n" not in message
    if case == "crash":
        assert message == "The keypoint file walk.npz has no person with enough visible joints."


def test_cancel_leaves_the_scene_unchanged(registered, fake_engine, monkeypatch, tmp_path):
    from addon.blender import run_state

    bpy = registered
    monkeypatch.setenv("FAKE_ENGINE_MODE", "hang")
    (tmp_path / "clip.json").write_text("{}")
    bpy.context.scene.dreampose3d.input_path = str(tmp_path / "clip.json")
    before = snapshot(bpy)
    timer = threading.Timer(0.5, run_state.request_cancel)
    timer.start()
    with pytest.raises(RuntimeError, match="cancelled"):
        bpy.ops.dreampose3d.lift()
    assert snapshot(bpy) == before
    assert "cancelled" in bpy.context.window_manager.dreampose3d_run.last_error


def test_retarget_failure_leaves_the_scene_unchanged(registered, walk_npz):
    bpy = registered
    obj = odd_armature(bpy)
    s = bpy.context.scene.dreampose3d
    s.input_path, s.target, s.armature, s.mapping = str(walk_npz), "EXISTING", obj, "AUTO"
    before = snapshot(bpy)
    with pytest.raises(RuntimeError, match="No mapping preset fits"):
        bpy.ops.dreampose3d.lift()
    assert snapshot(bpy) == before


def test_headless_batch_with_the_bpy_module(walk_npz, tmp_path, repo):
    import subprocess
    import sys

    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(repo / "addon" / "batch.py"), "--input", str(walk_npz), "--output",
                        str(out), "--export", "bvh,fbx,blend"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {"walk_result.npz", "walk_result.bvh", "walk_result.fbx",
                                               "walk_result.blend"}
    bvh = (out / "walk_result.bvh").read_text()
    assert "Frames: 90" in bvh and bvh.count("JOINT") == 16
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(out / "walk_result.fbx"))
    assert [tuple(a.frame_range) for a in bpy.data.actions] == [(1.0, 90.0)]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bad = subprocess.run([sys.executable, str(repo / "addon" / "batch.py"), "--input", str(tmp_path / "none.npz"),
                          "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines()[-1].startswith("error: The input")


@pytest.mark.slow
def test_operator_with_the_real_engine(registered, keypoints_file, tiny_checkpoint, monkeypatch):
    """End to end: the real `python -m engine lift` with the tiny random-weight checkpoint."""
    from addon.blender import preferences

    bpy = registered
    monkeypatch.delenv("DREAMPOSE3D_PYTHON", raising=False)
    monkeypatch.setattr(preferences, "get_prefs", lambda context=None: preferences.Defaults(
        checkpoint=str(tiny_checkpoint), device="cpu"))
    import addon.blender.operators as ops

    monkeypatch.setattr(ops, "get_prefs", preferences.get_prefs)
    bpy.context.scene.dreampose3d.input_path = str(keypoints_file)
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"}, bpy.context.window_manager.dreampose3d_run.last_error
    obj = bpy.data.objects["DreamPose3D"]
    assert bpy.context.scene.frame_end == 60
    assert len(obj.pose.bones) == 17


def test_scan_lists_people_from_engine_inspect(registered, fake_engine, tmp_path):
    bpy = registered
    (tmp_path / "clip.json").write_text("{}")
    s = bpy.context.scene.dreampose3d
    s.input_path = str(tmp_path / "clip.json")
    assert bpy.ops.dreampose3d.scan() == {"FINISHED"}
    from addon.blender.enum_cache import ITEMS

    assert [i[0] for i in ITEMS.people(str(tmp_path / "clip.json"))] == ["auto", "0", "3"]
    s.person = "3"
    from addon.blender.operators import lift_options

    assert lift_options(bpy.context).argv()[:2] == ["--person", "3"]


def test_the_engines_fit_warning_reaches_the_panel_and_headless_batch(registered, walk_npz, tmp_path, repo):
    """A result whose 3D ignores the 2D carries the engine's warning in its meta: the operator reports it and
    keeps it for the panel, a good result clears it, and batch prints it on stderr."""
    import subprocess
    import sys

    from addon_synth import walking_result
    from engine.reprojection import summarise

    res = walking_result(90)
    res.meta["reprojection"] = summarise(np.full(90, 0.6))
    poor = tmp_path / "poor.npz"
    res.save(poor)
    bpy = registered
    run = bpy.context.window_manager.dreampose3d_run
    bpy.context.scene.dreampose3d.input_path = str(poor)
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"}
    assert run.warning == res.meta["reprojection"]["warning"] and run.warning.startswith("The 3D agrees poorly")
    bpy.context.scene.dreampose3d.input_path = str(walk_npz)
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"} and run.warning == ""
    r = subprocess.run([sys.executable, str(repo / "addon" / "batch.py"), "--input", str(poor), "--output",
                        str(tmp_path / "out"), "--export", "bvh"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"warning: poor: {res.meta['reprojection']['warning']}" in r.stderr.splitlines()


@pytest.mark.shared
def test_scan_lists_the_videos_of_a_videopose3d_file(registered, monkeypatch):
    """The real engine inspects the real 55-video VideoPose3D file; the chosen video goes to `lift`."""
    from engine_support import require_shared

    from addon.blender.enum_cache import ITEMS
    from addon.blender.operators import lift_options

    sample = str(require_shared("samples", "videopose3d_custom", "data_2d_custom_myvideos.npz"))
    monkeypatch.delenv("DREAMPOSE3D_PYTHON", raising=False)
    bpy = registered
    s = bpy.context.scene.dreampose3d
    s.input_path = sample
    assert [i[0] for i in ITEMS.videos(sample)] == ["first"]
    assert lift_options(bpy.context).video is None
    assert bpy.ops.dreampose3d.scan() == {"FINISHED"}
    names = [i[0] for i in ITEMS.videos(sample)]
    assert len(names) == 55 and names[0] == "abdomina_crunches.mp4" and "squats.mp4" in names
    s.video = "squats.mp4"
    argv = lift_options(bpy.context).argv()
    assert argv[argv.index("--video") + 1] == "squats.mp4"


def test_panel_smoothing_defaults_are_the_engines(registered):
    from engine.smoothing import BUTTERWORTH_HZ, DEFAULT_METHOD

    props = registered.context.scene.dreampose3d.bl_rna.properties
    assert props["smoothing"].default == DEFAULT_METHOD and props["smooth_hz"].default == BUTTERWORTH_HZ


def test_check_engine_reports_checkpoint_and_device(registered, tiny_checkpoint, monkeypatch):
    from addon.blender import operators, preferences

    bpy = registered
    monkeypatch.delenv("DREAMPOSE3D_PYTHON", raising=False)
    monkeypatch.setattr(operators, "get_prefs", lambda context=None: preferences.Defaults(
        checkpoint=str(tiny_checkpoint), device="cpu"))
    assert bpy.ops.dreampose3d.check_engine() == {"FINISHED"}


def test_headless_batch_retargets_onto_a_rig_file(clean_bpy, walk_npz, tmp_path, repo):
    import subprocess
    import sys

    import addon_utils

    bpy = clean_bpy
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    rig_path = tmp_path / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(rig_path))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(repo / "addon" / "batch.py"), "--input", str(walk_npz), "--output",
                        str(out), "--rig", str(rig_path), "--armature", "metarig", "--mapping", "rigify_metarig",
                        "--export", "blend"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    bpy.ops.wm.open_mainfile(filepath=str(out / "walk_result.blend"))
    rig = bpy.data.objects["metarig"]
    assert len(bpy.data.objects) == 1 and rig.animation_data.action is not None
    bpy.context.scene.frame_set(45)
    assert rig.pose.bones["thigh.L"].rotation_quaternion.angle > 0.01
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_a_failure_half_way_removes_what_was_created(registered, walk_npz, monkeypatch):
    from addon.blender import armature_build

    bpy = registered

    def broken(*args, **kwargs):
        raise RuntimeError("keyframe writer broke")

    monkeypatch.setattr(armature_build, "keyframe_motion", broken)
    bpy.context.scene.dreampose3d.input_path = str(walk_npz)
    before = snapshot(bpy)
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    assert snapshot(bpy) == before


@pytest.mark.slow
def test_scan_and_lift_refuse_a_crafted_pickle_with_the_engines_sentence(registered, tmp_path, monkeypatch):
    """Scan runs `engine inspect` on whatever file the user picks: a VideoPose3D .npz carrying a pickle
    payload must not run, Scan and Lift must show the engine's sentence as it is, the scene stays as it was."""
    from engine_support import OpensFile

    monkeypatch.delenv("DREAMPOSE3D_PYTHON", raising=False)
    marker = tmp_path / "PWNED"
    path = tmp_path / "clip_keypoints.npz"
    np.savez(path, positions_2d=np.array({"v": {"custom": [OpensFile(marker)]}}, dtype=object),
             metadata=np.array({"layout_name": "coco"}, dtype=object))
    bpy = registered
    bpy.context.scene.dreampose3d.input_path = str(path)
    bpy.context.scene.dreampose3d.fps = 30
    before = snapshot(bpy)
    with pytest.raises(RuntimeError, match=r"clip_keypoints\.npz: holds a pickled .* so it was not read\."):
        bpy.ops.dreampose3d.scan()
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    message = bpy.context.window_manager.dreampose3d_run.last_error
    assert message.startswith("clip_keypoints.npz: holds a pickled") and "\n" not in message
    assert not marker.exists() and snapshot(bpy) == before
