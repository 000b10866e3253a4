"""2D keypoints from a video: MediaPipe Pose (BlazePose, 33 landmarks) on every frame, on CPU.

`detect_video` decodes the video (engine.video), runs `mediapipe.solutions.pose.Pose` in video
mode (tracking between frames, landmark smoothing on, detection and tracking confidence 0.5: the
settings behind the shared MediaPipe samples) and returns `Detections` in the MediaPipe-33 layout,
built by the MediaPipe reader's own `landmark_detections`, so the conversion to H36M-17, the
person choice and the gap handling are the ones every keypoint file goes through
(engine.readers.assemble, engine.readers.layouts.MEDIAPIPE33). The per-joint confidence is
MediaPipe's `visibility`; a frame without a pose is a missing frame.

Models (`--detector-model`): lite, full and heavy are MediaPipe's model complexity 0, 1 and 2.
The mediapipe 0.10.14 wheel ships only `pose_landmark_full.tflite`; for the others mediapipe would
download a file at run time, which fails offline. They are in the npm package `@mediapipe/pose`
(`make mediapipe-models`, part of `make setup`, unpacks it into `.cache/mediapipe-pose/`), or
anywhere `--detector-weights PATH` points; the file is then copied next to the wheel's own model,
where mediapipe looks for it, so mediapipe never tries the network. `auto` (the default) is heavy
when its file can be had and full otherwise: on a real multi-camera take heavy swapped left and
right in none of 100 frames where full did in 32, at about 3x the time per frame.

Several people: MediaPipe's tracker follows one person and may jump to another (the shared sample
does, twice). Its detections are split into identities by the engine's tracker like any other
file's (a jump starts a new track), and one track is kept: `--person ID` (from `inspect` of the
keypoints, or `meta.people`), else the most visible. Frames where MediaPipe follows someone else
become missing frames for the chosen person, never another person's pose.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import warnings
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from . import limits, video
from .errors import EngineError
from .readers import mediapipe as mediapipe_reader
from .readers._io import fail
from .readers.detections import Detections

MODELS = {"lite": 0, "full": 1, "heavy": 2}
CHOICES = ("auto",) + tuple(MODELS)
DEFAULT_MODEL = "auto"
MEDIAPIPE_VERSION = "0.10.14"
NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"
REPO = Path(__file__).resolve().parents[1]
CACHE_DIRS = (REPO / ".cache" / "mediapipe-pose",)   # where `make mediapipe-models` unpacks the npm package
WEIGHTS_ENV = "DREAMPOSE3D_MEDIAPIPE_MODELS"          # a folder holding pose_landmark_{lite,heavy}.tflite
PROGRESS_SECONDS = 0.25                               # at most ~4 progress events a second
SETTINGS = {"static_image_mode": False, "smooth_landmarks": True, "enable_segmentation": False,
            "min_detection_confidence": 0.5, "min_tracking_confidence": 0.5}


def model_file(model: str) -> str:
    return f"pose_landmark_{model}.tflite"


def _how_to_get(model: str) -> str:
    return (f"the MediaPipe {model} pose model ({model_file(model)}) is not installed; run `make mediapipe-models` "
            f"(it unpacks the npm package {NPM_PACKAGE.rsplit('@', 1)[0]} into .cache/mediapipe-pose/) or pass "
            f"--detector-weights PATH/TO/{model_file(model)}")


@contextlib.contextmanager
def _quiet_native_stderr():
    """MediaPipe's graph and TFLite print start-up lines (absl warnings, "Created TensorFlow Lite
    XNNPACK delegate") straight to file descriptor 2; the engine's stderr is for its own sentences
    (the add-on shows the last line), so they go to /dev/null while the graph starts."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _mediapipe():
    os.environ.setdefault("GLOG_minloglevel", "2")       # MediaPipe's and TFLite's start-up chatter on stderr
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
    try:
        with _quiet_native_stderr():
            import mediapipe
            from mediapipe.python.solutions import pose
    except ImportError:
        raise EngineError(f"Detecting keypoints in a video needs MediaPipe {MEDIAPIPE_VERSION} and OpenCV, the "
                          f"engine's optional [video] extra; install it with `pip install -e '.[video]'` "
                          f"(make setup does).") from None
    return mediapipe, pose


def _package_model_path(mediapipe, model: str) -> Path:
    return Path(mediapipe.__file__).resolve().parent / "modules" / "pose_landmark" / model_file(model)


def _candidates(model: str, weights) -> list[Path]:
    """Where a model file may be, in order: --detector-weights (a file, or a folder holding it),
    $DREAMPOSE3D_MEDIAPIPE_MODELS, the setup step's cache."""
    out = []
    if weights:
        w = Path(weights).expanduser()
        out.append(w / model_file(model) if w.is_dir() else w)
    if os.environ.get(WEIGHTS_ENV):
        out.append(Path(os.environ[WEIGHTS_ENV]).expanduser() / model_file(model))
    out += [d / model_file(model) for d in CACHE_DIRS]
    return out


def _is_tflite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return len(head) == 8 and head[4:8] == b"TFL3"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def available_models(weights=None) -> list[str]:
    """The models that can run now without the network (the wheel's full, plus those whose file is
    installed or can be found)."""
    try:
        mediapipe, _ = _mediapipe()
    except EngineError:
        return []
    return [m for m in MODELS if _package_model_path(mediapipe, m).is_file()
            or any(c.is_file() and _is_tflite(c) for c in _candidates(m, weights))]


def resolve_model(model: str, weights=None) -> str:
    """`auto` -> heavy when its file can be had, else full; anything else as it is (checked)."""
    if model not in CHOICES:
        raise EngineError(f"--detector-model must be one of {', '.join(CHOICES)}, got '{model}'.")
    if model != "auto":
        return model
    return "heavy" if "heavy" in available_models(weights) else "full"


def ensure_model(model: str, weights=None) -> Path:
    """The model file where mediapipe looks for it (installed from a candidate when needed);
    `EngineError` with the way to get it when it cannot be had."""
    mediapipe, _ = _mediapipe()
    target = _package_model_path(mediapipe, model)
    explicit = Path(weights).expanduser() if weights else None
    if explicit is not None and not explicit.exists():
        raise EngineError(f"--detector-weights {weights} does not exist.")
    source = next((c for c in _candidates(model, weights) if c.is_file()), None)
    if explicit is not None and source is not None and not _is_tflite(source):
        raise EngineError(f"--detector-weights {source} is not a TFLite model file.")
    if source is None or not _is_tflite(source):
        if target.is_file():
            return target
        if model == "full":   # shipped in the wheel: missing means a broken install
            raise EngineError(f"MediaPipe's {model_file(model)} is missing from {target.parent}; reinstall "
                              f"mediapipe=={MEDIAPIPE_VERSION}.")
        raise EngineError(f"The {model} detector model cannot be used: {_how_to_get(model)}.")
    if target.is_file() and (explicit is None or _sha256(target) == _sha256(source)):
        return target
    try:   # copy, then rename: a cancel never leaves half a model where mediapipe reads it
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True) if "tmp" in locals() else None
        raise EngineError(f"Cannot install {source.name} into mediapipe's folder {target.parent} "
                          f"({exc.strerror or type(exc).__name__}).") from None
    return target


def describe(model: str, model_path: Path | None = None) -> dict:
    """The result meta's "detector" record."""
    out = {"name": "MediaPipe Pose (BlazePose GHUM, mediapipe.solutions.pose)", "version": MEDIAPIPE_VERSION,
           "model": model, "model_complexity": MODELS[model], "model_file": model_file(model), **SETTINGS}
    if model_path is not None and model_path.is_file():
        out["model_sha256"] = _sha256(model_path)
    return out


def detect_video(path, model: str = DEFAULT_MODEL, weights=None, progress: Callable[[int, int], None] | None = None,
                 max_frames: int = limits.MAX_FRAMES, fps=None) -> Detections:
    """MediaPipe-33 `Detections` (one per frame with a pose) of the video at `path`; see the module doc.

    progress(done, total) is called as frames are processed (throttled); total is the container's
    frame count (the decoded count at the end). A video without any pose is refused."""
    path = Path(path)
    info = video.probe(path)
    limits.clip_frames(info.frames, path.name, max_frames)
    model = resolve_model(model, weights)
    model_path = ensure_model(model, weights)
    mediapipe, mp_pose = _mediapipe()
    if mediapipe.__version__ != MEDIAPIPE_VERSION:
        raise EngineError(f"The detector needs mediapipe=={MEDIAPIPE_VERSION} (the last wheel with the pose "
                          f"solution and its models), but {mediapipe.__version__} is installed.")
    rows: list[np.ndarray] = []
    nan = np.full((mediapipe_reader.N, 4), np.nan)
    total = max(info.frames, 1)
    last, shown = 0.0, 0
    # Quiet for the whole run: the landmark model's interpreter starts (and says so) only on the
    # first frame with a person in it. Errors are raised after stderr is back.
    with _quiet_native_stderr(), mp_pose.Pose(model_complexity=MODELS[model], **SETTINGS) as pose:
        for i, rgb in enumerate(video.frames(path, info, max_frames)):
            res = pose.process(rgb)
            lms = res.pose_landmarks
            rows.append(nan if lms is None else
                        np.array([[lm.x, lm.y, lm.z, lm.visibility] for lm in lms.landmark], dtype=np.float64))
            now = time.monotonic()
            if progress is not None and (now - last >= PROGRESS_SECONDS or i == 0):
                last, shown = now, i + 1
                progress(shown, max(total, shown))
    if progress is not None and shown != len(rows):
        progress(len(rows), len(rows))
    values = np.stack(rows)
    found = int((~np.isnan(values).all(axis=(1, 2))).sum())
    if found == 0:
        raise fail(path, f"shows no person MediaPipe can find in any of its {len(rows)} frames")
    meta = {"detector": describe(model, model_path), "video": {**info.summary(), "frames": len(rows)},
            "frames_with_pose": found}
    return mediapipe_reader.landmark_detections(path, "video", np.arange(len(rows)), values, info.image_size,
                                                info.fps if fps is None else fps, meta)
