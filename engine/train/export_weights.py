"""Turn a training run into the shipped checkpoint: fp16 safetensors with evaluation in its info.

    python -m engine export-weights runs/shipped/model.safetensors weights/dreampose3d.safetensors \
        --evaluation runs/eval/shipped.json [--evaluation runs/eval/shipped-h5.json] \
        [--average runs/other/model.safetensors]

`--average` (repeatable) ships the mean of the source's weights and those of other runs with the same
architecture: runs warm-started from the same weights with different seeds average into weights
that are usually better than each ("model soups", Wortsman et al. 2022). Averaging runs that did not
share a start point gives nonsense, so only do it for such runs, and evaluate the result.

`info` keeps what training recorded (data, steps, time, text encoder, train config) and adds the overall
figures of each evaluated split (`metrics_test_split_mm`, `metrics_cross_split_mm`), so `python -m
engine info` shows them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import CheckpointError


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="dreampose3d export-weights", description=__doc__.splitlines()[0])
    p.add_argument("source", help="the run's model.safetensors")
    p.add_argument("target", help="the fp16 checkpoint to write")
    p.add_argument("--evaluation", action="append", default=[], help="evaluate --output JSON (repeatable)")
    p.add_argument("--average", action="append", default=[],
                   help="another run's model.safetensors, warm-started from the same weights, to average with the source (repeatable)")
    args = p.parse_args(argv)
    diffusion, meta = load_checkpoint(args.source)
    info = dict(meta["info"])
    if args.average:
        average_into(diffusion.model, meta, args.average, info)
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


def average_into(model, meta: dict, paths: list[str], info: dict) -> None:
    """Replace `model`'s weights by the mean of its own and those of the checkpoints at `paths`, and
    record each run's training info under info["averaged_runs"]. A different architecture is refused
    (CheckpointError, one sentence)."""
    def record(m: dict) -> dict:
        return {"id": m["id"], "training": m["info"].get("training"), "validation": m["info"].get("validation")}

    total = {k: v.detach().clone().double() for k, v in model.state_dict().items()}
    runs = [record(meta)]
    for path in paths:
        other, other_meta = load_checkpoint(path)
        if other_meta["config"].to_dict() != meta["config"].to_dict():
            raise CheckpointError(f"Checkpoint {Path(path).name} has another architecture than the source, so the two cannot be averaged.")
        for k, v in other.model.state_dict().items():
            total[k] += v.double()
        runs.append(record(other_meta))
    with torch.no_grad():
        model.load_state_dict({k: (v / len(runs)).float() for k, v in total.items()})
    info["averaged_runs"] = runs


if __name__ == "__main__":
    raise SystemExit(main())
