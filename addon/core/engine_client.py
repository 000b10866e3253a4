"""Run the engine as a subprocess: build argv, stream JSON-lines events. No bpy.

The add-on knows the engine only through `python -m engine lift|inspect|info` and the result
file; where the engine's Python is comes from `engine_locate` (the one resolution order). All
three run as an `EngineJob` (one process lifecycle: start, poll, drain, cancel without waiting),
in the background in the UI and waited for headless. `lift` begins with a "hello" event naming
the engine's version and protocol; another protocol than `PROTOCOL` stops the run with one
sentence. `Progress` turns the events into a rising percentage and a status line. Every failure
becomes an `EngineClientError` (an `AddonError`) carrying one sentence for the user (the engine's
own last stderr line when it exits non-zero); the full stderr is kept in its `details` for the
console and the panel's "Copy details".
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass

from .engine_locate import cannot_start, find_engine, lacks_engine
from .errors import EngineClientError

PROTOCOL = 2    # the `lift` events this add-on reads; the engine states its own in its first event


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
    mapping: str | None = None        # DeepLabCut's body-part mapping JSON (`--mapping`), not the bone preset
    layout: str | None = None         # OpenPose's body model (`--layout`); None / "auto": the engine tells
    lens_mm: float = 0.0              # the camera's 35 mm-equivalent focal length; 0: the engine's default

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
        if self.mapping:
            out += ["--mapping", str(self.mapping)]
        if self.layout not in (None, "", "auto"):
            out += ["--layout", str(self.layout)]
        if self.lens_mm and self.lens_mm > 0:
            out += ["--lens-mm", f"{self.lens_mm:g}"]
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


def protocol_problem(first_event: dict, python: str) -> str | None:
    """One sentence when the first event of `lift` is not a "hello" of protocol `PROTOCOL`, else None."""
    if first_event.get("event") != "hello":
        return (f"The engine at {python} is older than this add-on (it does not state its protocol version): "
                f"update the engine's checkout and the add-on to the same DreamPose3D version.")
    got = first_event.get("protocol")
    if got != PROTOCOL:
        return (f"The engine at {python} (version {first_event.get('engine_version', '?')}) speaks protocol {got}, "
                f"but this add-on speaks protocol {PROTOCOL}: install the add-on and the engine from the same "
                f"DreamPose3D version.")
    return None


class EngineJob:
    """One engine process (`lift`, `inspect` or `info`): the one lifecycle the add-on uses for all
    three, in the UI and headless. A reader thread turns stdout JSON lines into `events` (a queue),
    another keeps the stderr tail, so the UI thread never blocks on a pipe. `handshake`: the first
    event must be the engine's "hello" of protocol `PROTOCOL` (lift), else the job is stopped with
    one sentence. `cancel()` never waits: a reaper thread terminates the process, then kills it."""

    def __init__(self, argv: list[str], handshake: bool = False, timeout: float | None = None):
        self.argv = list(argv)
        self.handshake = handshake
        self.timeout = timeout
        self.events: "queue.Queue[dict]" = queue.Queue()
        self.stderr_tail: deque = deque(maxlen=200)
        self.lines: list[str] = []          # every stdout line (inspect and info answer in one JSON line)
        self.cancelled = False
        self.problem: str | None = None     # a protocol mismatch or a timeout, in one sentence
        self.command = next((a for a in self.argv if a in ("lift", "inspect", "info")), "engine")
        self.hello: dict | None = None
        self.proc = None
        self._threads: list[threading.Thread] = []

    def start(self) -> "EngineJob":
        env = dict(os.environ)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env["PYTHONUNBUFFERED"] = "1"
        try:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         bufsize=1, env=env)
        except OSError as exc:
            raise cannot_start(self.argv[0], exc) from exc
        self.started = time.monotonic()
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def _read_stdout(self):
        first = True
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            self.lines.append(line)
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {"event": "log", "text": line}
            if not isinstance(event, dict) or self.problem:
                continue            # after a protocol mismatch nothing the engine says is read
            if first and self.handshake:
                first = False
                self.problem = protocol_problem(event, self.argv[0])
                if self.problem:
                    self._stop()
                    continue
                self.hello = event
                continue
            self.events.put(event)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))

    def poll(self) -> int | None:
        """The exit code once the process has ended and its output is read, else None. A job
        past its `timeout` is stopped here, with one sentence."""
        if self.timeout is not None and self.problem is None and self.proc.poll() is None \
                and time.monotonic() - self.started > self.timeout:
            self.problem = f"The engine did not answer '{self.command}' within {self.timeout:g} seconds."
            self._stop()
        rc = self.proc.poll()
        if rc is None or any(t.is_alive() for t in self._threads):
            return None
        return rc

    def drain(self) -> list[dict]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def _stop(self, grace: float = 5.0, then=None) -> None:
        """Terminate now, kill after `grace` seconds, then call `then()`, all from a daemon
        thread: never blocks the caller."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            if then is not None:
                then()
            return
        try:
            proc.terminate()
        except OSError:
            pass

        def reap():
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if then is not None:
                then()
        try:
            threading.Thread(target=reap, daemon=True).start()
        except RuntimeError:        # Python is shutting down (Blender quits): terminate() was sent
            pass

    def cancel(self, then=None) -> None:
        """Stop the engine without waiting for it (the UI thread calls this); `then()` runs once
        the process is gone (the lift's folder is removed there, so nothing is written after)."""
        self.cancelled = True
        self._stop(then=then)

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the process has ended and its output is read (headless callers only)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.join(timeout or 5.0)
        return self.proc.poll()

    def join(self, timeout: float = 5.0) -> None:
        for t in self._threads:
            t.join(timeout)

    def error(self) -> EngineClientError | None:
        """None after success, else the one-sentence error (the engine's last stderr line)."""
        if self.problem:
            return EngineClientError(self.problem, "\n".join(self.stderr_tail))
        rc = self.proc.poll()
        if rc is None or rc == 0:
            return None
        if self.cancelled:
            return EngineClientError("The run was cancelled.")
        stderr = "\n".join(self.stderr_tail)
        return lacks_engine(self.argv[0], stderr) or EngineClientError(_one_sentence(stderr, rc), stderr)

    def details(self) -> str:
        """The command and the engine's stderr tail, for "Copy details" and the console."""
        return "$ " + " ".join(self.argv) + "\n" + "\n".join(self.stderr_tail)

    def json_answer(self) -> dict:
        """The JSON object `inspect` or `info` printed (its last JSON line)."""
        for line in reversed(self.lines):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                return data
        raise EngineClientError("The engine's answer is not JSON.", "\n".join(self.stderr_tail))


def lift_argv(engine: list[str], inputs: list[str], output: str, options: LiftOptions) -> list[str]:
    return engine + ["lift", *map(str, inputs), "-o", str(output)] + options.argv()


def start_lift(inputs, output, options: LiftOptions, preferred_python: str = "") -> EngineJob:
    return EngineJob(lift_argv(find_engine(preferred_python), list(inputs), output, options), handshake=True).start()


def run_lift(inputs, output, options: LiftOptions, preferred_python: str = "", on_event=None,
             should_cancel=None, poll_s: float = 0.05) -> list[str]:
    """Synchronous lift (headless batch, `execute`): returns the result paths from `done` events."""
    job = start_lift(inputs, output, options, preferred_python)
    outputs = []

    def handle(events):
        for ev in events:
            if ev.get("event") == "done" and ev.get("output"):
                outputs.append(str(ev["output"]))
            if on_event:
                on_event(ev)

    while job.poll() is None:
        handle(job.drain())
        if should_cancel is not None and should_cancel():
            job.cancel()
            job.wait(10)
            raise EngineClientError("The run was cancelled.")
        time.sleep(poll_s)
    handle(job.drain())
    err = job.error()
    if err:
        raise err
    return outputs


# ----------------------------------------------------------------------------- inspect and info

def inspect_argv(path, fmt: str = "auto", mapping: str = "", preferred_python: str = "", layout: str = "") -> list[str]:
    return find_engine(preferred_python) + ["inspect", str(path)] + (["--format", fmt] if fmt and fmt != "auto" else []) \
        + (["--mapping", str(mapping)] if mapping else []) + (["--layout", layout] if layout not in ("", "auto") else [])


def info_argv(checkpoint: str = "", device: str = "auto", preferred_python: str = "") -> list[str]:
    return find_engine(preferred_python) + ["info"] + (["--checkpoint", checkpoint] if checkpoint else []) \
        + (["--device", device] if device else [])


def start_json(argv: list[str], timeout: float = 300) -> EngineJob:
    """`inspect` or `info` in the background: poll the job, then `json_answer()` or `error()`."""
    return EngineJob(argv, timeout=timeout).start()


def run_json(argv: list[str], timeout: float = 300) -> dict:
    """`inspect` or `info`, waited for (headless, background mode)."""
    job = start_json(argv, timeout)
    if job.wait(timeout) is None:
        job.cancel()
        raise EngineClientError(f"The engine did not answer '{job.command}' within {timeout:g} seconds.")
    err = job.error()
    if err:
        raise err
    return job.json_answer()


def inspect(path, fmt: str = "auto", preferred_python: str = "", mapping: str = "") -> dict:
    """`engine inspect`: format, frames, fps, image_size, people [{id, ...}], warnings."""
    return run_json(inspect_argv(path, fmt, mapping, preferred_python))


def info(checkpoint: str = "", device: str = "auto", preferred_python: str = "") -> dict:
    """`engine info`: checkpoint, actions, text encoder, training data, metrics, device."""
    return run_json(info_argv(checkpoint, device, preferred_python))


# ----------------------------------------------------------------------------- progress

class Progress:
    """Turns `lift` events into a progress bar that only rises, and a status line in words.

    The engine states `fraction` (0-1) in each stage and progress event; events without one (a
    stage this add-on does not know, such as a detector's "detecting k/n") keep the bar where it is
    and show their stage name. 100 % comes only with the "done" events, after every result is
    written. A batch of windows shows as "lifting k/n"."""

    def __init__(self):
        self.percent = 0.0
        self.status = "starting the engine"
        self.frames = None

    def update(self, ev: dict) -> bool:
        """Take one event; True when the bar or the status changed."""
        before = (self.percent, self.status)
        kind = ev.get("event")
        stage = str(ev.get("stage") or "")
        if kind == "hello":
            self.status = "starting the engine"
        elif kind == "start":
            self.frames = ev.get("frames")
        elif kind in ("stage", "progress"):
            done, total = ev.get("done"), ev.get("total")
            name = stage or ("lifting" if kind == "progress" else "working")
            self.status = f"{name} {done}/{total}" if isinstance(done, int) and isinstance(total, int) and total else name
        elif kind == "done":
            self.status = "reading the result"
        fraction = ev.get("fraction")
        if kind == "done":
            fraction = 1.0 if fraction is None else fraction
        if isinstance(fraction, (int, float)) and fraction == fraction:
            self.percent = max(self.percent, min(100.0, 100.0 * float(fraction)))
        return (self.percent, self.status) != before
