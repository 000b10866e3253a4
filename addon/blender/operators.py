"""Operators: thin wrappers that validate, start the engine, poll it, and report one sentence.

`DREAMPOSE3D_OT_lift` is modal in the UI (a reader thread fills a queue; a window timer drains it,
so Blender never blocks) and synchronous in `execute` (background mode, scripts, tests). In both,
the scene changes only after the whole result is read, inside the operator's single undo step;
a failure or cancel changes nothing. The modal run reacts only to an ESC *press* that reaches it
(a newer modal handler, a grab for instance, sees the key first and keeps it), passes every other
event on, redraws only the sidebar, and its `cancel()` (Blender calls it when a file is loaded or
Blender quits) ends the engine and removes its folder.

Scan and Check engine run the same `EngineJob` lifecycle in the background (`run_state.BACKGROUND`,
polled by a timer on the main thread); in background mode they run synchronously. Choosing a
file starts a scan by itself (`start_scan`).

Every expected failure is an `AddonError` (one sentence), reported as it is and kept in the panel
(wrapped) until the next run, with its details for "Copy details"; the running job and its cancel
request live in `run_state.CURRENT`.
"""

from __future__ import annotations

import atexit
import tempfile
from pathlib import Path

import bpy
from bpy.app.handlers import persistent
from bpy.props import EnumProperty, StringProperty

from ..core import engine_client, engine_locate, result_io
from ..core.errors import AddonError, InputError
from . import export
from .apply import ApplyOptions, apply_result, check_target
from .enum_cache import ITEMS
from .preferences import engine_python, get_prefs
from .properties import chosen_video, in_panel_words
from .run_state import BACKGROUND, CURRENT as RUN, redraw_sidebars, stop_all

TIMER_S = 0.2      # how often the modal run reads the engine's events (only the sidebar is redrawn)


def lift_options(context) -> engine_client.LiftOptions:
    s, prefs = context.scene.dreampose3d, get_prefs(context)
    return engine_client.LiftOptions(
        format=s.format or "auto", person=s.person, video=chosen_video(s), fps=s.fps, image_size=tuple(s.image_size),
        device=prefs.device, preset=prefs.default_preset if s.preset == "default" else s.preset,
        checkpoint=bpy.path.abspath(prefs.checkpoint) if prefs.checkpoint else None,
        smooth=s.smoothing, smooth_hz=s.smooth_hz if s.smoothing != "none" else None,
        mapping=bpy.path.abspath(s.dlc_mapping) if s.dlc_mapping else None, layout=s.layout, lens_mm=s.lens_mm)


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
    _progress = None

    @classmethod
    def poll(cls, context):
        return context.scene is not None and not context.window_manager.dreampose3d_run.running

    # -- shared steps
    def _input(self, context) -> Path:
        """The keypoint path, after the choices that need no engine are checked (the path, the
        target armature and its mapping): a wrong choice fails at once, not after an engine run."""
        raw = context.scene.dreampose3d.input_path
        if not raw:
            raise InputError("Choose a keypoint file, folder or video first.")
        path = Path(bpy.path.abspath(raw))
        if not path.exists():
            raise InputError(f"The keypoint path {path} does not exist.")
        check_target(apply_options(context))
        return path

    def _begin(self, context):
        """A new run: the last run's messages go (they stay in the panel until now)."""
        RUN.begin()
        run = context.window_manager.dreampose3d_run
        run.last_error = run.warning = run.gaps = run.details = ""
        run.status, run.progress = "", 0.0

    def _finish(self, context, result_path: str, details: str = ""):
        try:
            result = result_io.load_result(result_path)
            applied = apply_result(context.scene, result, apply_options(context))
        except AddonError as exc:
            return self._fail(context, str(exc), exc.details)
        run = context.window_manager.dreampose3d_run
        run.status = f"{result.num_frames} frames on {applied.armature.name}"
        run.progress = 100.0
        run.last_error = ""
        run.warning = result.warning
        run.details = f"{result.warning}\n\n{details}".strip() if result.warning else ""
        run.gaps = result.gap_summary()
        if result.warning:
            self.report({"WARNING"}, result.warning)
        else:
            self.report({"INFO"}, f"Lifted {result.num_frames} frames onto {applied.armature.name}.")
        return {"FINISHED"}

    def _fail(self, context, message: str, details: str = ""):
        message = in_panel_words(message)
        run = context.window_manager.dreampose3d_run
        run.last_error = message
        run.details = f"{message}\n\n{details}".strip()
        run.status, run.warning, run.gaps = "failed", "", ""
        self.report({"ERROR"}, message)
        return {"CANCELLED"}

    def _cleanup(self, context):
        """End the run however it ended: the engine is stopped if it still runs (never waiting)
        and its folder removed (`RunState.end`), the timer goes."""
        RUN.end()
        wm = context.window_manager
        wm.dreampose3d_run.running = False
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
            wm.progress_end()
        redraw_sidebars()

    def _temporary_result(self, path: Path) -> Path:
        """Where the engine writes the result: a private temporary folder removed by `_cleanup`."""
        RUN.tmp = tempfile.mkdtemp(prefix="dreampose3d_")
        return Path(RUN.tmp) / f"{path.stem}.npz"

    # -- synchronous path (background mode, scripts, tests)
    def execute(self, context):
        self._begin(context)
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
            return self._fail(context, str(exc), exc.details)
        finally:
            self._cleanup(context)

    # -- non-blocking path
    def invoke(self, context, event):
        if bpy.app.background:
            return self.execute(context)
        self._begin(context)
        try:
            path = self._input(context)
            if result_io.is_result_file(path):
                try:
                    return self._finish(context, str(path))
                finally:
                    self._cleanup(context)
            self._out = str(self._temporary_result(path))
            RUN.job = engine_client.start_lift([path], self._out, lift_options(context), engine_python(context))
        except AddonError as exc:
            self._cleanup(context)
            return self._fail(context, str(exc), exc.details)
        wm = context.window_manager
        run = wm.dreampose3d_run
        self._progress = engine_client.Progress()
        run.running, run.progress, run.status = True, 0.0, self._progress.status
        self._timer = wm.event_timer_add(TIMER_S, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        redraw_sidebars()
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = RUN.job
        if job is None:                     # stopped from outside (run_state.stop_all)
            self._cleanup(context)
            return {"CANCELLED"}
        # Only a press that reaches this handler: a grab (G) started during the run is a newer
        # modal handler, sees ESC first and keeps it; its release must not stop the lift.
        if (event.type == "ESC" and event.value == "PRESS") or RUN.cancel_requested():
            self._cleanup(context)
            context.window_manager.dreampose3d_run.status = "cancelled"
            self.report({"WARNING"}, "The run was cancelled; the scene is unchanged.")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        run = context.window_manager.dreampose3d_run
        changed = [self._progress.update(ev) for ev in job.drain()]
        if any(changed):
            # 100 % is the armature in the scene (`_finish`), not the engine's last event
            run.progress, run.status = min(self._progress.percent, 99.0), self._progress.status
            context.window_manager.progress_update(run.progress)
            redraw_sidebars()
        if job.poll() is None:
            return {"PASS_THROUGH"}
        for ev in job.drain():
            self._progress.update(ev)
        err = job.error()
        details = job.details()
        try:
            if err is not None:
                print(details)
                return self._fail(context, str(err), details)
            return self._finish(context, self._out, details)
        finally:
            self._cleanup(context)

    def cancel(self, context):
        """Blender ends the modal run from outside (a file is loaded, Blender quits): stop the
        engine without waiting and remove its folder."""
        self._cleanup(context)


class DREAMPOSE3D_OT_cancel(bpy.types.Operator):
    """Stop the running engine; the scene stays as it was"""

    bl_idname = "dreampose3d.cancel"
    bl_label = "Cancel"

    def execute(self, context):
        RUN.request_cancel()
        return {"FINISHED"}


# ----------------------------------------------------------------------------- scan

def describe_scan(data: dict) -> tuple[str, list[str]]:
    """The scan's summary line ("openpose: 230 frames, 2 people, 30 fps, 1920 x 1080") and the
    settings the file does not state (["fps", "image_size"])."""
    people = data.get("people") or []
    size = data.get("image_size")
    fps = data.get("fps")
    parts = [f"{data.get('frames', '?')} frames"]
    if data.get("people") is not None:
        parts.append(f"{len(people)} {'person' if len(people) == 1 else 'people'}")
    if len(data.get("videos") or []) > 1:
        parts.append(f"{len(data['videos'])} videos")
    parts.append(f"{fps:g} fps" if isinstance(fps, (int, float)) and fps else "fps unknown")
    parts.append(f"{size[0]} x {size[1]}" if size else "image size unknown")
    missing = [name for name, value in (("fps", fps), ("image_size", size)) if not value]
    return f"{data.get('format', '?')}: " + ", ".join(parts), missing


def _apply_scan(context, path: str, data: dict | None, error: AddonError | None):
    """Put a scan's answer into the panel, unless the input changed while it ran."""
    run = context.window_manager.dreampose3d_run
    if run.scan_path != path:
        return
    if error is not None:
        run.scan_state, run.scan_error, run.scan_summary, run.scan_format = "failed", in_panel_words(str(error)), "", ""
        run.scan_missing = ""
        return
    ITEMS.set_people(path, data.get("people") or [])
    ITEMS.set_videos(path, data.get("videos") or [])
    summary, missing = describe_scan(data)
    warnings = [in_panel_words(str(w)) for w in data.get("warnings") or []]
    run.scan_state, run.scan_error = "done", ""
    run.scan_summary = " ".join([summary + "."] + warnings)
    run.scan_format = str(data.get("format") or "")
    run.scan_missing = ",".join(missing)


def _scan_argv(context, path: str) -> list[str]:
    s = context.scene.dreampose3d
    mapping = bpy.path.abspath(s.dlc_mapping) if s.dlc_mapping else ""
    return engine_client.inspect_argv(path, s.format, mapping, engine_python(context), s.layout)


def start_scan(context) -> None:
    """Scan the chosen input in the background (the input field's update and the Scan button)."""
    s = context.scene.dreampose3d
    run = context.window_manager.dreampose3d_run
    path = bpy.path.abspath(s.input_path) if s.input_path else ""
    run.scan_path, run.scan_summary, run.scan_error, run.scan_missing, run.scan_format = path, "", "", "", ""
    run.scan_state = ""
    if not path or not Path(path).exists() or result_io.is_result_file(Path(path)):
        BACKGROUND.stop("scan")
        return
    try:
        job = engine_client.start_json(_scan_argv(context, path))
    except AddonError as exc:
        _apply_scan(context, path, None, exc)
        return
    run.scan_state = "scanning"

    def done(job):
        ctx = bpy.context
        err = job.error()
        if err is None:
            try:
                data = job.json_answer()
            except AddonError as exc:
                err = exc
        _apply_scan(ctx, path, None if err else data, err)

    BACKGROUND.start("scan", job, done)


class DREAMPOSE3D_OT_scan(bpy.types.Operator):
    """List the people (and the videos of a multi-video file), frames, fps and image size with 'engine inspect'"""

    bl_idname = "dreampose3d.scan"
    bl_label = "Scan"

    def execute(self, context):
        s = context.scene.dreampose3d
        path = bpy.path.abspath(s.input_path)
        if not path:
            self.report({"ERROR"}, "Choose a keypoint file, folder or video first.")
            return {"CANCELLED"}
        if not bpy.app.background:
            start_scan(context)
            return {"FINISHED"}
        context.window_manager.dreampose3d_run.scan_path = path
        try:
            data = engine_client.run_json(_scan_argv(context, path))
        except AddonError as exc:
            _apply_scan(context, path, None, exc)
            self.report({"ERROR"}, in_panel_words(str(exc)))
            return {"CANCELLED"}
        _apply_scan(context, path, data, None)
        for w in data.get("warnings") or []:
            self.report({"WARNING"}, in_panel_words(str(w)))
        self.report({"INFO"}, f"{len(data.get('people') or [])} people, {data.get('frames')} frames ({data.get('format')}).")
        return {"FINISHED"}


# ----------------------------------------------------------------------------- engine checks

def _check_text(data: dict) -> str:
    ckpt = data.get("checkpoint")
    ckpt = ckpt.get("id") or ckpt.get("path") if isinstance(ckpt, dict) else ckpt
    return f"checkpoint {ckpt}, device {data.get('device')}"


class DREAMPOSE3D_OT_check_engine(bpy.types.Operator):
    """Run 'python -m engine info' (in the background) and show the checkpoint and device"""

    bl_idname = "dreampose3d.check_engine"
    bl_label = "Check engine"

    def execute(self, context):
        prefs = get_prefs(context)
        prefs.last_check = ""   # never leave an earlier result next to a new failure
        try:
            argv = engine_client.info_argv(bpy.path.abspath(prefs.checkpoint) if prefs.checkpoint else "",
                                           prefs.device, engine_python(context))
            if not bpy.app.background:
                job = engine_client.start_json(argv)
                prefs.last_check = "checking the engine..."
                BACKGROUND.start("check", job, _check_done)
                return {"FINISHED"}
            data = engine_client.run_json(argv)
        except AddonError as exc:
            prefs.last_check = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        prefs.last_check = _check_text(data)
        self.report({"INFO"}, f"Engine OK: {prefs.last_check}.")
        return {"FINISHED"}


def _check_done(job):
    prefs = get_prefs(bpy.context)
    err = job.error()
    try:
        prefs.last_check = str(err) if err else _check_text(job.json_answer())
    except AddonError as exc:
        prefs.last_check = str(exc)


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


class DREAMPOSE3D_OT_copy_details(bpy.types.Operator):
    """Copy the last error or warning, with the engine's command and output, to the clipboard"""

    bl_idname = "dreampose3d.copy_details"
    bl_label = "Copy details"

    @classmethod
    def poll(cls, context):
        return bool(context.window_manager.dreampose3d_run.details)

    def execute(self, context):
        context.window_manager.clipboard = context.window_manager.dreampose3d_run.details
        self.report({"INFO"}, "The details are on the clipboard.")
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


# ----------------------------------------------------------------------------- file load and quit

@persistent
def _on_load_pre(*_):
    """Another file is loaded: no engine process of this one may outlive it (the modal run's
    `cancel()` is called too; this also ends Scan and Check engine)."""
    stop_all()


def register_handlers():
    if _on_load_pre not in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.append(_on_load_pre)
    atexit.register(stop_all)       # Blender quits: Scan and Check engine end too (the lift's cancel() runs)


def unregister_handlers():
    stop_all()
    atexit.unregister(stop_all)
    for handler in list(bpy.app.handlers.load_pre):
        if getattr(handler, "__name__", "") == _on_load_pre.__name__ and handler.__module__ == __name__:
            bpy.app.handlers.load_pre.remove(handler)


classes = (DREAMPOSE3D_OT_lift, DREAMPOSE3D_OT_cancel, DREAMPOSE3D_OT_scan, DREAMPOSE3D_OT_check_engine,
           DREAMPOSE3D_OT_find_engine, DREAMPOSE3D_OT_copy_details, DREAMPOSE3D_OT_export)
