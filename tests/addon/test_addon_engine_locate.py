"""Where the engine's Python is (#19 items 9 and 10): Check engine on a bad Engine Python says one
sentence and replaces the old label; Find engine fills the preference from the recorded build
repository, or says what to set. Driven through the real bpy with the add-on enabled, so the
preferences are Blender's own."""

from __future__ import annotations

import sys

import pytest

from addon.core import engine_locate
from addon.core.errors import EngineClientError

OLD_LABEL = "checkpoint old, device cpu"
PYTHON = sys.executable     # this venv's Python (imports the engine); `nowhere` hides sys.executable


def launcher(path, *python_args) -> str:
    """An executable that runs this venv's real Python with `python_args` first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{PYTHON}" {" ".join(python_args)} "$@"\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture()
def nowhere(tmp_path, monkeypatch):
    """No place in the resolution order has the engine: no variable, no source tree, no build
    record, an empty home and PATH, and this Python elsewhere."""
    monkeypatch.delenv(engine_locate.ENV_VAR, raising=False)
    monkeypatch.setattr(engine_locate, "_SOURCE_ROOT", tmp_path / "not_a_repo")
    monkeypatch.setattr(engine_locate, "BUILD_RECORD", tmp_path / "no_build.json")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "empty_path").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty_path"))
    monkeypatch.setattr(engine_locate.sys, "executable", "/nonexistent/python3")
    return tmp_path


@pytest.fixture()
def prefs(clean_bpy):
    """The add-on enabled the way Blender does it, so its AddonPreferences are real."""
    import addon_utils

    addon_utils.enable("addon", default_set=True)
    p = clean_bpy.context.preferences.addons["addon"].preferences
    p.engine_python, p.last_check = "", OLD_LABEL
    yield p
    addon_utils.disable("addon", default_set=True)


# ----------------------------------------------------------------------------- item 9: a bad Engine Python

def bad_pythons(tmp_path):
    folder = tmp_path / "venv"
    launcher(folder / "bin" / "python")
    plain = tmp_path / "python.txt"
    plain.write_text("not a program")
    text = tmp_path / "script"             # executable, but no interpreter line: the system refuses it
    text.write_text("just text\n")
    text.chmod(0o755)
    return {
        "folder": (str(folder), f"is the folder '{folder}', not a Python: set Engine Python in the add-on "
                                f"preferences to the Python file inside it, such as '{folder / 'bin' / 'python'}'."),
        "not executable": (str(plain), "which is not a program: set Engine Python in the add-on preferences"),
        "missing": (str(tmp_path / "nope" / "python"), "which does not exist: set Engine Python"),
        "no engine": (launcher(tmp_path / "bare" / "python", "-S"), "is a Python without the DreamPose3D engine: "
                                                                    "set Engine Python in the add-on preferences"),
        "not startable": (str(text), "could not be started as the engine's Python (Exec format error): "
                                     "set Engine Python"),
    }


@pytest.mark.bpy
@pytest.mark.parametrize("case", ["folder", "not executable", "missing", "no engine", "not startable"])
def test_check_engine_on_a_bad_engine_python_is_one_sentence_that_replaces_the_label(prefs, tmp_path, monkeypatch,
                                                                                     case):
    import bpy

    monkeypatch.delenv(engine_locate.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)           # the repository's engine/ is not importable from the working folder
    python, words = bad_pythons(tmp_path)[case]
    prefs.engine_python = python
    with pytest.raises(RuntimeError) as reported:       # bpy.ops raises what the operator reports as an error
        bpy.ops.dreampose3d.check_engine()
    label = prefs.last_check
    assert str(reported.value) == f"Error: {label}\n"
    assert words in label and "Engine Python" in label
    assert label != OLD_LABEL and "Traceback" not in label and "Error:" not in label
    assert label.count(". ") == 0 and label.endswith(".")


def test_engine_python_problems_name_where_it_came_from(tmp_path, monkeypatch):
    monkeypatch.setenv(engine_locate.ENV_VAR, str(tmp_path))
    with pytest.raises(EngineClientError, match=f"^DREAMPOSE3D_PYTHON is the folder '{tmp_path}', not a Python"):
        engine_locate.find_engine()
    with pytest.raises(EngineClientError, match="^The Engine Python preference is the folder"):
        engine_locate.find_engine(str(tmp_path))


# ----------------------------------------------------------------------------- item 10: Find engine

def test_the_order_has_the_recorded_repository_after_the_source_tree(nowhere, monkeypatch):
    repo = nowhere / "built_from"
    (repo / "engine").mkdir(parents=True)
    py = launcher(repo / ".venv" / "bin" / "python")
    engine_locate.BUILD_RECORD.write_text(engine_locate.build_record(repo))
    user_py = launcher(nowhere / "home" / ".local" / "share" / "dreampose3d" / "venv" / "bin" / "python")
    monkeypatch.setenv(engine_locate.ENV_VAR, user_py)
    names = [(p.name, p.python) for p in engine_locate.places("/pref/python")]
    assert names == [("the Engine Python preference", "/pref/python"), ("DREAMPOSE3D_PYTHON", user_py),
                     (f"the repository {repo}", py), ("~/.local/share/dreampose3d/venv", user_py),
                     ("this Python", "/nonexistent/python3")]


@pytest.mark.bpy
def test_find_engine_fills_the_preference_from_the_recorded_build_repository(prefs, nowhere):
    import bpy

    repo = nowhere / "built_from"
    (repo / "engine").mkdir(parents=True)
    py = launcher(repo / ".venv" / "bin" / "python")   # this venv's Python: it imports the real engine
    engine_locate.BUILD_RECORD.write_text(engine_locate.build_record(repo))
    assert bpy.ops.dreampose3d.find_engine() == {"FINISHED"}
    assert prefs.engine_python == py
    assert prefs.last_check == f"found in the repository {repo}: {py}"


@pytest.mark.bpy
def test_find_engine_skips_a_place_whose_python_lacks_the_engine(prefs, nowhere, monkeypatch):
    import bpy

    monkeypatch.setenv(engine_locate.ENV_VAR, launcher(nowhere / "bare" / "python", "-S"))
    user_py = launcher(nowhere / "home" / ".local" / "share" / "dreampose3d" / "venv" / "bin" / "python")
    assert bpy.ops.dreampose3d.find_engine() == {"FINISHED"}
    assert prefs.engine_python == user_py


@pytest.mark.bpy
def test_find_engine_with_nothing_found_says_what_to_set(prefs, nowhere):
    import bpy

    with pytest.raises(RuntimeError):                   # bpy.ops raises what the operator reports as an error
        bpy.ops.dreampose3d.find_engine()
    assert prefs.engine_python == ""
    assert prefs.last_check == (
        "The engine was not found: set Engine Python in the add-on preferences (or the DREAMPOSE3D_PYTHON "
        "environment variable) to the Python of the environment where DreamPose3D is installed, for example "
        "the .venv/bin/python of your DreamPose3D checkout.")
