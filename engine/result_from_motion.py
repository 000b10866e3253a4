"""3D input that needs no lifting (TRC markers, our own results) as a `LiftResult`.

The add-on retargets every motion from a result file, so 3D files go through the same door:
the Blender-frame joints are kept, re-grounded, and turned back into root-relative camera joints.
No action can be recognised without 2D, so the prompt is "unknown".
"""

from __future__ import annotations

import numpy as np

from . import __version__
from .frames import blender_to_camera, ground_offset
from .sequence import LiftResult
from .smoothing import smooth


def result_from_motion(motion, smoothing: str = "none", smooth_hz: float | None = None) -> LiftResult:
    world = smooth(np.asarray(motion.joints_world, dtype=np.float32), motion.fps, smoothing, smooth_hz)
    world = world.copy()
    world[..., 2] -= ground_offset(world)
    camera = blender_to_camera(world - world[:, :1])
    t = world.shape[0]
    return LiftResult(joints3d=camera.astype(np.float32), joints3d_world=world.astype(np.float32), fps=motion.fps,
                      action_names=["unknown"], action_probs=np.ones((t, 1), np.float32), prompt=["unknown"] * t,
                      meta={"engine_version": __version__, "checkpoint": None, "input_format": motion.meta.get("format"),
                            "source": motion.meta, "lifted": False, "smoothing": {"method": smoothing, "hz": smooth_hz}})
