"""DeepLabCut video-analysis output (CSV or H5) plus a user mapping file.

DLC body parts are project-specific, so the user supplies a JSON mapping from body-part names to
H36M joint names (engine.skeleton.JOINT_NAMES), either flat `{"nose": "neck", ...}` or
`{"mapping": {...}}`. Unmapped pelvis/thorax/spine are derived from hips/shoulders when mapped
(layouts.from_mapping); other unmapped joints are missing. Multi-animal projects (an
`individuals` header row) give one identity per individual. NaN cells are DLC's "not detected"
and become missing joints. DLC stores neither image size nor fps.

The H5 file is a pandas DataFrame that DLC writes with `to_hdf(key="df_with_missing",
format="table")`. It is read with h5py (an optional package; without it, save CSV in DLC with
`save_as_csv=True`), never with `pandas.read_hdf`/PyTables: those unpickle object columns and
attributes, so a crafted file could run code (issue #16). Only a numeric values block and string
column labels are taken (see `_h5_table` and `_h5_fixed` for where pandas puts them); the labels
that PyTables keeps as pickled attributes go through `safe_pickle`, which admits plain data only.
Anything else in the file is refused with one sentence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ReaderError
from ..skeleton import JOINT_NAMES
from . import layouts, safe_pickle
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


class _NotPlain(Exception):
    """The H5 holds something other than one numeric DLC table (the ReaderError wording is in _columns_h5)."""


def _pickled(path: Path, node, name: str):
    """A PyTables attribute that holds a pickle (protocol 0 bytes), as plain data only."""
    return safe_pickle.loads(path, bytes(node.attrs[name]))


def _data(path: Path, dataset) -> np.ndarray:
    """A dataset's values, checked first: an H5 can claim a huge dataset it does not store, or keep
    its data in other files (external storage, virtual datasets)."""
    if dataset.external or dataset.is_virtual:
        raise _NotPlain
    if dataset.size * dataset.dtype.itemsize > safe_pickle.MAX_BYTES:
        raise fail(path, f"holds a dataset of more than {safe_pickle.MAX_BYTES >> 20} MB")
    return dataset[()]


def _h5_table(path: Path, group):
    """format="table": the rows are the compound dataset `table` with fields `index` and
    `values_block_0` (T, C); the column labels are only in pickled attributes: the group's
    `non_index_axes` = [(1, [label tuples])] and `info` = {1: {"names": [level names]}}, and the
    table's `values_block_0_kind` = the block's own labels (must be the same, in the same order)."""
    table = group["table"]
    if table.dtype.names != ("index", "values_block_0"):
        raise _NotPlain
    labels = _pickled(path, group, "non_index_axes")[0][1]
    if _pickled(path, table, "values_block_0_kind") != labels:
        raise _NotPlain
    return _pickled(path, group, "info")[1]["names"], labels, _data(path, table)["values_block_0"]


def _h5_index(path: Path, group, key: str):
    """A fixed-format column MultiIndex: level i is the string dataset `{key}_level{i}` (level name
    in its attribute `name`) indexed by the integer codes `{key}_label{i}`."""
    if group.attrs[f"{key}_variety"] != b"multi":
        raise _NotPlain
    names, columns = [], []
    for i in range(int(group.attrs[f"{key}_nlevels"])):
        level, codes = group[f"{key}_level{i}"], _data(path, group[f"{key}_label{i}"])
        if level.attrs["kind"] != b"string" or codes.dtype.kind not in "iu" or (codes < 0).any():
            raise _NotPlain
        names.append(level.attrs["name"].decode())
        columns.append(np.array([v.decode() for v in _data(path, level)], dtype=object)[codes])
    return names, list(zip(*columns))


def _h5_fixed(path: Path, group):
    """format="fixed": the values are `block0_values` (T, C), its columns `block0_items_*`, which
    must equal the frame's columns `axis0_*` (one block, nothing pickled)."""
    names, labels = _h5_index(path, group, "axis0")
    if int(group.attrs["nblocks"]) != 1 or _h5_index(path, group, "block0_items")[1] != labels:
        raise _NotPlain
    return names, labels, _data(path, group["block0_values"])


def _columns_h5(path: Path) -> tuple[list[tuple[str, str, str]], np.ndarray]:
    try:
        import h5py
    except ImportError:
        raise fail(path, "is a DeepLabCut H5 file, which needs the optional package h5py (pip install h5py), or re-export it as CSV") from None
    try:
        with h5py.File(path, "r") as f:
            groups = [g for g in f.values() if isinstance(g, h5py.Group) and "pandas_type" in g.attrs]
            if len(groups) != 1:
                raise fail(path, f"holds {len(groups)} pandas tables, expected the one DeepLabCut writes")
            kind = groups[0].attrs["pandas_type"]
            if kind not in (b"frame_table", b"frame"):
                raise _NotPlain
            names, labels, values = _h5_table(path, groups[0]) if kind == b"frame_table" else _h5_fixed(path, groups[0])
            if (values.dtype.kind not in "fiu" or values.ndim != 2 or values.shape[1] != len(labels)
                    or not all(isinstance(c, tuple) and len(c) == len(names) for c in labels)):
                raise _NotPlain
    except ReaderError:
        raise
    except _NotPlain:
        raise fail(path, "is not a DeepLabCut table (one block of numbers with text column labels)") from None
    except Exception as exc:  # h5py and corrupt attributes raise many types
        raise fail(path, f"cannot be read as a DeepLabCut H5 table ({type(exc).__name__})") from None
    if "bodyparts" not in names or "coords" not in names:
        raise fail(path, "is not a DeepLabCut table (no 'bodyparts'/'coords' column levels)")
    level = {n: i for i, n in enumerate(names)}
    cols = [(str(c[level["individuals"]]) if "individuals" in level else "single",
             str(c[level["bodyparts"]]), str(c[level["coords"]])) for c in labels]
    frames = np.arange(len(values), dtype=np.float64)[:, None]
    return cols, np.concatenate([frames, values.astype(np.float64)], axis=1)


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
