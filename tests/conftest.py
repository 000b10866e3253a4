"""Fixtures shared by all tests; the helpers behind them live in `engine_support.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_support import REPO, make_tiny_checkpoint, run_engine, walking_keypoints  # noqa: E402


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


@pytest.fixture()
def keypoints_file(tmp_path) -> Path:
    path = tmp_path / "walk.npz"
    walking_keypoints().save(path)
    return path


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def engine():
    """`engine("lift", ...)` runs the engine CLI in a subprocess and returns the CompletedProcess."""
    return run_engine
