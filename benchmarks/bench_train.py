"""Benchmark training: samples/s (windows and frames) and time per epoch on this machine.

An epoch is one pass over the training frames (352k frames at 30 fps with the shipped data).
Uses the real sampler on the real mocap cache when ../shared is present, else synthetic windows.

    .venv/bin/python benchmarks/bench_train.py [--config shipped] [--threads 2] [--steps 20]
        [--batch-size B] [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.model import DreamPose3D, GaussianDiffusion  # noqa: E402
from engine.train.config import load_train_config  # noqa: E402
from engine.train.labels import ACTION_VOCAB, STYLE_VOCAB  # noqa: E402
from engine.train.losses import training_losses  # noqa: E402
from engine.train.trainer import enable_tf32  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="shipped")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=None, help="overrides the config's batch size")
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu")
    enable_tf32(device)     # as the trainer does
    cfg = load_train_config(args.config)
    model_cfg = cfg.network()
    d = GaussianDiffusion(DreamPose3D(model_cfg)).to(device).train()
    opt = torch.optim.AdamW(d.parameters(), lr=1e-4)
    b, n = args.batch_size or cfg.optimisation.batch_size, model_cfg.window

    try:
        from engine.train.mocap_dataset import WindowSampler, load_clips
        clips = load_clips("train")
        sampler = WindowSampler(clips, window=n)
        epoch_frames = sum(len(c.joints) for c in clips)
        source = f"real mocap ({len(clips)} clips)"
        draw = lambda rng: sampler.sample(b, rng)   # noqa: E731
    except Exception as exc:  # no ../shared: synthetic windows of the same shape
        epoch_frames, source = 352_422, f"synthetic windows ({type(exc).__name__}: no mocap data)"
        def draw(rng):
            return {"keypoints2d": rng.normal(size=(b, n, 17, 2)).astype(np.float32),
                    "scores": np.ones((b, n, 17), np.float32),
                    "joints3d": rng.normal(size=(b, n, 17, 3)).astype(np.float32) * 0.3,
                    "action": rng.integers(0, len(ACTION_VOCAB), b), "style": rng.integers(0, len(STYLE_VOCAB), b)}

    rng = np.random.default_rng(0)
    t_data = t_step = 0.0
    for i in range(args.steps + 3):
        t0 = time.perf_counter()
        batch = {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in draw(rng).items()}
        t1 = time.perf_counter()
        out = d.training_prediction(batch["joints3d"], batch["keypoints2d"], batch["scores"])
        loss = training_losses(out, batch, cfg.loss_weights, first_stage=False)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        if i >= 3:   # burn-in
            t_data += t1 - t0
            t_step += t2 - t1
    total = t_data + t_step
    windows_s = args.steps * b / total
    print(f"config {args.config}: {sum(p.numel() for p in d.parameters()) / 1e6:.2f} M parameters, batch {b} x {n} frames, "
          f"{torch.get_num_threads()} threads, {device}, data: {source}")
    print(f"data sampling: {t_data / args.steps * 1000:.1f} ms/step   model step: {t_step / args.steps * 1000:.1f} ms/step")
    print(f"training throughput: {windows_s:.1f} windows/s = {windows_s * n:.0f} frames/s")
    print(f"time per epoch ({epoch_frames:,} frames): {epoch_frames / (windows_s * n) / 60:.1f} min")


if __name__ == "__main__":
    main()
