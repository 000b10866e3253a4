"""Limb mixing: training windows whose legs or arms move as another window's do.

Issue #21: most of the training motion is one skeleton walking and gesturing, and the `cross`
split's playground climbing (89 % of its frames) raises the legs while the arms reach up, a
combination no training clip holds; its error is mostly the depth of the knees, ankles and wrists.
Mixing gives the model arm and leg poses in combinations it has not seen, each still a real
motion: the host window keeps its body, its proportions, its root path and everything but one
pair of limbs; those two chains take the donor window's bone *directions*, turned about the
vertical so that they stand to the host's hips (or shoulders) as they stood to the donor's, rebuilt
with the host's bone lengths. The window is then lowered or raised so that its lowest ankle is
where the host's was (legs from a squat under a standing body would float otherwise).

A mixed window's action and style labels no longer describe it, so the sampler marks them
IGNORE_LABEL and the losses leave them out.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import (LEFT_ANKLE, LEFT_ELBOW, LEFT_HIP, LEFT_KNEE, LEFT_SHOULDER, LEFT_WRIST, RIGHT_ANKLE,
                        RIGHT_ELBOW, RIGHT_HIP, RIGHT_KNEE, RIGHT_SHOULDER, RIGHT_WRIST)

IGNORE_LABEL = -100          # torch's cross-entropy default ignore_index
# Each part: its two chains (root joint first) and the pair of joints whose line gives its heading.
PARTS = {
    "legs": (((RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE), (LEFT_HIP, LEFT_KNEE, LEFT_ANKLE)), (LEFT_HIP, RIGHT_HIP)),
    "arms": (((RIGHT_SHOULDER, RIGHT_ELBOW, RIGHT_WRIST), (LEFT_SHOULDER, LEFT_ELBOW, LEFT_WRIST)),
             (LEFT_SHOULDER, RIGHT_SHOULDER)),
}
UP = 1                       # the training clips are Y-up (mocap_dataset._y_up)


def _heading(world: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    """(..., 17, 3) -> (...,) unit complex numbers: the direction of the line from pair[1] to
    pair[0] on the floor (x + i z)."""
    v = world[..., pair[0], :] - world[..., pair[1], :]
    h = v[..., 0] + 1j * v[..., 2]
    return h / np.maximum(np.abs(h), 1e-9)


def mix_limbs(host: np.ndarray, donor: np.ndarray, part: str) -> np.ndarray:
    """(N, 17, 3) host and donor windows (world, Y-up, same N) -> the host with `part` ("legs" or
    "arms") moving as the donor's, per frame; see the module docstring."""
    chains, pair = PARTS[part]
    out = host.copy()
    turn = _heading(host, pair) / _heading(donor, pair)              # (N,) rotation about the vertical
    for chain in chains:
        for parent, child in zip(chain[:-1], chain[1:]):
            d = donor[:, child] - donor[:, parent]
            flat = (d[:, 0] + 1j * d[:, 2]) * turn
            direction = np.stack([flat.real, d[:, UP], flat.imag], axis=-1)
            direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
            length = np.linalg.norm(host[:, child] - host[:, parent], axis=-1, keepdims=True)
            out[:, child] = out[:, parent] + length * direction
    ankles = [LEFT_ANKLE, RIGHT_ANKLE]
    out[..., UP] += host[:, ankles, UP].min() - out[:, ankles, UP].min()
    return out


def mix_batch(world: np.ndarray, donors: np.ndarray, mixed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B, N, 17, 3) windows, (B, N, 17, 3) donor windows, (B,) bool which to mix -> windows where
    each mixed one took its donor's legs or arms (half each)."""
    out = world.copy()
    for b in np.flatnonzero(mixed):
        out[b] = mix_limbs(world[b], donors[b], "legs" if rng.random() < 0.5 else "arms")
    return out
