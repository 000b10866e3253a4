"""Where the engine's Python is: the one resolution order, and one sentence for each way it fails. No bpy.

Every engine run (`engine_client.find_engine`) and the preferences' "Find engine" walk the same
list of places, `places()`, so the order is written once. An installed zip is not next to the
repository, so `build_addon.py` records the repository it was built from in `core/build.json`
(`BUILD_RECORD`); its `.venv` joins the order right after the source tree's. The sentences name
the preference field (`PREFERENCE`), because the user fixes this in Blender, not on a command line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import EngineClientError

ENV_VAR = "DREAMPOSE3D_PYTHON"
PREFERENCE = "Engine Python"        # the preference field's label (blender/preferences.py shows it)
BUILD_RECORD = Path(__file__).with_name("build.json")   # {"repository": "/abs/path"}, written by build_addon.py
USER_VENV = Path("~/.local/share/dreampose3d/venv")
_SOURCE_ROOT = Path(__file__).resolve().parents[2]      # the repository when run from source (addon/core/..)
_VENV_PYTHONS = (Path("bin") / "python", Path("Scripts") / "python.exe")
_FIX = f"set {PREFERENCE} in the add-on preferences (or press Find engine)"


@dataclass(frozen=True)
class Place:
    """One place the engine may be: `name` for sentences, `command` the prefix that runs the engine
    CLI, `python` the interpreter (what Find engine writes into the preference; "" if unknown).
    `given`: the user named it, so a bad path is an error, not a reason to look further.
    `check`: a Python that exists everywhere (this one, python3), used only if it imports the engine."""

    name: str
    command: tuple[str, ...]
    python: str = ""
    given: bool = False
    check: bool = False


def build_record(repository: Path) -> str:
    """The text of `BUILD_RECORD` for a zip built from `repository` (build_addon.py writes it)."""
    return json.dumps({"repository": str(Path(repository).resolve())}, indent=1)


def recorded_repository(record: Path | None = None) -> Path | None:
    """The repository the installed zip was built from, or None (source tree, unreadable record)."""
    try:
        repo = json.loads((record or BUILD_RECORD).read_text(encoding="utf-8")).get("repository")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(repo) if isinstance(repo, str) and repo else None


def _venv_python(venv: Path) -> Path | None:
    return next((venv / p for p in _VENV_PYTHONS if (venv / p).is_file()), None)


def _shebang_python(exe: str) -> str:
    """The interpreter of a console script (`dreampose3d` on PATH), so Find engine can name a Python."""
    try:
        with open(exe, "rb") as f:
            first = f.readline(512).decode("utf-8", "replace")
    except OSError:
        return ""
    return first[2:].strip().split()[0] if first.startswith("#!") and first[2:].strip() else ""


def places(preferred: str = "") -> list[Place]:
    """The resolution order: the preference, $DREAMPOSE3D_PYTHON, the repository's `.venv` (the
    source tree's, then the recorded build repository's), ~/.local/share/dreampose3d/venv,
    `dreampose3d` on PATH, then this Python and `python3` on PATH if they import the engine."""
    out = []
    for name, py in ((f"the {PREFERENCE} preference", preferred), (ENV_VAR, os.environ.get(ENV_VAR, ""))):
        if py:
            py = os.path.expanduser(py)
            out.append(Place(name, (py, "-m", "engine"), py, given=True))
    roots = []
    for root in (_SOURCE_ROOT, recorded_repository()):
        if root is not None and root not in roots and (root / "engine").is_dir():
            roots.append(root)
    venvs = [(f"the repository {root}", root / ".venv") for root in roots] + [(str(USER_VENV), USER_VENV.expanduser())]
    for name, venv in venvs:
        py = _venv_python(venv)
        if py is not None:
            out.append(Place(name, (str(py), "-m", "engine"), str(py)))
    exe = shutil.which("dreampose3d")
    if exe:
        out.append(Place("dreampose3d on PATH", (exe,), _shebang_python(exe)))
    for name, py in (("this Python", sys.executable), ("python3 on PATH", shutil.which("python3") or "")):
        if py and "blender" not in Path(py).name.lower():
            out.append(Place(name, (py, "-m", "engine"), py, check=True))
    return out


def python_problem(python: str, name: str) -> str | None:
    """One sentence when `python` (from place `name`) cannot even be started, else None.
    A folder or a plain file would otherwise surface as a PermissionError traceback."""
    path = Path(python)
    if not path.exists() and not shutil.which(python):
        return f"{name[0].upper()}{name[1:]} is '{python}', which does not exist: {_FIX}."
    if path.is_dir():
        inside = _venv_python(path) or _venv_python(path / ".venv")
        hint = f"such as '{inside}'" if inside else "like .venv/bin/python"
        return (f"{name[0].upper()}{name[1:]} is the folder '{python}', not a Python: set {PREFERENCE} in the add-on "
                f"preferences to the Python file inside it, {hint}.")
    if path.exists() and not os.access(path, os.X_OK):
        return (f"{name[0].upper()}{name[1:]} is '{python}', which is not a program: "
                f"{_FIX} to a Python such as .venv/bin/python.")
    return None


def cannot_start(python: str, exc: OSError) -> EngineClientError:
    """The sentence for an engine Python the system refused to start (exec format, permission)."""
    return EngineClientError(f"'{python}' could not be started as the engine's Python ({exc.strerror or exc}): {_FIX}.")


def lacks_engine(python: str, stderr: str) -> EngineClientError | None:
    """The sentence for a Python that runs but has no engine installed; None for other failures."""
    if "No module named engine" in stderr or "No module named 'engine'" in stderr:
        return EngineClientError(f"'{python}' is a Python without the DreamPose3D engine: {_FIX} "
                                 "to the Python of the environment where DreamPose3D is installed.", stderr)
    return None


def runs_engine(python: str) -> bool:
    """Whether `python` imports the engine: the check behind this Python, python3 and Find engine."""
    try:
        r = subprocess.run([python, "-c", "import engine.sequence"], capture_output=True, timeout=60)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return False


def not_found() -> str:
    """What to set when no place has the engine, in one sentence."""
    repo = recorded_repository() or (_SOURCE_ROOT if (_SOURCE_ROOT / "engine").is_dir() else None)
    example = f"'{repo / '.venv' / 'bin' / 'python'}'" if repo else "the .venv/bin/python of your DreamPose3D checkout"
    return (f"The engine was not found: set {PREFERENCE} in the add-on preferences (or the {ENV_VAR} environment "
            f"variable) to the Python of the environment where DreamPose3D is installed, for example {example}.")


def find_engine(preferred: str = "") -> list[str]:
    """Command prefix that runs the engine CLI, from the first place that has it; else one sentence."""
    for place in places(preferred):
        if place.given:
            problem = python_problem(place.python, place.name)
            if problem:
                raise EngineClientError(problem)
            return list(place.command)
        if place.check:
            if runs_engine(place.python):
                return list(place.command)
            continue
        if Path(place.command[0]).exists():
            return list(place.command)
    raise EngineClientError(not_found())


def find_python() -> Place:
    """Find engine: the first place after the preference whose Python really imports the engine."""
    for place in places(""):
        if place.python and python_problem(place.python, place.name) is None and runs_engine(place.python):
            return place
    raise EngineClientError(not_found())
