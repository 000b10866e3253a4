"""DeepLabCut video-analysis output (CSV or H5) plus a user mapping file.

DLC body parts are project-specific, so the user supplies a JSON mapping from body-part names to
H36M joint names (engine.skeleton.JOINT_NAMES), either flat `{"nose": "neck", ...}` or
`{"mapping": {...}}`. Unmapped pelvis/thorax/spine are derived from hips/shoulders when mapped
(layouts.from_mapping); other unmapped joints are missing. Multi-animal projects (an
`individuals` header row) give one identity per individual. NaN cells are DLC's "not detected"
and become missing joints. DLC stores neither image size nor fps.

The H5 file is a pandas/PyTables table; reading it needs pandas with the optional `tables`
package (pandas would unpickle nothing for this table format). Without it, save CSV in DLC
(`save_as_csv=True`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..skeleton import JOINT_NAMES
from . import layouts
from ._io import fail, load_json, parse_numeric_csv, read_text
from .detections import Detections


def is_dlc_csv_header(first_line: str) -> bool:
    return first_line.split(",", 1)[0].strip() == "scorer"


def load_mapping(path: Path, mapping) -> dict[str, str]:
    if mapping is None:
        raise fail(path, "is DeepLabCut output with project-specific body parts; pass a mapping JSON with --mapping")
    mpath = Path(mapping)
    data = load_json(mpath)
    if isinstance(data, dict) and isinstance(data.get("mapping"), dict):
        data = data["mapping"]
    if not isinstance(data, dict) or not data or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise fail(mpath, "must map DeepLabCut body-part names to Human3.6M joint names, e.g. {\"nose\": \"neck\"}")
    bad = sorted(v for v in data.values() if v not in JOINT_NAMES)
    if bad:
        raise fail(mpath, f"maps to unknown joint(s) {', '.join(bad)}; valid names are {', '.join(JOINT_NAMES)}")
    return data


def _columns_csv(path: Path) -> tuple[list[tuple[str, str, str]], np.ndarray]:
    """[(individual, bodypart, coord)] per value column and the (T, C) values."""
    text = read_text(path)
    lines = text.split("\n")
    if not is_dlc_csv_header(lines[0]):
        raise fail(path, "is not a DeepLabCut CSV (first header row must start with 'scorer')")
    rows = [ln.rstrip("\r").split(",") for ln in lines[:4]]
    multi = len(rows) > 1 and rows[1][0].strip() == "individuals"
    nhead = 4 if multi else 3
    if len(rows) < nhead or rows[nhead - 2][0].strip() != "bodyparts" or rows[nhead - 1][0].strip() != "coords":
        raise fail(path, "lacks the DeepLabCut 'bodyparts' and 'coords' header rows")
    ncol = len(rows[0])
    if any(len(r) != ncol for r in rows[:nhead]):
        raise fail(path, "has header rows of different lengths")
    inds = rows[1][1:] if multi else ["single"] * (ncol - 1)
    cols = list(zip(inds, rows[nhead - 2][1:], rows[nhead - 1][1:]))
    body = "\n".join(lines[nhead:])
    if not body.strip():
        raise fail(path, "has a header but no frames")
    values = parse_numeric_csv(path, body, ncol)
    return cols, values


def _columns_h5(path: Path) -> tuple[list[tuple[str, str, str]], np.ndarray]:
    try:
        import pandas as pd
        import tables  # noqa: F401  (pandas.read_hdf needs it)
    except ImportError:
        raise fail(path, "is a DeepLabCut H5 file, which needs the optional packages pandas and tables (pip install tables), or re-export it as CSV") from None
    try:
        df = pd.read_hdf(path)
    except Exception as exc:  # pandas/PyTables raise many types for corrupt files
        raise fail(path, f"cannot be read as a DeepLabCut H5 table ({type(exc).__name__})") from None
    names = list(df.columns.names)
    if "bodyparts" not in names or "coords" not in names:
        raise fail(path, "is not a DeepLabCut table (no 'bodyparts'/'coords' column levels)")
    ind = df.columns.get_level_values("individuals") if "individuals" in names else ["single"] * df.shape[1]
    cols = list(zip(map(str, ind), map(str, df.columns.get_level_values("bodyparts")),
                    map(str, df.columns.get_level_values("coords"))))
    frames = np.arange(len(df), dtype=np.float64)[:, None]
    return cols, np.concatenate([frames, df.to_numpy(dtype=np.float64)], axis=1)


def read(path: Path, mapping=None, for_inspect: bool = False, **_) -> Detections:
    """`for_inspect` lets `inspect` list a file before the user has written its mapping."""
    cols, values = (_columns_h5 if path.suffix.lower() in (".h5", ".hdf5") else _columns_csv)(path)
    user_map = {} if (for_inspect and mapping is None) else load_mapping(path, mapping)
    parts = list(dict.fromkeys(bp for _, bp, c in cols if c in ("x", "y", "likelihood")))
    individuals = list(dict.fromkeys(i for i, _, _ in cols))
    unknown = sorted(set(user_map) - set(parts))
    if unknown:
        raise fail(path, f"has no body part(s) {', '.join(unknown)} named in the mapping (it has {', '.join(parts)})")
    index = {c: n + 1 for n, c in enumerate(cols)}
    t = values.shape[0]
    if np.isinf(values).any():
        raise fail(path, "contains infinite values")
    kps, scs, frame, ident = [], [], [], []
    for ind in individuals:
        xyz = np.full((t, len(parts), 3), np.nan)
        for j, bp in enumerate(parts):
            for k, c in enumerate(("x", "y", "likelihood")):
                if (ind, bp, c) in index:
                    xyz[:, j, k] = values[:, index[(ind, bp, c)]]
        missing = np.isnan(xyz).any(axis=2)
        xyz[missing] = 0.0
        sc = np.where(missing, 0.0, np.clip(xyz[:, :, 2], 0, 1))
        seen = (sc > 0).any(axis=1)
        kps.append(xyz[seen, :, :2])
        scs.append(sc[seen])
        frame.append(np.flatnonzero(seen))
        ident.append(np.full(int(seen.sum()), ind, dtype=object))
    layout = layouts.from_mapping(f"dlc:{path.stem}", tuple(parts), user_map)
    return Detections(
        format="dlc", path_name=path.name, layout=layout, num_frames=t,
        frame=np.concatenate(frame).astype(np.int64), keypoints=np.concatenate(kps).astype(np.float32),
        scores=np.concatenate(scs).astype(np.float32),
        identities=np.concatenate(ident).astype(str) if len(individuals) > 1 else None,
        single_identity=len(individuals) == 1, meta={"dlc_mapping": user_map, "bodyparts": parts},
    )
