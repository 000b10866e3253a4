"""The engine processes in progress: the lift, and the Scan and Check engine jobs.

Blender runs one lift at a time: the Lift operator's poll refuses a second one while the window
manager's `dreampose3d_run.running` is set. That property group (`properties.DREAMPOSE3D_PG_run`)
holds what the panel draws: running, progress, status, the last error and warning. It cannot hold
the rest, because Blender properties cannot hold Python objects and must not be written from
another thread. `RunState` holds it:

- `job`: the `EngineJob` of the modal (non-blocking) run, so the operator that stops it can find
  it; the synchronous run (`execute`: background mode, scripts, tests) leaves the job to
  `engine_client.run_lift`, which polls `cancel_requested` instead.
- `tmp`: the run's private result folder, removed when the run ends however it ends.
- the cancel request, a `threading.Event`: the Cancel button sets it, and so may a script or a
  test on another thread while `execute` is blocked waiting for the engine.

There is one `RunState`, `CURRENT`, because there is one run at a time. `begin()` gives each run a
fresh request, so a cancel pressed while nothing runs never stops the next run.

Scan and Check engine are `EngineJob`s too (the same process lifecycle), run in the background:
`BACKGROUND` keeps them by kind ("scan", "check"), and one `bpy.app.timers` function polls them on
Blender's main thread and hands each finished job to its callback there. A new job of a kind
replaces (and stops) the old one. `stop_all()` ends every engine process without waiting and
removes the lift's folder: the file-load handler and the add-on's unregister call it.
"""

from __future__ import annotations

import shutil
import threading
import traceback

import bpy


class RunState:
    """The running lift's job, its temporary folder and its cancel request (module docstring)."""

    def __init__(self):
        self.job = None
        self.tmp = None
        self._cancel = threading.Event()

    def begin(self, job=None) -> None:
        """A new run starts: no cancel request yet; `job` is its engine job when there is one."""
        self._cancel = threading.Event()
        self.job = job

    def end(self) -> None:
        """The run is over (finished, failed or cancelled): stop its process if it still runs
        (never waiting for it) and remove its folder."""
        job, tmp, self.job, self.tmp = self.job, self.tmp, None, None
        if job is not None and job.proc is not None and job.proc.poll() is None:
            job.cancel(then=lambda: shutil.rmtree(tmp, ignore_errors=True) if tmp else None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    def request_cancel(self) -> None:
        """Ask the running lift to stop; safe from any thread, a no-op when nothing runs."""
        self._cancel.set()

    def cancel_requested(self) -> bool:
        return self._cancel.is_set()


CURRENT = RunState()


def request_cancel() -> None:
    """Ask the running lift to stop (the Cancel button; tests call it from a timer thread)."""
    CURRENT.request_cancel()


class BackgroundJobs:
    """Scan and Check engine: engine jobs polled by one timer on the main thread (module docstring)."""

    INTERVAL = 0.25

    def __init__(self):
        self._jobs: dict[str, tuple] = {}

    def start(self, kind: str, job, on_done) -> None:
        """Watch `job`; `on_done(job)` runs on the main thread once it has ended."""
        self.stop(kind)
        self._jobs[kind] = (job, on_done)
        if not bpy.app.timers.is_registered(self._poll):
            bpy.app.timers.register(self._poll, first_interval=self.INTERVAL, persistent=True)

    def running(self, kind: str) -> bool:
        return kind in self._jobs

    def stop(self, kind: str) -> None:
        """Stop and forget the job of this kind, if any (its callback never runs)."""
        old = self._jobs.pop(kind, None)
        if old is not None:
            old[0].cancel()

    def _poll(self):
        for kind, (job, on_done) in list(self._jobs.items()):
            if job.poll() is None:
                continue
            del self._jobs[kind]
            try:
                on_done(job)
            except Exception:       # a bug in a callback must not stop the timer for the others
                traceback.print_exc()
        redraw_sidebars()
        return self.INTERVAL if self._jobs else None

    def stop_all(self) -> None:
        for job, _ in self._jobs.values():
            job.cancel()
        self._jobs.clear()


BACKGROUND = BackgroundJobs()


def stop_all() -> None:
    """End every engine process of the add-on now, without waiting (file load, unregister, quit)."""
    BACKGROUND.stop_all()
    CURRENT.request_cancel()
    CURRENT.end()


def redraw_sidebars() -> None:
    """Redraw the 3D views' sidebars only (not the viewports) and the preferences window."""
    wm = bpy.context.window_manager
    for window in wm.windows if wm else ():
        for area in window.screen.areas:
            if area.type in ("VIEW_3D", "PREFERENCES"):
                for region in area.regions:
                    if region.type in ("UI", "WINDOW") and (area.type == "PREFERENCES" or region.type == "UI"):
                        region.tag_redraw()
