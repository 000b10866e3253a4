"""Benchmark `lift`: 1,800 frames (1 min at 30 fps) per preset on this machine.

Prints wall time and frames/s per preset, model load time, peak RSS, parameters, FLOPs per frame,
and the ratio of achieved FLOP/s to this machine's measured matmul FLOP/s. Goal for the default
preset with the shipped model: under 10 s and under 2 GB RSS on 2 CPU cores.

    .venv/bin/python benchmarks/bench_lift.py [--checkpoint PATH] [--frames 1800] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.checkpoint import default_checkpoint, save_checkpoint  # noqa: E402
from engine.lifter import PRESETS, Lifter  # noqa: E402
from engine.sequence import KeypointSequence  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_flops(seconds: float = 2.0) -> float:
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        n += 1
    return 2 * 1024 ** 3 * n / (time.perf_counter() - t0)


def sequence(frames: int) -> KeypointSequence:
    """A moving person's 2D keypoints: the bundled demo clip tiled to `frames`, else a synthetic walk."""
    demo = REPO / "engine" / "assets" / "demo_keypoints.npz"
    if demo.exists():
        seq = KeypointSequence.load(demo)
        reps = math.ceil(frames / seq.num_frames)
        idx = np.concatenate([np.arange(seq.num_frames)[:: (1 if r % 2 == 0 else -1)] for r in range(reps)])[:frames]
        return KeypointSequence(seq.keypoints[idx], seq.scores[idx], seq.image_size, seq.fps, {"source": "demo tiled"})
    t = np.arange(frames) / 30.0
    base = np.random.default_rng(0).uniform(800, 1100, size=(17, 2))
    kp = base[None] + 40 * np.sin(2 * np.pi * t)[:, None, None]
    return KeypointSequence(kp, np.full((frames, 17), 0.9), (1920, 1080), 30.0, {"source": "synthetic"})


def flops_per_frame(lifter: Lifter) -> float:
    """FLOPs of one denoiser pass per frame (one window, counted by torch's FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    n = lifter.config.window
    kp, sc = torch.zeros(1, n, 17, 2), torch.ones(1, n, 17)
    with FlopCounterMode(display=False) as counter:
        lifter.diffusion.sample(kp, sc, steps=1, generator=torch.Generator().manual_seed(0))
    return counter.get_total_flops() / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--frames", type=int, default=1800)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ckpt = Path(args.checkpoint) if args.checkpoint else default_checkpoint()
    note = str(ckpt)
    if not ckpt.exists():   # same size as the shipped model, random weights: speed does not depend on them
        from engine.model import DreamPose3D, ModelConfig
        from engine.train.trainer import load_config
        cfg = load_config("shipped")["model"]
        ckpt = Path(tempfile.mkdtemp()) / "random.safetensors"
        save_checkpoint(DreamPose3D(ModelConfig(text_dim=384, **cfg)), ckpt)
        note = "shipped size, random weights (weights/ absent)"

    machine = matmul_flops()
    lifter = Lifter(ckpt, "cpu")
    params = sum(p.numel() for p in lifter.diffusion.model.parameters())
    fpf = flops_per_frame(lifter)
    seq = sequence(args.frames)
    print(f"checkpoint: {note}")
    print(f"threads: {torch.get_num_threads()}  machine matmul: {machine / 1e9:.0f} GFLOP/s")
    print(f"model load: {lifter.load_seconds:.2f} s  parameters: {params / 1e6:.2f} M  "
          f"FLOPs per frame per denoising pass: {fpf / 1e6:.1f} M")
    rows = []
    for name, settings in PRESETS.items():
        lifter.lift(sequence(lifter.config.window), settings)               # warm-up
        t0 = time.perf_counter()
        lifter.lift(seq, settings)
        wall = time.perf_counter() - t0
        n, stride = lifter.config.window, max(1, lifter.config.window - settings.overlap)
        windows = math.ceil(max(0, args.frames - n) / stride) + 1
        passes = settings.steps * settings.hypotheses * (2 if settings.flip else 1)
        flops = fpf * n * windows * passes
        rows.append((name, wall, args.frames / wall, flops / wall / machine, peak_rss_mb()))
    print(f"{'preset':8} {'wall s':>8} {'frames/s':>9} {'FLOP/s / matmul':>16} {'peak RSS MB':>12}")
    for name, wall, fps, ratio, rss in rows:
        print(f"{name:8} {wall:8.2f} {fps:9.0f} {ratio:16.2f} {rss:12.0f}")

    with tempfile.TemporaryDirectory() as tmp:   # the whole CLI path, as the add-on runs it
        kp = Path(tmp) / "clip.npz"
        seq.save(kp)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "engine", "lift", str(kp), "-o", str(Path(tmp) / "out.npz"),
                               "--checkpoint", str(ckpt), "--device", "cpu"], cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        ok = proc.returncode == 0
        print(f"CLI end to end (fast, process start + load + lift + write): {wall:.2f} s" + ("" if ok else f"  FAILED: {proc.stderr.strip()[-200:]}"))
    print(json.dumps({"goal_fast_under_10s": rows[0][1] < 10, "goal_rss_under_2GB": rows[-1][4] < 2048}))


if __name__ == "__main__":
    main()
