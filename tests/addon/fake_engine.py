"""Stands in for the engine's Python in the add-on tests: failures, cancels and progress without the model.

Run as `python fake_engine.py -m engine lift IN... -o OUT ...` (the add-on calls the engine's
Python with `-m engine`); `write_launcher` makes an executable the add-on can use as that Python
(DREAMPOSE3D_PYTHON). Its behaviour comes from environment variables:

- FAKE_ENGINE_MODE: ok (copy FAKE_ENGINE_RESULT to the output), slow (the same, 1 s per step),
  crash (a one-sentence error on stderr, exit 2; for `inspect` and `info` too) or hang
  (progress, then sleep);
- FAKE_ENGINE_RESULT: the result .npz to hand back;
- FAKE_ENGINE_ERROR: the sentence a crash prints (default: a missing-person error);
- FAKE_ENGINE_PIDFILE: where to write its process id (to check that a cancel ended it).

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
    print(json.dumps({"event": "start", "input": inp, "frames": 90}), flush=True)
    if mode == "crash":
        return crash()
    for i in range(1, 4):
        print(json.dumps({"event": "progress", "done": i, "total": 3, "input": inp}), flush=True)
        if mode == "hang":
            time.sleep(20)
        elif mode == "slow":
            time.sleep(1.0)
    shutil.copyfile(os.environ["FAKE_ENGINE_RESULT"], out)
    print(json.dumps({"event": "done", "input": inp, "output": out}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
