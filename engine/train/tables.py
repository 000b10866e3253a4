"""Markdown tables for the model card from `evaluate --output` JSON files.

    python -m engine.train.tables eval/shipped.json               # evaluation table + per action
    python -m engine.train.tables --ablations eval/ablation-*.json   # one row per ablation
"""

from __future__ import annotations

import argparse
import json
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--ablations", action="store_true")
    args = p.parse_args(argv)
    print(ablation_table(args.files) if args.ablations else "\n\n".join(evaluation_table(json.loads(Path(f).read_text())) for f in args.files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
