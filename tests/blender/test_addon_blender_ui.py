"""The non-blocking path, which background mode cannot run: Blender 3.4.1 with a window under
Xvfb, the Lift operator invoked modally against a fake engine that takes about 3 s. Timers keep
running while the engine works (the UI is not blocked), progress rises, the rig appears only at
the end; a cancelled run leaves the scene as it was and ends the engine process."""

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

UI_SCRIPT = r'''
import json, os, sys, time, bpy
cfg = json.loads(sys.argv[sys.argv.index("--") + 1])
sys.path.insert(0, cfg["repo"])
import addon
addon.register()
log = {"samples": [], "objects_before": None}

def ctx():
    win = bpy.context.window_manager.windows[0]
    area = next(a for a in win.screen.areas if a.type == "VIEW_3D")
    return dict(window=win, area=area, region=next(r for r in area.regions if r.type == "WINDOW"))

def start():
    scene = bpy.context.scene
    scene.dreampose3d.input_path = cfg["input"]
    log["objects_before"] = sorted(o.name for o in bpy.data.objects)
    log["markers_before"] = len(scene.timeline_markers)
    with bpy.context.temp_override(**ctx()):
        log["invoke"] = sorted(bpy.ops.dreampose3d.lift("INVOKE_DEFAULT"))
    log["t0"] = time.monotonic()
    return None

def watch():
    run = bpy.context.window_manager.dreampose3d_run
    log["samples"].append([round(time.monotonic() - log["t0"], 2), run.running, run.progress,
                           "DreamPose3D" in bpy.data.objects])
    if cfg["cancel"] and run.running and run.progress > 0 and "cancel_sent" not in log:
        log["cancel_sent"] = True
        bpy.ops.dreampose3d.cancel()
    if not run.running and len(log["samples"]) > 2 or time.monotonic() - log["t0"] > 30:
        log["objects_after"] = sorted(o.name for o in bpy.data.objects)
        log["markers_after"] = len(bpy.context.scene.timeline_markers)
        log["status"] = run.status
        print("RESULT " + json.dumps(log), flush=True)
        bpy.ops.wm.quit_blender()
        return None
    return 0.25

bpy.app.timers.register(start, first_interval=1.0)
bpy.app.timers.register(watch, first_interval=1.5)
'''


@pytest.fixture(scope="module")
def ui_blender(tmp_path_factory):
    require_blender_binary(window=True)
    start = tmp_path_factory.mktemp("ui") / "start.blend"  # opening a file skips the splash screen
    subprocess.run(["blender", "-b", "--factory-startup", "--python-expr",
                    f"import bpy; bpy.ops.wm.save_as_mainfile(filepath={str(start)!r})"],
                   check=True, capture_output=True, timeout=120)
    return start


def _run_ui(start_blend: Path, tmp_path: Path, cancel: bool) -> dict:
    import addon_synth
    import fake_engine

    result = addon_synth.write_walking_result(tmp_path / "walk.npz", frames=60)
    fake = fake_engine.write_launcher(tmp_path / "fake_python")
    (tmp_path / "clip.json").write_text("{}")
    script = tmp_path / "ui.py"
    script.write_text(UI_SCRIPT)
    pidfile = tmp_path / "engine.pid"
    env = dict(os.environ, DREAMPOSE3D_PYTHON=str(fake), FAKE_ENGINE_RESULT=result,
               FAKE_ENGINE_MODE="hang" if cancel else "slow", FAKE_ENGINE_PIDFILE=str(pidfile),
               BLENDER_USER_CONFIG=str(tmp_path / "config"), BLENDER_USER_SCRIPTS=str(tmp_path / "scripts"))
    cfg = json.dumps({"repo": str(REPO), "input": str(tmp_path / "clip.json"), "cancel": cancel})
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "blender", str(start_blend),
                           "--python", str(script), "--", cfg], capture_output=True, text=True, timeout=120, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            out["engine_pid"] = int(pidfile.read_text()) if pidfile.exists() else None
            return out
    raise AssertionError(f"no RESULT line:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def test_modal_lift_reports_progress_without_blocking(ui_blender, tmp_path):
    log = _run_ui(ui_blender, tmp_path, cancel=False)
    assert log["invoke"] == ["RUNNING_MODAL"]
    running = [s for s in log["samples"] if s[1]]
    assert len(running) >= 4  # timers kept firing while the engine worked
    assert any(0 < s[2] < 100 for s in running)  # a partial progress value was shown
    assert not any(s[3] for s in running)  # nothing in the scene until the result is complete
    assert "DreamPose3D" in log["objects_after"] and log["markers_after"] == 2


def test_modal_cancel_leaves_the_scene_unchanged(ui_blender, tmp_path):
    log = _run_ui(ui_blender, tmp_path, cancel=True)
    assert log.get("cancel_sent")
    assert log["objects_after"] == log["objects_before"] and log["markers_after"] == log["markers_before"]
    assert log["status"] == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.kill(log["engine_pid"], 0)
