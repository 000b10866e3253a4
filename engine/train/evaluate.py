"""`python -m engine evaluate`: a checkpoint on the fixed test split, clean and noisy 2D.

Each test clip is seen through one fixed camera seeded by its name (`WindowSampler.windows_for_eval`),
so figures are reproducible and comparable between checkpoints. The clip goes through the same
windowed inference as `lift` (`Lifter.lift_normalised`). Reports MPJPE, P-MPJPE, MPJVE and
acceleration error (mm), action and style top-1 per frame (each frame's prediction against its
clip's label) and per clip (the argmax of the clip's mean probabilities: the labels describe whole
clips, and a "walk-turn-left" clip walks straight for most of its frames), per action and overall;
with `--hypotheses H > 1` it reports mean and JPMA aggregation of the H hypotheses. The "H=1" row is the
network alone (no flip), the figure every table compares checkpoints by; `--flip` adds "H=1 flip", what
`lift` runs by default (the clip and its mirror image averaged). `--smooth`
applies the temporal filter of `lift --smooth` to the root-relative joints before scoring.

`--motion` also runs each clip through the whole of `lift` (`Lifter.lift` on the noisy 2D in pixels,
the preset's flip, lift's default filter) and scores what an animator sees against the motion capture (issue #18):
`lean_err_deg`, the angle between the up direction the result assumes (`meta["cleanup"]["up_camera"]`,
else the camera's own up, (0, -1, 0)) and the true up in the camera frame; `floor_err_mm`, the median
over frames of |lowest ankle's height in the result's world - its true height above the capture's
floor| (which includes the ANKLE_HEIGHT of a standing foot); `floor_err_ankle_mm`, the same with the
true floor raised by ANKLE_HEIGHT, the engine's own convention (a planted ankle at z = 0), so a
perfect result scores 0 there and about ANKLE_HEIGHT on `floor_err_mm`; `mpjpe_mm`, the MPJPE of
the result's camera-frame joints (with the clean-up: constant bones, rebuilt and smoothed). With the
clean-up off, and on too when this engine's `Lifter.lift` has it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from ..cleanup.upright import CAMERA_UP
from ..frames import denormalise_screen, screen_focal
from ..lifter import PRESETS, Lifter
from ..view_aim import AIM_MODES
from ..metrics import all_metrics
from ..motion_quality import lowest_ankle_height
from ..sequence import KeypointSequence
from ..skeleton import FACE, LEFT_ANKLE, RIGHT_ANKLE
from ..smoothing import METHODS, cutoff_hz, smooth

METRICS = ("mpjpe", "p_mpjpe", "mpjve", "accel")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="dreampose3d evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--split", default="test", choices=["test", "cross", "val", "train"],
                   help="test: held-out Bandai styles and CMU subject 7; cross: other people on their own skeletons "
                        "(CMU ASF/AMC subjects 01 and 11, motion-prediction test files)")
    p.add_argument("--max-clips", type=int, default=None, help="a deterministic subset of N clips (every k-th clip)")
    p.add_argument("--preset", default="fast", choices=sorted(PRESETS))
    p.add_argument("--hypotheses", type=int, default=1)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--action-window", type=int, default=None, help="frames of action-probability averaging (overrides the preset)")
    p.add_argument("--smooth", default="none", choices=METHODS, help="temporal filter, as in lift")
    p.add_argument("--smooth-hz", type=float, default=None)
    p.add_argument("--flip", action="store_true", help="also evaluate with flip test-time augmentation (lift's default)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--cameras", default="aimed", choices=["aimed", "anywhere"],
                   help="aimed: each clip's fixed camera aims at the person (as in training); anywhere: drawn like "
                        "real footage's, the person off-centre and often filling the frame")
    p.add_argument("--aim", default=None, choices=AIM_MODES, help="turn a virtual camera to the person (engine.view_aim; "
                   "default: the preset's)")
    p.add_argument("--mocap-root", default=None)
    p.add_argument("--limit-clips", type=int, default=None, help="first N clips per source (tests)")
    p.add_argument("--output", default=None, help="write the results as JSON here")
    p.add_argument("--missing", default="none", choices=["none", "face"],
                   help="face: the nose and head top missing in every frame, as many detectors give them; adds a row "
                        "without engine.missing_face's placement")
    p.add_argument("--motion", action="store_true",
                   help="also lift each clip with the whole lift pipeline (noisy 2D) and report lean and floor errors")
    return p.parse_args(argv)


def effective_cutoff(method: str, clips, hz: float | None):
    """The cut-off the filter used, as `lift` records it: one value when every clip shares it (the
    cache resamples all clips to one frame rate), else the list of the clips' values."""
    values = sorted({cutoff_hz(method, c.fps, hz) for c in clips}, key=lambda v: (v is None, v or 0.0))
    return values[0] if len(values) == 1 else values


def evaluate(lifter: Lifter, clips, settings_by_name: dict, log=lambda m: None, smoothing: str = "none",
             smooth_hz: float | None = None, cameras: str = "aimed", missing: str = "none") -> dict:
    """{setting name: {"overall": {...}, "per_action": {action: {...}}}} for clean and noisy input.
    `missing="face"`: both inputs lose the nose and head top in every frame (score 0)."""
    from .labels import ACTION_VOCAB, STYLE_VOCAB
    from .mocap_dataset import WindowSampler

    sampler = WindowSampler(clips, window=lifter.config.window, noise=True)
    actions, styles = list(lifter.config.actions), list(lifter.config.styles)
    sums = defaultdict(lambda: defaultdict(float))     # (setting, input, action) -> metric sums
    t0 = time.time()
    for ci, clip in enumerate(clips):
        data = sampler.windows_for_eval(clip, cameras=cameras)
        gt = data["joints3d"]
        focal = screen_focal(*(float(v) for v in data["image_size"]))    # what lift assumes, not the true one
        action, style = ACTION_VOCAB[int(data["action"])], STYLE_VOCAB[int(data["style"])]
        t = len(gt)
        for input_name in ("clean", "noisy"):
            kp = data["keypoints2d_clean" if input_name == "clean" else "keypoints2d"].astype(np.float32)
            sc = np.ones((t, 17), np.float32) if input_name == "clean" else data["scores"].astype(np.float32)
            if missing == "face":
                kp[:, FACE], sc[:, FACE] = 0.0, 0.0
            for name, settings in settings_by_name.items():
                kp_model, sc_model, _ = lifter.model_input(kp, sc, settings)
                pred, a_probs, s_probs = lifter.lift_normalised(kp_model, sc_model, settings, focal=focal)
                pred = smooth(pred - pred[:, :1], clip.fps, smoothing, smooth_hz)
                m = all_metrics(pred, gt)
                a_ok = (np.array(actions)[a_probs.argmax(-1)] == action).mean()
                s_ok = (np.array(styles)[s_probs.argmax(-1)] == style).mean()
                a_clip = actions[int(a_probs.mean(0).argmax())] == action
                s_clip = styles[int(s_probs.mean(0).argmax())] == style
                for group in ("overall", clip.action):
                    acc = sums[(name, input_name, group)]
                    for k in METRICS:
                        acc[k] += m[k] * t
                    acc["action_top1"] += a_ok * t
                    acc["style_top1"] += s_ok * t
                    acc["frames"] += t
                    acc["action_top1_clip"] += a_clip
                    acc["style_top1_clip"] += s_clip
                    acc["clips"] += 1
        if (ci + 1) % 10 == 0:
            log(f"{ci + 1}/{len(clips)} clips, {time.time() - t0:.0f} s")
    out: dict = {}
    for (name, input_name, group), acc in sums.items():
        row = {k: acc[k] / acc["frames"] for k in (*METRICS, "action_top1", "style_top1")}
        row["action_top1"] *= 100
        row["style_top1"] *= 100
        row["action_top1_clip"] = 100 * acc["action_top1_clip"] / acc["clips"]
        row["style_top1_clip"] = 100 * acc["style_top1_clip"] / acc["clips"]
        row["frames"], row["clips"] = int(acc["frames"]), int(acc["clips"])
        target = out.setdefault(name, {}).setdefault(input_name, {"per_action": {}})
        if group == "overall":
            target["overall"] = row
        else:
            target["per_action"][group] = row
    return out


WORLD_UP = np.array([0.0, 1.0, 0.0])       # the motion capture's world is Y up, floor at y = 0


def cleanup_stages(lifter: Lifter) -> dict[str, dict]:
    """{stage: extra Lifter.lift arguments}: "off" always (today's lift when there is no clean-up),
    "on" when this engine's `Lifter.lift` takes `cleanup`."""
    import inspect

    if "cleanup" not in inspect.signature(lifter.lift).parameters:
        return {"off": {}}
    return {"off": {"cleanup": False}, "on": {"cleanup": True}}


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def evaluate_motion(lifter: Lifter, clips, settings, log=lambda m: None) -> dict:
    """{stage: {"lean_err_deg": {...}, "floor_err_mm": {...}, "floor_err_ankle_mm": {...}, "clips": n}}
    over `clips` (mean, median and 90th percentile of the per-clip figures), each clip lifted from
    its noisy evaluation 2D as a user's keypoint file would be: pixels of the clip's fixed camera,
    its scores, the clip's fps."""
    from .mocap_dataset import ANKLE_HEIGHT, WindowSampler

    sampler = WindowSampler(clips, window=lifter.config.window, noise=True)
    stages = cleanup_stages(lifter)
    per_clip = {stage: {"lean_err_deg": [], "floor_err_mm": [], "floor_err_ankle_mm": [], "mpjpe_mm": []}
                for stage in stages}
    t0 = time.time()
    for ci, clip in enumerate(clips):
        data = sampler.windows_for_eval(clip)
        width, height = (int(v) for v in data["image_size"])
        seq = KeypointSequence(denormalise_screen(data["keypoints2d"], width, height), data["scores"],
                               (width, height), clip.fps, {"source_file": clip.name, "format": "mocap-eval"})
        true_up = data["camera"].rotation @ WORLD_UP
        true_ankle = np.asarray(clip.joints)[:, [LEFT_ANKLE, RIGHT_ANKLE], 1].min(axis=1)  # includes ANKLE_HEIGHT
        for stage, options in stages.items():
            result = lifter.lift(seq, settings, **options)
            up = (result.meta.get("cleanup") or {}).get("up_camera", CAMERA_UP)
            per_clip[stage]["lean_err_deg"].append(angle_deg(up, true_up))
            predicted = lowest_ankle_height(result.joints3d_world)
            per_clip[stage]["floor_err_mm"].append(1000.0 * float(np.median(np.abs(predicted - true_ankle))))
            per_clip[stage]["floor_err_ankle_mm"].append(
                1000.0 * float(np.median(np.abs(predicted - (true_ankle - ANKLE_HEIGHT)))))
            # the result's camera-frame joints (with the clean-up: constant bones, gaps filled)
            per_clip[stage]["mpjpe_mm"].append(1000.0 * float(np.linalg.norm(
                result.joints3d - data["joints3d"], axis=-1).mean()))
        if (ci + 1) % 10 == 0:
            log(f"motion: {ci + 1}/{len(clips)} clips, {time.time() - t0:.0f} s")
    out = {}
    for stage, metrics in per_clip.items():
        out[stage] = {"clips": len(clips)}
        for key, values in metrics.items():
            v = np.asarray(values)
            out[stage][key] = {"mean": float(v.mean()), "median": float(np.median(v)), "p90": float(np.percentile(v, 90))}
    return out


def main(argv=None) -> int:
    from .mocap_dataset import CROSS_SOURCES, DEFAULT_SOURCES, load_clips

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    log = lambda m: print(m, file=sys.stderr, flush=True)   # noqa: E731
    lifter = Lifter(args.checkpoint, "auto")
    sources = CROSS_SOURCES if args.split == "cross" else DEFAULT_SOURCES
    clips = load_clips(args.split, root=args.mocap_root, limit=args.limit_clips, sources=sources)
    if args.max_clips and len(clips) > args.max_clips:
        clips = clips[:: int(np.ceil(len(clips) / args.max_clips))]
    base = PRESETS[args.preset]
    if args.steps:
        base = replace(base, steps=args.steps)
    if args.action_window is not None:
        base = replace(base, action_window=args.action_window)
    if args.aim is not None:
        base = replace(base, aim=args.aim)
    settings = {"H=1": replace(base, hypotheses=1, flip=False)}
    if args.flip:
        settings["H=1 flip"] = replace(base, hypotheses=1, flip=True)
    if args.missing == "face":
        settings["H=1 face unplaced"] = replace(base, hypotheses=1, flip=False, place_face=False)
    if args.hypotheses > 1:
        settings[f"H={args.hypotheses} mean"] = replace(base, hypotheses=args.hypotheses, aggregation="mean", flip=False)
        settings[f"H={args.hypotheses} jpma"] = replace(base, hypotheses=args.hypotheses, aggregation="jpma", flip=False)
    log(f"evaluating {lifter.meta['id']} on {len(clips)} {args.split} clips ({sum(len(c.joints) for c in clips):,} frames)")
    results = {"checkpoint": lifter.meta["id"], "split": args.split, "has_apl": lifter.config.use_apl, "clips": len(clips),
               "frames": int(sum(len(c.joints) for c in clips)), "preset": args.preset,
               "sampling": asdict(base),
               "smoothing": {"method": args.smooth, "hz": effective_cutoff(args.smooth, clips, args.smooth_hz)},
               "cameras": args.cameras, "missing": args.missing,
               "results": evaluate(lifter, clips, settings, log, args.smooth, args.smooth_hz, args.cameras, args.missing)}
    for name, by_input in results["results"].items():
        for input_name, r in by_input.items():
            o = r["overall"]
            if not results["has_apl"]:   # no classifier: the uniform probabilities carry no top-1
                for k in ("action_top1", "style_top1", "action_top1_clip", "style_top1_clip"):
                    o[k] = float("nan")
            print(f"{name:12} {input_name:6} MPJPE {o['mpjpe']:.1f}  P-MPJPE {o['p_mpjpe']:.1f}  MPJVE {o['mpjve']:.2f}  "
                  f"ACC {o['accel']:.2f}  action {o['action_top1']:.1f}% (clips {o['action_top1_clip']:.1f}%)  "
                  f"style {o['style_top1']:.1f}% (clips {o['style_top1_clip']:.1f}%)")
    if args.motion:
        results["motion"] = evaluate_motion(lifter, clips, replace(base, hypotheses=1), log)
        for stage, m in results["motion"].items():
            lean, floor, ankle = m["lean_err_deg"], m["floor_err_mm"], m["floor_err_ankle_mm"]
            print(f"lift cleanup {stage:3} noisy  lean error {lean['mean']:.1f} deg (median {lean['median']:.1f}, "
                  f"p90 {lean['p90']:.1f})  floor error {floor['mean']:.0f} mm (median {floor['median']:.0f}, "
                  f"p90 {floor['p90']:.0f}; ankle-level floor: median {ankle['median']:.0f})  "
                  f"MPJPE {m['mpjpe_mm']['mean']:.1f} mm  {m['clips']} clips")
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(results, indent=1))   # NaN -> "NaN": no top-1 without APL
    return 0
