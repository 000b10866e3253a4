"""Frames per second of each reader on a generated 10,000-frame file (prints a table).

Usage: python benchmarks/bench_readers.py [--frames N]. Files are written to a temporary folder;
timings include parsing, tracking, layout conversion, gap filling and validation.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.readers import read_sequence  # noqa: E402
from engine.sequence import KeypointSequence  # noqa: E402


def _walk(t: int, k: int, rng) -> np.ndarray:
    base = rng.uniform(200, 600, (1, k, 2))
    return base + np.cumsum(rng.normal(0, 1, (t, 1, 2)), axis=0) + rng.normal(0, 2, (t, k, 2))


def make_files(folder: Path, t: int) -> dict[str, tuple[Path, dict]]:
    rng = np.random.default_rng(0)
    out = {}
    op = folder / "openpose"
    op.mkdir()
    a, b = _walk(t, 25, rng), _walk(t, 25, rng) + 300
    for i in range(t):
        people = [{"person_id": [-1], "pose_keypoints_2d": np.c_[p[i], np.full(25, 0.9)].round(3).ravel().tolist()} for p in (a, b)]
        (op / f"v_{i:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    out["openpose (2 people)"] = (op, {"layout": "body25b", "image_size": (1920, 1080), "fps": 30})
    c = _walk(t, 17, rng)
    res = [{"image_id": i, "category_id": 1, "keypoints": np.c_[c[i], np.full(17, 0.8)].round(3).ravel().tolist(), "score": 0.9} for i in range(t)]
    (folder / "coco.json").write_text(json.dumps(res))
    out["coco-json"] = (folder / "coco.json", {"image_size": (1920, 1080), "fps": 30})
    res_ap = [dict(r, box=[0, 0, 100, 200], idx=[0.0]) for r in res]
    (folder / "alphapose.json").write_text(json.dumps(res_ap))
    out["alphapose"] = (folder / "alphapose.json", {"image_size": (1920, 1080), "fps": 30})
    mm = {"meta_info": {}, "instance_info": [{"frame_id": i + 1, "instances": [{"keypoints": c[i].round(3).tolist(), "keypoint_scores": [0.8] * 17, "bbox": [[0, 0, 100, 200]], "bbox_score": 0.9}]} for i in range(t)]}
    (folder / "mmpose.json").write_text(json.dumps(mm))
    out["mmpose"] = (folder / "mmpose.json", {"image_size": (1920, 1080), "fps": 30})
    m = np.clip(_walk(t, 33, rng) / 1000, 0, 1)
    frames = [{"frame": i, "timestamp_s": i / 30, "landmarks": [{"x": float(x), "y": float(y), "z": 0.0, "visibility": 0.9} for x, y in m[i]]} for i in range(t)]
    (folder / "mp_mediapipe_pose.json").write_text(json.dumps({"image_width": 1000, "image_height": 1000, "fps": 30, "landmark_names": [], "frames": frames}))
    out["mediapipe-json"] = (folder / "mp_mediapipe_pose.json", {})
    header = "frame," + ",".join(f"x{i},y{i},z{i},v{i}" for i in range(33))
    rows = [f"{i}," + ",".join(f"{x:.5f},{y:.5f},0,0.9" for x, y in m[i]) for i in range(t)]
    (folder / "mp_mediapipe_pose.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    (folder / "mp_video_info.json").write_text(json.dumps({"width": 1000, "height": 1000, "fps": 30.0}))
    out["mediapipe-csv"] = (folder / "mp_mediapipe_pose.csv", {})
    meta = {"layout_name": "coco", "num_joints": 17, "video_metadata": {"v": {"w": 1920, "h": 1080}}}
    np.savez(folder / "custom.npz", positions_2d=np.array({"v": {"custom": [c.astype(np.float32)]}}, dtype=object),
             metadata=np.array(meta, dtype=object))
    out["vp3d-custom"] = (folder / "custom.npz", {"fps": 30})
    boxes = np.empty((t, 2), dtype=object)
    kps = np.empty((t, 2), dtype=object)
    for i in range(t):
        boxes[i, 0], kps[i, 0] = [], []
        boxes[i, 1] = np.array([[0, 0, 100, 200, 0.99]], np.float32)
        kps[i, 1] = np.stack([c[i, :, 0], c[i, :, 1], np.zeros(17), np.full(17, 0.8)])[None].astype(np.float32)
    np.savez(folder / "d2.npz", boxes=boxes, keypoints=kps, segments=np.array([None] * t, dtype=object),
             metadata=np.array({"w": 1920, "h": 1080}, dtype=object))
    out["detectron2-npz"] = (folder / "d2.npz", {"fps": 30})
    parts = [f"bp{j}" for j in range(4)]
    dlc = ["scorer," + ",".join(["DLC"] * 12), "bodyparts," + ",".join(p for p in parts for _ in range(3)),
           "coords," + ",".join(["x", "y", "likelihood"] * 4)]
    dlc += [f"{i}," + ",".join(f"{x:.3f},{y:.3f},0.9" for x, y in c[i, :4]) for i in range(t)]
    (folder / "dlc.csv").write_text("\n".join(dlc) + "\n")
    (folder / "map.json").write_text(json.dumps({"bp0": "left_hip", "bp1": "right_hip", "bp2": "left_shoulder", "bp3": "right_shoulder"}))
    out["dlc"] = (folder / "dlc.csv", {"mapping": folder / "map.json", "image_size": (1920, 1080), "fps": 30})
    KeypointSequence(c.astype(np.float32), np.full((t, 17), 0.9, np.float32), (1920, 1080), 30.0).save(folder / "kp.npz")
    out["keypoints-npz"] = (folder / "kp.npz", {})
    names = ["RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "Neck", "Head", "Nose", "RShoulder",
             "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist"]
    xyz = rng.normal(0, 0.3, (t, len(names), 3)) + 1
    lines = ["PathFileType\t4\t(X/Y/Z)\tb.trc", "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits",
             f"60\t60\t{t}\t{len(names)}\tm", "Frame#\tTime\t" + "\t\t\t".join(names),
             "\t\t" + "\t".join(f"{a}{i + 1}" for i in range(len(names)) for a in "XYZ")]
    lines += [f"{i + 1}\t{i / 60}\t" + "\t".join(f"{v:.5f}" for v in xyz[i].ravel()) for i in range(t)]
    (folder / "b.trc").write_text("\n".join(lines) + "\n")
    out["trc"] = (folder / "b.trc", {})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp), args.frames)
        print(f"{'reader':<22}{'frames':>8}{'seconds':>10}{'frames/s':>12}")
        for name, (path, opts) in files.items():
            t0 = time.perf_counter()
            seq = read_sequence(path, **opts)
            dt = time.perf_counter() - t0
            print(f"{name:<22}{seq.num_frames:>8}{dt:>10.3f}{seq.num_frames / dt:>12.0f}")


if __name__ == "__main__":
    main()
