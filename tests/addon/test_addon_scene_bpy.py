"""Issue #19 in the real bpy 5.0.1 module: what a lift does to the rest of the scene and how it
speaks. The new armature becomes the active and only selected object (item 11); the scene's fps
and range change only with "Match scene fps and range", which follows the target (item 12); a
retarget keeps the rig's earlier action through a save, and two lifts onto one rig leave one set
of markers (item 12); a missing target fails before the engine starts (item 8); engine sentences
name the panel's fields, not the engine's flags (item 6)."""

from __future__ import annotations

import numpy as np
import pytest

import addon_rigs
import addon_synth

from addon_rigs import rigify_metarig
from addon_synth import snapshot

pytestmark = pytest.mark.bpy


def _selected(bpy):
    return sorted(o.name for o in bpy.context.view_layer.objects if o.select_get())


def _keyed_rig(bpy):
    """The Rigify metarig with an animation of the user's own, "MyWalk", used by the rig only."""
    rig = rigify_metarig(bpy)
    bpy.ops.object.mode_set(mode="OBJECT")
    bone = rig.pose.bones["spine"]
    for frame, angle in ((1, 0.0), (20, 0.4)):
        bone.rotation_mode = "XYZ"
        bone.rotation_euler = (angle, 0.0, 0.0)
        bone.keyframe_insert("rotation_euler", frame=frame)
    rig.animation_data.action.name = "MyWalk"
    return rig


# ----------------------------------------------------------------------------- item 11

def test_the_new_armature_is_active_selected_and_exported(registered, walk_npz, tmp_path):
    bpy = registered
    bpy.ops.mesh.primitive_cube_add()          # the cube is active and selected, as in a new file
    bpy.ops.object.armature_add()              # and an older armature is selected too
    bpy.context.object.name = "OldRig"
    bpy.context.object.select_set(True)
    bpy.data.objects["Cube"].select_set(True)
    addon_synth.lift_in_panel(bpy, walk_npz)
    assert bpy.context.view_layer.objects.active.name == "DreamPose3D"
    assert _selected(bpy) == ["DreamPose3D"]
    path = tmp_path / "exported.bvh"
    assert bpy.ops.dreampose3d.export(format="bvh", filepath=str(path)) == {"FINISHED"}
    bvh = path.read_text()
    assert "ROOT pelvis" in bvh and "Frames: 90" in bvh


def test_a_retarget_leaves_the_selection_alone(registered, walk_npz):
    bpy = registered
    rig = rigify_metarig(bpy)
    bpy.ops.mesh.primitive_cube_add()
    before = (bpy.context.view_layer.objects.active.name, _selected(bpy))
    addon_synth.lift_in_panel(bpy, walk_npz, target="EXISTING", armature=rig, mapping="rigify_metarig")
    assert (bpy.context.view_layer.objects.active.name, _selected(bpy)) == before


def test_a_failure_after_the_selection_changed_puts_it_back(registered, walk_npz, monkeypatch):
    from addon.blender import contacts

    bpy = registered
    bpy.ops.mesh.primitive_cube_add()
    bpy.context.scene.dreampose3d.input_path = str(walk_npz)
    before = snapshot(bpy)

    def broken(*args, **kwargs):
        raise RuntimeError("the very last step broke")

    monkeypatch.setattr(contacts, "remove_overlay", broken)
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    assert snapshot(bpy) == before and before["selection"] == ("Cube", ["Cube"])


# ----------------------------------------------------------------------------- item 12

def test_match_scene_follows_the_target_and_can_be_changed(registered):
    bpy = registered
    s = bpy.context.scene.dreampose3d
    assert s.target == "NEW" and s.match_scene
    s.target = "EXISTING"
    assert not s.match_scene
    s.match_scene = True                       # the user's choice after the target stays
    assert s.match_scene
    s.target = "NEW"
    assert s.match_scene
    description = type(s).bl_rna.properties["match_scene"].description
    assert "New armature" in description and "Existing armature" in description


def test_the_scene_keeps_its_fps_and_range_unless_asked(registered, walk_npz):
    bpy = registered
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = 24, 10, 250
    rig = rigify_metarig(bpy)
    addon_synth.lift_in_panel(bpy, walk_npz, target="EXISTING", armature=rig, mapping="rigify_metarig")
    assert (scene.render.fps, scene.frame_start, scene.frame_end) == (24, 10, 250)
    fcurve_range = rig.animation_data.action.frame_range
    assert tuple(fcurve_range) == (10.0, 99.0)  # the keys start at the scene's start, one per frame
    addon_synth.lift_in_panel(bpy, walk_npz, match_scene=True)
    assert (scene.render.fps, scene.frame_start, scene.frame_end) == (30, 10, 99)
    addon_synth.lift_in_panel(bpy, walk_npz, target="NEW")         # a new armature: on by default
    assert (scene.render.fps, scene.frame_end) == (30, 99)
    scene.render.fps = 24
    addon_synth.lift_in_panel(bpy, walk_npz, target="NEW", match_scene=False)
    assert scene.render.fps == 24


def test_the_panel_shows_the_match_scene_checkbox(registered):
    from addon.blender import panel

    drawn = []

    class Layout:  # records the properties the panel's own code draws
        use_property_split = True

        def column(self, **kw):
            return self

        row = box = column

        def prop(self, data, name, **kw):
            drawn.append(name)

        def label(self, **kw):
            pass

    bpy = registered
    for target in ("NEW", "EXISTING"):
        bpy.context.scene.dreampose3d.target = target
        drawn.clear()
        panel.draw_target(Layout(), bpy.context.scene.dreampose3d)
        assert "match_scene" in drawn


def test_a_retarget_keeps_the_previous_action_through_a_save(registered, walk_npz, tmp_path):
    bpy = registered
    rig = _keyed_rig(bpy)
    addon_synth.lift_in_panel(bpy, walk_npz, target="EXISTING", armature=rig, mapping="rigify_metarig")
    assert rig.animation_data.action.name != "MyWalk"
    assert bpy.data.actions["MyWalk"].use_fake_user
    path = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    walk = bpy.data.actions["MyWalk"]
    assert walk.use_fake_user and tuple(walk.frame_range) == (1.0, 20.0)
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_an_action_with_other_users_gets_no_fake_user(registered, walk_npz):
    bpy = registered
    rig = _keyed_rig(bpy)
    other = bpy.data.objects.new("Other", None)
    bpy.context.scene.collection.objects.link(other)
    other.animation_data_create()
    other.animation_data.action = bpy.data.actions["MyWalk"]
    addon_synth.lift_in_panel(bpy, walk_npz, target="EXISTING", armature=rig, mapping="rigify_metarig")
    assert not bpy.data.actions["MyWalk"].use_fake_user and bpy.data.actions["MyWalk"].users == 1


def test_a_failed_retarget_takes_the_fake_user_back(registered, walk_npz, monkeypatch):
    from addon.blender import markers

    bpy = registered
    rig = _keyed_rig(bpy)
    s = bpy.context.scene.dreampose3d
    s.input_path, s.target, s.armature, s.mapping = str(walk_npz), "EXISTING", rig, "rigify_metarig"
    before = snapshot(bpy)

    def broken(*args, **kwargs):
        raise RuntimeError("the last step broke")

    monkeypatch.setattr(markers, "replace", broken)
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    assert snapshot(bpy) == before
    assert not bpy.data.actions["MyWalk"].use_fake_user and rig.animation_data.action.name == "MyWalk"


def test_two_lifts_onto_one_rig_leave_one_set_of_markers(registered, walk_npz):
    bpy = registered
    rig = rigify_metarig(bpy)
    for _ in range(2):
        addon_synth.lift_in_panel(bpy, walk_npz, target="EXISTING", armature=rig, mapping="rigify_metarig")
    assert sorted((m.frame, m.name) for m in bpy.context.scene.timeline_markers) == \
        [(1, "a person walking"), (46, "a person waving")]


# ----------------------------------------------------------------------------- item 8

@pytest.mark.parametrize("case", ["no_armature", "no_mapping_fits"])
def test_a_wrong_target_fails_before_the_engine_starts(registered, fake_engine, monkeypatch, tmp_path, case):
    from addon.blender.apply import NO_ARMATURE

    bpy = registered
    pidfile = tmp_path / "engine.pid"
    monkeypatch.setenv("FAKE_ENGINE_PIDFILE", str(pidfile))
    (tmp_path / "clip.json").write_text("{}")
    s = bpy.context.scene.dreampose3d
    s.input_path, s.target = str(tmp_path / "clip.json"), "EXISTING"
    if case == "no_mapping_fits":
        s.armature = addon_rigs.odd_armature(bpy)
    before = snapshot(bpy)
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    assert not pidfile.exists()  # the engine never ran
    assert snapshot(bpy) == before
    message = bpy.context.window_manager.dreampose3d_run.last_error
    if case == "no_armature":
        assert message == NO_ARMATURE
    else:
        assert message.startswith("No mapping preset fits")
    assert message.endswith(".") and message.count(". ") == 0


def test_the_missing_target_sentence_uses_the_panels_labels(registered):
    from addon.blender.apply import NO_ARMATURE
    from addon.blender.properties import field_label

    bpy = registered
    target = type(bpy.context.scene.dreampose3d).bl_rna.properties["target"]
    for label in (field_label("armature"), field_label("target"), *(item.name for item in target.enum_items)):
        assert label in NO_ARMATURE


# ----------------------------------------------------------------------------- item 6

ENGINE_SAYS = {
    "pose_cam1_json: does not store the image size; pass it with --image-size WIDTH HEIGHT.":
        "pose_cam1_json: does not store the image size; enter it in the Image size field.",
    "walk.csv: does not store the frame rate; pass it with --fps.":
        "walk.csv: does not store the frame rate; enter it in the FPS field.",
    "walk.trc: has no valid DataRate; pass --fps.": "walk.trc: has no valid DataRate; enter it in the FPS field.",
    "clip.json: is not in a known keypoint format (see --format for the list).":
        "clip.json: is not in a known keypoint format (the README lists the names Format takes).",
    "clip.json: has keypoints far outside its 100x100 image (they span 900x900 px), so the image size is wrong; "
    "pass the video's size with --image-size WIDTH HEIGHT.":
        "clip.json: has keypoints far outside its 100x100 image (they span 900x900 px), so the image size is wrong; "
        "enter the video's size in the Image size field.",
    "--smooth-hz must be between 0.001 and 500 Hz, got 0.": "Cut-off (Hz) must be between 0.001 and 500 Hz, got 0.",
    "--fps must be between 1 and 1,000 fps, got 0.5.": "FPS must be between 1 and 1,000 fps, got 0.5.",
}


@pytest.mark.parametrize("engine_says", sorted(ENGINE_SAYS))
def test_engine_errors_name_the_panels_fields(registered, fake_engine, monkeypatch, tmp_path, engine_says):
    bpy = registered
    monkeypatch.setenv("FAKE_ENGINE_MODE", "crash")
    monkeypatch.setenv("FAKE_ENGINE_ERROR", engine_says)
    (tmp_path / "clip.json").write_text("{}")
    bpy.context.scene.dreampose3d.input_path = str(tmp_path / "clip.json")
    with pytest.raises(RuntimeError):
        bpy.ops.dreampose3d.lift()
    assert bpy.context.window_manager.dreampose3d_run.last_error == ENGINE_SAYS[engine_says]
    with pytest.raises(RuntimeError) as scan:
        bpy.ops.dreampose3d.scan()
    assert ENGINE_SAYS[engine_says] in str(scan.value)


def test_the_flag_table_names_engine_flags_and_panel_settings(registered):
    """Each flag in the table is one `engine lift` takes, and each setting one the panel has."""
    from engine.cli import build_parser

    from addon.blender.properties import DREAMPOSE3D_PG_settings, field_label, in_panel_words
    from addon.core.field_words import FLAG_SETTINGS

    lift = next(a for a in build_parser()._actions if a.dest == "command").choices["lift"]
    flags = {opt for action in lift._actions for opt in action.option_strings}
    assert set(FLAG_SETTINGS) <= flags
    assert set(FLAG_SETTINGS.values()) <= set(DREAMPOSE3D_PG_settings.bl_rna.properties.keys())
    # --mapping is DeepLabCut's body-part file, its own field: never the bone Mapping preset
    assert FLAG_SETTINGS["--mapping"] == "dlc_mapping" and field_label("dlc_mapping") == "Body-part mapping"
    assert in_panel_words("clip.csv is DeepLabCut output with project-specific body parts; pass a mapping JSON "
                          "with --mapping.") == ("clip.csv is DeepLabCut output with project-specific body parts; "
                                                 "enter a mapping JSON in the Body-part mapping field.")


def test_messages_without_flags_are_kept_and_flags_are_whole_words():
    from addon.core.field_words import in_field_words

    labels = {"smoothing": "Smoothing", "smooth_hz": "Cut-off (Hz)"}.__getitem__
    assert in_field_words("The run was cancelled.", labels) == "The run was cancelled."
    assert in_field_words("--smooth-hz and --smooth differ.", labels) == "Cut-off (Hz) and Smoothing differ."
