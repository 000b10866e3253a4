"""Issue #19 under a real window (Blender 3.4.1, Xvfb): what modal lifts leave in the scene.

One Blender session, stepped by `bpy.app.timers`, invokes the Lift operator modally against the
fake engine, as a click on the button does:
1. a new armature, with the default cube active: the rig becomes the active and only selected
   object, the scene takes the clip's fps and range, and the Export operator writes that rig;
2. "Existing armature" with none chosen: refused at once, before the engine starts (item 8);
3. two lifts in a row onto the Rigify metarig, which has an action of the user's: one set of
   markers for the rig, the scene's own fps and range kept, the user's action kept with a fake
   user, and it is still there after the file is saved and opened again (item 12).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine_support import require_blender_binary

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "addon"))
sys.path.insert(0, str(REPO))

pytestmark = pytest.mark.blender

PREPARE = r'''
import sys, addon_utils, bpy
out = sys.argv[sys.argv.index("--") + 1]
addon_utils.enable("rigify", default_set=True)
bpy.ops.object.armature_human_metarig_add()
rig = bpy.context.object
bone = rig.pose.bones["spine"]
bone.rotation_mode = "XYZ"
for frame, angle in ((1, 0.0), (20, 0.4)):
    bone.rotation_euler = (angle, 0.0, 0.0)
    bone.keyframe_insert("rotation_euler", frame=frame)
rig.animation_data.action.name = "MyWalk"
cube = bpy.data.objects["Cube"]
for ob in bpy.context.view_layer.objects:
    ob.select_set(ob == cube)
bpy.context.view_layer.objects.active = cube
bpy.context.scene.render.fps = 24
bpy.ops.wm.save_as_mainfile(filepath=out)
'''

UI_SCRIPT = r'''
import json, os, sys, time, bpy
cfg = json.loads(sys.argv[sys.argv.index("--") + 1])
sys.path.insert(0, cfg["repo"])
import addon
addon.register()
log = {}
steps = []

def ctx():
    win = bpy.context.window_manager.windows[0]
    area = next(a for a in win.screen.areas if a.type == "VIEW_3D")
    return dict(window=win, area=area, region=next(r for r in area.regions if r.type == "WINDOW"))

def lift():
    with bpy.context.temp_override(**ctx()):
        try:
            return sorted(bpy.ops.dreampose3d.lift("INVOKE_DEFAULT"))
        except RuntimeError:    # an operator called from a script raises on its ERROR report
            return ["CANCELLED"]

def scene_state():
    scene, vl = bpy.context.scene, bpy.context.view_layer
    return {"active": vl.objects.active.name if vl.objects.active else None,
            "selected": sorted(o.name for o in vl.objects if o.select_get()),
            "fps": scene.render.fps, "range": [scene.frame_start, scene.frame_end],
            "markers": sorted([m.frame, m.name] for m in scene.timeline_markers)}

def new_armature():
    s = bpy.context.scene.dreampose3d
    s.input_path = cfg["input"]
    log["new_invoke"] = lift()

def after_new():
    log["after_new"] = scene_state()
    with bpy.context.temp_override(**ctx()):
        log["export"] = sorted(bpy.ops.dreampose3d.export("EXEC_DEFAULT", format="bvh", filepath=cfg["bvh"]))
    scene = bpy.context.scene
    scene.render.fps, scene.frame_end = 24, 250      # the user's own settings again
    s = scene.dreampose3d
    s.target = "EXISTING"                            # no armature chosen yet
    if os.path.exists(cfg["pidfile"]):
        os.remove(cfg["pidfile"])
    t0 = time.monotonic()
    log["none_invoke"] = lift()
    log["none_seconds"] = time.monotonic() - t0
    log["none_error"] = bpy.context.window_manager.dreampose3d_run.last_error
    log["none_engine_started"] = os.path.exists(cfg["pidfile"])
    log["match_scene_existing"] = s.match_scene
    s.armature, s.mapping = bpy.data.objects["metarig"], "rigify_metarig"
    log["retarget_invoke"] = [lift()]

def after_first_retarget():
    log["retarget_invoke"].append(lift())

def after_second_retarget():
    log["after_retargets"] = scene_state()
    rig = bpy.data.objects["metarig"]
    walk = bpy.data.actions["MyWalk"]
    log["rig_action"] = rig.animation_data.action.name
    log["mywalk"] = {"fake_user": walk.use_fake_user, "users": walk.users}
    log["status"] = bpy.context.window_manager.dreampose3d_run.status
    bpy.ops.wm.save_as_mainfile(filepath=cfg["saved"])

steps = [new_armature, after_new, after_first_retarget, after_second_retarget]
t_start = time.monotonic()

def tick():
    run = bpy.context.window_manager.dreampose3d_run
    if time.monotonic() - t_start > 60:
        log["timeout"] = True
    elif run.running:
        return 0.2
    elif steps:
        try:
            steps.pop(0)()
        except Exception as exc:
            log["exception"] = repr(exc)
            steps.clear()
        return 0.5
    print("RESULT " + json.dumps(log), flush=True)
    bpy.ops.wm.quit_blender()
    return None

bpy.app.timers.register(tick, first_interval=1.0)
'''

CHECK_SAVED = r'''
import json, sys, bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[sys.argv.index("--") + 1])
walk = bpy.data.actions.get("MyWalk")
print("RESULT " + json.dumps({"mywalk": walk is not None and walk.use_fake_user,
                              "frames": list(walk.frame_range) if walk else None}))
'''


def _result(proc) -> dict:
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError(f"no RESULT line:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    require_blender_binary(window=True)
    import addon_synth
    import fake_engine

    tmp = tmp_path_factory.mktemp("scene_ui")
    env = dict(os.environ, BLENDER_USER_CONFIG=str(tmp / "config"), BLENDER_USER_SCRIPTS=str(tmp / "scripts"))
    (tmp / "prepare.py").write_text(PREPARE)
    start = tmp / "start.blend"   # opening a file skips the splash screen
    subprocess.run(["blender", "-b", "--factory-startup", "--python", str(tmp / "prepare.py"), "--", str(start)],
                   check=True, capture_output=True, timeout=120, env=env)
    result = addon_synth.write_walking_result(tmp / "walk.npz", frames=60)
    (tmp / "clip.json").write_text("{}")
    (tmp / "ui.py").write_text(UI_SCRIPT)
    cfg = {"repo": str(REPO), "input": str(tmp / "clip.json"), "bvh": str(tmp / "exported.bvh"),
           "pidfile": str(tmp / "engine.pid"), "saved": str(tmp / "saved.blend")}
    env.update(DREAMPOSE3D_PYTHON=str(fake_engine.write_launcher(tmp / "fake_python")), FAKE_ENGINE_RESULT=result,
               FAKE_ENGINE_MODE="ok", FAKE_ENGINE_PIDFILE=cfg["pidfile"])
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "blender", str(start),
                           "--python", str(tmp / "ui.py"), "--", json.dumps(cfg)],
                          capture_output=True, text=True, timeout=180, env=env)
    log = _result(proc)
    assert "exception" not in log and "timeout" not in log, log
    (tmp / "check.py").write_text(CHECK_SAVED)
    saved = _result(subprocess.run(["blender", "-b", "--factory-startup", "--python", str(tmp / "check.py"), "--",
                                    cfg["saved"]], capture_output=True, text=True, timeout=120, env=env))
    return log, saved, Path(cfg["bvh"])


def test_the_new_armature_is_active_selected_and_exported(session):
    log, _, bvh = session
    assert log["new_invoke"] == ["RUNNING_MODAL"]
    state = log["after_new"]
    assert state["active"] == "DreamPose3D" and state["selected"] == ["DreamPose3D"]
    assert (state["fps"], state["range"]) == (30, [1, 60])      # match scene: on for a new armature
    assert log["export"] == ["FINISHED"]
    text = bvh.read_text()
    assert "ROOT pelvis" in text and "Frames: 60" in text


def test_existing_armature_without_one_is_refused_before_the_engine_starts(session):
    log, _, _ = session
    assert log["none_invoke"] == ["CANCELLED"] and not log["none_engine_started"]
    assert log["none_seconds"] < 2.0
    assert log["none_error"] == "Choose an Armature for the Existing armature target, or set Target to New armature."


def test_two_retargets_leave_one_set_of_markers_and_the_scene_settings(session):
    log, _, _ = session
    assert log["retarget_invoke"] == [["RUNNING_MODAL"], ["RUNNING_MODAL"]]
    assert log["status"].endswith("on metarig")
    assert not log["match_scene_existing"]
    new, after = log["after_new"], log["after_retargets"]
    assert after["markers"] == sorted(new["markers"] * 2)        # the generated rig's set and the metarig's
    assert (after["fps"], after["range"]) == (24, [1, 250])      # match scene: off for a retarget
    assert after["active"] == "DreamPose3D"                      # a retarget leaves the selection alone


def test_the_rigs_previous_action_survives_a_save(session):
    log, saved, _ = session
    assert log["rig_action"] != "MyWalk"
    assert log["mywalk"] == {"fake_user": True, "users": 1}
    assert saved == {"mywalk": True, "frames": [1.0, 20.0]}
