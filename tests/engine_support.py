"""Helpers for the engine tests: paths, a tiny random-weight checkpoint, a synthetic keypoint
file, and the engine CLI in a subprocess. Imported by tests/conftest.py and by test modules
(`from engine_support import ...`; a unique name, since several conftest.py files exist).

`make_tiny_checkpoint` is a real DreamPose3D checkpoint (the tiny config, random weights): tests of
the CLI, the add-on and Blender run the real engine end to end in seconds with it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def engine_env() -> dict:
    """Environment for engine subprocesses: offline, the repo importable, few threads."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="2")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def require_shared(*parts: str) -> Path:
    """Path under ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the ../shared material is only on development machines)")
    return path


def make_tiny_checkpoint(path: Path, **overrides) -> Path:
    import torch
    from engine.checkpoint import save_checkpoint
    from engine.model import DreamPose3D, ModelConfig

    torch.manual_seed(0)
    cfg = ModelConfig(actions=["walk", "run", "other"], styles=["normal", "elderly"], window=27, width=32, depth=1,
                      heads=2, apl_width=32, apl_depth=1, **overrides)
    model = DreamPose3D(cfg)
    model.apl.action_table.normal_() if model.apl is not None else None
    model.apl.style_table.normal_() if model.apl is not None else None
    return save_checkpoint(model, path, {"text_encoder": {"backend": "minilm", "note": "random test tables"},
                                         "training": {"note": "random weights, for tests"}})


def walking_keypoints(frames: int = 60, width: int = 1920, height: int = 1080, fps: float = 30.0):
    """A plausible person (H36M-17, pixels) swinging arms and legs, projected from a simple 3D pose."""
    from engine.sequence import KeypointSequence

    rest = np.array([[0, 0, 0], [-.12, 0, 0], [-.12, .45, 0], [-.12, .9, 0], [.12, 0, 0], [.12, .45, 0], [.12, .9, 0],
                     [0, -.25, 0], [0, -.5, 0], [0, -.6, 0], [0, -.75, 0], [.18, -.5, 0], [.2, -.22, 0], [.22, .05, 0],
                     [-.18, -.5, 0], [-.2, -.22, 0], [-.22, .05, 0]], dtype=np.float32)
    t = np.arange(frames)[:, None] / fps
    poses = np.repeat(rest[None], frames, 0)
    swing = 0.25 * np.sin(2 * np.pi * t)
    poses[:, [2, 3, 13, 12], 2] += swing[:, :1] * np.array([1, 2, 1, 0.5])
    poses[:, [5, 6, 16, 15], 2] -= swing[:, :1] * np.array([1, 2, 1, 0.5])
    poses[..., 0] += 1.5 * np.sin(0.2 * t)      # walks at 0.3 m/s, turning back before leaving the image
    poses[..., 2] += 4.0
    f = 1.7 * width / 2
    xy = poses[..., :2] / poses[..., 2:3] * f + np.array([width / 2, height / 2])
    return KeypointSequence(xy, np.full((frames, 17), 0.9, np.float32), (width, height), fps, {"source": "synthetic"})

def run_engine(*args: str, timeout: float = 300):
    """Run `python -m engine ...` in a subprocess (the way the add-on does) and return the result."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True,
                          timeout=timeout, env=engine_env(), cwd=REPO)


class OpensFile:
    """A pickle payload: unpickling it runs open(<marker>, "w"), which creates the marker file. Put
    in any file a reader unpickles, it proves that no code ran when the marker is still absent."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def require_blender_binary(window: bool = False) -> str:
    """The `blender` binary's path, or skip with what to install: it must be on PATH, its Python
    must have numpy (Debian's runs the system Python), and for a real window xvfb-run must exist."""
    import shutil
    import subprocess

    import pytest

    blender = shutil.which("blender")
    if blender is None or (window and shutil.which("xvfb-run") is None):
        pytest.skip("needs the blender binary" + (" and xvfb-run" if window else "")
                    + " (make blender-binary installs Debian's 3.4.1, xvfb, xauth and python3-numpy)")
    probe = subprocess.run([blender, "-b", "--factory-startup", "--python-expr", "import numpy"],
                           capture_output=True, text=True, timeout=120)
    if "ModuleNotFoundError" in probe.stdout + probe.stderr:
        pytest.skip("Debian's blender runs the system Python, which lacks numpy: apt-get install python3-numpy")
    return blender
