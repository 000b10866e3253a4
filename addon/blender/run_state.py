"""The lift in progress: the running engine job and its cancel request.

Blender runs one lift at a time: the Lift operator's poll refuses a second one while the window
manager's `dreampose3d_run.running` is set. That property group (`properties.DREAMPOSE3D_PG_run`)
holds what the panel draws: running, progress, status, the last error and warning. It cannot hold
the rest, because Blender properties cannot hold Python objects and must not be written from
another thread. `RunState` holds it:

- `job`: the `EngineJob` of the modal (non-blocking) run, so the operator that stops it can find
  it; the synchronous run (`execute`: background mode, scripts, tests) leaves the job to
  `engine_client.run_lift`, which polls `cancel_requested` instead.
- the cancel request, a `threading.Event`: the Cancel button sets it, and so may a script or a
  test on another thread while `execute` is blocked waiting for the engine.

There is one `RunState`, `CURRENT`, because there is one run at a time. `begin()` gives each run a
fresh request, so a cancel pressed while nothing runs never stops the next run.
"""

from __future__ import annotations

import threading


class RunState:
    """The running job and its cancel request (see the module docstring)."""

    def __init__(self):
        self.job = None
        self._cancel = threading.Event()

    def begin(self, job=None) -> None:
        """A new run starts: no cancel request yet; `job` is its engine job when there is one."""
        self._cancel = threading.Event()
        self.job = job

    def end(self) -> None:
        """The run is over (finished, failed or cancelled): forget its job."""
        self.job = None

    def request_cancel(self) -> None:
        """Ask the running lift to stop; safe from any thread, a no-op when nothing runs."""
        self._cancel.set()

    def cancel_requested(self) -> bool:
        return self._cancel.is_set()


CURRENT = RunState()


def request_cancel() -> None:
    """Ask the running lift to stop (the Cancel button; tests call it from a timer thread)."""
    CURRENT.request_cancel()
