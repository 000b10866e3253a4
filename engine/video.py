"""Video files: what they are (frames, fps, image size) and their frames, decoded with OpenCV.

OpenCV (`opencv-contrib-python<4.12`, the `[video]` extra; 4.12 and later need numpy 2, while bpy
5.0.1 needs numpy 1.26) decodes with the FFmpeg it bundles, so every common container and codec
(mp4/mov/mkv/webm/avi; H.264, H.265, VP8/9, AV1, MPEG-4, MJPEG) reads the same on every machine.
Every failure is a `ReaderError` with one sentence naming the file: not a video at all, a still
image, a file that cannot be opened (corrupt, or truncated before its index), or one that ends
before the frames its header promises (truncated).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from . import limits
from .readers._io import fail

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts", ".3gp")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".exr", ".heic")
# A container may promise a frame or two more than it holds (an edit list, a dropped last frame):
# fewer decoded frames than this below the header's count means the file was cut short.
TRUNCATION_SLACK = 2
MISSING_OPENCV = ("reading a video needs OpenCV and MediaPipe, the engine's optional [video] extra; install it with "
                  "`pip install -e '.[video]'` (make setup does)")


def is_video_path(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_image_path(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _cv2(path: Path):
    # FFmpeg's own complaints about a damaged stream would otherwise reach stderr before (and
    # around) the one sentence the engine prints.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    try:
        import cv2
    except ImportError:
        raise fail(path, f"is a video, but {MISSING_OPENCV}") from None
    return cv2


@dataclass(frozen=True)
class VideoInfo:
    path: str
    frames: int                   # as the container states it (the decoder may find fewer)
    fps: float | None             # None when the container does not state a usable rate
    image_size: tuple[int, int]   # (width, height) in pixels

    def summary(self) -> dict:
        return {"path": self.path, "name": Path(self.path).name, "frames": self.frames, "fps": self.fps,
                "image_size": list(self.image_size)}


def _open(path: Path):
    cv2 = _cv2(path)
    if not path.is_file():
        raise fail(path, "does not exist" if not path.exists() else "is not a file")
    if path.stat().st_size == 0:
        raise fail(path, "is empty")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise fail(path, "cannot be opened as a video (it is corrupt, truncated, or not a video)")
    return cv2, cap


def probe(path) -> VideoInfo:
    """Frame count, fps and image size from the container, checked (engine.limits); a still image
    or a file with no frame at all is refused."""
    path = Path(path)
    if is_image_path(path):
        raise fail(path, f"is a still image ({path.suffix.lstrip('.').upper()}), not a video; detection needs a "
                         f"video file ({', '.join(s.lstrip('.') for s in VIDEO_SUFFIXES[:6])}, ...)")
    cv2, cap = _open(path)
    try:
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        rate = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if width <= 0 or height <= 0:
            ok, frame = cap.read()
            if not ok or frame is None:
                raise fail(path, "holds no video frame that can be decoded (it is corrupt or truncated)")
            height, width = frame.shape[:2]
    finally:
        cap.release()
    size = limits.image_size(width, height, path.name)
    fps = rate if np.isfinite(rate) and limits.FPS_RANGE[0] <= rate <= limits.FPS_RANGE[1] else None
    if count == 1:
        raise fail(path, "holds a single frame, a still image rather than a video; detection needs a video")
    return VideoInfo(str(path.resolve()), max(count, 0), fps, size)


def frames(path, info: VideoInfo | None = None, max_frames: int = limits.MAX_FRAMES) -> Iterator[np.ndarray]:
    """The frames as RGB uint8 arrays (H, W, 3), in order. Raises a `ReaderError` when the video
    ends well before the frames its header states (truncated) or has none, or holds more than
    `max_frames` frames."""
    path = Path(path)
    info = info or probe(path)
    cv2, cap = _open(path)
    done = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                break
            done += 1
            if done > max_frames:
                limits.clip_frames(done, path.name, max_frames)
            if bgr.shape[:2] != (info.image_size[1], info.image_size[0]):
                raise fail(path, f"changes its frame size at frame {done - 1} ({bgr.shape[1]}x{bgr.shape[0]} after "
                                 f"{info.image_size[0]}x{info.image_size[1]}), which is not supported")
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    if done == 0:
        raise fail(path, "holds no video frame that can be decoded (it is corrupt or truncated)")
    if done == 1:
        raise fail(path, "holds a single frame, a still image rather than a video; detection needs a video")
    if info.frames and done < info.frames - TRUNCATION_SLACK:
        raise fail(path, f"ends after {done} of the {info.frames} frames its header states (the file is truncated "
                         f"or corrupt)")


def write_video(path, rgb_frames, fps: float) -> Path:
    """Write RGB frames to an .mp4 (MPEG-4 Part 2, OpenCV's own encoder): short test clips and cuts."""
    path = Path(path)
    cv2 = _cv2(path)
    frames_list = list(rgb_frames)
    h, w = frames_list[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    if not out.isOpened():
        raise fail(path, "cannot be written as a video")
    try:
        for f in frames_list:
            out.write(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2BGR))
    finally:
        out.release()
    return path


def cut(src, dst, count: int) -> Path:
    """The first `count` frames of `src` written to `dst` (.mp4), at the same rate."""
    info = probe(src)
    out = []
    for frame in frames(src, info):
        out.append(frame)
        if len(out) == count:
            break
    return write_video(dst, out, info.fps or 30.0)
