"""The bpy-free half of the add-on: rig solver, result reader, engine client, presets."""

from __future__ import annotations

import numpy as np
import pytest

import addon_synth
from addon.core import engine_client, engine_locate, result_io, retarget, rig_solver
from addon.core.skeleton import FLIP_PAIRS, JOINT_NAMES, PARENTS


def test_skeleton_is_read_from_the_engine_not_copied():
    import engine.skeleton as es

    assert JOINT_NAMES == es.JOINT_NAMES
    assert PARENTS == es.PARENTS
    assert FLIP_PAIRS == es.FLIP_PAIRS


def test_skeleton_bones_and_bone_lengths_are_the_engines():
    """addon/core/skeleton.py is the add-on's one source of bones and bone lengths: they agree with
    engine.skeleton on any pose (and the solver's rest lengths are medians of them)."""
    import engine.skeleton as es

    from addon.core import skeleton

    assert skeleton.BONES == es.BONES and skeleton.ROOT == es.ROOT and skeleton.NUM_JOINTS == es.NUM_JOINTS
    pose = np.random.default_rng(3).normal(size=(2, 5, 17, 3))
    assert np.array_equal(skeleton.bone_lengths(pose), es.bone_lengths(pose))
    joints = addon_synth.walking_joints(30)
    rest = rig_solver.robust_bone_lengths(joints)
    median = np.median(es.bone_lengths(joints.astype(np.float64)), axis=0)
    for k, (_, b) in enumerate(skeleton.BONES):
        if not any(b in pair for pair in FLIP_PAIRS):
            assert rest[b] == pytest.approx(median[k])


def _forward_kinematics(m: rig_solver.RigMotion, t: int) -> np.ndarray:
    """Independent numpy FK of the solved pose: (17, 3) joint positions at frame t."""
    from scipy.spatial.transform import Rotation

    W, heads, out = {}, {}, np.zeros((17, 3))
    R = m.rest_matrices
    for b, name in enumerate(m.bone_names):
        w, x, y, z = m.quaternions[t, b]
        basis = Rotation.from_quat([x, y, z, w]).as_matrix()
        p = m.parent_of[b]
        if p < 0:
            W[b] = R[b, :3, :3] @ basis
            heads[b] = R[b, :3, 3] + R[b, :3, :3] @ m.root_location[t]
            out[0] = heads[b]
        else:
            W[b] = W[p] @ R[p, :3, :3].T @ R[b, :3, :3] @ basis
            heads[b] = out[PARENTS[b]]
            out[b] = heads[b] + W[b][:, 1] * m.rest_lengths[b] * m.scales[t, b]
    return out


def test_solved_rig_reproduces_the_joints():
    joints = addon_synth.walking_joints(60)
    m = rig_solver.solve(joints)
    for t in (0, 17, 59):
        assert np.abs(_forward_kinematics(m, t) - joints[t]).max() < 1e-5


def test_rest_lengths_are_symmetric_medians():
    joints = addon_synth.walking_joints(60)
    lengths = rig_solver.robust_bone_lengths(joints)
    for a, b in FLIP_PAIRS:
        assert lengths[a] == pytest.approx(lengths[b])
    thigh = np.median(np.linalg.norm(joints[:, 2] - joints[:, 1], axis=-1))
    assert lengths[2] == pytest.approx(thigh, rel=0.02)


def test_rest_pose_stands_on_the_ground_facing_minus_y():
    rest = rig_solver.rest_joints(rig_solver.robust_bone_lengths(addon_synth.walking_joints(30)))
    assert min(rest[3, 2], rest[6, 2]) == pytest.approx(0.0)
    assert rest[JOINT_NAMES.index("left_shoulder"), 0] > 0 > rest[JOINT_NAMES.index("right_shoulder"), 0]


def test_quaternions_never_flip():
    m = rig_solver.solve(addon_synth.walking_joints(120))
    dots = np.sum(m.quaternions[1:] * m.quaternions[:-1], axis=-1)
    assert dots.min() > 0.9


def test_matrix_to_quaternion_matches_scipy():
    from scipy.spatial.transform import Rotation

    r = Rotation.random(200, random_state=1)
    q = rig_solver.matrix_to_quaternion(r.as_matrix())
    ref = r.as_quat()[:, [3, 0, 1, 2]]
    assert np.allclose(np.abs(np.sum(q * ref, -1)), 1.0, atol=1e-9)


def test_root_motion_off_keeps_the_pelvis_in_place():
    m = rig_solver.solve(addon_synth.walking_joints(60), root_motion=False)
    assert np.ptp(m.joints[:, 0, :2], axis=0).max() < 1e-9


def test_foot_cleanup_pins_feet_during_contacts():
    joints = addon_synth.walking_joints(120)
    joints[:, [3, 6], :2] += np.random.default_rng(0).normal(0, 0.01, (120, 2, 2))  # foot skate jitter
    m = rig_solver.solve(joints, fps=30, foot_cleanup=True)
    assert m.contacts.any()
    for k, ankle in enumerate((6, 3)):
        c = m.contacts[:, k]
        starts = np.flatnonzero(c & ~np.r_[False, c[:-1]])
        for s in starts:
            e = s
            while e + 1 < len(c) and c[e + 1]:
                e += 1
            seg = m.joints[s:e + 1, ankle]
            assert np.ptp(seg, axis=0).max() < 1e-6  # held still
    thigh = np.linalg.norm(m.joints[:, 2] - m.joints[:, 1], axis=-1)
    assert np.allclose(thigh, np.linalg.norm(joints[:, 2] - joints[:, 1], axis=-1), atol=1e-6)


def test_result_reader_names_the_problem(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, joints3d=np.zeros((5, 17, 3)))
    with pytest.raises(result_io.ResultError, match="bad.npz is not a DreamPose3D result"):
        result_io.load_result(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(result_io.ResultError, match="cannot be read"):
        result_io.load_result(tmp_path / "junk.npz")
    assert not result_io.is_result_file(tmp_path / "junk.npz")


def test_result_reader_reads_the_engine_writer(walk_npz):
    res = result_io.load_result(walk_npz)
    assert res.joints_world.shape == (90, 17, 3)
    assert res.action_segments() == [(0, "a person walking"), (45, "a person waving")]


def test_lift_argv_passes_only_the_chosen_flags():
    opts = engine_client.LiftOptions(person="3", video="squats.mp4", fps=25, image_size=(1920, 1080), preset="quality",
                                     smooth="butterworth", smooth_hz=6)
    argv = engine_client.lift_argv(["py", "-m", "engine"], ["a.json"], "out.npz", opts)
    assert argv == ["py", "-m", "engine", "lift", "a.json", "-o", "out.npz", "--person", "3", "--video", "squats.mp4", "--fps", "25",
                    "--image-size", "1920", "1080", "--preset", "quality", "--smooth", "butterworth", "--smooth-hz", "6"]
    assert "--format" not in engine_client.lift_argv(["e"], ["a"], "o", engine_client.LiftOptions())
    assert "--smooth" not in engine_client.LiftOptions().argv()          # the engine's default filter
    assert engine_client.LiftOptions(smooth="none", smooth_hz=4).argv() == ["--smooth", "none"]   # raw output, asked for


def test_engine_crash_becomes_its_one_sentence(fake_engine, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "crash")
    with pytest.raises(engine_client.EngineClientError) as err:
        engine_client.run_lift(["walk.npz"], tmp_path / "o.npz", engine_client.LiftOptions())
    assert str(err.value) == "The keypoint file walk.npz has no person with enough visible joints."


def test_progress_events_are_streamed(fake_engine, tmp_path):
    events = []
    out = engine_client.run_lift(["walk.npz"], tmp_path / "o.npz", engine_client.LiftOptions(), on_event=events.append)
    assert out == [str(tmp_path / "o.npz")]
    assert [e["done"] for e in events if e["event"] == "progress"] == [1, 2, 3]


def test_missing_engine_is_one_sentence(monkeypatch):
    monkeypatch.setenv("DREAMPOSE3D_PYTHON", "/nonexistent/python")
    with pytest.raises(engine_client.EngineClientError, match="does not exist"):
        engine_client.find_engine()
    monkeypatch.delenv("DREAMPOSE3D_PYTHON")
    monkeypatch.setattr(engine_locate, "_SOURCE_ROOT", engine_locate.Path("/nonexistent"))
    monkeypatch.setattr(engine_locate.shutil, "which", lambda name: None)
    monkeypatch.setattr(engine_locate.sys, "executable", "/nonexistent/python3")
    with pytest.raises(engine_client.EngineClientError, match="engine was not found"):
        engine_client.find_engine()


def test_engine_is_found_in_the_repository_venv(monkeypatch):
    monkeypatch.delenv("DREAMPOSE3D_PYTHON", raising=False)
    cmd = engine_client.find_engine()
    assert cmd[1:] == ["-m", "engine"] and ".venv" in cmd[0]


def test_cancel_terminates_the_engine(fake_engine, monkeypatch, tmp_path):
    import os
    import time

    monkeypatch.setenv("FAKE_ENGINE_MODE", "hang")
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("FAKE_ENGINE_PIDFILE", str(pidfile))
    t0 = time.monotonic()
    with pytest.raises(engine_client.EngineClientError, match="cancelled"):
        engine_client.run_lift(["w.npz"], tmp_path / "o.npz", engine_client.LiftOptions(),
                               should_cancel=lambda: time.monotonic() - t0 > 0.5)
    assert time.monotonic() - t0 < 8
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_presets_name_known_bones_and_joints():
    table = retarget.presets()
    assert {"rigify_metarig", "mixamo", "blender_human_metarig"} <= set(table)
    for m in table.values():
        assert len(m.bones) >= 12 and m.root


def test_auto_mapping_recognises_mixamo_names_with_any_namespace():
    names = ["mixamorig1:Hips", "mixamorig1:Spine", "mixamorig1:Spine1", "mixamorig1:Spine2", "mixamorig1:Neck",
             "mixamorig1:Head"] + [f"mixamorig1:{s}{b}" for s in ("Left", "Right")
                                   for b in ("Shoulder", "Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot")]
    m = retarget.auto_mapping(names)
    assert m.root == "mixamorig1:Hips"
    assert m.bones["mixamorig1:LeftForeArm"] == (JOINT_NAMES.index("left_elbow"), JOINT_NAMES.index("left_wrist"))


def test_auto_mapping_guesses_from_generic_names():
    names = ["root", "pelvis", "spine", "neck", "head", "upperarm_l", "lowerarm_l", "upperarm_r", "lowerarm_r",
             "thigh_l", "calf_l", "thigh_r", "calf_r", "clavicle_l", "clavicle_r"]
    m = retarget.auto_mapping(names)
    assert m.bones["calf_r"] == (JOINT_NAMES.index("right_knee"), JOINT_NAMES.index("right_ankle"))
    assert m.bones["upperarm_l"] == (JOINT_NAMES.index("left_shoulder"), JOINT_NAMES.index("left_elbow"))


def test_a_presets_level_bones_are_read_and_checked(tmp_path):
    import json

    rigify = retarget.presets()["rigify_metarig"]
    assert rigify.level == {"foot.L": (JOINT_NAMES.index("left_knee"), JOINT_NAMES.index("left_ankle")),
                            "foot.R": (JOINT_NAMES.index("right_knee"), JOINT_NAMES.index("right_ankle"))}
    assert retarget.presets()["mixamo"].level == {}  # a preset without feet still loads
    assert retarget.bone_ending_at(rigify, JOINT_NAMES.index("left_ankle")) == "shin.L"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"root": "hips", "bones": {}, "level": {"foot": ["left_knee", "left_toe"]}}))
    with pytest.raises(retarget.RetargetError, match=r"Preset bad.json: bone foot names an unknown joint"):
        retarget.load_preset(bad)


def test_auto_mapping_prefers_the_preset_that_maps_more_bones():
    """Rigify's metarig fits both metarig presets completely; the one that also maps the feet and
    hands wins."""
    rigify = retarget.presets()["rigify_metarig"]
    names = [rigify.root] + list(rigify.bones) + list(rigify.level) + ["toe.L", "toe.R", "heel.02.L"]
    assert retarget.match_score(retarget.presets()["blender_human_metarig"], names) == 1.0
    m = retarget.auto_mapping(names)
    assert m.name == "Rigify metarig" and "foot.L" in m.level and "hand.R" in m.bones
