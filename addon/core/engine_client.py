"""Run the engine as a subprocess: find its Python, build argv, stream JSON-lines events. No bpy.

The add-on knows the engine only through `python -m engine lift|inspect|info` and the result
file. Every failure becomes an `EngineClientError` (an `AddonError`) carrying one sentence for
the user (the engine's own last stderr line when it exits non-zero); the full stderr is kept in
its `details` for the console.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EngineClientError

ENV_VAR = "DREAMPOSE3D_PYTHON"
_SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the repository when run from source (addon/core/..)
NOT_FOUND = ("The engine was not found: set the engine's Python in the add-on preferences "
             f"or the {ENV_VAR} environment variable.")


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


# ----------------------------------------------------------------------------- finding the engine

def _runs_engine(python: str) -> bool:
    try:
        r = subprocess.run([python, "-c", "import engine.sequence"], capture_output=True, timeout=60)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def candidate_commands(preferred: str = "") -> list[tuple[str, list[str]]]:
    """(where it came from, command prefix) in priority order: the preference, the environment
    variable, the repository's .venv next to the add-on source, `dreampose3d` on PATH, then
    this interpreter and `python3` on PATH when they can import the engine."""
    out = []
    for origin, py in (("preferences", preferred), (ENV_VAR, os.environ.get(ENV_VAR, ""))):
        if py:
            out.append((origin, [py, "-m", "engine"]))
    for venv_py in (_SOURCE_ROOT / ".venv" / "bin" / "python", _SOURCE_ROOT / ".venv" / "Scripts" / "python.exe"):
        if venv_py.exists() and (_SOURCE_ROOT / "engine").is_dir():
            out.append(("repository .venv", [str(venv_py), "-m", "engine"]))
    exe = shutil.which("dreampose3d")
    if exe:
        out.append(("PATH dreampose3d", [exe]))
    for origin, py in (("this Python", sys.executable), ("PATH python3", shutil.which("python3") or "")):
        if py and "blender" not in Path(py).name.lower():
            out.append((origin, [py, "-m", "engine", "?check"]))
    return out


def find_engine(preferred: str = "") -> list[str]:
    """Command prefix that runs the engine CLI; raises EngineClientError(NOT_FOUND)."""
    for origin, cmd in candidate_commands(preferred):
        if cmd[-1] == "?check":
            if _runs_engine(cmd[0]):
                return cmd[:-1]
            continue
        if origin in ("preferences", ENV_VAR):
            if not (Path(cmd[0]).exists() or shutil.which(cmd[0])):
                raise EngineClientError(f"The engine's Python '{cmd[0]}' (from {origin}) does not exist.")
            return cmd
        if Path(cmd[0]).exists():
            return cmd
    raise EngineClientError(NOT_FOUND)


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
            raise EngineClientError(NOT_FOUND if isinstance(exc, FileNotFoundError)
                                    else f"The engine could not be started ({exc.strerror}).") from exc
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
    except FileNotFoundError as exc:
        raise EngineClientError(NOT_FOUND) from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineClientError(f"The engine did not answer '{args[0]}' within {timeout:g} seconds.") from exc
    if r.returncode != 0:
        raise EngineClientError(_one_sentence(r.stderr, r.returncode), r.stderr)
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
