"""Action and style labels for mocap clips, in one fixed vocabulary shared by all sources.

The vocabularies are written out (not read from disk) so that a checkpoint's class indices never
shift when the data folder changes; `tests/engine/test_train_data.py` checks that they still cover
the Bandai `cfg/*_label.txt` files. Bandai labels come from file names
(`dataset-{1,2}_{action}_{style}_{id}.bvh.gz`); CMU descriptions (`cmu_index.csv`) are mapped onto
the same actions by keywords, else `other`, and every CMU clip has style `normal`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..actions import mirrored_action_index

# Bandai set 1 (17 actions) and set 2 (10 actions), plus the CMU actions no Bandai action covers.
ACTION_VOCAB: tuple[str, ...] = tuple(sorted({
    "bow", "bye", "byebye", "call", "dance-long", "dance-short", "dash", "guide", "kick", "punch",
    "respond", "run", "slash", "walk", "walk-back", "walk-left", "walk-right",
    "raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand", "walk-turn-left",
    "walk-turn-right", "wave-both-hands", "wave-left-hand", "wave-right-hand",
    "climb", "dribble", "jump", "other",
}))
# Bandai set 1 (15 styles) and set 2 (7 styles); CMU clips are `normal`.
STYLE_VOCAB: tuple[str, ...] = tuple(sorted({
    "active", "angry", "childish", "chimpira", "feminine", "giant", "happy", "masculinity",
    "musical", "normal", "not-confident", "old", "proud", "sad", "tired",
    "elderly", "exhausted", "masculine", "youthful", "other",
}))

# CMU description keyword -> action, first match wins (so "playground - climb, ..., jump down" is a
# climb, and "basketball - dribble, shoot" a dribble).
_CMU_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("climb", "climb"), ("dribble", "dribble"), ("dance", "dance-long"), ("swordplay", "slash"),
    ("punch", "punch"), ("strike", "punch"), ("kick", "kick"), ("jump", "jump"), ("run", "run"),
    ("jog", "run"), ("walk", "walk"),
)
_BANDAI_NAME = re.compile(r"^dataset-(?P<set>[12])_(?P<action>[^_]+)_(?P<style>[^_]+)_(?P<id>\d+)$")


def clip_stem(path: str | Path) -> str:
    """File name without `.bvh` / `.bvh.gz`."""
    name = Path(path).name
    for ext in (".gz", ".bvh"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return name


def action_label(name: str) -> str:
    return name if name in ACTION_VOCAB else "other"


def style_label(name: str) -> str:
    return name if name in STYLE_VOCAB else "other"


def bandai_labels(path: str | Path) -> tuple[str, str]:
    """(action, style) from a Bandai file name; unknown words become `other`."""
    m = _BANDAI_NAME.match(clip_stem(path))
    if m is None:
        return "other", "other"
    return action_label(m["action"]), style_label(m["style"])


def cmu_action(description: str) -> str:
    text = description.lower()
    for keyword, action in _CMU_KEYWORDS:
        if keyword in text:
            return action
    return "other"


def read_cmu_index(csv_path: str | Path) -> dict[tuple[int, int], str]:
    """(subject, trial) -> motion description."""
    out: dict[tuple[int, int], str] = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                out[(int(row["Subject"]), int(row["Trial #"]))] = row["Motion Description"]
            except (KeyError, ValueError):
                continue
    return out


def cmu_subject_trial(path: str | Path) -> tuple[int, int]:
    """`007_01.bvh.gz` -> (7, 1)."""
    subject, trial = clip_stem(path).split("_")[:2]
    return int(subject), int(trial)


def cmu_labels(path: str | Path, index: dict[tuple[int, int], str]) -> tuple[str, str]:
    """(action, style) for a CMU file; style is always `normal` (no style annotation)."""
    try:
        description = index.get(cmu_subject_trial(path), "")
    except ValueError:
        description = ""
    return cmu_action(description), "normal"


# MIRRORED_ACTION_INDEX[i] = index of the mirrored ACTION_VOCAB[i].
MIRRORED_ACTION_INDEX: tuple[int, ...] = mirrored_action_index(ACTION_VOCAB)
