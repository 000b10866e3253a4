"""A corpus of hostile and absurd inputs for the engine CLI, and the judge of each run's outcome.

Every case writes its files into an empty folder (a valid walking clip in one of the formats,
then damaged, or absurd flags, paths or checkpoints), runs `python -m engine ...` in-process, and
is judged by what happened, not only by whether it raised:

- clean-error:      exit 2, one line on stderr that starts with "error:", nothing written, input unchanged
- correct-success:  exit 0, a result that loads, finite joints of a person's size, a reprojection
                    figure (for 2D input), the expected frame count, input unchanged
- refused-valid:    a clean error for an input that should have lifted
- wrong-success:    exit 0 where an error was due, or a result that fails the checks above
- partial-output:   a failure that left files behind, or changed its input
- traceback:        an exception escaped the CLI
- hang:             no answer within the time limit
- payload-executed: a crafted pickle ran code (its marker file appeared)

`python tests/engine/bad_input_corpus.py` prints the table of cases per format against outcomes
(the closing note of issue #16 reports it); `test_bad_input_corpus.py` asserts every case.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS.parent))

from engine_support import OpensFile, walking_keypoints  # noqa: E402

from engine.readers import layouts  # noqa: E402
from engine.skeleton import JOINT_NAMES  # noqa: E402

FRAMES, W, H, FPS = 60, 1920, 1080, 30.0
OUTCOMES = ("clean-error", "correct-success", "refused-valid", "wrong-success", "partial-output",
            "traceback", "hang", "payload-executed")
TIME_LIMIT_S = 120


# ---- the valid clip, in every layout -----------------------------------------------------------

def _h36m() -> tuple[np.ndarray, np.ndarray]:
    seq = walking_keypoints(FRAMES, W, H, FPS)
    return seq.keypoints.astype(np.float64), seq.scores.astype(np.float64)


_H36M_INDEX = {n: i for i, n in enumerate(JOINT_NAMES)}
_ALIASES = {"nose": "neck", "neck": "thorax", "upper_neck": "thorax", "mid_hip": "pelvis",
            "hip_centre": "pelvis", "head_top": "head"}
_NEAR = {"eye": ("head", 6.0), "ear": ("head", 12.0), "eye_inner": ("head", 4.0), "eye_outer": ("head", 8.0),
         "mouth": ("neck", 3.0), "big_toe": ("ankle", 9.0), "small_toe": ("ankle", 7.0), "heel": ("ankle", 5.0),
         "foot_index": ("ankle", 9.0), "pinky": ("wrist", 5.0), "index": ("wrist", 6.0), "thumb": ("wrist", 4.0)}


def layout_points(names, kp: np.ndarray) -> np.ndarray:
    """(T, 17, 2) H36M pixels -> (T, len(names), 2) points of a detector layout, by joint name:
    shared names map directly, face, hand and foot points sit near their joint (in proportion to
    the torso, so a pose collapsed to one point stays one point)."""
    out = []
    size = np.linalg.norm(kp[:, _H36M_INDEX["pelvis"]] - kp[:, _H36M_INDEX["thorax"]], axis=-1)[:, None] / 100.0
    for name in names:
        side, _, base = name.partition("_") if name.startswith(("left_", "right_")) else ("", "", name)
        if name in _H36M_INDEX or _ALIASES.get(name) in _H36M_INDEX:
            out.append(kp[:, _H36M_INDEX[_ALIASES.get(name, name)]])
        elif base in _NEAR:
            joint, dx = _NEAR[base]
            joint = f"{side}_{joint}" if f"{side}_{joint}" in _H36M_INDEX else joint
            sign = -1.0 if side == "right" else 1.0
            out.append(kp[:, _H36M_INDEX[joint]] + size * np.array([sign * dx, -2.0]))
        else:
            out.append(kp[:, _H36M_INDEX["pelvis"]])
    return np.stack(out, axis=1)


def _triples(points: np.ndarray, scores: np.ndarray) -> list[float]:
    return np.concatenate([points, scores[:, None]], axis=1).reshape(-1).tolist()


def write_openpose(d: Path, kp, sc, names=None, prefix="clip", first=0) -> Path:
    folder = d / "openpose"
    folder.mkdir(exist_ok=True)
    pts = layout_points(names or layouts.BODY25.joints, kp)
    for t in range(len(kp)):
        person = {"person_id": [-1], "pose_keypoints_2d": _triples(pts[t], np.full(pts.shape[1], sc[t].mean()))}
        (folder / f"{prefix}_{first + t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": [person]}))
    return folder


def write_coco(d: Path, kp, sc, alphapose=False, ids=None) -> Path:
    pts = layout_points(layouts.COCO17.joints, kp)
    items = []
    for t in range(len(kp)):
        item = {"image_id": (ids[t] if ids is not None else t), "category_id": 1,
                "keypoints": _triples(pts[t], np.full(17, sc[t].mean())), "score": 0.95}
        if alphapose:
            lo, hi = pts[t].min(0), pts[t].max(0)
            item.update(image_id=f"{t}.jpg", box=[*lo.tolist(), *(hi - lo).tolist()], idx=1)
        items.append(item)
    path = d / ("alphapose-results.json" if alphapose else "coco_results.json")
    path.write_text(json.dumps(items))
    return path


def write_mmpose(d: Path, kp, sc, frame_ids=None) -> Path:
    pts = layout_points(layouts.COCO17.joints, kp)
    info = [{"frame_id": int(frame_ids[t]) if frame_ids is not None else t,
             "instances": [{"keypoints": pts[t].tolist(), "keypoint_scores": [float(sc[t].mean())] * 17,
                            "bbox": [[*pts[t].min(0).tolist(), *pts[t].max(0).tolist()]], "bbox_score": 0.9}]}
            for t in range(len(kp))]
    path = d / "mmpose_results.json"
    path.write_text(json.dumps({"meta_info": {"dataset_name": "coco"}, "instance_info": info}))
    return path


def mediapipe_dict(kp, sc, **overrides) -> dict:
    pts = layout_points(layouts.MEDIAPIPE33.joints, kp) / np.array([W, H])
    frames = [{"frame": t, "landmarks": [{"x": float(x), "y": float(y), "z": 0.0, "visibility": float(sc[t].mean())}
                                         for x, y in pts[t]]} for t in range(len(kp))]
    return {"image_width": W, "image_height": H, "fps": FPS, "landmark_names": list(layouts.MEDIAPIPE33.joints),
            "frames": frames, **overrides}


def write_mediapipe_json(d: Path, kp, sc, **overrides) -> Path:
    path = d / "clip_mediapipe_pose.json"
    path.write_text(json.dumps(mediapipe_dict(kp, sc, **overrides)))
    return path


def write_mediapipe_csv(d: Path, kp, sc, info=None) -> Path:
    from engine.readers.mediapipe import CSV_HEADER

    pts = layout_points(layouts.MEDIAPIPE33.joints, kp) / np.array([W, H])
    rows = [",".join([str(t)] + [f"{x:.6f},{y:.6f},0,{sc[t].mean():.3f}" for x, y in pts[t]]) for t in range(len(kp))]
    path = d / "clip_mediapipe_pose.csv"
    path.write_text(CSV_HEADER + "\n" + "\n".join(rows) + "\n")
    (d / "clip_video_info.json").write_text(json.dumps(info or {"width": W, "height": H, "fps": FPS}))
    return path


def write_vp3d(d: Path, kp, sc, meta=None, positions=None) -> Path:
    pts = layout_points(layouts.COCO17.joints, kp).astype(np.float32)
    metadata = meta or {"layout_name": "coco", "num_joints": 17, "video_metadata": {"clip.mp4": {"w": W, "h": H}}}
    path = d / "data_2d_custom_clip.npz"
    np.savez_compressed(path, positions_2d=np.array(positions or {"clip.mp4": {"custom": [pts]}}, dtype=object),
                        metadata=np.array(metadata, dtype=object))
    return path


def write_detectron2(d: Path, kp, sc, meta=None) -> Path:
    pts = layout_points(layouts.COCO17.joints, kp).astype(np.float32)
    boxes, keypoints = np.empty(len(kp), dtype=object), np.empty(len(kp), dtype=object)
    for t in range(len(kp)):
        k = np.zeros((1, 4, 17), np.float32)
        k[0, :2], k[0, 2], k[0, 3] = pts[t].T, 5.0, sc[t].mean()
        boxes[t] = [[], np.array([[*pts[t].min(0), *pts[t].max(0), 0.99]], np.float32)]
        keypoints[t] = [[], k]
    path = d / "clip.mp4.npz"
    np.savez_compressed(path, boxes=boxes, keypoints=keypoints, segments=np.empty(0),
                        metadata=np.array(meta or {"w": W, "h": H}, dtype=object))
    return path


def write_dlc(d: Path, kp, sc) -> tuple[Path, Path]:
    parts = [n for n in JOINT_NAMES if n not in ("pelvis", "spine", "thorax")]
    idx = [JOINT_NAMES.index(n) for n in parts]
    header = ["scorer," + ",".join(["DLC_model"] * 3 * len(parts)),
              "bodyparts," + ",".join(p for p in parts for _ in range(3)),
              "coords," + ",".join(["x", "y", "likelihood"] * len(parts))]
    rows = [",".join([str(t)] + [f"{kp[t, j, 0]:.3f},{kp[t, j, 1]:.3f},{sc[t, j]:.3f}" for j in idx]) for t in range(len(kp))]
    path = d / "clipDLC_resnet50.csv"
    path.write_text("\n".join(header + rows) + "\n")
    mapping = d / "mapping.json"
    mapping.write_text(json.dumps({p: p for p in parts}))
    return path, mapping


def write_keypoints_npz(d: Path, kp, sc, image_size=(W, H), fps=FPS) -> Path:
    path = d / "clip_keypoints.npz"
    np.savez(path, keypoints=kp.astype(np.float32), scores=sc.astype(np.float32),
             image_size=np.array(image_size), fps=np.float64(fps), layout=np.str_("h36m17"))
    return path


def _world_walk() -> np.ndarray:
    kp, _ = _h36m()
    xyz = np.zeros(kp.shape[:2] + (3,))
    xyz[..., 0] = (kp[..., 0] - W / 2) / 400.0
    xyz[..., 2] = (H - kp[..., 1]) / 400.0
    return xyz


def write_trc(d: Path, units="m", scale=1.0, rate="30") -> Path:
    xyz = _world_walk() * scale
    idx = {"RHip": 1, "RKnee": 2, "RAnkle": 3, "LHip": 4, "LKnee": 5, "LAnkle": 6, "Neck": 8, "Head": 10, "Nose": 9,
           "RShoulder": 14, "RElbow": 15, "RWrist": 16, "LShoulder": 11, "LElbow": 12, "LWrist": 13}
    names = list(idx)
    lines = ["PathFileType\t4\t(X/Y/Z)\tclip.trc",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
             f"{rate}\t{rate}\t{len(xyz)}\t{len(names)}\t{units}\t{rate}\t0\t{len(xyz)}",
             "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t",
             "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, len(names) + 1)), ""]
    for t in range(len(xyz)):
        vals = [xyz[t, idx[n]] for n in names]      # TRC is Y up: (x, z_up, -y)
        lines.append("\t".join([str(t + 1), f"{t / 30:.4f}"] + [f"{v[0]:.5f}\t{v[2]:.5f}\t{-v[1]:.5f}" for v in vals]))
    path = d / "clip.trc"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_result(d: Path) -> Path:
    from engine.sequence import LiftResult

    xyz = _world_walk().astype(np.float32)
    path = d / "clip_result.npz"
    LiftResult(xyz, xyz, FPS, ["walk"], np.ones((len(xyz), 1), np.float32), ["walking"] * len(xyz), {}).save(path)
    return path


# ---- cases -------------------------------------------------------------------------------------

@dataclass
class Case:
    format: str
    name: str
    build: Callable[[Path], list[str]]     # writes files into the folder, returns the CLI argv
    expect: str = "error"                  # "error" | "success"
    frames: int | None = None              # frames the result must have, when it succeeds
    marker: str | None = None              # a file a payload would create
    inputs: list[str] = field(default_factory=list)


SIZE_FPS = ["--image-size", str(W), str(H), "--fps", str(FPS)]


def _lift(path, d: Path, *flags) -> list[str]:
    return ["lift", str(path), "-o", str(d / "out" / "result.npz"), *flags]


def _damaged(writer, damage):
    """A case builder: write the valid file, then damage its bytes."""
    def build(d: Path):
        path = writer(d)
        target = path if path.is_file() else sorted(path.iterdir())[len(list(path.iterdir())) // 2]
        target.write_bytes(damage(target.read_bytes()))
        return path
    return build


_DAMAGES = {
    "empty file": lambda b: b"",
    "truncated": lambda b: b[: len(b) // 2],
    "random bytes": lambda b: bytes(np.random.default_rng(0).integers(0, 256, max(64, len(b) // 4), dtype=np.uint8)),
}


def _write_dlc_csv(d: Path, kp, sc) -> Path:
    return write_dlc(d, kp, sc)[0]


# format -> (writer(d, kp, sc) -> path, the flags its files need beyond themselves)
WRITERS = {
    "keypoints-npz": (write_keypoints_npz, lambda d: []),
    "openpose": (write_openpose, lambda d: SIZE_FPS),
    "coco-json": (write_coco, lambda d: SIZE_FPS),
    "alphapose": (lambda d, k, s: write_coco(d, k, s, alphapose=True), lambda d: SIZE_FPS),
    "mmpose": (write_mmpose, lambda d: SIZE_FPS),
    "mediapipe-json": (write_mediapipe_json, lambda d: []),
    "mediapipe-csv": (write_mediapipe_csv, lambda d: []),
    "vp3d-custom": (write_vp3d, lambda d: ["--fps", "30"]),
    "detectron2-npz": (write_detectron2, lambda d: ["--fps", "30"]),
    "dlc": (_write_dlc_csv, lambda d: SIZE_FPS + ["--mapping", str(d / "mapping.json")]),
}


def _format_cases() -> list[Case]:
    """Per format: the valid clip lifts, and the damaged or absurd variants are refused."""
    kp, sc = _h36m()
    zero = np.zeros_like(sc)
    point = np.full_like(kp, 500.0)
    nan_kp = kp.copy()
    nan_kp[5, 3] = np.nan
    cases = []
    for fmt, (write, needs) in WRITERS.items():
        def lift(make, needs=needs, extra=()):
            """A case that writes its file with `make(d)` and lifts it with the format's flags, then `extra`."""
            return lambda d: _lift(make(d), d, *needs(d), *extra)

        def clip(k, s, write=write):
            return lambda d: write(d, k, s)

        valid = clip(kp, sc)
        cases.append(Case(fmt, "valid clip", lift(valid), "success", FRAMES))
        cases.append(Case(fmt, "valid clip, inspect", lambda d, w=valid: ["inspect", str(w(d))], "success"))
        for damage, fn in _DAMAGES.items():
            cases.append(Case(fmt, damage, lift(_damaged(valid, fn))))
        if fmt != "vp3d-custom":      # VideoPose3D files store no confidences
            cases.append(Case(fmt, "zero confidences", lift(clip(kp, zero))))
        cases.append(Case(fmt, "all joints at one pixel", lift(clip(point, sc))))
        if fmt in ("keypoints-npz", "vp3d-custom", "detectron2-npz", "mmpose"):
            cases.append(Case(fmt, "NaN coordinate", lift(clip(nan_kp, sc))))
        if fmt == "dlc":              # an empty or NaN cell is DeepLabCut's "not detected"
            cases.append(Case(fmt, "NaN cell (not detected)", lift(clip(nan_kp, sc)), "success", FRAMES))
        for flags in (["--image-size", "100000", "1080"], ["--image-size", "1e25", "1080"],
                      ["--image-size", "10", "10"], ["--fps", "0.5", "--smooth", "none"]):
            cases.append(Case(fmt, " ".join(flags), lift(valid, extra=flags)))
    return cases


def _specific_cases() -> list[Case]:
    """The failures the probe of issue #16 found, each as it was reported."""
    kp, sc = _h36m()
    c = []
    # Code execution.
    c.append(Case("vp3d-custom", "pickle payload named *_keypoints.npz", lambda d: _lift(
        _renamed(write_vp3d(d, kp, sc, positions={"v": {"custom": [OpensFile(d / "PWNED")]}}), "clip_keypoints.npz"), d, "--fps", "30"),
        marker="PWNED"))
    c.append(Case("vp3d-custom", "pickle payload, inspect", lambda d: ["inspect", str(
        write_vp3d(d, kp, sc, meta={"layout_name": "coco", "x": OpensFile(d / "PWNED")}))], marker="PWNED"))
    c.append(Case("detectron2-npz", "pickle payload", lambda d: _lift(
        write_detectron2(d, kp, sc, meta={"w": W, "h": H, "x": OpensFile(d / "PWNED")}), d, "--fps", "30"), marker="PWNED"))
    c.append(Case("dlc", "h5 with a pickled object column", _dlc_h5_payload, marker="PWNED"))
    # Values in files.
    c.append(Case("mediapipe-json", "frame 2**70", lambda d: _lift(_mp_frames(d, kp, sc, {0: 2 ** 70}), d)))
    c.append(Case("mediapipe-json", "image_width 1e300", lambda d: _lift(write_mediapipe_json(d, kp, sc, image_width=1e300), d)))
    c.append(Case("mediapipe-json", "image_width true", lambda d: _lift(write_mediapipe_json(d, kp, sc, image_width=True), d)))
    c.append(Case("mediapipe-json", "image_width 1e25", lambda d: _lift(write_mediapipe_json(d, kp, sc, image_width=1e25), d)))
    c.append(Case("mediapipe-json", "fps 0.2 in the file", lambda d: _lift(write_mediapipe_json(d, kp, sc, fps=0.2), d, "--smooth", "none")))
    c.append(Case("mediapipe-json", "11-minute gap", lambda d: _lift(_mp_frames(d, kp, sc, {t: 20_000 + t for t in range(30, FRAMES)}), d)))
    c.append(Case("mediapipe-json", "gap of 20 s (lifts, gap left missing)",
                  lambda d: _lift(_mp_frames(d, kp, sc, {t: 600 + t for t in range(30, FRAMES)}), d), "success", 660))
    c.append(Case("mediapipe-csv", "video info width 'abc'", lambda d: _lift(
        write_mediapipe_csv(d, kp, sc, info={"width": "abc", "height": H, "fps": FPS}), d)))
    c.append(Case("vp3d-custom", "metadata w 'abc'", lambda d: _lift(write_vp3d(
        d, kp, sc, meta={"layout_name": "coco", "video_metadata": {"clip.mp4": {"w": "abc", "h": H}}}), d, "--fps", "30")))
    c.append(Case("vp3d-custom", "metadata w 1e300", lambda d: _lift(write_vp3d(
        d, kp, sc, meta={"layout_name": "coco", "video_metadata": {"clip.mp4": {"w": 1e300, "h": H}}}), d, "--fps", "30")))
    c.append(Case("keypoints-npz", "image_size 1e25 in the file", lambda d: _lift(write_keypoints_npz(d, kp, sc, (1e25, H)), d)))
    c.append(Case("keypoints-npz", "16 joints", lambda d: _lift(write_keypoints_npz(d, kp[:, :16], sc[:, :16]), d)))
    c.append(Case("keypoints-npz", "empty clip (0 frames)", lambda d: _lift(write_keypoints_npz(d, kp[:0], sc[:0]), d)))
    c.append(Case("mmpose", "frames 0 and 3,000,000", lambda d: _lift(write_mmpose(d, kp[:2], sc[:2], [0, 3_000_000]), d, *SIZE_FPS)))
    c.append(Case("mmpose", "frames 0 and 10**12", lambda d: _lift(write_mmpose(d, kp[:2], sc[:2], [0, 10 ** 12]), d, *SIZE_FPS)))
    c.append(Case("mmpose", "frames 0 and 3,000,000, inspect", lambda d: ["inspect", str(write_mmpose(d, kp[:2], sc[:2], [0, 3_000_000]))]))
    c.append(Case("openpose", "two cameras in one folder", lambda d: _lift(
        (write_openpose(d, kp[:15], sc[:15], prefix="trial_cam1"), write_openpose(d, kp[:15], sc[:15], prefix="trial_cam2"))[0], d, *SIZE_FPS)))
    c.append(Case("dlc", "no mapping", lambda d: _lift(write_dlc(d, kp, sc)[0], d, *SIZE_FPS)))
    c.append(Case("trc", "valid clip", lambda d: _lift(write_trc(d), d), "success", FRAMES))
    c.append(Case("trc", "millimetres labelled as metres", lambda d: _lift(write_trc(d, scale=1000.0), d)))
    c.append(Case("trc", "DataRate 0", lambda d: _lift(write_trc(d, rate="0"), d)))
    for damage, fn in _DAMAGES.items():
        c.append(Case("trc", damage, lambda d, fn=fn: _lift(_damaged(write_trc, fn)(d), d)))
        c.append(Case("result-npz", damage, lambda d, fn=fn: _lift(_damaged(write_result, fn)(d), d)))
    c.append(Case("result-npz", "valid result", lambda d: _lift(write_result(d), d), "success", FRAMES))
    c += _video_cases()
    # Flags.
    valid = lambda d: write_keypoints_npz(d, kp, sc)  # noqa: E731
    for flags in (["--hypotheses", "-1"], ["--hypotheses", "0"], ["--steps", "0"], ["--steps", "-3"],
                  ["--seed", "1e23"], ["--seed", str(10 ** 23)], ["--smooth", "one-euro", "--smooth-hz", "-2"],
                  ["--smooth-hz", "100"], ["--fps", "0.5", "--smooth", "none"], ["--fps", "nan"], ["--image-size", "0", "1080"],
                  ["--action-window", "-1"], ["--max-frames", "10"], ["--format", "nonsense"], ["--person", "7"],
                  ["--device", "tpu"], ["--preset", "ultra"]):
        c.append(Case("cli", " ".join(flags), lambda d, f=flags: _lift(valid(d), d, *f)))
    c.append(Case("cli", "--steps 1 --hypotheses 2 --seed 5", lambda d: _lift(valid(d), d, "--steps", "1", "--hypotheses", "2", "--seed", "5"), "success", FRAMES))
    # Output paths.
    c.append(Case("output", "-o is the input", lambda d: ["lift", str(valid(d)), "-o", str(d / "clip_keypoints.npz")]))
    c.append(Case("output", "-o out.NPZ writes a file", lambda d: ["lift", str(valid(d)), "-o", str(d / "out.NPZ")], "success", FRAMES))
    c.append(Case("output", "-o an existing folder", lambda d: ["lift", str(valid(d)), "-o", str(_mkdir(d / "results"))], "success", FRAMES))
    c.append(Case("output", "-o a path under a file", lambda d: ["lift", str(valid(d)), "-o", str(_touch(d / "afile") / "out.npz")]))
    c.append(Case("output", "-o in an unwritable folder", lambda d: ["lift", str(valid(d)), "-o", "/proc/dreampose3d/out.npz"]))
    c.append(Case("output", "good and bad input to a folder", lambda d: [
        "lift", str(valid(d)), str(_touch(d / "bad.json", b"{")), "-o", str(d / "results")]))
    # Checkpoints.
    c.append(Case("checkpoint", "format_version 'abc'", lambda d: _lift(valid(d), d, "--checkpoint", str(_ckpt(d, meta={"format_version": "abc"})))))
    c.append(Case("checkpoint", "info is a list", lambda d: ["info", "--checkpoint", str(_ckpt(d, meta={"info": "[1, 2]"}))]))
    c.append(Case("checkpoint", "window 0", lambda d: ["info", "--checkpoint", str(_ckpt(d, config={"window": 0}))]))
    c.append(Case("checkpoint", "unknown schedule", lambda d: _lift(valid(d), d, "--checkpoint", str(_ckpt(d, config={"schedule": "zigzag"})))))
    c.append(Case("checkpoint", "a tensor of the wrong shape", lambda d: ["info", "--checkpoint", str(_ckpt(d, shrink=True))]))
    c.append(Case("checkpoint", "not a safetensors file", lambda d: _lift(valid(d), d, "--checkpoint", str(_touch(d / "c.safetensors", b"\0" * 64)))))
    return c


def _noise_video(d: Path, frames: int = 12, name: str = "clip.mp4") -> Path:
    from engine.video import write_video

    rng = np.random.default_rng(0)
    return write_video(d / name, (rng.integers(90, 160, (120, 160, 3), dtype=np.uint8) for _ in range(frames)), 25.0)


def _cut_in_half(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _video_cases() -> list[Case]:
    """Video input (issue #20): files that are not a readable video, and a video without a person.
    The ones that must write a video need OpenCV (the [video] extra); without it the others still
    run and end in the sentence that says how to install it."""
    import importlib.util

    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    c = [Case("video", "random bytes named .mp4", lambda d: _lift(_touch(d / "clip.mp4", bytes(range(256)) * 40), d)),
         Case("video", "empty .mp4", lambda d: _lift(_touch(d / "clip.mp4", b""), d)),
         Case("video", "a still image", lambda d: _lift(_touch(d / "photo.png", png), d)),
         Case("video", "a still image, --format video", lambda d: _lift(_touch(d / "photo.jpg", png), d, "--format", "video"))]
    if importlib.util.find_spec("cv2") and importlib.util.find_spec("mediapipe"):
        c += [Case("video", "valid clip, inspect", lambda d: ["inspect", str(_noise_video(d))], "success"),
              Case("video", "truncated (index cut off)", lambda d: _lift(_cut_in_half(_noise_video(d)), d)),
              Case("video", "one frame", lambda d: _lift(_noise_video(d, 1), d)),
              Case("video", "no person in it", lambda d: _lift(_noise_video(d), d, "--detector-model", "full")),
              Case("video", "--detector-weights not a model", lambda d: _lift(
                  _noise_video(d), d, "--detector-model", "heavy", "--detector-weights", str(_touch(d / "m.tflite")))),
              Case("video", "--detector-model huge", lambda d: _lift(_noise_video(d), d, "--detector-model", "huge"))]
    return c


def _renamed(path: Path, name: str) -> Path:
    return path.rename(path.with_name(name))


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.write_bytes(data)
    return path


def _mp_frames(d: Path, kp, sc, renumber: dict) -> Path:
    data = mediapipe_dict(kp, sc)
    for t, number in renumber.items():
        data["frames"][t]["frame"] = number
    path = d / "clip_mediapipe_pose.json"
    path.write_text(json.dumps(data))
    return path


def _dlc_h5_payload(d: Path) -> list[str]:
    import pandas as pd

    csv, mapping = write_dlc(d, *_h36m())
    frame = pd.read_csv(csv, header=[0, 1, 2], index_col=0)
    frame[("DLC_model", "extra", "x")] = [OpensFile(d / "PWNED")] * len(frame)
    path = d / "clipDLC_resnet50.h5"
    with warnings.catch_warnings():          # PyTables warns that it pickles the object column: the point here
        warnings.simplefilter("ignore")
        frame.to_hdf(path, key="df_with_missing", mode="w")
    return _lift(path, d, *SIZE_FPS, "--mapping", str(mapping))


def _ckpt(d: Path, meta: dict | None = None, config: dict | None = None, shrink: bool = False) -> Path:
    """A copy of the shipped checkpoint with changed metadata, config fields or one tensor cut short."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from engine.checkpoint import DEFAULT_CHECKPOINT

    with safe_open(str(DEFAULT_CHECKPOINT), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = dict(f.metadata())
    if config:
        metadata["config"] = json.dumps({**json.loads(metadata["config"]), **config})
    metadata.update(meta or {})
    if shrink:
        name = sorted(k for k, v in tensors.items() if v.ndim == 2)[0]
        tensors[name] = tensors[name][:-1].contiguous()
    path = d / "bad.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    return path


def all_cases() -> list[Case]:
    return _format_cases() + _specific_cases()


# ---- running and judging -----------------------------------------------------------------------

class _Hang(Exception):
    pass


def _snapshot(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def _plausible(output: Path, argv: list[str], frames: int | None) -> str | None:
    """Why a written result is wrong, or None when it is a person-sized, finite, measured lift."""
    from engine.sequence import LiftResult

    try:
        res = LiftResult.load(output)
    except Exception as exc:  # noqa: BLE001 - any failure to load is a wrong success
        return f"result does not load ({exc})"
    j = res.joints3d_world
    extent = float(np.median(np.linalg.norm(j.max(axis=1) - j.min(axis=1), axis=-1)))
    if not 0.5 <= extent <= 3.0:
        return f"skeleton measures {extent:.3g} m"
    if frames is not None and len(j) != frames:
        return f"{len(j)} frames, expected {frames}"
    if res.meta.get("input_format") not in ("trc", "result-npz") and res.meta.get("reprojection", {}).get("median") is None:
        return "no reprojection figure"
    return None


def run_case(case: Case, folder: Path) -> tuple[str, str]:
    """Build the case in an empty `folder`, run the CLI in-process and judge it: (outcome, detail)."""
    from engine import cli

    argv = case.build(folder)
    before = _snapshot(folder)
    out, err = io.StringIO(), io.StringIO()

    def alarm(*_):
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(argv)
    except _Hang:
        return "hang", f"no answer in {TIME_LIMIT_S} s"
    except BaseException as exc:  # noqa: BLE001 - anything escaping the CLI is the finding
        return "traceback", f"{type(exc).__name__}: {exc}"[:300]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if case.marker and (folder / case.marker).exists():
        return "payload-executed", "the payload's marker file appeared"
    after = _snapshot(folder)
    changed = [p.name for p, h in before.items() if after.get(p) != h]
    new = sorted(p for p in after if p not in before)
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip() and not ln.startswith(("loaded ", "warning: "))]
    if changed:
        return "partial-output", f"input changed: {changed}"
    if rc == 0:
        if case.expect == "error":
            return "wrong-success", f"exit 0; wrote {[p.name for p in new]}"
        if argv[0] == "lift":
            results = [p for p in new if p.suffix.lower() == ".npz"]
            if len(results) != 1:
                return "wrong-success", f"wrote {[p.name for p in new]}"
            why = _plausible(results[0], argv, case.frames)
            return ("wrong-success", why) if why else ("correct-success", results[0].name)
        try:
            json.loads(out.getvalue())
        except ValueError:
            return "wrong-success", "stdout is not JSON"
        return "correct-success", out.getvalue()[:80]
    if new:
        return "partial-output", f"exit {rc}; left {[p.name for p in new]}"
    if rc != 2 or len(lines) != 1 or not lines[0].startswith("error: "):
        return "traceback", f"exit {rc}; stderr {err.getvalue()[-300:]!r}"
    return ("clean-error" if case.expect == "error" else "refused-valid"), lines[0]


def table(results: list[tuple[Case, str, str]]) -> str:
    """Cases per format against outcomes, as a Markdown table."""
    formats = list(dict.fromkeys(c.format for c, _, _ in results))
    head = "| format | cases | " + " | ".join(OUTCOMES) + " |"
    rows = [head, "|" + "---|" * (len(OUTCOMES) + 2)]
    for fmt in formats + ["all"]:
        got = [o for c, o, _ in results if fmt in ("all", c.format)]
        rows.append(f"| {fmt} | {len(got)} | " + " | ".join(str(got.count(o)) for o in OUTCOMES) + " |")
    return "\n".join(rows)


def main() -> int:
    import tempfile

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = []
    for n, case in enumerate(all_cases()):
        with tempfile.TemporaryDirectory() as tmp:
            outcome, detail = run_case(case, Path(tmp))
        results.append((case, outcome, detail))
        if outcome not in ("clean-error", "correct-success"):
            print(f"{case.format} / {case.name}: {outcome}: {detail}", file=sys.stderr)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
