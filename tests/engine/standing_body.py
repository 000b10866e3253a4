"""One standing H36M-17 body in the training clips' frame (metres, Y up, facing +z), for the
sampler's and limb mixing's tests (no shared data needed)."""

from __future__ import annotations

import numpy as np


def standing_body() -> np.ndarray:
    """(17, 3) float64: feet 8 cm above the floor (y = 0), arms hanging."""
    return np.array([[0, .95, 0], [-.13, .95, 0], [-.13, .5, 0], [-.13, .08, 0], [.13, .95, 0],
                     [.13, .5, 0], [.13, .08, 0], [0, 1.2, 0], [0, 1.45, 0], [0, 1.55, .08],
                     [0, 1.7, 0], [.17, 1.43, 0], [.2, 1.15, 0], [.22, .9, 0], [-.17, 1.43, 0],
                     [-.2, 1.15, 0], [-.22, .9, 0]], dtype=np.float64)
