"""Reader for the Li et al. 2018 CMU motion-prediction files (exp-map rows, 38 joints, one skeleton).

Format (`cmu-extra/motion-prediction/SKELETON.md`, `skeleton.json`): one frame per line, 117
comma-separated floats: root position (cols 0-2, CMU ASF units, Y up) then the exponential map
(axis * angle, radians) of joints 0..37 (cols 3+3j..5+3j). Row 1 is a fixed T-pose reference, not a
captured frame, and is dropped. Rows are at 120 fps (CMU's rate; the source code's 50 fps is wrong).

FK exactly as `skeleton.json` prescribes, with the source's row vectors:
`p[j] = offset[j] @ R[parent] + p[parent]`, `R[j] = E(r_j) @ R[parent]`, root
`p[0] = offset[0] + (col0, col1, col2)`, `R[0] = E(r_0)`, where E is the source's Rodrigues formula
(`expmap2rotmat`) and the offsets are `offset_asf_units` (the source's x70 offsets and its axis swaps
are plotting quirks SKELETON.md says to leave out). One consequence to know: the data encode the
root as Rz Rx Ry of the AMC angles where the CMU viewer (and `asf_amc.py`) uses Rz Ry Rx, so whole
bodies are tilted by a few degrees in some frames (median 4 deg, up to 16 deg on trial 11_01).

Joint j is named after the ASF bone that *starts* there (`lfemur` = left hip, `ltibia` = knee,
`head` = skull base, `*_end` = end sites). The skeleton keeps its own proportions (CMU subject 02,
with the zero-length thorax that makes the trunk about 12 cm short). Metres = units * 0.0254 / 0.45.
H36M-17 goes through `maps/cmu_mp38.json`; virtual sites `[joint, offset]` are
`p[joint] + offset @ R[joint]`, the offset in rest (ASF) axes and units, as in `asf_amc.py`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .asf_amc import CMU_FPS, INCH, Pose, apply_mapping, parse_floats, read_text
from .bvh import MocapError
from .skeleton_maps import MAPS_DIR, load_mapping

VALUES_PER_ROW = 117
NUM_JOINTS = 38
METRES_PER_UNIT = INCH / 0.45


@lru_cache(maxsize=4)
def load_skeleton(path: str | Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(names, parents (38,), offsets (38, 3) in ASF units) from `skeleton.json`."""
    path = Path(path)
    try:
        joints = json.loads(path.read_text(encoding="utf-8"))["joints"]
        names = tuple(j["name"] for j in joints)
        parents = np.array([j["parent"] for j in joints], dtype=np.int64)
        offsets = np.array([j["offset_asf_units"] for j in joints], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MocapError(f"Cannot read the motion-prediction skeleton {path}: {exc}.") from None
    if len(names) != NUM_JOINTS or offsets.shape != (NUM_JOINTS, 3) or any(p >= j for j, p in enumerate(parents)):
        raise MocapError(f"Motion-prediction skeleton {path} is not the 38-joint tree with parents first.")
    return names, parents, offsets


def default_skeleton(txt_path: Path) -> Path:
    """`skeleton.json` of the motion-prediction folder that holds `txt_path` (.../{train,test}/<action>/)."""
    for folder in txt_path.resolve().parents:
        if (folder / "skeleton.json").exists():
            return folder / "skeleton.json"
    raise MocapError(f"No skeleton.json above motion-prediction file {txt_path}; pass `skeleton=`.")


def read_rows(path: str | Path) -> np.ndarray:
    """All rows of a .txt / .txt.gz file, T-pose reference included: (N, 117) float64."""
    path = Path(path)
    text = read_text(path, "motion-prediction")
    n_rows = sum(1 for line in text.splitlines() if line.strip())
    values = parse_floats(text.replace("\n", ","), sep=",")
    if n_rows == 0:
        raise MocapError(f"Motion-prediction file {path} is empty.")
    if values.size != n_rows * VALUES_PER_ROW or not np.isfinite(values).all():
        raise MocapError(f"Motion-prediction file {path} is truncated or malformed: {values.size} numbers "
                         f"in {n_rows} rows, expected {VALUES_PER_ROW} per row.")
    return values.reshape(n_rows, VALUES_PER_ROW)


def expmap_to_rotmat(r: np.ndarray) -> np.ndarray:
    """(..., 3) exponential maps -> (..., 3, 3) by Rodrigues' formula, as the source's `expmap2rotmat`
    (which divides by theta + float32 eps, a < 2e-7 difference that would make R slightly non-orthonormal)."""
    theta = np.linalg.norm(r, axis=-1, keepdims=True)
    k = r / np.where(theta > 0, theta, 1.0)
    x, y, z = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(x)
    kx = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(r.shape[:-1] + (3, 3))
    theta = theta[..., None]
    return np.eye(3) + np.sin(theta) * kx + (1 - np.cos(theta)) * (kx @ kx)


def pose(rows: np.ndarray, skeleton: str | Path) -> Pose:
    """FK of (T, 117) rows -> `Pose` in ASF units (names, (T, 38, 3) positions, per-joint frames)."""
    names, parents, offsets = load_skeleton(str(skeleton))
    rot = expmap_to_rotmat(rows[:, 3:].reshape(len(rows), NUM_JOINTS, 3))   # (T, 38, 3, 3)
    pos = np.zeros((len(rows), NUM_JOINTS, 3))
    world = np.zeros_like(rot)
    for j in range(NUM_JOINTS):
        p = parents[j]
        if p < 0:
            pos[:, j] = offsets[j] + rows[:, 0:3]
            world[:, j] = rot[:, j]
        else:
            pos[:, j] = offsets[j] @ world[:, p] + pos[:, p]
            world[:, j] = rot[:, j] @ world[:, p]
    # Column-vector form for virtual sites: p + offset @ R == p + R^T @ offset.
    frames = {n: (pos[:, j], world[:, j].swapaxes(-1, -2)) for j, n in enumerate(names)}
    return Pose(list(names), pos, frames, METRES_PER_UNIT)


def read_expmap(path: str | Path, skeleton: str | Path | None = None,
                keep_reference: bool = False) -> tuple[list[str], np.ndarray, float]:
    """(joint names, (T, 38, 3) world positions in metres, Y up, fps). Row 1, the T-pose reference,
    is dropped unless `keep_reference`."""
    path = Path(path)
    rows = read_rows(path)
    if not keep_reference:
        if len(rows) < 2:
            raise MocapError(f"Motion-prediction file {path} has no frame after its T-pose reference row.")
        rows = rows[1:]
    p = pose(rows, skeleton or default_skeleton(path))
    return p.names, p.positions * p.metres_per_unit, CMU_FPS


def read_expmap_h36m(path: str | Path, skeleton: str | Path | None = None,
                     mapping: str | Path | dict | None = None) -> tuple[np.ndarray, float]:
    """A motion-prediction file -> (H36M-17 world joints (T, 17, 3) float64, metres, Y up; 120 fps),
    reference row dropped. `mapping` defaults to `maps/cmu_mp38.json`."""
    path = Path(path)
    rows = read_rows(path)
    if len(rows) < 2:
        raise MocapError(f"Motion-prediction file {path} has no frame after its T-pose reference row.")
    if mapping is None or not isinstance(mapping, dict):
        mapping = load_mapping(mapping or MAPS_DIR / "cmu_mp38.json")
    p = pose(rows[1:], skeleton or default_skeleton(path))
    return apply_mapping(mapping, p, str(path), "Motion-prediction"), CMU_FPS
