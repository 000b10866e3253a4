"""Unpickling of user files that admits plain data only, so reading a file never runs its code (issue #16).

VideoPose3D's `.npz` files keep dicts and lists as pickled object arrays, and pandas/PyTables keep
DeepLabCut H5 column names as pickled attributes. `pickle.load` would call whatever a file names,
so a crafted file could run any command; here the file only ever gets:

- plain containers and scalars (dict, list, tuple, str, bytes, int, float, bool, None, which the
  pickle opcodes build without naming any callable), plus `set`, `frozenset` and `complex`;
- what numpy needs to rebuild arrays, dtypes and numpy scalars: `ndarray` only as the class handed
  to `_reconstruct`, `_reconstruct` only for the empty array numpy always starts from, `dtype`,
  and `scalar` only with its data (under `numpy.core` and numpy 2's `numpy._core`).

Everything else (any other module or name, and persistent ids) is refused by name before it is
imported. Numpy itself trusts pickled state, so that state is checked first: an array must hold
exactly the list or bytes its shape and dtype call for (numpy allocates, or even crashes, on a
mismatch), and a dtype may only get its byte order, never fields, a subarray, a new size or
alignment, which would point an array at memory it does not own. Structured dtypes are therefore
not admitted.

Sizes are bounded so that a small file cannot exhaust memory or time: a member may unpack to at
most MAX_BYTES, a pickle may run at most MAX_OPS opcodes (each builds at most one small object),
and the result may hold at most MAX_ITEMS items counted as a tree, since shared references let a
few bytes describe billions (a list holding the same list twice, nested 40 deep) that np.asarray
would expand. Real files are far below all three: the 40,000-frame VideoPose3D sample is 5.5 MB,
3,000 opcodes and 500 items; an hour of Detectron2 output is about 3 M opcodes and 1 M items.

The pure-Python `pickle._Unpickler` is used because the C one cannot check BUILD, and it also
allocates a memo table as long as any index a file names.
"""

from __future__ import annotations

import io
import math
import pickle
import zipfile
from pathlib import Path

import numpy as np
from numpy.core.multiarray import _reconstruct, scalar
from numpy.lib import format as npy_format

from ._io import fail

MAX_BYTES = 512 * 2**20
MAX_OPS = 10_000_000
MAX_ITEMS = 10_000_000


class _Refused(Exception):
    """Why a pickle was not read; the end of the file's one-sentence ReaderError."""


class _NdarrayClass:
    """Stands in for `numpy.ndarray`, which is callable (ndarray(shape) allocates at will) and is
    only needed as the first argument of `_reconstruct`."""


_NDARRAY = _NdarrayClass()


def _empty_array(subtype, shape, dtype):
    """`_reconstruct` as numpy pickles use it: an empty array that BUILD then fills."""
    if subtype is not _NDARRAY or shape != (0,):
        raise _Refused("holds a pickled numpy array that numpy did not write, so it was not read")
    return _reconstruct(np.ndarray, (0,), dtype)


def _scalar(dtype, data):
    """`scalar` with its data (without, numpy allocates a zeroed scalar of the dtype's claimed size)."""
    return scalar(dtype, data)


_ALLOWED = {
    **{(m, "_reconstruct"): _empty_array for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): _scalar for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): np.dtype,
    **{(m, t.__name__): t for m in ("builtins", "__builtin__") for t in (set, frozenset, complex)},
}


def _check_array_state(state) -> None:
    """An ndarray's pickled state (version, shape, dtype, fortran, data) before numpy trusts it."""
    shape, dtype, data = state[-4], state[-3], state[-1]
    size = math.prod(abs(int(n)) for n in shape)
    if size * max(dtype.itemsize, 1) > MAX_BYTES:
        raise _Refused(f"holds a pickled array larger than the {MAX_BYTES >> 20} MB limit, so it was not read")
    if dtype.hasobject and (dtype != np.dtype(object) or type(data) is not list or len(data) != size):
        raise _Refused("holds a pickled object array that is not plain data, so it was not read")


def _check_dtype_state(dtype: np.dtype, state) -> None:
    """A dtype's pickled state must have numpy's own layout (version, byte order, no subarray, names
    or fields, size and alignment as the dtype already has them, flags[, metadata]): numpy applies
    other states without checking them against the arrays that already use the dtype."""
    if not (type(state) is tuple and len(state) in (8, 9) and state[1] in ("<", ">", "|", "=")
            and state[2:5] == (None, None, None) and state[5] in (-1, dtype.itemsize)
            and state[6] in (-1, dtype.alignment) and type(state[0]) is type(state[7]) is int):
        raise _Refused("holds a pickled numpy dtype that is not plain data (a record dtype or a malformed one), "
                       "so it was not read")


def _counted(op):
    def run(self):
        self.ops += 1
        if self.ops > MAX_OPS:
            raise _Refused(f"holds a pickle of more than {MAX_OPS:,} steps, so it was not read")
        op(self)
    return run


class _Unpickler(pickle._Unpickler):
    """Admits only _ALLOWED globals and checked numpy state (see the module doc)."""

    def __init__(self, file, encoding: str):
        super().__init__(file, encoding=encoding)
        self.ops = 0

    def find_class(self, module, name):
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise _Refused(f"holds a pickled Python object of type {f'{module}.{name}'[:80]!r} that is not "
                           f"plain data, so it was not read") from None

    def persistent_load(self, pid):
        raise _Refused("holds a pickled reference to an outside object (a persistent id), so it was not read")

    def load_build(self):
        inst, state = self.stack[-2], self.stack[-1]
        if isinstance(inst, np.ndarray):
            _check_array_state(state)
        elif isinstance(inst, np.dtype):
            _check_dtype_state(inst, state)
        pickle._Unpickler.load_build(self)

    def load_bytearray8(self):
        """Protocol 5's bytearray, which pickle allocates at the size the file claims before reading it."""
        raise _Refused("holds a pickled bytearray, which is not taken, so it was not read")

    dispatch = {code: _counted(op) for code, op in pickle._Unpickler.dispatch.items()}
    dispatch[pickle.BUILD[0]] = _counted(load_build)
    dispatch[pickle.BYTEARRAY8[0]] = _counted(load_bytearray8)


def _count_items(obj) -> None:
    """Refuse more than MAX_ITEMS items counted as a tree (each shared reference counts again)."""
    todo, count = [obj], 0
    while todo:
        x = todo.pop()
        count += 1
        if count > MAX_ITEMS:
            raise _Refused(f"holds more than {MAX_ITEMS:,} items once its shared parts are expanded, so it was not read")
        if isinstance(x, dict):
            todo += x.keys()
            todo += x.values()
        elif isinstance(x, (list, tuple, set, frozenset)):
            todo += x
        elif isinstance(x, np.ndarray) and x.dtype.hasobject:
            todo += x.ravel().tolist()


def _load(path: Path, file, encoding: str):
    try:
        obj = _Unpickler(file, encoding).load()
        _count_items(obj)
        return obj
    except _Refused as exc:
        raise fail(path, str(exc)) from None
    except MemoryError:
        raise fail(path, "holds pickled data too large for the available memory, so it was not read") from None
    except RecursionError:
        raise fail(path, "holds pickled data nested too deeply, so it was not read") from None


def loads(path: Path, data: bytes, encoding: str = "ASCII"):
    """The plain data pickled in `data` (found in `path`). Refusals are ReaderErrors; a corrupt
    pickle raises whatever pickle raises, for the caller to word."""
    return _load(path, io.BytesIO(data), encoding)


def load_npz(path: Path, names, encoding: str = "ASCII") -> dict[str, np.ndarray]:
    """The arrays `names` of an .npz that has them, without unpickling anything but plain data.
    Refusals are ReaderErrors; a corrupt archive raises zipfile/numpy/pickle errors."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if name not in names:
                continue
            if info.file_size > MAX_BYTES:
                raise fail(path, f"has an array '{name}' of {info.file_size >> 20:,} MB, more than the "
                                 f"{MAX_BYTES >> 20} MB limit")
            with z.open(info) as f:
                version = npy_format.read_magic(f)
                read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
                shape, _, dtype = read_header(f)
                if dtype.hasobject:
                    out[name] = _load(path, f, encoding)
                elif math.prod(shape) * dtype.itemsize > info.file_size:
                    raise ValueError(f"array '{name}' is larger than its stored bytes")
                else:
                    f.seek(0)
                    out[name] = npy_format.read_array(f, allow_pickle=False)
    return out
