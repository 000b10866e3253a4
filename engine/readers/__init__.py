"""Keypoint import: every common detector format in, one clean H36M-17 sequence out.

Format names accepted by `--format` (FORMATS):

- "auto"            detect from the path (detect_format)
- "openpose"        OpenPose `--write_json` folder (or one file); BODY_25, BODY_25B, COCO-18
- "coco-json"       COCO-style results list (MMPose/RTMPose/ViTPose test output, Detectron2)
- "alphapose"       AlphaPose results list (COCO-17, HALPE-26)
- "mmpose"          MMPose's own prediction JSON (instance_info / predictions)
- "mediapipe-json"  MediaPipe Pose 33-landmark JSON dump
- "mediapipe-csv"   MediaPipe Pose CSV (size/fps from a sibling *_video_info.json or flags)
- "vp3d-custom"     VideoPose3D custom 2D dataset .npz (several videos; `video=`)  [restricted unpickling: plain data only]
- "detectron2-npz"  raw Detectron2 per-video .npz of VideoPose3D's infer_video_d2  [restricted unpickling: plain data only]
- "dlc"             DeepLabCut CSV / H5 with a mapping JSON (`mapping=`)
- "keypoints-npz"   the canonical keypoints .npz of the engine I/O contract
- "trc"             TRC markers -> Motion3D (3D, no lifting)
- "result-npz"      our own lift result -> Motion3D (3D, no lifting)
- "video"           a video file (mp4, mov, mkv, webm, avi, ...): MediaPipe Pose runs on every
                    frame (engine.detector; the optional [video] extra), then the MediaPipe-33
                    detections go through the same steps as a MediaPipe dump's

`read_sequence` returns a `KeypointSequence` (2D formats) or a `Motion3D` (3D formats);
`inspect_file` returns the JSON-able summary behind `engine inspect`. Every failure is a
`ReaderError` (or `SequenceError`), both `EngineError`s, with one sentence naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .. import gaps, limits
from .. import video as video_files
from ..sequence import KeypointSequence
from . import assemble, coco_json, deeplabcut, keypoints_npz, mediapipe, openpose, result_npz, trc, videopose3d
from ._io import fail, load_json
from .detections import Detections
from .motion import Motion3D

__all__ = ["FORMATS", "FORMATS_3D", "Motion3D", "detect_format", "read_sequence", "inspect_file"]

FORMATS: tuple[str, ...] = (
    "auto", "openpose", "coco-json", "alphapose", "mmpose", "mediapipe-json", "mediapipe-csv",
    "vp3d-custom", "detectron2-npz", "dlc", "keypoints-npz", "trc", "result-npz", "video",
)
FORMATS_3D: tuple[str, ...] = ("trc", "result-npz")

_READERS_2D = {
    "openpose": openpose.read,
    "coco-json": coco_json.read_results,
    "alphapose": coco_json.read_alphapose,
    "mmpose": coco_json.read_mmpose,
    "mediapipe-json": mediapipe.read_json,
    "mediapipe-csv": mediapipe.read_csv,
    "vp3d-custom": videopose3d.read_custom,
    "detectron2-npz": videopose3d.read_detectron2,
    "dlc": deeplabcut.read,
    "keypoints-npz": keypoints_npz.read,
}


def _npz_keys(path: Path) -> set[str]:
    """Array names of an .npz without loading (so without unpickling) anything."""
    try:
        with zipfile.ZipFile(path) as z:
            return {n[:-4] if n.endswith(".npy") else n for n in z.namelist()}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise fail(path, "is not a readable .npz archive (empty, truncated or corrupt)") from None


def _detect_json(path: Path) -> str:
    data = load_json(path)
    if openpose.is_openpose_json(data):
        return "openpose"
    if mediapipe.is_mediapipe_json(data):
        return "mediapipe-json"
    if coco_json.is_mmpose(data):
        return "mmpose"
    if coco_json.is_alphapose(data):
        return "alphapose"
    if coco_json.is_results_list(data):
        return "coco-json"
    if data == []:
        raise fail(path, "contains no people (an empty list)")
    raise fail(path, "is JSON but not a known keypoint format (OpenPose, COCO results, AlphaPose, MMPose, MediaPipe)")


def detect_format(path) -> str:
    """The format name of `path` from its extension and contents; ReaderError when unknown."""
    path = Path(path)
    if not path.exists():
        raise fail(path, "does not exist")
    if path.is_dir():
        if any(path.glob("*_keypoints.json")):
            return "openpose"
        jsons = sorted(path.glob("*.json"))
        if jsons and all(openpose.is_openpose_json(load_json(j)) for j in jsons[:3]):
            return "openpose"
        raise fail(path, "is a folder without OpenPose '*_keypoints.json' files, so its format is unknown")
    suffix = path.suffix.lower()
    if video_files.is_video_path(path):
        return "video"
    if video_files.is_image_path(path):
        raise fail(path, f"is a still image ({suffix.lstrip('.').upper()}), not a video or a keypoint file; "
                         f"detection needs a video file")
    if suffix == ".json":
        return _detect_json(path)
    if suffix in (".h5", ".hdf5"):
        return "dlc"
    if suffix == ".trc":
        return "trc"
    if suffix == ".npz":
        keys = _npz_keys(path)
        if {"joints3d_world", "joints3d"} <= keys:
            return "result-npz"
        if {"keypoints", "scores", "image_size", "fps"} <= keys:
            return "keypoints-npz"
        if {"positions_2d", "metadata"} <= keys:
            return "vp3d-custom"
        if {"boxes", "keypoints", "metadata"} <= keys:
            return "detectron2-npz"
        raise fail(path, f"is an .npz with unknown arrays ({', '.join(sorted(keys)) or 'none'})")
    try:
        with path.open("rb") as f:
            head = f.read(4096).decode("utf-8", errors="replace")
    except OSError as exc:
        raise fail(path, f"cannot be read ({exc.strerror})") from None
    if not head.strip():
        raise fail(path, "is empty")
    if trc.is_trc(head):
        return "trc"
    if suffix == ".csv" or "," in head.split("\n", 1)[0]:
        first = head.split("\n", 1)[0]
        if first.startswith("frame,x0,y0,z0,v0"):
            return "mediapipe-csv"
        if deeplabcut.is_dlc_csv_header(first):
            return "dlc"
    raise fail(path, "is not in a known keypoint format (see --format for the list)")


def _format(path: Path, format: str) -> str:
    if format not in FORMATS:
        raise fail(path, f"cannot be read as '{format}'; known formats are {', '.join(FORMATS)}")
    fmt = detect_format(path) if format == "auto" else format
    if not path.exists():
        raise fail(path, "does not exist")
    return fmt


def read_detections(path, format: str = "auto", image_size=None, layout=None, mapping=None,
                    video=None, for_inspect: bool = False, max_frames: int = limits.MAX_FRAMES,
                    detector_model: str = "auto", detector_weights=None, detect_progress=None) -> Detections:
    """The parsed 2D detections of a file (before a person is chosen), refused when the frame
    numbers span more than `max_frames` frames (before anything per frame is allocated). A video
    is run through the detector (engine.detector: `detector_model`, `detector_weights`,
    `detect_progress(done, total)`)."""
    path = Path(path)
    fmt = _format(path, format)
    if fmt in FORMATS_3D:
        raise fail(path, f"holds 3D motion ({fmt}), not 2D detections")
    if fmt == "video":
        from ..detector import detect_video   # imports OpenCV and MediaPipe only for a video

        return detect_video(path, detector_model, detector_weights, detect_progress, max_frames)
    det = _READERS_2D[fmt](path, image_size=image_size, layout=layout, mapping=mapping, video=video,
                           for_inspect=for_inspect)
    limits.clip_frames(det.num_frames, path.name, max_frames)
    return det


def read_sequence(path, format: str = "auto", person=None, image_size=None, fps=None, layout=None,
                  mapping=None, video=None, max_gap: int = gaps.DEFAULT_MAX_GAP,
                  max_frames: int = limits.MAX_FRAMES, detector_model: str = "auto", detector_weights=None,
                  detect_progress=None) -> KeypointSequence | Motion3D:
    """Read any supported file into one person's clean sequence (see the module doc).

    person: track id (int or str) from `inspect_file`, "best" (highest-scoring detection per
    frame, VideoPose3D's rule), or None for the most visible track. image_size=(w, h) and fps
    override the file's values or fill in what it lacks. layout forces an OpenPose layout
    ("body25", "body25b", "coco18"); mapping is a DeepLabCut mapping JSON path; video picks one
    video of a multi-video file (name or index; default the first); gaps of at most `max_gap`
    frames are interpolated; a clip over `max_frames` frames is refused (engine.limits). A video is
    detected first (see `read_detections`); detect_progress(done, total) reports its frames.
    """
    path = Path(path)
    fmt = _format(path, format)
    if fmt == "trc":
        motion = trc.read(path, fps=fps, max_gap=max_gap)
    elif fmt == "result-npz":
        motion = result_npz.read(path, fps=fps)
    else:
        det = read_detections(path, fmt, image_size=image_size, layout=layout, mapping=mapping, video=video,
                              max_frames=max_frames, detector_model=detector_model, detector_weights=detector_weights,
                              detect_progress=detect_progress)
        return assemble.to_sequence(det, person=person, image_size=image_size, fps=fps, max_gap=max_gap)
    limits.clip_frames(len(motion.joints_world), path.name, max_frames)
    return motion


def inspect_file(path, format: str = "auto", image_size=None, fps=None, layout=None, mapping=None,
                 video=None, max_frames: int = limits.MAX_FRAMES, **_) -> dict:
    """JSON-able summary: format, frames, fps, image_size, layout, people, videos, warnings."""
    path = Path(path)
    fmt = _format(path, format)
    if fmt == "trc":
        return trc.summary(path)
    if fmt == "result-npz":
        return result_npz.summary(path)
    if fmt == "video":      # what the container says; the people are found when it is lifted
        return video_summary(path, image_size, fps, max_frames)
    det = read_detections(path, fmt, image_size=image_size, layout=layout, mapping=mapping, video=video,
                          for_inspect=True, max_frames=max_frames)
    out = assemble.summary(det)
    if "bodyparts" in det.meta:
        out["bodyparts"] = det.meta["bodyparts"]
    if image_size is not None:
        out["image_size"] = list(limits.image_size(image_size[0], image_size[1], "--image-size"))
    if fps is not None:
        out["fps"] = limits.fps(fps, "--fps")
    return out


def video_summary(path, image_size=None, fps=None, max_frames: int = limits.MAX_FRAMES) -> dict:
    """`inspect` of a video: frames, fps and image size from the container, without running the
    detector (a long video takes minutes). `people` is empty: MediaPipe follows one person per
    run, and the lift keeps the most visible of the identities it followed (or `--person`)."""
    info = video_files.probe(path)
    limits.clip_frames(info.frames, Path(path).name, max_frames)
    return {
        "format": "video", "file": Path(path).name, "frames": info.frames,
        "fps": limits.fps(fps, "--fps") if fps is not None else info.fps,
        "image_size": list(limits.image_size(image_size[0], image_size[1], "--image-size")) if image_size else list(info.image_size),
        "layout": "mediapipe33", "people": [], "videos": None, "warnings": [] if info.fps else
        [f"{Path(path).name} does not state a usable frame rate; pass it with --fps"],
        "detector": "MediaPipe Pose, run by lift/detect (one person per run)",
    }
