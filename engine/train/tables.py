"""Markdown tables for the model card from `evaluate --output` JSON files.

    python -m engine tables eval/shipped.json                  # evaluation table + per action
    python -m engine tables --ablations eval/ablation-*.json   # one row per ablation
    python -m engine tables --seeds eval/seeds/*.json          # seeds side by side, means

`--seeds` reads the seed and the variant from file names `<prefix>-s<SEED>-<variant>.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path

COLUMNS = ("mpjpe", "p_mpjpe", "mpjve", "accel", "action_top1", "action_top1_clip", "style_top1", "style_top1_clip")
HEADER = ("| MPJPE | P-MPJPE | MPJVE | ACC-ERR | action top-1 % (frames) | action top-1 % (clips) "
          "| style top-1 % (frames) | style top-1 % (clips) |")


def _cell(value: float, column: str) -> str:
    if value != value:    # NaN: the variant has no action classifier
        return "—"
    return f"{value:.2f}" if column in ("mpjve", "accel") else f"{value:.1f}"


def _row(o: dict) -> str:
    return " | ".join(_cell(o.get(c, float("nan")), c) for c in COLUMNS)


def evaluation_table(result: dict) -> str:
    lines = [f"Split `{result['split']}`: {result['clips']} clips, {result['frames']:,} frames; preset `{result['preset']}`.", "",
             "| setting | 2D input " + HEADER, "|---|---" + "|---" * len(COLUMNS) + "|"]
    for name, by_input in result["results"].items():
        for input_name, r in by_input.items():
            lines.append(f"| {name} | {input_name} | {_row(r['overall'])} |")
    noisy = result["results"]["H=1"]["noisy"]["per_action"]
    lines += ["", "Per action (H=1, noisy 2D):", "", "| action | frames " + HEADER, "|---|---" + "|---" * len(COLUMNS) + "|"]
    for action in sorted(noisy):
        lines.append(f"| {action} | {noisy[action]['frames']} | {_row(noisy[action])} |")
    return "\n".join(lines)


def ablation_table(paths: list[str]) -> str:
    lines = ["| variant | 2D input " + HEADER, "|---|---" + "|---" * len(COLUMNS) + "|"]
    for path in paths:
        result = json.loads(Path(path).read_text())
        name = Path(path).stem.replace("ablation-", "")
        for input_name in ("clean", "noisy"):
            lines.append(f"| {name} | {input_name} | {_row(result['results']['H=1'][input_name]['overall'])} |")
    return "\n".join(lines)


def seed_table(paths: list[str], input_name: str = "noisy") -> str:
    """Noisy MPJPE / P-MPJPE per variant and seed, their means, and the full model's relative gains."""
    runs: dict = defaultdict(dict)
    for path in paths:
        m = re.search(r"-s(\d+)-(.+)$", Path(path).stem)
        if not m:
            raise ValueError(f"{path}: expected a name like <prefix>-s<SEED>-<variant>.json")
        o = json.loads(Path(path).read_text())["results"]["H=1"][input_name]["overall"]
        runs[m.group(2)][int(m.group(1))] = (o["mpjpe"], o["p_mpjpe"])
    seeds = sorted({s for by_seed in runs.values() for s in by_seed})
    lines = ["| variant | " + " | ".join(f"seed {s}" for s in seeds) + " | mean MPJPE | mean P-MPJPE |",
             "|---|" + "---|" * (len(seeds) + 2)]
    for variant, by_seed in sorted(runs.items(), key=lambda kv: (kv[0] != "full", kv[0])):   # full first
        mean = [statistics.mean(v[i] for v in by_seed.values()) for i in (0, 1)]
        cells = [f"{by_seed[s][0]:.1f} / {by_seed[s][1]:.1f}" if s in by_seed else "—" for s in seeds]
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {mean[0]:.1f} | {mean[1]:.1f} |")
    if "full" in runs:
        lines.append("")
        for other in sorted(v for v in runs if v != "full"):
            common = sorted(set(runs["full"]) & set(runs[other]))
            if not common:
                continue
            full_m, other_m = ([statistics.mean(runs[v][s][i] for s in common) for i in (0, 1)] for v in ("full", other))
            gains = [100 * (other_m[i] - full_m[i]) / other_m[i] for i in (0, 1)]
            lines.append(f"- full vs {other} over seeds {', '.join(map(str, common))}: MPJPE {gains[0]:+.1f} %, "
                         f"P-MPJPE {gains[1]:+.1f} % (positive: full is better)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="dreampose3d tables", description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="JSON files written by evaluate --output")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--ablations", action="store_true")
    mode.add_argument("--seeds", action="store_true")
    args = p.parse_args(argv)
    if args.ablations:
        print(ablation_table(args.files))
    elif args.seeds:
        print(seed_table(args.files))
    else:
        print("\n\n".join(evaluation_table(json.loads(Path(f).read_text())) for f in args.files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
