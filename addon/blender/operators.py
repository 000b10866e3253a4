"""Operators: thin wrappers that validate, start the engine, poll it, and report one sentence.

`DREAMPOSE3D_OT_lift` is modal in the UI (a reader thread fills a queue; a window timer drains it,
so Blender never blocks) and synchronous in `execute` (background mode, scripts, tests). In both,
the scene changes only after the whole result is read, inside the operator's single undo step;
a failure or cancel changes nothing.

Every expected failure is an `AddonError` (one sentence), reported as it is; the running job and
its cancel request live in `run_state.CURRENT`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from ..core import engine_client, engine_locate, result_io
from ..core.errors import AddonError, InputError
from . import export
from .apply import ApplyOptions, apply_result, check_target
from .enum_cache import ITEMS
from .preferences import engine_python, get_prefs
from .properties import chosen_video, in_panel_words
from .run_state import CURRENT as RUN


def lift_options(context) -> engine_client.LiftOptions:
    s, prefs = context.scene.dreampose3d, get_prefs(context)
    return engine_client.LiftOptions(
        format=s.format or "auto", person=s.person, video=chosen_video(s), fps=s.fps, image_size=tuple(s.image_size),
        device=prefs.device, preset=prefs.default_preset if s.preset == "default" else s.preset,
        checkpoint=bpy.path.abspath(prefs.checkpoint) if prefs.checkpoint else None,
        smooth=s.smoothing, smooth_hz=s.smooth_hz if s.smoothing != "none" else None)


def apply_options(context) -> ApplyOptions:
    s = context.scene.dreampose3d
    return ApplyOptions(target=s.target, armature=s.armature, mapping=s.mapping, root_motion=s.root_motion,
                        foot_cleanup=s.foot_cleanup, frame_start=context.scene.frame_start,
                        preset_dir=get_prefs(context).preset_dir or None, contact_overlay=s.contact_overlay,
                        set_scene_range=s.match_scene)


class DREAMPOSE3D_OT_lift(bpy.types.Operator):
    """Lift the keypoints to 3D with the engine and animate an armature (one undo step)"""

    bl_idname = "dreampose3d.lift"
    bl_label = "Lift to 3D"
    bl_options = {"REGISTER", "UNDO"}

    _timer = None
    _tmp = None

    @classmethod
    def poll(cls, context):
        return context.scene is not None and not context.window_manager.dreampose3d_run.running

    # -- shared steps
    def _input(self, context) -> Path:
        """The keypoint path, after the choices that need no engine are checked (the path, the
        target armature and its mapping): a wrong choice fails at once, not after an engine run."""
        raw = context.scene.dreampose3d.input_path
        if not raw:
            raise InputError("Choose a keypoint file or folder first.")
        path = Path(bpy.path.abspath(raw))
        if not path.exists():
            raise InputError(f"The keypoint path {path} does not exist.")
        check_target(apply_options(context))
        return path

    def _finish(self, context, result_path: str):
        try:
            result = result_io.load_result(result_path)
            applied = apply_result(context.scene, result, apply_options(context))
        except AddonError as exc:
            return self._fail(context, str(exc))
        run = context.window_manager.dreampose3d_run
        run.status = f"{result.num_frames} frames on {applied.armature.name}"
        run.progress = 100.0
        run.last_error = ""
        run.warning = result.warning
        run.gaps = result.gap_summary()
        if result.warning:
            self.report({"WARNING"}, result.warning)
        else:
            self.report({"INFO"}, f"Lifted {result.num_frames} frames onto {applied.armature.name}.")
        return {"FINISHED"}

    def _fail(self, context, message: str):
        message = in_panel_words(message)
        run = context.window_manager.dreampose3d_run
        run.last_error = message
        run.status, run.warning, run.gaps = "failed", "", ""
        self.report({"ERROR"}, message)
        return {"CANCELLED"}

    def _cleanup(self, context):
        RUN.end()
        run = context.window_manager.dreampose3d_run
        run.running = False
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
            context.window_manager.progress_end()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _temporary_result(self, path: Path) -> Path:
        """Where the engine writes the result: a private temporary folder removed by `_cleanup`."""
        self._tmp = tempfile.mkdtemp(prefix="dreampose3d_")
        return Path(self._tmp) / f"{path.stem}.npz"

    # -- synchronous path (background mode, scripts, tests)
    def execute(self, context):
        RUN.begin()
        try:
            path = self._input(context)
            if result_io.is_result_file(path):
                return self._finish(context, str(path))
            out = self._temporary_result(path)
            outputs = engine_client.run_lift([path], out, lift_options(context), engine_python(context),
                                             should_cancel=RUN.cancel_requested)
            return self._finish(context, outputs[0] if outputs else str(out))
        except AddonError as exc:
            if exc.details:
                print(exc.details)
            return self._fail(context, str(exc))
        finally:
            self._cleanup(context)

    # -- non-blocking path
    def invoke(self, context, event):
        if bpy.app.background:
            return self.execute(context)
        RUN.begin()
        try:
            path = self._input(context)
            if result_io.is_result_file(path):
                return self._finish(context, str(path))
            self._out = str(self._temporary_result(path))
            RUN.job = engine_client.start_lift([path], self._out, lift_options(context), engine_python(context))
        except AddonError as exc:
            self._cleanup(context)
            return self._fail(context, str(exc))
        wm = context.window_manager
        run = wm.dreampose3d_run
        run.running, run.progress, run.status = True, 0.0, "starting the engine"
        run.last_error = run.warning = run.gaps = ""
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        run = context.window_manager.dreampose3d_run
        job = RUN.job
        if event.type == "ESC" or RUN.cancel_requested():
            job.cancel()
            self._cleanup(context)
            run.status = "cancelled"
            self.report({"WARNING"}, "The run was cancelled; the scene is unchanged.")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        for ev in job.drain():
            kind = ev.get("event")
            if kind == "progress" and ev.get("total"):
                run.progress = 100.0 * float(ev["done"]) / float(ev["total"])
                run.status = f"lifting {ev['done']}/{ev['total']}"
            elif kind == "start":
                run.status = f"{ev.get('frames', '?')} frames"
            context.window_manager.progress_update(run.progress)
        for area in context.screen.areas if context.screen else ():
            if area.type == "VIEW_3D":
                area.tag_redraw()
        if job.poll() is None:
            return {"PASS_THROUGH"}
        job.join()
        job.drain()
        err = job.error()
        try:
            if err is not None:
                if err.details:
                    print(err.details)
                return self._fail(context, str(err))
            return self._finish(context, self._out)
        finally:
            self._cleanup(context)


class DREAMPOSE3D_OT_cancel(bpy.types.Operator):
    """Stop the running engine; the scene stays as it was"""

    bl_idname = "dreampose3d.cancel"
    bl_label = "Cancel"

    def execute(self, context):
        RUN.request_cancel()
        return {"FINISHED"}


class DREAMPOSE3D_OT_scan(bpy.types.Operator):
    """List the people (and the videos of a multi-video file) in the keypoint file with 'engine inspect'"""

    bl_idname = "dreampose3d.scan"
    bl_label = "Scan"

    def execute(self, context):
        s = context.scene.dreampose3d
        path = bpy.path.abspath(s.input_path)
        if not path:
            self.report({"ERROR"}, "Choose a keypoint file or folder first.")
            return {"CANCELLED"}
        try:
            data = engine_client.inspect(path, s.format, engine_python(context))
        except AddonError as exc:
            self.report({"ERROR"}, in_panel_words(str(exc)))
            return {"CANCELLED"}
        ITEMS.set_people(path, data.get("people") or [])
        ITEMS.set_videos(path, data.get("videos") or [])
        if data.get("fps") and s.fps == 0:
            context.window_manager.dreampose3d_run.status = f"{data.get('format')}: {data.get('frames')} frames at {data['fps']:g} fps"
        for w in data.get("warnings") or []:
            self.report({"WARNING"}, in_panel_words(str(w)))
        self.report({"INFO"}, f"{len(data.get('people') or [])} people, {data.get('frames')} frames ({data.get('format')}).")
        return {"FINISHED"}


class DREAMPOSE3D_OT_check_engine(bpy.types.Operator):
    """Run 'python -m engine info' and show the checkpoint and device"""

    bl_idname = "dreampose3d.check_engine"
    bl_label = "Check engine"

    def execute(self, context):
        prefs = get_prefs(context)
        prefs.last_check = ""   # never leave an earlier result next to a new failure
        try:
            data = engine_client.info(bpy.path.abspath(prefs.checkpoint) if prefs.checkpoint else "", prefs.device,
                                      engine_python(context))
        except AddonError as exc:
            prefs.last_check = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        ckpt = data.get("checkpoint")
        ckpt = ckpt.get("id") or ckpt.get("path") if isinstance(ckpt, dict) else ckpt
        prefs.last_check = f"checkpoint {ckpt}, device {data.get('device')}"
        self.report({"INFO"}, f"Engine OK: {prefs.last_check}.")
        return {"FINISHED"}


class DREAMPOSE3D_OT_find_engine(bpy.types.Operator):
    """Look for the engine's Python (DREAMPOSE3D_PYTHON, the .venv of the repository the add-on was built \
from, ~/.local/share/dreampose3d/venv, PATH) and set Engine Python to the first that runs the engine"""

    bl_idname = "dreampose3d.find_engine"
    bl_label = "Find engine"

    def execute(self, context):
        prefs = get_prefs(context)
        prefs.last_check = ""
        try:
            place = engine_locate.find_python()
        except AddonError as exc:
            prefs.last_check = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        prefs.engine_python = place.python
        prefs.last_check = f"found in {place.name}: {place.python}"
        self.report({"INFO"}, f"Engine found in {place.name}: {place.python}.")
        return {"FINISHED"}


class DREAMPOSE3D_OT_export(bpy.types.Operator):
    """Export the active armature's animation"""

    bl_idname = "dreampose3d.export"
    bl_label = "Export"

    format: EnumProperty(items=(("bvh", "BVH", ""), ("fbx", "FBX", ""), ("blend", ".blend", "")), name="Format")
    filepath: StringProperty(subtype="FILE_PATH")

    @classmethod
    def poll(cls, context):
        return context.active_object is not None and context.active_object.type == "ARMATURE"

    def invoke(self, context, event):
        self.filepath = bpy.path.ensure_ext(bpy.path.abspath("//") + context.active_object.name, "." + self.format)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        obj, scene = context.active_object, context.scene
        path = Path(bpy.path.abspath(self.filepath))
        try:
            export.export_all(obj, path.parent, path.stem, [self.format], scene.frame_start, scene.frame_end)
        except AddonError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {path}.")
        return {"FINISHED"}


classes = (DREAMPOSE3D_OT_lift, DREAMPOSE3D_OT_cancel, DREAMPOSE3D_OT_scan, DREAMPOSE3D_OT_check_engine,
           DREAMPOSE3D_OT_find_engine, DREAMPOSE3D_OT_export)
