"""Motion an animator can keep (issue #18): lean, float, foot slide, bone stretch, in-place drift,
jitter and unflagged gap frames of every real sample the engine lifts, before and after clean-up.

No 3D ground truth exists for these videos; `engine.motion_quality` measures faults that need none
(see its docstrings). Each clip is lifted with the Python API exactly as `engine lift` does
(`read_sequence` with the flags the file needs, `Lifter.lift` with the "fast" preset and the default
filter), once with the clean-up off ("before": today's behaviour) and once with it on ("after"),
when this engine's `Lifter.lift` has a `cleanup` argument; without one the "after" columns read n/a.

Samples (`../shared/samples`, see its README):
- `openpose_body25b/pose_cam1_json` (540x960, 60 fps: the Pose2Sim calibration and TRC rate);
- `alphapose_coco17`: 206 *unrelated stills* lifted as if they were frames (image size unknown: a
  guessed 2600x1500 that holds every keypoint, 30 fps). Lifted and listed, but left out of every
  median: stills have no motion, so slide, drift and jitter mean nothing and the model's temporal
  context mixes different people;
- `alphapose_halpe26` first5 (3 frames, 540x960, 30 fps, as the reader tests);
- `mediapipe33` JSON (the CSV is the same run, so it is not lifted twice);
- `videopose3d_custom/data_2d_custom_myvideos.npz`: each of its 55 videos (30 fps assumed: the file
  stores none), and the raw Detectron2 `jumping_jacks_front.mp4.npz` (the CLI's default person);
- the bundled demo `engine/assets/demo_keypoints.npz` (listed, not in the medians: it is projected
  motion capture, not real detector output).
Skipped: the TRC is already 3D (`lift` passes it through without the model); the DeepLabCut CSV is
an animal's body parts, not a human skeleton.

Which clips count for which figure:
- "valid" frames are the frames the input had a detection for (`motion_quality.missing_input_frames`),
  the same frames before and after, so a held or interpolated gap never counts as the model's work.
- lean: only clips whose person is upright in the 2D input (the median angle between the image's
  vertical and the line from the ankles' midpoint to the head top is under UPRIGHT_2D_DEG): the lean
  of a plank or a crunch is 90 degrees by design, and would swamp the figure. Decided from the 2D
  the engine is given, so clean-up cannot change which clips count.
- in-place drift: only exercises done on one spot, where the hips stay over the same place (IN_PLACE,
  chosen from the clip names and the samples' README; the videos themselves are not in ../shared):
  jumping jacks, high knees, arm circles, planks, push-ups, crunches and the other mat exercises.
  Left out: exercises that step or travel (lunges, step-ups, stepping on a chair, burpees, bear
  crawl, basketball), squats and hip hinges whose hips move back 15-30 cm by design, the two videos
  whose camera view turns (crunches_all_view, push_up_side_to_front), and the MediaPipe demo (people
  walk through it) and the short OpenPose/HALPE clips (under a second).
- medians are over the real samples of at least one second (MIN_SECONDS), not the stills or the demo;
  gap_frames_unflagged is the *total* over them, not a median: only two files have detector gaps,
  so a median would read 0 whatever the engine did.

Output: one table row per clip and stage, then a line with the "before" medians as a JSON object and,
last, one JSON line of the "after" medians (null where there is no clean-up in this engine):
keys lean_deg, float_mm, foot_slide_mps, bone_cv_pct, inplace_drift_m, gap_frames_unflagged.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_motion_quality.py [--threads 1] [--videos 55]
        [--checkpoint PATH] [--save DIR]      # --save: write each lift's result .npz there

About 2 minutes per stage (42,000 frames) on one CPU thread shared with a training run.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine import motion_quality as mq  # noqa: E402
from engine.checkpoint import default_checkpoint  # noqa: E402
from engine.lifter import PRESETS, Lifter  # noqa: E402
from engine.readers import inspect_file, read_sequence  # noqa: E402
from engine.sequence import FRAME_DETECTED, KeypointSequence  # noqa: E402
from engine.skeleton import LEFT_ANKLE, RIGHT_ANKLE  # noqa: E402

SAMPLES = REPO.parent / "shared" / "samples"
VP3D = SAMPLES / "videopose3d_custom" / "data_2d_custom_myvideos.npz"
DEMO = REPO / "engine" / "assets" / "demo_keypoints.npz"
VP3D_FPS = 30.0            # VideoPose3D files store no frame rate; these are ordinary 30 fps videos
UPRIGHT_2D_DEG = 15.0      # a person whose 2D body line is this close to the image vertical stands: someone
                           # standing, seen by a level or tilted camera, is within ~10 deg; push-ups, planks
                           # and hip hinges seen from an angle came out at 17-30 deg on these samples
MIN_SECONDS = 1.0          # shorter clips are listed, not put in the medians: too little motion
KEYS = ("lean_deg", "float_mm", "foot_slide_mps", "bone_cv_pct", "inplace_drift_m", "gap_frames_unflagged")

# Videos of the VideoPose3D file done on one spot, hips over the same place (see the module doc).
IN_PLACE = frozenset({
    "abdomina_crunches.mp4", "active_bridge.mp4", "active_side_plank.mp4", "arm_circles.mp4",
    "balance_point.mp4", "bent_leg_raises.mp4", "bicycles.mp4", "bird_dog.mp4", "criss_cross.mp4",
    "crunches_isometric.mp4", "diamond_push_up.mp4", "half_swan.mp4", "high_knees.mp4",
    "jumping_jacks_front.mp4", "leg_clams.mp4", "mountain_climbers.mp4", "obliques.mp4", "pilates_100.mp4",
    "plank.mp4", "plank_side.mp4", "plank_single_person.mp4", "press_up.mp4", "push_up.mp4",
    "push_up_front_view.mp4", "push_up_part.mp4", "renegade_row.mp4", "roll_up.mp4", "scissors.mp4",
    "side_plank.mp4", "spine_twist.mp4", "supermans.mp4", "upper_ab_curl.mp4", "v_ups.mp4",
    "wall_push_ups.mp4", "wall_sit.mp4", "watch_dog.mp4", "wide_push_ups.mp4",
    "jumping_jacks_front.mp4.npz",        # the raw Detectron2 file of the same video
})


@dataclass
class Clip:
    name: str
    path: Path
    read: dict = field(default_factory=dict)     # read_sequence options this file needs
    real: bool = True                            # real detector output on video (medians)
    note: str = ""


def sample_clips(max_videos: int | None) -> list[Clip]:
    clips = [
        Clip("openpose_body25b/cam1", SAMPLES / "openpose_body25b" / "pose_cam1_json", {"image_size": (540, 960), "fps": 60}),
        Clip("alphapose_coco17 (stills)", SAMPLES / "alphapose_coco17" / "alphapose-results.json",
             {"image_size": (2600, 1500), "fps": 30}, real=False, note="206 unrelated stills, not motion"),
        Clip("alphapose_halpe26 first5", SAMPLES / "alphapose_halpe26" / "alphapose-results.first5.json",
             {"image_size": (540, 960), "fps": 30}),
        Clip("mediapipe33 sports2d", SAMPLES / "mediapipe33" / "sports2d_demo_mediapipe_pose.json"),
        Clip("jumping_jacks_front.mp4.npz", SAMPLES / "videopose3d_custom" / "jumping_jacks_front.mp4.npz",
             {"fps": VP3D_FPS}, note="raw Detectron2, the CLI's default person"),
    ]
    videos = [v["name"] for v in inspect_file(VP3D)["videos"]][:max_videos]
    clips += [Clip(v, VP3D, {"video": v, "fps": VP3D_FPS}) for v in videos]
    clips.append(Clip("demo_keypoints (mocap)", DEMO, real=False, note="bundled demo, projected mocap"))
    return clips


def upright_2d_deg(seq: KeypointSequence) -> float:
    """Median over frames of the angle between the image's vertical and the 2D line from the ankles'
    midpoint to the head top: ~0 for someone standing, ~90 for someone lying seen from the side."""
    head, ankles = mq.HEAD_TOP, [LEFT_ANKLE, RIGHT_ANKLE]
    seen = (seq.scores[:, [head, *ankles]] > 0).all(axis=1)
    line = seq.keypoints[seen, head] - seq.keypoints[seen][:, ankles].mean(axis=1)
    if not len(line):
        return float("nan")
    return float(np.median(np.degrees(np.arctan2(np.abs(line[:, 0]), -line[:, 1]))))


def measure(result, missing: np.ndarray) -> dict:
    world, valid = result.joints3d_world, ~missing
    row = mq.summarise(world, result.fps, valid)
    row["contact_pairs"] = mq.foot_slide(world, result.fps, valid)[1]
    flags = result.frame_flags
    row["gap_frames_flagged"] = int((missing & (flags != FRAME_DETECTED)).sum()) if flags is not None else 0
    row["gap_frames_unflagged"] = mq.gap_frames_unflagged(missing, flags)
    return row


def _f(v, fmt: str) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, fmt)


HEADER = (f"{'clip':34} {'stage':6} {'frames':>11} {'up2d':>5} {'lean°':>6} {'float mm':>8} {'slide m/s':>9} "
          f"{'pairs':>6} {'boneCV%':>7} {'drift m':>7} {'jitter':>6} {'gaps flag/unfl':>14}")


def row_text(clip: Clip, stage: str, frames: str, up2d: float, upright: bool, in_place: bool, m: dict) -> str:
    lean = _f(m["lean_deg"], "6.1f") + ("" if upright else "*")
    drift = _f(m["inplace_drift_m"], "7.2f") if in_place else "-"
    return (f"{clip.name[:34]:34} {stage:6} {frames:>11} {_f(up2d, '5.0f'):>5} {lean:>6} {_f(m['float_mm'], '8.0f')} "
            f"{_f(m['foot_slide_mps'], '9.2f')} {m['contact_pairs']:6d} {_f(m['bone_cv_pct'], '7.1f')} {drift:>7} "
            f"{_f(m['jitter_mm'], '6.1f')} {m['gap_frames_flagged']:>6}/{m['gap_frames_unflagged']:<7}")


def medians(rows: list[dict], stage: str) -> dict:
    """The summary over the real clips of at least MIN_SECONDS (see the module doc for which clip
    counts for which figure); None where no clip counts or the stage did not run."""
    use = [r for r in rows if r["in_medians"] and r[stage] is not None]
    if not use:
        return {k: None for k in KEYS}

    def med(key, keep=lambda r: True):
        values = [r[stage][key] for r in use if keep(r) and np.isfinite(r[stage][key])]
        return round(float(np.median(values)), 4) if values else None

    return {"lean_deg": med("lean_deg", lambda r: r["upright"]), "float_mm": med("float_mm"),
            "foot_slide_mps": med("foot_slide_mps"), "bone_cv_pct": med("bone_cv_pct"),
            "inplace_drift_m": med("inplace_drift_m", lambda r: r["in_place"]),
            "gap_frames_unflagged": int(sum(r[stage]["gap_frames_unflagged"] for r in use))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(default_checkpoint()))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--videos", type=int, default=None, help="lift only the first N videos of the VideoPose3D file")
    p.add_argument("--save", default=None, help="folder to write every lift's result .npz into")
    args = p.parse_args()
    if not SAMPLES.is_dir():
        sys.exit(f"{SAMPLES} is missing: this benchmark needs the shared detector samples (../shared/samples).")
    torch.set_num_threads(args.threads)
    lifter = Lifter(args.checkpoint, device="cpu")
    has_cleanup = "cleanup" in inspect.signature(lifter.lift).parameters
    stages = {"before": {"cleanup": False} if has_cleanup else {}}
    if has_cleanup:
        stages["after"] = {"cleanup": True}
    save = Path(args.save) if args.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    print(f"checkpoint {lifter.meta['id']}, preset fast, default filter, clean-up "
          f"{'off (before) and on (after)' if has_cleanup else 'not in this engine, so no after rows'}; "
          f"skipped: trc (already 3D), deeplabcut_csv (not a human body)")
    print(f"frames: detected/all; up2d: the 2D body line's angle from the image vertical; "
          f"* lean of a clip whose person is not upright in the 2D (up2d >= {UPRIGHT_2D_DEG:g} deg): "
          f"listed, not in the median; drift '-': not an in-place exercise")
    print(HEADER)
    rows, t0, frames_lifted = [], time.perf_counter(), 0
    for clip in sample_clips(args.videos):
        seq = read_sequence(clip.path, **clip.read)
        missing = mq.missing_input_frames(seq)
        up2d = upright_2d_deg(seq)
        row = {"clip": clip.name, "in_medians": clip.real and seq.num_frames >= MIN_SECONDS * seq.fps,
               "upright": bool(up2d < UPRIGHT_2D_DEG), "in_place": clip.name in IN_PLACE}
        frames = f"{int((~missing).sum())}/{seq.num_frames}"
        row["after"] = None
        for stage, options in stages.items():
            result = lifter.lift(seq, PRESETS["fast"], input_format=seq.meta.get("format", "auto"), **options)
            frames_lifted += seq.num_frames
            row[stage] = measure(result, missing)
            if save:
                result.save(save / f"{clip.name.replace('/', '_').replace(' ', '_')}.{stage}.npz")
            print(row_text(clip, stage, frames, up2d, row["upright"], row["in_place"], row[stage]), flush=True)
        rows.append(row)
    real = [r["clip"] for r in rows if r["in_medians"]]
    print(f"{frames_lifted:,} frames lifted in {time.perf_counter() - t0:.0f} s; medians over {len(real)} real clips "
          f"({sum(r['upright'] for r in rows if r['in_medians'])} upright for lean, "
          f"{sum(r['in_place'] for r in rows if r['in_medians'])} in place for drift; gap frames: total)")
    print(json.dumps({"before": medians(rows, "before")}))
    print(json.dumps(medians(rows, "after")))


if __name__ == "__main__":
    main()
