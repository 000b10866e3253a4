"""Stands in for the engine's Python in the add-on tests: failures, cancels and progress without the model.

Run as `python fake_engine.py -m engine lift IN... -o OUT ...` (the add-on calls the engine's
Python with `-m engine`); `write_launcher` makes an executable the add-on can use as that Python
(DREAMPOSE3D_PYTHON). Its behaviour comes from environment variables:

- FAKE_ENGINE_MODE: ok (copy FAKE_ENGINE_RESULT to the output), slow (the same, 1 s per step),
  crash (a one-sentence error on stderr, exit 2; for `inspect` and `info` too) or hang
  (progress, then sleep);
- FAKE_ENGINE_RESULT: the result .npz to hand back;
- FAKE_ENGINE_ERROR: the sentence a crash prints (default: a missing-person error);
- FAKE_ENGINE_PIDFILE: where to write its process id (to check that a cancel ended it);
- FAKE_ENGINE_PROTOCOL: the protocol its first `lift` event ("hello") states (default the add-on's,
  2); "none" leaves the hello out, as an engine older than the handshake does;
- FAKE_ENGINE_STEP_S: seconds per step in slow mode (default 1).

`lift` speaks the engine's protocol: hello, a reading stage, the start, three batches of windows
("lifting", with the share of the work done as `fraction`), smoothing and writing, then done.

Any other command (`inspect`, `info`) prints one JSON object naming two people.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path


CRASH_ERROR = "The keypoint file walk.npz has no person with enough visible joints."


def write_launcher(path, python: str = sys.executable) -> Path:
    """An executable at `path` that runs this script with `python`, passing its arguments on."""
    path = Path(path)
    path.write_text(f'#!/bin/sh\nexec "{python}" "{Path(__file__).resolve()}" "$@"\n')
    path.chmod(0o755)
    return path


def crash() -> int:
    print("Traceback (most recent call last): ...", file=sys.stderr)
    print("error: " + os.environ.get("FAKE_ENGINE_ERROR", CRASH_ERROR), file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    args = argv[2:] if argv[:2] == ["-m", "engine"] else argv
    mode = os.environ.get("FAKE_ENGINE_MODE", "ok")
    if os.environ.get("FAKE_ENGINE_PIDFILE"):
        Path(os.environ["FAKE_ENGINE_PIDFILE"]).write_text(str(os.getpid()))
    if args[0] != "lift":
        if mode == "crash":
            return crash()
        print(json.dumps({"format": "keypoints-npz", "frames": 10, "fps": 30.0, "people": [{"id": 0}, {"id": 3}]}))
        return 0
    inp, out = args[1], args[args.index("-o") + 1]
    step = float(os.environ.get("FAKE_ENGINE_STEP_S", "1.0")) if mode == "slow" else 20.0 if mode == "hang" else 0.0

    def say(event, **fields):
        print(json.dumps({"event": event, **fields}), flush=True)

    protocol = os.environ.get("FAKE_ENGINE_PROTOCOL", "2")
    if protocol != "none":
        say("hello", engine_version="0.1.0", protocol=int(protocol))
    say("stage", stage="reading", input=inp, fraction=0.0)
    say("start", input=inp, frames=90)
    if mode == "crash":
        return crash()
    for i in range(1, 4):
        say("progress", stage="lifting", done=i, total=3, input=inp, fraction=round(0.08 + 0.9 * 0.85 * i / 3, 4))
        time.sleep(step)
    say("stage", stage="smoothing", input=inp, fraction=0.85)
    time.sleep(step / 2)
    say("stage", stage="writing", input=inp, fraction=0.94)
    shutil.copyfile(os.environ["FAKE_ENGINE_RESULT"], out)
    say("done", input=inp, output=out, fraction=1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
