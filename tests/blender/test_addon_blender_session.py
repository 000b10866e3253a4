"""Issue #19 in a real window (Blender 3.4.1 under Xvfb, simulated input): control and words.

One Blender session, started with `--enable-event-simulate` and stepped by `bpy.app.timers`,
drives the add-on against the fake engine (tests/addon/fake_engine.py, about 1 s per step):

1. a lift runs; the mouse goes over the viewport, G grabs the cube, the mouse moves it, ESC
   (press, then release) cancels the grab: the cube is back and the lift is still running, and
   finishes (item 1). The progress read at every tick only rises and reaches 100 % only when the
   run has ended (item 2);
2. a second lift: an ESC press with nothing else going on cancels it, and the engine process ends;
3. choosing a file scans it in the background: the panel shows the format, frames, people, fps and
   image size (item 7);
4. an engine without the protocol handshake: one sentence, kept in the panel (item 4); a result
   whose 3D fits its 2D poorly: the warning is in the panel and among the reports (status bar);
5. an engine error of the issue's length: the sidebar is opened on the "Lift to 3D" tab at its
   default width, and every line the panel drew is no wider than the region allows and together
   they give the whole sentence (item 5); a screenshot is saved for a person to look at;
6. a file is loaded during a run: the operator's `cancel()` ends the engine and removes its folder.
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

LONG_ERROR = ("The keypoint folder pose_cam1_json does not state the image size of its frames, and the "
              "keypoints cannot be placed without it; pass it with --image-size WIDTH HEIGHT.")

SESSION = r'''
import glob, json, os, sys, tempfile, time, bpy
cfg = json.loads(sys.argv[sys.argv.index("--") + 1])
sys.path.insert(0, cfg["repo"])
import addon
addon.register()
from addon.blender import panel, run_state
log = {"samples": [], "steps": []}
run = lambda: bpy.context.window_manager.dreampose3d_run

def areas():
    win = bpy.context.window_manager.windows[0]
    area = next(a for a in win.screen.areas if a.type == "VIEW_3D")
    return win, area, next(r for r in area.regions if r.type == "WINDOW"), next(r for r in area.regions if r.type == "UI")

def invoke_lift():
    win, area, region, _ = areas()
    with bpy.context.temp_override(window=win, area=area, region=region):
        try:
            return sorted(bpy.ops.dreampose3d.lift("INVOKE_DEFAULT"))
        except RuntimeError:
            return ["CANCELLED"]

def sample():
    r = run()
    log["samples"].append([r.running, round(r.progress, 3), r.status])

def key(type_, value, x=None, y=None):
    win, area, region, _ = areas()
    x = region.x + region.width // 2 if x is None else x
    y = region.y + region.height // 2 if y is None else y
    win.event_simulate(type=type_, value=value, x=x, y=y)

def set_mode(mode, **env):
    os.environ["FAKE_ENGINE_MODE"] = mode
    for k, v in env.items():
        os.environ[k] = v

# -- the steps; each returns seconds to wait, or None to go on at once
def grab_lift():
    s = bpy.context.scene.dreampose3d
    s.input_path = cfg["input"]
    set_mode("slow", FAKE_ENGINE_STEP_S="2.5")
    log["grab_invoke"] = invoke_lift()
    return 2.0

def grab_start():
    cube = bpy.data.objects["Cube"]
    for ob in bpy.context.view_layer.objects:
        ob.select_set(ob == cube)
    bpy.context.view_layer.objects.active = cube
    log["cube_before"] = list(cube.location)
    win, area, region, _ = areas()
    cx, cy = region.x + region.width // 2, region.y + region.height // 2
    key("MOUSEMOVE", "NOTHING", cx, cy)
    key("G", "PRESS", cx, cy)
    key("G", "RELEASE", cx, cy)
    for i in range(1, 6):
        key("MOUSEMOVE", "NOTHING", cx + 20 * i, cy + 10 * i)
    return 0.5

def grab_escape():
    log["cube_during_grab"] = list(bpy.data.objects["Cube"].location)
    key("ESC", "PRESS")
    return 0.3

def grab_release():
    key("ESC", "RELEASE")
    return 0.5

def grab_after():
    log["cube_after"] = list(bpy.data.objects["Cube"].location)
    log["running_after_grab_escape"] = run().running
    return "wait_idle"

def grab_done():
    log["grab_status"] = run().status
    log["grab_rig"] = "DreamPose3D" in bpy.data.objects
    log["grab_error"] = run().last_error
    return None

def esc_lift():
    set_mode("hang")
    if os.path.exists(cfg["pidfile"]):
        os.remove(cfg["pidfile"])
    log["esc_invoke"] = invoke_lift()
    return 1.5

def esc_press():
    key("ESC", "PRESS")
    key("ESC", "RELEASE")
    return 0.5

def esc_after():
    log["esc_running"] = run().running
    log["esc_status"] = run().status
    log["esc_pid"] = int(open(cfg["pidfile"]).read()) if os.path.exists(cfg["pidfile"]) else None
    return 6.0     # the reaper terminates it; it must be gone well before this

def esc_gone():
    pid = log["esc_pid"]
    try:
        os.kill(pid, 0)
        log["esc_engine_alive"] = True
    except (ProcessLookupError, TypeError):
        log["esc_engine_alive"] = False
    return None

def scan_on_choice():
    set_mode("ok")
    s = bpy.context.scene.dreampose3d
    s.input_path = cfg["input2"]           # the update starts a scan in the background
    log["scan_state_at_once"] = run().scan_state
    return 2.0

def scan_after():
    r = run()
    log["scan"] = {"state": r.scan_state, "summary": r.scan_summary, "missing": r.scan_missing}
    from addon.blender.enum_cache import ITEMS
    log["people_items"] = [i[0] for i in ITEMS.people(bpy.path.abspath(cfg["input2"]))]
    return None

def old_engine():
    set_mode("ok", FAKE_ENGINE_PROTOCOL="none")
    log["old_invoke"] = invoke_lift()
    return "wait_idle"

def old_after():
    log["old_error"] = run().last_error
    os.environ["FAKE_ENGINE_PROTOCOL"] = "2"
    return None

def warning_lift():
    set_mode("ok", FAKE_ENGINE_RESULT=cfg["poor"])
    log["warning_invoke"] = invoke_lift()
    return "wait_idle"

def warning_after():
    log["warning"] = run().warning
    os.environ["FAKE_ENGINE_RESULT"] = cfg["result"]
    win, area, region, ui = areas()
    kind = area.type
    area.type = "INFO"            # the status bar's reports are listed in the Info editor
    with bpy.context.temp_override(window=win, area=area, region=next(r for r in area.regions if r.type == "WINDOW")):
        bpy.ops.info.select_all(action="SELECT")
        bpy.ops.info.report_copy()
    area.type = kind
    log["reports"] = bpy.context.window_manager.clipboard
    return None

def long_error():
    set_mode("crash", FAKE_ENGINE_ERROR=cfg["long_error"])
    log["crash_invoke"] = invoke_lift()
    return "wait_idle"

def open_sidebar():
    log["crash_error"] = run().last_error
    log["details"] = run().details
    win, area, region, ui = areas()
    area.spaces.active.show_region_ui = True
    state["tries"] = 0
    return 1.0

state = {"seen": False, "tries": 0}
_original_draw = bpy.types.DREAMPOSE3D_PT_lift.draw
def _draw(self, context):
    state["seen"] = True
    _original_draw(self, context)
    state["region_width"] = context.region.width
bpy.types.DREAMPOSE3D_PT_lift.draw = _draw

def find_tab():
    """Click down the sidebar's tab strip until our panel is the one drawn (3.4 has no API for it)."""
    win, area, region, ui = areas()
    if state["seen"] or state["tries"] > 40:
        return None
    x = ui.x + ui.width - 10
    y = ui.y + ui.height - 20 - 15 * state["tries"]
    state["tries"] += 1
    win.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
    win.event_simulate(type="LEFTMOUSE", value="PRESS", x=x, y=y)
    win.event_simulate(type="LEFTMOUSE", value="RELEASE", x=x, y=y)
    state["seen"] = False
    ui.tag_redraw()
    return "again"

def shoot():
    win, area, region, ui = areas()
    ui.tag_redraw()
    return 1.0

def read_panel():
    win, area, region, ui = areas()
    log["tab_seen"] = state["seen"]
    log["ui_width"] = ui.width
    log["drawn"] = list(panel.DRAWN)
    bpy.ops.screen.screenshot(filepath=cfg["shot"])
    return None

def load_during_run():
    set_mode("hang")
    if os.path.exists(cfg["pidfile"]):
        os.remove(cfg["pidfile"])
    log["load_invoke"] = invoke_lift()
    return 1.5

def load_file():
    log["load_tmp"] = run_state.CURRENT.tmp
    log["load_pid"] = int(open(cfg["pidfile"]).read()) if os.path.exists(cfg["pidfile"]) else None
    bpy.ops.wm.read_homefile()
    return 6.0

def load_after():
    try:
        os.kill(log["load_pid"], 0)
        log["load_engine_alive"] = True
    except (ProcessLookupError, TypeError):
        log["load_engine_alive"] = False
    log["load_tmp_exists"] = bool(log["load_tmp"]) and os.path.exists(log["load_tmp"])
    log["load_running"] = run().running       # the Lift button is back
    return None

steps = [grab_lift, grab_start, grab_escape, grab_release, grab_after, grab_done, esc_lift, esc_press, esc_after,
         esc_gone, scan_on_choice, scan_after, old_engine, old_after, warning_lift, warning_after, long_error, open_sidebar, find_tab, shoot,
         read_panel, load_during_run, load_file, load_after]
t0 = time.monotonic()
waiting = {"idle": False}

def sampler():
    sample()
    return 0.1

def tick():
    if time.monotonic() - t0 > 150:
        log["timeout"] = [s.__name__ for s in steps]
    elif waiting["idle"] and run().running:
        return 0.1
    elif steps:
        waiting["idle"] = False
        step = steps[0]
        try:
            wait = step()
        except Exception as exc:
            import traceback
            log["exception"] = f"{step.__name__}: {traceback.format_exc()}"
            steps.clear()
            wait = None
        if wait == "again":
            return 0.3
        steps.pop(0)
        log["steps"].append(step.__name__)
        if wait == "wait_idle":
            waiting["idle"] = True
            return 0.1
        return 0.1 if wait is None else wait
    print("RESULT " + json.dumps(log), flush=True)
    bpy.ops.wm.quit_blender()
    return None

bpy.app.timers.register(tick, first_interval=1.0, persistent=True)
bpy.app.timers.register(sampler, first_interval=1.0, persistent=True)
'''


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    require_blender_binary(window=True)
    import addon_synth
    import fake_engine

    tmp = tmp_path_factory.mktemp("session")
    start = tmp / "start.blend"  # opening a file skips the splash screen
    env = dict(os.environ, BLENDER_USER_CONFIG=str(tmp / "config"), BLENDER_USER_SCRIPTS=str(tmp / "scripts"))
    subprocess.run(["blender", "-b", "--factory-startup", "--python-expr",
                    f"import bpy; bpy.ops.wm.save_as_mainfile(filepath={str(start)!r})"],
                   check=True, capture_output=True, timeout=120, env=env)
    result = addon_synth.write_walking_result(tmp / "walk.npz", frames=60)
    import numpy as np

    from engine.reprojection import summarise

    poor = addon_synth.walking_result(60)
    poor.meta["reprojection"] = summarise(np.full(60, 0.6))
    poor.save(tmp / "poor.npz")
    (tmp / "clip.json").write_text("{}")
    (tmp / "other.json").write_text("{}")
    (tmp / "session.py").write_text(SESSION)
    cfg = {"repo": str(REPO), "input": str(tmp / "clip.json"), "input2": str(tmp / "other.json"),
           "result": result, "poor": str(tmp / "poor.npz"), "warning": poor.meta["reprojection"]["warning"],
           "pidfile": str(tmp / "engine.pid"), "long_error": LONG_ERROR, "shot": str(tmp / "panel_error.png")}
    env.update(DREAMPOSE3D_PYTHON=str(fake_engine.write_launcher(tmp / "fake_python")), FAKE_ENGINE_RESULT=result,
               FAKE_ENGINE_MODE="ok", FAKE_ENGINE_PIDFILE=cfg["pidfile"])
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "blender", "--enable-event-simulate",
                           str(start), "--python", str(tmp / "session.py"), "--", json.dumps(cfg)],
                          capture_output=True, text=True, timeout=300, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            log = json.loads(line[7:])
            break
    else:
        raise AssertionError(f"no RESULT line:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    (tmp / "log.json").write_text(json.dumps(log, indent=1))     # for a person reading a failure
    assert "exception" not in log and "timeout" not in log, log
    log["shot_path"], log["cfg_warning"] = cfg["shot"], cfg["warning"]
    return log


def test_esc_during_a_grab_cancels_the_grab_only(session):
    log = session
    assert log["grab_invoke"] == ["RUNNING_MODAL"]
    assert log["cube_during_grab"] != log["cube_before"]       # the grab really moved the cube
    assert log["cube_after"] == log["cube_before"]             # ESC cancelled the grab
    assert log["running_after_grab_escape"]                    # ... and left the lift running
    assert log["grab_rig"] and log["grab_error"] == "" and log["grab_status"].startswith("60 frames on")


def test_progress_rises_and_reaches_100_only_at_the_end(session):
    samples = session["samples"]
    first_run = []
    for running, progress, status in samples:     # the grab lift: from its first running sample to its end
        if running:
            first_run.append((running, progress, status))
        elif first_run:
            first_run.append((running, progress, status))
            break
    values = [p for _, p, _ in first_run]
    assert values == sorted(values)
    assert all(p < 100 for r, p, _ in first_run if r) and first_run[-1][1] == 100
    assert len({p for r, p, _ in first_run if r}) >= 4           # several steps, not one jump
    assert any(s.startswith("lifting 2/3") for _, _, s in first_run)


def test_esc_press_alone_cancels_the_lift_and_ends_the_engine(session):
    log = session
    assert log["esc_invoke"] == ["RUNNING_MODAL"]
    assert not log["esc_running"] and log["esc_status"] == "cancelled"
    assert log["esc_pid"] and not log["esc_engine_alive"]


def test_choosing_a_file_scans_it_in_the_background(session):
    log = session
    assert log["scan_state_at_once"] == "scanning"
    assert log["scan"] == {"state": "done", "summary": "keypoints-npz: 10 frames, 2 people, 30 fps, image size unknown.",
                           "missing": "image_size"}
    assert log["people_items"] == ["auto", "0", "3"]


def test_an_engine_without_the_handshake_is_one_sentence(session):
    assert session["old_invoke"] == ["RUNNING_MODAL"]
    error = session["old_error"]
    assert error.startswith("The engine at ") and "does not state its protocol version" in error
    assert error.count(".") == 1 and error.endswith(".")


def test_the_fit_warning_reaches_the_panel_and_the_status_bar(session):
    assert session["warning_invoke"] == ["RUNNING_MODAL"]
    assert session["warning"] == session["cfg_warning"] and session["warning"].startswith("The 3D agrees poorly")
    assert session["warning"] in session["reports"]          # reported as a warning: the status bar shows it


def test_panel_texts_are_wrapped_to_the_default_sidebar_width(session):
    log = session
    assert log["tab_seen"], "the Lift to 3D tab was not found"
    expected = LONG_ERROR.replace("pass it with --image-size WIDTH HEIGHT", "enter it in the Image size field")
    assert log["crash_error"] == expected
    assert expected in log["details"] and "$ " in log["details"]      # Copy details: the sentence, the command
    lines = [line for line, _, _ in log["drawn"]]
    start = next(i for i, line in enumerate(lines) if expected.startswith(line))
    error_lines = []
    for line in lines[start:]:
        error_lines.append(line)
        if " ".join(error_lines) == expected:
            break
    assert " ".join(error_lines) == expected and len(error_lines) >= 3    # wrapped, every word kept
    assert all(width <= room for _, width, room in log["drawn"])
    assert max(room for _, _, room in log["drawn"]) < log["ui_width"]
    assert Path(log["shot_path"]).stat().st_size > 10_000


def test_loading_a_file_mid_run_ends_the_engine_and_removes_its_folder(session):
    log = session
    assert log["load_invoke"] == ["RUNNING_MODAL"] and log["load_pid"] and log["load_tmp"]
    assert not log["load_engine_alive"] and not log["load_tmp_exists"] and not log["load_running"]
