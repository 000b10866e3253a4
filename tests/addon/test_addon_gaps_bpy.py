"""Issue #18 in the real bpy 5.0.1 module: gaps on the timeline and in the panel, held frames
still keyed, markers replaced per armature, foot contacts as keyed properties and as an optional
overlay, and a failed run that leaves none of it behind."""

from __future__ import annotations

import json

import numpy as np
import pytest

import addon_synth
from addon_synth import GAPPY_HELD, snapshot

pytestmark = pytest.mark.bpy


@pytest.fixture()
def gappy_npz(tmp_path):
    path = tmp_path / "gappy.npz"
    addon_synth.gappy_result().save(path)
    return path


def _metarig(bpy):
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.object


def _markers(scene):
    return sorted((m.frame, m.name) for m in scene.timeline_markers)


def _world(bpy, obj, point):
    M = np.array(obj.matrix_world)
    return M[:3, :3] @ np.array(point) + M[:3, 3]


GAPPY_MARKERS = [(1, "a person walking"), (13, "interp 13-15"), (121, "identity 2 121-300"), (171, "held 171-230")]


def test_gaps_and_identity_changes_are_marked_on_the_timeline(registered, gappy_npz):
    bpy = registered
    addon_synth.lift_in_panel(bpy, gappy_npz)
    assert _markers(bpy.context.scene) == GAPPY_MARKERS


def test_a_second_run_on_the_same_armature_replaces_its_markers(registered, gappy_npz, walk_npz):
    """Per armature: the add-on's earlier markers for this rig go, the user's own stay (even one
    the user renamed from the add-on's), and another armature's stay."""
    bpy = registered
    scene = bpy.context.scene
    rig = _metarig(bpy)
    scene.timeline_markers.new("my key pose", frame=40)
    addon_synth.lift_in_panel(bpy, gappy_npz, target="EXISTING", armature=rig, mapping="rigify_metarig")
    assert _markers(scene) == sorted(GAPPY_MARKERS + [(40, "my key pose")])
    next(m for m in scene.timeline_markers if m.name == "held 171-230").name = "walk out"  # now the user's
    addon_synth.lift_in_panel(bpy, gappy_npz)
    mine = [(40, "my key pose"), (171, "walk out")]
    assert _markers(scene) == sorted(GAPPY_MARKERS + mine)
    addon_synth.lift_in_panel(bpy, gappy_npz, target="NEW")  # a generated rig: its own markers, at the same frames
    assert _markers(scene) == sorted(GAPPY_MARKERS * 2 + mine)
    addon_synth.lift_in_panel(bpy, walk_npz, target="EXISTING")
    assert _markers(scene) == sorted(GAPPY_MARKERS + [(1, "a person walking"), (46, "a person waving")] + mine)


def test_held_frames_are_keyed_with_the_held_pose(registered, gappy_npz):
    """The rig must not drift through a held gap (which it would if the gap were left unkeyed and
    Blender interpolated across it): every frame has a key and the held frames hold one pose."""
    from addon.blender import keyframes

    bpy = registered
    addon_synth.lift_in_panel(bpy, gappy_npz)
    obj = bpy.data.objects["DreamPose3D"]
    assert {len(fc.keyframe_points) for fc in keyframes.fcurves_of(obj)} == {addon_synth.GAPPY_FRAMES}
    s, e = GAPPY_HELD
    poses = []
    for frame in (s, s + 1, (s + e) // 2 + 1, e + 1):  # scene frames: the last detected one, then held ones
        bpy.context.scene.frame_set(frame)
        ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        poses.append(np.array([_world(bpy, ev, pb.tail) for pb in ev.pose.bones]))
    assert max(np.abs(p - poses[0]).max() for p in poses[1:]) < 1e-4


def test_the_panel_shows_the_gap_counts(registered, gappy_npz, walk_npz):
    from addon.blender import panel

    class Layout:  # records what the panel draws; the panel's own code runs
        def __init__(self, out):
            self.out = out

        def column(self, **kw):
            return self

        row = box = column

        def label(self, text="", **kw):
            self.out.append(text)

        def prop(self, *a, **kw):
            pass

        def operator(self, *a, **kw):
            return type("Op", (), {})()

    bpy = registered
    addon_synth.lift_in_panel(bpy, gappy_npz)
    drawn = []
    panel.draw_run(Layout(drawn), bpy.context)
    assert drawn[drawn.index("Gaps: 60 frames held") + 1] == "3 interpolated"  # two lines: one is cut
    addon_synth.lift_in_panel(bpy, walk_npz)
    drawn.clear()
    panel.draw_run(Layout(drawn), bpy.context)
    assert not any(t.startswith("Gaps") for t in drawn)


def test_contacts_are_keyed_on_the_armature_with_constant_interpolation(registered, gappy_npz):
    from addon.blender import keyframes
    from addon.core import result_io

    bpy = registered
    addon_synth.lift_in_panel(bpy, gappy_npz)
    res = result_io.load_result(gappy_npz)
    obj = bpy.data.objects["DreamPose3D"]
    curves = {fc.data_path: fc for fc in keyframes.fcurves_of(obj)}
    for k, key in enumerate(("dp3d_contact_left", "dp3d_contact_right")):
        fc = curves[f'["{key}"]']
        co = np.zeros(2 * len(fc.keyframe_points))
        fc.keyframe_points.foreach_get("co", co)
        assert np.array_equal(co[1::2], res.contacts[:, k]) and np.array_equal(co[0::2], np.arange(1, 301))
        assert {kp.interpolation for kp in fc.keyframe_points} == {"CONSTANT"}
    changes = np.flatnonzero(np.diff(res.contacts[:, 0].astype(int)))
    assert len(changes) > 2
    for i in changes[:3]:  # a contact switches on a frame, it does not fade
        for f in (i, i + 1):
            bpy.context.scene.frame_set(int(f) + 1)
            bpy.context.scene.frame_set(int(f) + 1, subframe=0.5)
            assert obj["dp3d_contact_left"] == int(res.contacts[f, 0])
    assert not any("dreampose3d_contact_overlay" in c for c in obj.children)  # the overlay is off by default


@pytest.mark.parametrize("target", ["NEW", "EXISTING"])
def test_the_contact_overlay_follows_the_ankles_and_shows_the_contacts(registered, gappy_npz, target):
    from addon.core import result_io, rig_solver

    bpy = registered
    rig = _metarig(bpy) if target == "EXISTING" else None
    settings = dict(target="EXISTING", armature=rig, mapping="rigify_metarig") if rig else {}
    addon_synth.lift_in_panel(bpy, gappy_npz, contact_overlay=True, **settings)
    addon_synth.lift_in_panel(bpy, gappy_npz, contact_overlay=True, **settings) if rig else None  # a rerun replaces the spheres
    obj = rig or bpy.data.objects["DreamPose3D"]
    spheres = sorted((c for c in obj.children if "dreampose3d_contact_overlay" in c), key=lambda c: c.name)
    assert [(s.empty_display_type, s.parent_type) for s in spheres] == [("SPHERE", "BONE")] * 2
    assert [s.parent_bone for s in spheres] == (["shin.L", "shin.R"] if rig else ["left_ankle", "right_ankle"])
    res = result_io.load_result(gappy_npz)
    motion = rig_solver.solve(res.joints_world)
    checked = 0
    for frame in range(1, 150, 7):
        bpy.context.scene.frame_set(frame)
        for k, sphere in enumerate(spheres):
            assert sphere.hide_viewport == (not res.contacts[frame - 1, k])
            if sphere.hide_viewport:  # a hidden object is not evaluated: its matrix is stale
                continue
            checked += 1
            if rig is None:  # on the generated rig the sphere sits on the result's ankle
                ankle = motion.joints[frame - 1, rig_solver.joint(("left_ankle", "right_ankle")[k])]
                assert np.abs(np.array(sphere.matrix_world.translation) - ankle).max() < 1e-3
            else:  # on a rig, on the tail of its shin
                ev = rig.evaluated_get(bpy.context.evaluated_depsgraph_get())
                tail = _world(bpy, ev, ev.pose.bones[sphere.parent_bone].tail)
                assert np.abs(np.array(sphere.matrix_world.translation) - tail).max() < 1e-3
    assert checked >= 6


def test_a_failed_run_leaves_no_contacts_spheres_or_markers(registered, gappy_npz, monkeypatch):
    """The run fails after the rig's action, the contact keys, the spheres and the new markers
    exist: on an armature that had an earlier run, all of that run's state comes back."""
    from addon.blender import markers

    bpy = registered
    rig = _metarig(bpy)
    addon_synth.lift_in_panel(bpy, gappy_npz, target="EXISTING", armature=rig, mapping="rigify_metarig", contact_overlay=True)
    before = snapshot(bpy)
    action = rig.animation_data.action
    real_replace = markers.replace

    def broken(*args, **kwargs):
        real_replace(*args, **kwargs)
        raise RuntimeError("the last step broke")

    monkeypatch.setattr(markers, "replace", broken)
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    assert snapshot(bpy) == before
    assert rig.animation_data.action == action and rig.animation_data.action_slot is not None
    # and a generated rig: nothing of it stays
    bpy.context.scene.dreampose3d.target = "NEW"
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    assert snapshot(bpy) == before


def test_headless_batch_prints_the_gap_counts(gappy_npz, tmp_path, repo):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, str(repo / "addon" / "batch.py"), "--input", str(gappy_npz), "--output",
                        str(tmp_path / "out"), "--export", "blend", "--contact-overlay"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    gaps = next(e for e in events if e["event"] == "gaps")
    assert gaps == {"event": "gaps", "input": "gappy", "held": 60, "interpolated": 3,
                    "summary": "60 frames held, 3 interpolated"}
