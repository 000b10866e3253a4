"""Turn a training run into the shipped checkpoint: fp16 safetensors with evaluation in its info.

    python -m engine export-weights runs/shipped/model.safetensors weights/dreampose3d.safetensors \
        --evaluation runs/eval/shipped.json [--evaluation runs/eval/shipped-h5.json]

`info` keeps what training recorded (data, steps, time, text encoder, train config) and adds the overall
figures of each evaluated split (`metrics_test_split_mm`, `metrics_cross_split_mm`), so `python -m
engine info` shows them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..checkpoint import load_checkpoint, save_checkpoint


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="dreampose3d export-weights", description=__doc__.splitlines()[0])
    p.add_argument("source", help="the run's model.safetensors")
    p.add_argument("target", help="the fp16 checkpoint to write")
    p.add_argument("--evaluation", action="append", default=[], help="evaluate --output JSON (repeatable)")
    args = p.parse_args(argv)
    diffusion, meta = load_checkpoint(args.source)
    info = dict(meta["info"])
    for path in args.evaluation:   # style top-1 is left out: the test split's styles are unseen
        result = json.loads(Path(path).read_text())
        # one entry per split (metrics_test_split_mm, metrics_cross_split_mm): a cross evaluation
        # must not overwrite the test figures
        metrics = info.setdefault(f"metrics_{result['split']}_split_mm", {})
        for setting, by_input in result["results"].items():
            for input_name, r in by_input.items():
                metrics[f"{setting} {input_name}"] = {k: round(v, 2) for k, v in r["overall"].items() if not k.startswith("style_top1")}
        metrics.setdefault("split", f"{result['split']}: {result['clips']} clips, {result['frames']} frames")
        if "sampling" in result:
            metrics.setdefault("sampling", result["sampling"])
    info["model_card"] = "weights/MODEL_CARD.md"
    out = save_checkpoint(diffusion.model, args.target, info, half=True)
    print(f"{out}: {out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
