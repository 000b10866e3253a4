"""The engine's command line: `python -m engine {lift,inspect,info,train,evaluate,prepare-data}`.

Contract (shared conventions): JSON-lines progress on stdout, logs and errors on stderr, exit 0
on success, non-zero with a one-sentence error otherwise. `EngineError` is the boundary: its
message is printed as is; any other exception is a bug and keeps its traceback.
Results are written to a temporary name and renamed, so a crash or cancel leaves no file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from . import limits
from .errors import EngineError

EXIT_ERROR, EXIT_CANCELLED = 2, 130


def emit(event: str, **fields) -> None:
    """One JSON line on stdout, flushed at once so the add-on sees progress live."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _reader_options(args) -> dict:
    return {"format": args.format, "person": args.person, "fps": args.fps,
            "image_size": tuple(args.image_size) if args.image_size else None,
            "layout": args.layout, "mapping": args.mapping, "video": args.video, "max_frames": args.max_frames}


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one sentence on stderr (exit 2), like every other error:
    "argument --steps: must be ..." becomes "--steps must be ..."."""

    def error(self, message: str):
        flag, sep, problem = message.partition(": ")
        if sep and flag.startswith("argument "):
            message = f"{flag[len('argument '):]} {problem}" if problem.startswith("must") else f"{flag[len('argument '):]}: {problem}"
        self.exit(EXIT_ERROR, f"error: {message[0].upper() + message[1:].rstrip('.')}.\n")


def _ranged(lo, hi, whole: bool = True, unit: str = ""):
    """An argparse `type=` for a number within [lo, hi] (hi None: no upper bound), whole or not."""
    def convert(text: str):
        try:
            number = int(text) if whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {'whole ' if whole else ''}number, got '{text}'") from None
        if not (lo <= number and (hi is None or number <= hi)):    # NaN fails both comparisons
            show = lambda v: f"{v:,}" if isinstance(v, int) else f"{v:,g}"  # noqa: E731
            bound = f"at least {show(lo)}" if hi is None else f"between {show(lo)} and {show(hi)}"
            raise argparse.ArgumentTypeError(f"must be {bound}{unit}, got {text}")
        return number
    return convert


def _add_reader_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", default="auto", help="input format (default: detect it)")
    p.add_argument("--person", default=None, help="track id to lift when a file holds several people (default: the most visible)")
    p.add_argument("--fps", type=_ranged(*limits.FPS_RANGE, whole=False, unit=" fps"), default=None,
                   help="frame rate, when the file does not say it")
    p.add_argument("--image-size", type=_ranged(*limits.IMAGE_SIZE_RANGE, unit=" px"),
                   nargs=2, metavar=("W", "H"), default=None, help="image size in pixels, when the file does not say it")
    p.add_argument("--layout", default=None, help="force the source layout (e.g. body25, body25b, coco18 for OpenPose)")
    p.add_argument("--mapping", default=None, help="JSON mapping of body-part names to H36M joints (DeepLabCut)")
    p.add_argument("--video", default=None, help="which video of a multi-video file (VideoPose3D custom npz): name or "
                   "index from 'inspect' (default: the first)")
    p.add_argument("--max-frames", type=_ranged(1, None), default=limits.MAX_FRAMES,
                   help=f"refuse clips longer than this many frames (default {limits.MAX_FRAMES:,})")


def cmd_lift(args) -> int:
    from .checkpoint import default_checkpoint
    from .lifter import PRESETS, Lifter, SamplingSettings
    from .outputs import Publisher, output_paths
    from .readers import Motion3D, read_sequence
    from .result_from_motion import result_from_motion
    from .smoothing import cutoff_hz

    base = PRESETS[args.preset]
    settings = SamplingSettings(**{**base.__dict__, **{k: v for k, v in {
        "steps": args.steps, "hypotheses": args.hypotheses, "seed": args.seed,
        "aggregation": args.aggregation, "flip": args.flip, "action_window": args.action_window}.items() if v is not None}})
    # Check the outputs and read every input before loading the model: a bad path or file fails
    # fast, and nothing is written unless every input succeeds (engine.outputs).
    with Publisher(args.inputs, output_paths(args.inputs, args.output)) as publisher:
        sequences = [(inp, read_sequence(inp, **_reader_options(args))) for inp in args.inputs]
        for inp, seq in sequences:
            cutoff_hz(args.smooth, seq.fps, args.smooth_hz, who=Path(inp).name)
        lifter, finished = None, []
        for (inp, seq), out in zip(sequences, publisher.outputs):
            emit("start", input=inp, frames=int(seq.joints_world.shape[0] if isinstance(seq, Motion3D) else seq.num_frames))
            t0 = time.perf_counter()
            if isinstance(seq, Motion3D):
                result = result_from_motion(seq, args.smooth, args.smooth_hz)
            else:
                if lifter is None:
                    lifter = Lifter(args.checkpoint or default_checkpoint(), args.device)
                    log(f"loaded {lifter.meta['id']} on {lifter.device} in {lifter.load_seconds:.2f} s")
                result = lifter.lift(seq, settings, args.smooth, args.smooth_hz,
                                     progress=lambda d, n, inp=inp: emit("progress", input=inp, done=d, total=n),
                                     input_format=seq.meta.get("format", args.format),
                                     cleanup=args.cleanup == "on", root_motion=args.root_motion)
            warning = result.meta.get("reprojection", {}).get("warning")
            if warning:
                log(f"warning: {inp}: {warning}")
            publisher.stage(result, out)
            finished.append({"input": inp, "output": str(out), "frames": len(result.prompt),
                             "seconds": round(time.perf_counter() - t0, 3)})
        publisher.publish()
    for fields in finished:     # "done" means the file is there, so it follows the publishing
        emit("done", **fields)
    return 0


def cmd_inspect(args) -> int:
    from .readers import inspect_file

    print(json.dumps(inspect_file(args.input, **_reader_options(args)), indent=None))
    return 0


def cmd_info(args) -> int:
    from .checkpoint import default_checkpoint, read_metadata
    from .lifter import resolve_device

    path = Path(args.checkpoint or default_checkpoint())
    meta = read_metadata(path)
    cfg = meta["config"]
    print(json.dumps({"checkpoint": meta["id"], "path": str(path), "device": str(resolve_device(args.device)),
                      "actions": cfg.actions, "styles": cfg.styles, "config": cfg.to_dict(), **meta["info"]}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .lifter import MAX_HYPOTHESES, MAX_STEPS, PRESETS
    from .cleanup import ROOT_MOTIONS
    from .smoothing import BUTTERWORTH_HZ, DEFAULT_METHOD, METHODS

    parser = _Parser(prog="dreampose3d", description="DreamPose3D: lift 2D keypoints to 3D.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("lift", help="lift keypoint files to 3D result .npz files")
    p.add_argument("inputs", nargs="+", help="keypoint files or folders (any supported format)")
    p.add_argument("-o", "--output", required=True, help="result .npz (one input) or a directory (several)")
    _add_reader_flags(p)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--preset", default="fast", choices=sorted(PRESETS))
    p.add_argument("--steps", type=_ranged(1, MAX_STEPS), default=None, help="DDIM steps K (overrides the preset)")
    p.add_argument("--hypotheses", type=_ranged(1, MAX_HYPOTHESES), default=None, help="hypotheses H (overrides the preset)")
    p.add_argument("--aggregation", default=None, choices=["mean", "jpma"])
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None, help="flip test-time augmentation")
    p.add_argument("--seed", type=_ranged(0, limits.MAX_SEED), default=None, help="random seed (a fixed seed gives identical output)")
    p.add_argument("--action-window", type=_ranged(0, limits.MAX_FRAMES), default=None,
                   help="frames over which the action prompt's probabilities are averaged "
                        f"(0: per window; default {PRESETS['fast'].action_window})")
    p.add_argument("--checkpoint", default=None, help="checkpoint .safetensors (default: the shipped weights)")
    p.add_argument("--smooth", default=DEFAULT_METHOD, choices=METHODS,
                   help=f"temporal filter of the 3D joints (default {DEFAULT_METHOD}; none: the model's raw output)")
    p.add_argument("--smooth-hz", type=_ranged(1e-3, limits.FPS_RANGE[1] / 2, whole=False, unit=" Hz"), default=None,
                   help=f"cutoff in Hz for the smoothing filter (default {BUTTERWORTH_HZ:g} for butterworth)")
    p.add_argument("--cleanup", default="on", choices=["on", "off"],
                   help="stand the clip upright on the floor, constant bones, planted feet, gaps flagged "
                        "(default on; off: the model's poses as they come)")
    p.add_argument("--root-motion", default="free", choices=list(ROOT_MOTIONS),
                   help="the pelvis path: free (as fitted, default), in-place (held over one spot), "
                        "path (a smoothed walking path)")
    p.set_defaults(func=cmd_lift)

    p = sub.add_parser("inspect", help="describe a keypoint file: format, frames, people")
    p.add_argument("input")
    _add_reader_flags(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("info", help="print checkpoint metadata as JSON")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=cmd_info)

    for name, (module, doc) in TRAINING_COMMANDS.items():   # listed in --help; they parse their own flags
        sub.add_parser(name, help=doc, add_help=False)
    return parser


TRAINING_COMMANDS = {     # name -> (module with main(argv), help); each is also `python -m <module>`
    "train": ("engine.train.trainer", "train a model from motion capture (see its --help)"),
    "evaluate": ("engine.train.evaluate", "evaluate a checkpoint on the test split (see its --help)"),
    "prepare-data": ("engine.train.prepare", "build the motion-capture cache (see its --help)"),
    "tables": ("engine.train.tables", "model-card Markdown tables from evaluate --output files (see its --help)"),
    "export-weights": ("engine.train.export_weights", "turn a training run into the shipped fp16 checkpoint (see its --help)"),
    "make-demo": ("engine.train.make_demo", "write the bundled demo keypoints from a held-out clip (see its --help)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in TRAINING_COMMANDS:
        import importlib
        try:
            return int(importlib.import_module(TRAINING_COMMANDS[argv[0]][0]).main(argv[1:]) or 0)
        except EngineError as exc:
            log(f"error: {exc}")
            return EXIT_ERROR
        except SystemExit as exc:   # their argparse: --help (0) or a usage error (2, printed by argparse)
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:       # usage errors (one sentence, see _Parser) and --help
        return int(exc.code or 0)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return args.func(args)
    except EngineError as exc:
        log(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        log("error: cancelled; nothing was written for the unfinished input.")
        return EXIT_CANCELLED
