"""Video input (issue #20): MediaPipe Pose frames/s per model complexity, and the end-to-end time
from a video to a .blend through `addon/batch.py` (detect, lift with the shipped weights, build the
rig, the movie clip and the camera, save). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_detect.py [--video PATH] [--frames 90] [--models lite full heavy]
        [--no-end-to-end]

Default video: ../shared/samples/video/sports2d_demo.mp4 (230 frames, 1768x994, 30 fps). The
per-model figures run the engine's own `detect_video` on the first `--frames` frames (a cut written
to a temporary folder), after one warm-up frame; decoding alone is measured too. A model whose file
is not installed (see `make mediapipe-models`) is reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine import detector, video  # noqa: E402
from engine.errors import EngineError  # noqa: E402

DEFAULT_VIDEO = REPO.parent / "shared" / "samples" / "video" / "sports2d_demo.mp4"


def decode_fps(path: Path) -> float:
    t0 = time.perf_counter()
    n = sum(1 for _ in video.frames(path))
    return n / (time.perf_counter() - t0)


def detect_fps(path: Path, warm_up: Path, model: str) -> tuple[float, int]:
    try:
        detector.detect_video(warm_up, model=model)           # model load, file copy, caches
    except EngineError as exc:
        if "shows no person" not in str(exc):
            raise
    t0 = time.perf_counter()
    det = detector.detect_video(path, model=model)
    seconds = time.perf_counter() - t0
    return det.num_frames / seconds, int(det.meta["frames_with_pose"])


def end_to_end(path: Path, out: Path, model: str | None) -> tuple[float, dict]:
    cmd = [sys.executable, str(REPO / "addon" / "batch.py"), "--input", str(path), "--output", str(out), "--export", "blend"]
    if model:
        cmd += ["--detector-model", model]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"batch failed: {proc.stderr.strip().splitlines()[-1]}")
    done = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith('{"event": "done"')]
    return seconds, done[-1] if done else {}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    p.add_argument("--frames", type=int, default=90, help="frames per model for the frames/s figures")
    p.add_argument("--models", nargs="+", default=list(detector.MODELS), choices=list(detector.MODELS))
    p.add_argument("--no-end-to-end", action="store_true")
    args = p.parse_args(argv)
    if not args.video.is_file():
        raise SystemExit(f"error: {args.video} is absent (pass --video PATH)")
    info = video.probe(args.video)
    print(f"video: {args.video.name}, {info.frames} frames, {info.image_size[0]}x{info.image_size[1]}, {info.fps:g} fps; "
          f"{os.cpu_count()} CPU cores")
    with tempfile.TemporaryDirectory() as tmp:
        cut = video.cut(args.video, Path(tmp) / "cut.mp4", args.frames)
        warm_up = video.cut(args.video, Path(tmp) / "warm_up.mp4", 5)
        print(f"decoding only: {decode_fps(cut):.0f} frames/s ({args.frames} frames)")
        print(f"{'model':<7} {'complexity':>10} {'frames/s':>9} {'ms/frame':>9} {'frames with a pose':>19}")
        for model in args.models:
            try:
                fps, found = detect_fps(cut, warm_up, model)
            except EngineError as exc:
                print(f"{model:<7} {detector.MODELS[model]:>10}   skipped: {exc}")
                continue
            print(f"{model:<7} {detector.MODELS[model]:>10} {fps:>9.1f} {1000 / fps:>9.1f} {found:>12}/{args.frames}")
        if not args.no_end_to_end:
            default = detector.resolve_model("auto")
            seconds, done = end_to_end(args.video, Path(tmp) / "out", None)
            print(f"end to end, video -> .blend (addon/batch.py, detector {default}, shipped weights, fast preset): "
                  f"{seconds:.1f} s for {info.frames} frames ({info.frames / seconds:.1f} frames/s; the engine's "
                  f"share {done.get('seconds', float('nan')):.1f} s after detection)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
