"""Action names as the model predicts them, and their mirror images.

Flipping a motion left to right turns "wave-left-hand" into "wave-right-hand": training flips the
label with the motion (engine.train.labels), and flip test-time augmentation (engine.lifter) maps
the mirrored clip's probabilities back through the same index.
"""

from __future__ import annotations


def mirrored_action(action: str) -> str:
    """The label of the horizontally flipped motion: left and right swap ('wave-left-hand' ->
    'wave-right-hand'). Flip augmentation must flip the label too, or half the left/right
    examples teach the wrong class."""
    words = action.split("-")
    swapped = ["right" if w == "left" else "left" if w == "right" else w for w in words]
    return "-".join(swapped)


def mirrored_action_index(actions) -> tuple[int, ...]:
    """Index of each action's mirror in `actions` (itself when the mirror is not a class)."""
    actions = list(actions)
    return tuple(actions.index(mirrored_action(a)) if mirrored_action(a) in actions else i
                 for i, a in enumerate(actions))
