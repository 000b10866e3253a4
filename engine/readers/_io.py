"""Small parsing helpers shared by the readers; each turns any low-level failure into a
`ReaderError` whose one sentence names the file and the problem."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np

from .. import limits
from ..errors import ReaderError

_EMPTY_CELL = re.compile(r"(?<=,)(?=,|$)|^(?=,)", re.MULTILINE)
_LAST_INT = re.compile(r"(\d+)(?!.*\d)")


def fail(path: Path | str, problem: str) -> ReaderError:
    """The one way readers build an error: '<file name>: <problem>.'"""
    problem = problem.rstrip(".")
    return ReaderError(f"{Path(path).name}: {problem}.")


def read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(path, "is not UTF-8 text (binary or corrupt file)") from None
    except OSError as exc:
        raise fail(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not text.strip():
        raise fail(path, "is empty")
    return text


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name}")


def load_json(path: Path):
    """Parse a JSON file; NaN/Infinity literals, truncation and bad syntax are ReaderErrors."""
    text = read_text(path)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        if "non-finite" in str(exc):
            raise fail(path, "contains NaN or infinite values") from None
        raise fail(path, f"is not valid JSON, truncated or corrupt ({str(exc).split(':')[0]})") from None
    except RecursionError:
        raise fail(path, "is not valid JSON (nested too deeply)") from None


def parse_numeric_csv(path: Path, text: str, columns: int) -> np.ndarray:
    """Comma-separated numbers (no header) -> float64 (rows, columns); empty cells are NaN."""
    text = _EMPTY_CELL.sub("nan", text.strip("\n"))
    try:
        data = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise fail(path, f"has a malformed or truncated data row ({str(exc).splitlines()[0][:80]})") from None
    if data.shape[1] != columns:
        raise fail(path, f"has {data.shape[1]} columns per row, expected {columns}")
    return data


def frame_number(name: str) -> int | None:
    """The last integer in a file/image name ('..._000000000012_keypoints.json' -> 12); None when
    there is none or it is too long to be a frame number (a timestamp, a hash)."""
    m = _LAST_INT.search(name)
    if not m or len(m.group(1).lstrip("0")) > len(str(limits.MAX_FRAME_NUMBER)) - 1:
        return None
    return int(m.group(1))


def require_finite(path: Path, *arrays: np.ndarray) -> None:
    for a in arrays:
        if a.size and not np.isfinite(a).all():
            raise fail(path, "contains NaN or infinite values")


def flat_keypoints(path: Path, values, where: str) -> np.ndarray:
    """A flat [x, y, c, ...] list -> (K, 3) float64, checked."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(path, f"{where} is not a list of numbers") from None
    if arr.ndim != 1 or arr.size % 3 or arr.size == 0:
        raise fail(path, f"{where} must be a flat list of x, y, confidence triples")
    return arr.reshape(-1, 3)
