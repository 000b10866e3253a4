"""Write the bundled demo keypoints (`engine/assets/demo_keypoints.npz`) from a held-out mocap clip.

The clip is from the test split (never trained on), projected through its fixed evaluation camera
with detector-like noise, so the demo looks like real detector output. Run:
    python -m engine make-demo [--clip dataset-1_walk_proud_001]
The derived file carries its source's attribution (engine.train.sources; for the Bandai clips
CC BY-NC 4.0, as engine/assets/README.md says).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..errors import EngineError
from ..frames import denormalise_screen
from ..sequence import KeypointSequence
from .sources import SOURCES

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def main(argv=None) -> int:
    from .mocap_dataset import WindowSampler, load_clips

    p = argparse.ArgumentParser(prog="dreampose3d make-demo", description=__doc__.splitlines()[0])
    p.add_argument("--clip", default="dataset-1_walk_proud_001", help="a test-split clip")
    p.add_argument("--output", default=str(ASSETS / "demo_keypoints.npz"))
    args = p.parse_args(argv)
    clip = next((c for c in load_clips("test") if c.name == args.clip), None)
    if clip is None:
        raise EngineError(f"Clip {args.clip} is not in the test split (the demo must be a clip never trained on).")
    data = WindowSampler([clip], noise=True).windows_for_eval(clip)
    w, h = (int(v) for v in data["image_size"])
    pixels = denormalise_screen(data["keypoints2d"], w, h)
    scores = data["scores"].astype(np.float32)
    pixels[scores == 0] = 0.0
    seq = KeypointSequence(np.round(pixels, 2), np.round(scores, 3), (w, h), clip.fps, {
        "source": f"{clip.name} (test split), projected with detector-like noise by engine.train.make_demo",
        "action": clip.action, "style": clip.style,
        "attribution": SOURCES[clip.source].attribution})
    seq.save(args.output)
    print(f"{args.output}: {seq.num_frames} frames, {w}x{h}, {Path(args.output).stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
