"""Run the engine as a subprocess: build argv, stream JSON-lines events. No bpy.

The add-on knows the engine only through `python -m engine lift|inspect|info` and the result
file; where the engine's Python is comes from `engine_locate` (the one resolution order). Every
failure becomes an `EngineClientError` (an `AddonError`) carrying one sentence for the user (the
engine's own last stderr line when it exits non-zero); the full stderr is kept in its `details`
for the console.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, field

from .engine_locate import cannot_start, find_engine, lacks_engine
from .errors import EngineClientError


@dataclass
class LiftOptions:
    """Flags of `engine lift`; None / "auto" / 0 means "let the engine decide"."""

    format: str = "auto"
    person: str | None = None
    video: str | None = None          # one video of a multi-video file (name or index)
    fps: float = 0.0
    image_size: tuple[int, int] | None = None
    device: str = "auto"
    preset: str | None = None
    seed: int | None = None
    checkpoint: str | None = None
    smooth: str | None = None         # None: the engine's default filter; "none": the raw output
    smooth_hz: float | None = None

    def argv(self) -> list[str]:
        out = []
        if self.format and self.format != "auto":
            out += ["--format", self.format]
        if self.person not in (None, "", "auto"):
            out += ["--person", str(self.person)]
        if self.video not in (None, ""):
            out += ["--video", str(self.video)]
        if self.fps and self.fps > 0:
            out += ["--fps", f"{self.fps:g}"]
        if self.image_size and all(v > 0 for v in self.image_size):
            out += ["--image-size", str(int(self.image_size[0])), str(int(self.image_size[1]))]
        if self.device and self.device != "auto":
            out += ["--device", self.device]
        if self.preset:
            out += ["--preset", self.preset]
        if self.seed is not None:
            out += ["--seed", str(int(self.seed))]
        if self.checkpoint:
            out += ["--checkpoint", str(self.checkpoint)]
        if self.smooth:
            out += ["--smooth", self.smooth]
        if self.smooth != "none" and self.smooth_hz:
            out += ["--smooth-hz", f"{self.smooth_hz:g}"]
        return out


# ----------------------------------------------------------------------------- running

def _one_sentence(stderr: str, returncode: int) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    if not lines:
        return f"The engine stopped with exit code {returncode} and printed no error."
    last = lines[-1]
    if last.lower().startswith("error:"):
        last = last[6:].strip()
    return last if last.endswith((".", "!", "?")) else last + "."


@dataclass
class EngineJob:
    """A running engine command. A reader thread turns stdout JSON lines into `events` (a queue)
    and another keeps the stderr tail, so the UI thread never blocks on a pipe."""

    argv: list[str]
    events: "queue.Queue[dict]" = field(default_factory=queue.Queue)
    stderr_tail: deque = field(default_factory=lambda: deque(maxlen=200))
    cancelled: bool = False

    def start(self) -> "EngineJob":
        env = dict(os.environ)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env["PYTHONUNBUFFERED"] = "1"
        try:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         bufsize=1, env=env)
        except OSError as exc:
            raise cannot_start(self.argv[0], exc) from exc
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {"event": "log", "text": line}
            if isinstance(event, dict):
                self.events.put(event)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))

    def poll(self) -> int | None:
        return self.proc.poll()

    def drain(self) -> list[dict]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def cancel(self, timeout: float = 5.0) -> None:
        """Terminate, wait, then kill: the engine process never outlives a cancel."""
        self.cancelled = True
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.join()

    def join(self, timeout: float = 5.0) -> None:
        for t in self._threads:
            t.join(timeout)

    def error(self) -> EngineClientError | None:
        """None after success, else the one-sentence error."""
        rc = self.proc.poll()
        if rc is None or rc == 0:
            return None
        if self.cancelled:
            return EngineClientError("The run was cancelled.")
        self.join()
        stderr = "\n".join(self.stderr_tail)
        return EngineClientError(_one_sentence(stderr, rc), stderr)


def lift_argv(engine: list[str], inputs: list[str], output: str, options: LiftOptions) -> list[str]:
    return engine + ["lift", *map(str, inputs), "-o", str(output)] + options.argv()


def start_lift(inputs, output, options: LiftOptions, preferred_python: str = "") -> EngineJob:
    return EngineJob(lift_argv(find_engine(preferred_python), list(inputs), output, options)).start()


def run_lift(inputs, output, options: LiftOptions, preferred_python: str = "", on_event=None,
             should_cancel=None, poll_s: float = 0.05) -> list[str]:
    """Synchronous lift (headless batch, `execute`): returns the result paths from `done` events."""
    import time

    job = start_lift(inputs, output, options, preferred_python)
    outputs = []
    while True:
        for ev in job.drain():
            if ev.get("event") == "done" and ev.get("output"):
                outputs.append(str(ev["output"]))
            if on_event:
                on_event(ev)
        if should_cancel is not None and should_cancel():
            job.cancel()
            raise EngineClientError("The run was cancelled.")
        if job.poll() is not None:
            job.join()
            for ev in job.drain():
                if ev.get("event") == "done" and ev.get("output"):
                    outputs.append(str(ev["output"]))
                if on_event:
                    on_event(ev)
            break
        time.sleep(poll_s)
    err = job.error()
    if err:
        raise err
    return outputs


def _run_json(args: list[str], preferred_python: str = "", timeout: float = 300) -> dict:
    argv = find_engine(preferred_python) + args
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")})
    except OSError as exc:
        raise cannot_start(argv[0], exc) from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineClientError(f"The engine did not answer '{args[0]}' within {timeout:g} seconds.") from exc
    if r.returncode != 0:
        raise lacks_engine(argv[0], r.stderr) or EngineClientError(_one_sentence(r.stderr, r.returncode), r.stderr)
    for line in reversed(r.stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as exc:
        raise EngineClientError(f"The engine's '{args[0]}' output is not JSON.", r.stderr) from exc


def inspect(path, fmt: str = "auto", preferred_python: str = "") -> dict:
    """`engine inspect`: format, frames, fps, image_size, people [{id, ...}], warnings."""
    return _run_json(["inspect", str(path)] + (["--format", fmt] if fmt and fmt != "auto" else []), preferred_python)


def info(checkpoint: str = "", device: str = "auto", preferred_python: str = "") -> dict:
    """`engine info`: checkpoint, actions, text encoder, training data, metrics, device."""
    args = ["info"] + (["--checkpoint", checkpoint] if checkpoint else []) + (["--device", device] if device else [])
    return _run_json(args, preferred_python)
