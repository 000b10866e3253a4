"""`Motion3D`: 3D input that needs no lifting (TRC markers, our own result `.npz`).

The add-on retargets `joints_world` directly, so it is in the Blender frame of the shared
conventions: metres, Z up, grounded (lowest ankle at z = 0), H36M-17 order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import limits
from ..errors import SequenceError
from ..skeleton import NUM_JOINTS


PERSON_EXTENT_M = (0.2, 5.0)   # median diagonal of the 17 joints' bounding box: a child to a giant


@dataclass
class Motion3D:
    joints_world: np.ndarray  # (T, 17, 3) float32, Blender frame, metres
    fps: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.joints_world = np.asarray(self.joints_world, dtype=np.float32)
        self.fps = float(self.fps)

    @property
    def num_frames(self) -> int:
        return int(self.joints_world.shape[0])

    def validate(self, name: str = "motion") -> "Motion3D":
        j = self.joints_world
        if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3) or j.shape[0] == 0:
            raise SequenceError(f"{name}: 3D joints must have shape (frames, 17, 3), got {j.shape}.")
        if not np.isfinite(j).all():
            raise SequenceError(f"{name}: 3D joints contain NaN or infinite values.")
        limits.fps(self.fps, name)
        extent = np.median(np.linalg.norm(j.max(axis=1) - j.min(axis=1), axis=-1))
        if not PERSON_EXTENT_M[0] <= extent <= PERSON_EXTENT_M[1]:
            raise SequenceError(f"{name}: the skeleton measures {extent:.3g} m across, not a person in metres "
                                f"(check the file's units).")
        return self
