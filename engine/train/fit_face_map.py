"""`python -m engine fit-face-map`: fit engine.missing_face's map on the training split's 2D.

Every `--every`-th training clip is seen as `evaluate` sees a clip (one fixed camera seeded by the
clip's name, detector noise), once through a camera aimed at the person and once through one
placed like real footage's (`--cameras anywhere`), and the face map is fitted by least squares on
the frames where every joint is seen. The JSON written (engine/assets/face_from_body.json by
default) records what it was fitted on and its residuals, in torso lengths.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..missing_face import FACE_MAP_FILE, fit_face_map


def parse_args(argv):
    p = argparse.ArgumentParser(prog="dreampose3d fit-face-map", description=__doc__.splitlines()[0])
    p.add_argument("--output", default=str(FACE_MAP_FILE))
    p.add_argument("--every", type=int, default=10, help="use every k-th training clip")
    p.add_argument("--sources", default=None, help="comma-separated (default: the training sources)")
    p.add_argument("--mocap-root", default=None)
    p.add_argument("--limit-clips", type=int, default=None, help="first N clips per source (tests)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    from .mocap_dataset import DEFAULT_SOURCES, WindowSampler, load_clips

    args = parse_args(argv)
    sources = tuple(args.sources.split(",")) if args.sources else DEFAULT_SOURCES
    clips = load_clips("train", root=args.mocap_root, limit=args.limit_clips, sources=sources)[:: max(1, args.every)]
    sampler = WindowSampler(clips, noise=True)
    kps, scs = [], []
    for clip in clips:
        for cameras in ("aimed", "anywhere"):
            data = sampler.windows_for_eval(clip, cameras=cameras)
            kps.append(data["keypoints2d"])
            scs.append(data["scores"])
    face_map = fit_face_map(np.concatenate(kps), np.concatenate(scs))
    face_map = {"about": "engine.missing_face: nose and head top from the other joints in the torso frame",
                "fitted_on": {"split": "train", "sources": list(sources), "every": args.every, "clips": len(clips),
                              "cameras": ["aimed", "anywhere"], "noise": "detector noise (engine.train.detector_noise)"},
                **face_map}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(face_map, indent=1) + "\n")
    print(f"face map from {face_map['frames']:,} frames of {len(clips)} clips: residual "
          f"{face_map['rms_torso_lengths']:.3f} torso lengths (a mean face: {face_map['rms_torso_lengths_mean_face']:.3f})"
          f" -> {args.output}", file=sys.stderr)
    return 0
