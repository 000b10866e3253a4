"""TRC marker files (OpenSim / Pose2Sim): 3D motion read directly, no lifting.

Header (5 lines): `PathFileType`, the field names, their values (`DataRate ... Units ...`),
`Frame# Time <marker> <tab> <tab> ...`, and `X1 Y1 Z1 ...`; then one row per frame. Markers are
matched by name (layouts.POSE2SIM_TRC), so the file's marker order and extra markers do not
matter. Coordinates are Y-up (OpenSim); they become the Blender frame (Z up):
(x, y, z)_blender = (X, -Z, Y), a +90 degree rotation about X. Units `mm`/`cm` are scaled to metres.
The clip is grounded (engine.frames.ground_offset) and its first pelvis put over the origin, like
`lift` results. Empty cells (occluded markers) go through the same gap filling as 2D input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import gaps
from ..frames import ground_offset
from . import layouts
from ._io import fail, read_text
from .motion import Motion3D

UNIT_SCALE = {"m": 1.0, "mm": 0.001, "cm": 0.01}


def is_trc(text_head: str) -> bool:
    return text_head.startswith("PathFileType")


def _parse(path: Path) -> tuple[dict, list[str], np.ndarray]:
    lines = read_text(path).split("\n")
    if not is_trc(lines[0]) or len(lines) < 6:
        raise fail(path, "is not a TRC file (no 'PathFileType' header) or is truncated")
    keys, vals = lines[1].rstrip("\r").split("\t"), lines[2].rstrip("\r").split("\t")
    header = dict(zip((k.strip() for k in keys), (v.strip() for v in vals)))
    names = [n.strip() for n in lines[3].rstrip("\r").split("\t")[2:] if n.strip()]
    rows = [ln.rstrip("\r").split("\t") for ln in lines[5:] if ln.strip()]
    if not rows:
        raise fail(path, "has a header but no frames")
    width = 2 + 3 * len(names)
    data = np.full((len(rows), width), np.nan)
    try:
        for i, r in enumerate(rows):
            if len(r) > width + 1 or len(r) < 2:
                raise ValueError
            cells = [c if c.strip() else "nan" for c in r[:width]]
            data[i, : len(cells)] = np.asarray(cells, dtype=np.float64)
    except ValueError:
        raise fail(path, f"has a malformed or truncated data row ({i + 6})") from None
    if np.isinf(data).any():
        raise fail(path, "contains infinite values")
    return header, names, data


def read(path: Path, fps=None, max_gap: int = gaps.DEFAULT_MAX_GAP, **_) -> Motion3D:
    header, names, data = _parse(path)
    layout = layouts.POSE2SIM_TRC
    missing = [m for m in layout.joints if m not in names]
    if missing:
        raise fail(path, f"lacks the marker(s) {', '.join(missing)} needed for the Human3.6M skeleton")
    units = header.get("Units", "m")
    if units not in UNIT_SCALE:
        raise fail(path, f"uses unknown units '{units}' (expected m, cm or mm)")
    rate = fps
    if rate is None:
        try:
            rate = float(header.get("DataRate", "nan"))
        except ValueError:
            rate = float("nan")
        if not np.isfinite(rate) or rate <= 0:
            raise fail(path, "has no valid DataRate; pass --fps")
    cols = np.array([2 + 3 * names.index(m) for m in layout.joints])
    xyz = data[:, cols[:, None] + np.arange(3)] * UNIT_SCALE[units]  # (T, M, 3) Y up
    vis = np.isfinite(xyz).all(axis=2)
    world = np.stack([xyz[..., 0], -xyz[..., 2], xyz[..., 1]], axis=-1)
    world = np.where(vis[..., None], world, 0.0)
    joints, scores = layout.to_h36m(world, vis.astype(np.float32))
    joints, scores, report = gaps.fill_gaps(joints, scores, max_gap)
    if (scores <= 0).any():
        raise fail(path, f"has markers missing for longer than {max_gap} frames, which cannot be filled")
    offset = np.array([joints[0, 0, 0], joints[0, 0, 1], ground_offset(joints)], dtype=np.float32)
    joints = joints - offset
    meta = {"format": "trc", "source_file": path.name, "source_layout": layout.name,
            "mapping": layout.notes(), "derived_joints": layout.derived(), "units": units,
            "source_frame": "Y up (OpenSim)", "offset_removed_m": offset.round(4).tolist(),
            "gaps": report, "person": 0}
    return Motion3D(joints, rate, meta).validate(path.name)


def summary(path: Path) -> dict:
    header, names, data = _parse(path)
    try:
        fps = float(header.get("DataRate"))
    except (TypeError, ValueError):
        fps = None
    return {"format": "trc", "file": path.name, "frames": int(data.shape[0]), "fps": fps,
            "image_size": None, "layout": layouts.POSE2SIM_TRC.name, "markers": names,
            "people": [{"id": 0, "first_frame": 0, "last_frame": int(data.shape[0]) - 1,
                        "frames_visible": int(np.isfinite(data[:, 2:]).all(axis=1).sum()),
                        "mean_confidence": None}],
            "videos": None, "warnings": []}
