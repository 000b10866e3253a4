"""Regenerate docs/panel.png (and the error and warning states): the "Lift to 3D" sidebar in a real Blender window.

    .venv/bin/python docs/make_screenshot.py [--input KEYPOINTS_OR_RESULT] [--out docs/panel.png]
    .venv/bin/python docs/make_screenshot.py --state error      # -> docs/panel_error.png
    .venv/bin/python docs/make_screenshot.py --state warning    # -> docs/panel_warning.png

Outside Blender this script builds the add-on zip, writes a result file (by default the
synthetic walking clip of tests/addon/addon_synth.py; pass --input to lift your own keypoints
with the engine; `--state warning`: the same clip with a poor fit of 3D to 2D; `--state error`:
the OpenPose sample of ../shared, which states neither image size nor fps, lifted as it is, so
the scan's summary and the engine's error show), saves an empty .blend with Blender 3.4 (opening a file skips the splash), then
runs itself inside `xvfb-run -a -s "-screen 0 1600x900x24" blender --enable-event-simulate`.
Inside Blender it installs and enables the zip, runs the Lift operator, opens the sidebar, clicks
down the sidebar's tab strip until the "Lift to 3D" panel is drawn (Blender 3.4 has no Python API
for the active tab), and
calls `bpy.ops.screen.screenshot` from a timer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def outside(argv):
    import argparse
    import shutil
    import tempfile

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", help="keypoint file or result .npz (default: synthetic walking result)")
    p.add_argument("--state", choices=("ok", "error", "warning"), default="ok",
                   help="after a good run (default), a failed one, or one with the fit warning")
    p.add_argument("--out", help="default: docs/panel.png, docs/panel_error.png, docs/panel_warning.png")
    args = p.parse_args(argv)
    args.out = args.out or str(REPO / "docs" / ("panel.png" if args.state == "ok" else f"panel_{args.state}.png"))
    sys.path[:0] = [str(REPO), str(REPO / "tests" / "addon")]
    import build_addon

    tmp = Path(tempfile.mkdtemp(prefix="dreampose3d_shot_"))
    zip_path = build_addon.build(tmp)
    if args.input:
        source = Path(args.input).resolve()
    elif args.state == "error":
        source = REPO.parent / "shared" / "samples" / "openpose_body25b" / "pose_cam1_json"
        if not source.exists():
            print(f"error: {source} is absent; pass --input with a file the engine refuses.", file=sys.stderr)
            return 1
    elif args.state == "warning":
        import numpy as np

        from addon_synth import walking_result
        from engine.reprojection import summarise

        res = walking_result(120)
        res.meta["reprojection"] = summarise(np.full(120, 0.41))    # a pose unlike the training data
        source = tmp / "push_ups.npz"
        res.save(source)
    else:
        import addon_synth

        source = Path(addon_synth.write_walking_result(tmp / "walk_demo.npz", frames=120))
    blend = tmp / "start.blend"
    subprocess.run(["blender", "-b", "--factory-startup", "--python-expr",
                    f"import bpy; bpy.ops.wm.save_as_mainfile(filepath={str(blend)!r})"], check=True,
                   capture_output=True, timeout=120)
    env = dict(os.environ, BLENDER_USER_SCRIPTS=str(tmp / "scripts"), BLENDER_USER_CONFIG=str(tmp / "config"),
               DREAMPOSE3D_PYTHON=os.environ.get("DREAMPOSE3D_PYTHON", sys.executable), HF_HUB_OFFLINE="1")
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x900x24", "blender", "--enable-event-simulate", str(blend),
           "--python", __file__, "--", json.dumps({"zip": str(zip_path), "input": str(source), "out": args.out,
                                                   "state": args.state})]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    shutil.rmtree(tmp, ignore_errors=True)
    if not Path(args.out).exists() or "SHOT OK" not in r.stdout:
        print(r.stdout[-3000:], r.stderr[-3000:], sep="\n")
        print("error: the screenshot was not written.", file=sys.stderr)
        return 1
    print(args.out)
    return 0


def inside(cfg):
    import addon_utils
    import bpy

    state = {"seen": False, "tries": 0}

    def view3d():
        for area in bpy.context.window.screen.areas:
            if area.type == "VIEW_3D":
                return area, next(r for r in area.regions if r.type == "UI")
        raise RuntimeError("no 3D viewport")

    def setup():
        bpy.ops.preferences.addon_install(filepath=cfg["zip"])
        addon_utils.enable("dreampose3d", default_set=True)
        cls = bpy.types.DREAMPOSE3D_PT_lift
        original = cls.draw

        def draw(self, context):  # notes that our tab is the one on screen
            state["seen"] = True
            original(self, context)

        cls.draw = draw
        for ob in list(bpy.data.objects):
            bpy.data.objects.remove(ob)
        scene = bpy.context.scene
        scene.dreampose3d.input_path = cfg["input"]      # in a window this starts a scan in the background
        scene.dreampose3d.foot_cleanup = cfg["state"] != "error"
        try:
            result = bpy.ops.dreampose3d.lift("EXEC_DEFAULT")
        except RuntimeError:     # an operator called from a script raises on its error report
            result = {"CANCELLED"}
        print("LIFT", result, bpy.context.window_manager.dreampose3d_run.last_error)
        scene.frame_set(int(scene.frame_start + 0.6 * (scene.frame_end - scene.frame_start)))
        area, _ = view3d()
        space = area.spaces.active
        space.show_region_ui = True
        space.shading.type = "SOLID"
        rig = bpy.data.objects.get("DreamPose3D")
        if rig is not None:
            rig.show_in_front = True
            bpy.context.view_layer.objects.active = rig
            rig.select_set(True)
            region = next(r for r in area.regions if r.type == "WINDOW")
            with bpy.context.temp_override(area=area, region=region):
                bpy.ops.view3d.view_selected()
        state["seen"] = False
        return None

    def find_tab():
        """Click down the sidebar's tab strip (its right edge) until our panel is the one drawn."""
        area, ui = view3d()
        win = bpy.context.window
        if bpy.context.window_manager.dreampose3d_run.scan_state == "scanning":
            return 0.5
        if state["seen"] or state["tries"] > 40:
            bpy.app.timers.register(shoot, first_interval=1.0)
            return None
        x = ui.x + ui.width - 10
        y = ui.y + ui.height - 20 - 15 * state["tries"]
        state["tries"] += 1
        win.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
        win.event_simulate(type="LEFTMOUSE", value="PRESS", x=x, y=y)
        win.event_simulate(type="LEFTMOUSE", value="RELEASE", x=x, y=y)
        state["seen"] = False
        for a in win.screen.areas:
            a.tag_redraw()
        return 0.3

    def drag(x0, y0, x1, y1):
        win = bpy.context.window
        win.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x0 - 1, y=y0)
        win.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x0, y=y0)
        win.event_simulate(type="LEFTMOUSE", value="PRESS", x=x0, y=y0)
        for i in range(1, 11):
            win.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x0 + (x1 - x0) * i // 10, y=y0 + (y1 - y0) * i // 10)
        win.event_simulate(type="LEFTMOUSE", value="RELEASE", x=x1, y=y1)

    def resize():
        """Raise the timeline (so its action markers show) by dragging its top edge."""
        for a in bpy.context.window.screen.areas:
            if a.type == "DOPESHEET_EDITOR":
                top = a.y + a.height
                drag(a.x + a.width // 3, top + 1, a.x + a.width // 3, top + 90)
        return None

    def shoot():
        bpy.ops.screen.screenshot(filepath=cfg["out"])
        print("SHOT OK" if state["seen"] else "SHOT WITHOUT TAB", cfg["out"])
        bpy.ops.wm.quit_blender()
        return None

    bpy.app.timers.register(setup, first_interval=1.5)
    if cfg["state"] == "ok":        # the timeline's markers belong to a good run; room for the panel otherwise
        bpy.app.timers.register(resize, first_interval=2.5)
    bpy.app.timers.register(find_tab, first_interval=3.5)


if __name__ == "__main__":
    if "--" in sys.argv and "bpy" in sys.modules:
        inside(json.loads(sys.argv[sys.argv.index("--") + 1]))
    else:
        sys.exit(outside(sys.argv[1:]))
