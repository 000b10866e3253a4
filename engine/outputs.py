"""Where `lift` writes: output paths checked before any work, results published all at once.

A lift can take minutes, so a bad `-o` (the input itself, a file where a folder must be, a folder
nobody may write to) is refused before the model runs, not after. Results are staged under
temporary names next to their final ones and renamed only when every input has succeeded: a
failure or a cancel anywhere leaves no result behind, not even the ones that finished, and a run
never overwrites its own input.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import EngineError

RESULT_SUFFIX = ".npz"


def _is_npz(path: Path) -> bool:
    return path.suffix.lower() == RESULT_SUFFIX


def result_stem(input_path: str) -> str:
    """The name a result in an output folder takes from its input: the input's name without its
    last extension, so `take.v1.npz` and `take.v2.npz` (or `clip.mp4.npz`) keep apart; a folder
    (OpenPose JSON) keeps its whole name."""
    path = Path(input_path.rstrip("/"))
    return path.name if path.is_dir() or not path.suffix else path.name[: -len(path.suffix)]


def output_paths(inputs: list[str], output: str) -> list[Path]:
    """The result path of each input: `-o` itself for one input and an .npz name that is not a
    folder, else `<folder>/<result_stem(input)>.npz`."""
    out = Path(output)
    if len(inputs) == 1 and _is_npz(out) and not out.is_dir():
        return [out]
    if out.exists() and not out.is_dir():
        raise EngineError(f"The output {output} is a file; with several inputs or without an .npz name it must be a folder.")
    if _is_npz(out) and not out.exists():
        raise EngineError("With several inputs, -o must name a folder, not an .npz file.")
    stems = [result_stem(i) for i in inputs]
    if len(set(stems)) != len(stems):
        raise EngineError("Two inputs have the same name, so their results would overwrite each other.")
    return [out / f"{stem}{RESULT_SUFFIX}" for stem in stems]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


class Publisher:
    """Checks the output paths up front, stages results, and renames them all at the end.

    Use as a context manager: leaving the block with an exception removes every staged file and
    every folder this run created; `publish()` renames the staged files to their final names."""

    def __init__(self, inputs: list[str], outputs: list[Path]):
        self.outputs = outputs
        self.staged: dict[Path, Path] = {}
        self.created: list[Path] = []
        for out in outputs:
            for inp in inputs:
                if _same_file(out, Path(inp)):
                    raise EngineError(f"The output {out} is the input file itself; choose another -o so the input is kept.")
            self._check_folder(out.parent)

    def _check_folder(self, folder: Path) -> None:
        """Create `folder` if needed and prove it writable with a real file (root ignores mode bits)."""
        missing = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        if not probe.is_dir():
            raise EngineError(f"Cannot create the output folder {folder}: {probe} is a file.")
        try:
            for d in reversed(missing):
                d.mkdir()
                self.created.append(d)
            fd, name = tempfile.mkstemp(prefix=".dreampose3d-probe-", dir=folder)
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            self._remove_created()
            raise EngineError(f"Cannot write to the output folder {folder} ({exc.strerror or type(exc).__name__}).") from None

    def stage(self, result, out: Path) -> None:
        """Save `result` under a temporary name beside `out` (validated by `result.save`)."""
        tmp = out.with_name(f".{out.name}.partial{RESULT_SUFFIX}")
        self.staged[out] = tmp
        try:
            result.save(tmp)
        except OSError as exc:
            raise EngineError(f"Cannot write the result {out} ({exc.strerror or type(exc).__name__}).") from None

    def publish(self) -> None:
        try:
            for out, tmp in self.staged.items():
                os.replace(tmp, out)
        except OSError as exc:
            raise EngineError(f"Cannot write the result {out} ({exc.strerror or type(exc).__name__}).") from None
        self.staged.clear()

    def _remove_created(self) -> None:
        for d in reversed(self.created):
            try:
                d.rmdir()
            except OSError:
                pass
        self.created.clear()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and not self.staged:
            return
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()
        self._remove_created()
