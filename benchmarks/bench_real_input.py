"""How faithful is the lifted 3D to real detector output? (No 3D ground truth exists for it.)

The test split scores the model on projected motion capture; real users bring Detectron2, OpenPose or
MediaPipe keypoints of people whose proportions differ from the capture actors'. This script lifts
the 55 fitness videos of the real VideoPose3D file in `../shared/samples` (Detectron2 COCO-17,
40,659 frames) and compares each lifted pose, seen from the camera, with the 2D it was lifted from:

- reprojection error (`engine.reprojection`, the figure `lift` puts in the result's meta): per frame,
  the lifted joints' camera-frame (x, y) are fitted to the 2D keypoints with one scale and one shift
  (weak perspective, least squares); the mean distance that remains, as a fraction of the 2D torso
  height (hip centre to thorax).
- width ratios: hip width (left hip to right hip) and shoulder width of the fitted projection over
  the same width in the 2D, median over frames where the 2D width is at least 25 % of the torso
  height (side views say nothing about width). 1.0 is faithful; below 1 the model makes the body
  narrower than the detector saw it.

    .venv/bin/python benchmarks/bench_real_input.py [--checkpoint PATH] [--threads 2] [--videos 55]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.checkpoint import default_checkpoint  # noqa: E402
from engine.lifter import PRESETS, Lifter  # noqa: E402
from engine.view_aim import AIM_MODES  # noqa: E402
from engine.readers import inspect_file, read_sequence  # noqa: E402
from engine.reprojection import POOR_FIT, fit_weak_perspective, reprojection_error, torso_height  # noqa: E402
from engine.skeleton import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER  # noqa: E402

SAMPLE = REPO.parent / "shared" / "samples" / "videopose3d_custom" / "data_2d_custom_myvideos.npz"


def width(x: np.ndarray, left: int, right: int) -> np.ndarray:
    return np.linalg.norm(x[:, left] - x[:, right], axis=-1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(default_checkpoint()))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--videos", type=int, default=55, help="how many of the file's videos to lift")
    p.add_argument("--per-video", action="store_true", help="print every video's median error")
    p.add_argument("--aim", default=None, choices=AIM_MODES, help="engine.view_aim mode (default: the fast preset's)")
    args = p.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE} is missing: this benchmark needs the shared detector samples.")
    torch.set_num_threads(args.threads)
    lifter = Lifter(args.checkpoint, device="cpu")
    videos = [v["name"] for v in inspect_file(SAMPLE)["videos"]][: args.videos]
    settings = PRESETS["fast"] if args.aim is None else replace(PRESETS["fast"], aim=args.aim)
    errors, ratios, frames, t0 = [], {"hips": [], "shoulders": []}, 0, time.perf_counter()
    for video in videos:
        seq = read_sequence(SAMPLE, video=video, fps=30)
        res = lifter.lift(seq, settings)                     # the default filter, as users get it
        kp = seq.keypoints
        err = reprojection_error(res.joints3d, kp, seq.scores)
        errors.append(err[np.isfinite(err)])
        proj = fit_weak_perspective(res.joints3d[..., :2], kp, seq.scores > 0)
        torso = torso_height(kp)
        body = np.isfinite(err)
        for key, (left, right) in {"hips": (LEFT_HIP, RIGHT_HIP), "shoulders": (LEFT_SHOULDER, RIGHT_SHOULDER)}.items():
            w2d = width(kp, left, right)
            seen = body & (w2d >= 0.25 * torso)
            ratios[key].append(width(proj, left, right)[seen] / w2d[seen])
        frames += seq.num_frames
    seconds = time.perf_counter() - t0
    per_video = sorted((float(np.median(e)), v) for e, v in zip(errors, videos) if len(e))
    err = np.concatenate(errors)
    print(f"checkpoint: {lifter.meta['id']} ({args.checkpoint})")
    print(f"lifted {len(videos)} real videos, {frames:,} frames (Detectron2 COCO-17), fast preset (aim {settings.aim}), default filter, "
          f"{seconds:.1f} s")
    print(f"reprojection error (weak perspective), fraction of torso height: mean {err.mean():.3f}, "
          f"median {np.median(err):.3f} ({len(err):,} frames with a person)")
    poor = [v for e, v in per_video if e > POOR_FIT]
    print(f"videos whose median is over lift's warning threshold ({POOR_FIT:.0%}): {len(poor)} of {len(per_video)}")
    if args.per_video:
        print("\n".join(f"  {e:.3f} {v}" for e, v in per_video))
    print("best videos:  " + ", ".join(f"{v} {e:.2f}" for e, v in per_video[:5]))
    print("worst videos: " + ", ".join(f"{v} {e:.2f}" for e, v in per_video[-5:]))
    for key, r in ratios.items():
        r = np.concatenate(r)
        print(f"{key} width, lifted / detected: median {np.median(r):.2f} "
              f"(quartiles {np.quantile(r, 0.25):.2f}-{np.quantile(r, 0.75):.2f}; {len(r):,} frames)")


if __name__ == "__main__":
    main()
