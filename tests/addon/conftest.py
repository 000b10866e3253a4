"""Fixtures for the add-on tests: synthetic result files, a fake engine, a clean bpy scene.

Tests marked `bpy` use the real bpy 5.0.1 module; each starts from
`read_factory_settings(use_empty=True)`, so tests share the process but not the scene.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import addon_synth  # noqa: E402
import fake_engine as fake_engine_script  # noqa: E402


@pytest.fixture()
def walk_npz(tmp_path) -> Path:
    return Path(addon_synth.write_walking_result(tmp_path / "walk_result.npz", frames=90))


@pytest.fixture()
def fake_engine(tmp_path, walk_npz, monkeypatch) -> Path:
    """Path of a fake engine Python (a launcher for fake_engine.py), installed through
    DREAMPOSE3D_PYTHON; mode via FAKE_ENGINE_MODE."""
    path = fake_engine_script.write_launcher(tmp_path / "fake_python")
    monkeypatch.setenv("DREAMPOSE3D_PYTHON", str(path))
    monkeypatch.setenv("FAKE_ENGINE_RESULT", str(walk_npz))
    monkeypatch.setenv("FAKE_ENGINE_MODE", "ok")
    return path


@pytest.fixture()
def clean_bpy():
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy


@pytest.fixture()
def registered(clean_bpy):
    import addon

    addon.register()
    yield clean_bpy
    addon.unregister()
