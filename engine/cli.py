"""The engine's command line: `python -m engine {lift,inspect,detect,info,train,evaluate,prepare-data}`.

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


def _cancel(*_) -> None:
    raise KeyboardInterrupt()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# The version of what `lift` writes on stdout. Its first event, "hello", states it with the engine's
# version; the add-on refuses an engine whose protocol is not the one it was written for (1 was
# the protocol before "hello": start, progress per clip, done).
PROTOCOL = 2


class LiftProgress:
    """The stage and progress events of one `lift` call. Each carries `fraction`, the share of the
    whole call done (0-1), which never decreases and is 1 only in the "done" events, after every
    result is written: reading every input (the first 5 %), loading the model (to 8 %), then each
    input's share of the rest by its frames: lifting batch by batch (85 % of it), "smoothing",
    "cleaning up", "writing" (the staged file); "done" follows the renaming of every result."""

    READ, LOADED, END = 0.05, 0.08, 0.98
    AFTER_MODEL = {"smoothing": 0.85, "cleaning up": 0.9, "writing": 0.96}

    def __init__(self, inputs):
        self.inputs, self.last, self.spans = list(inputs), 0.0, {}

    def _emit(self, event: str, fraction: float, **fields) -> None:
        self.last = max(self.last, min(fraction, self.END))
        emit(event, fraction=round(self.last, 4), **fields)

    def hello(self) -> None:
        from . import __version__

        emit("hello", engine_version=__version__, protocol=PROTOCOL)

    def reading(self, inp) -> None:
        i = self.inputs.index(inp) if inp in self.inputs else 0
        self._emit("stage", self.READ * i / max(1, len(self.inputs)), stage="reading", input=str(inp))

    def plan(self, frames: list[int]) -> None:
        """Each input's span of the fraction, by its frames (known once every input is read)."""
        total, start = max(1, sum(frames)), self.LOADED
        for inp, f in zip(self.inputs, frames):
            width = (self.END - self.LOADED) * f / total
            self.spans[inp] = (start, width)
            start += width

    def detecting(self, inp, done: int, total: int) -> None:
        """A video input's frames through the detector, inside that input's share of the reading."""
        i = self.inputs.index(inp) if inp in self.inputs else 0
        share = min(1.0, done / max(1, total))
        self._emit("progress", self.READ * (i + share) / max(1, len(self.inputs)), stage="detecting",
                   input=str(inp), done=done, total=total)

    def loading(self) -> None:
        self._emit("stage", self.READ, stage="loading the model")

    def lifting(self, inp, done: int, total: int) -> None:
        start, width = self.spans.get(inp, (self.LOADED, 0.0))
        self._emit("progress", start + width * self.AFTER_MODEL["smoothing"] * done / max(1, total), stage="lifting",
                   input=str(inp), done=done, total=total)

    def stage(self, inp, name: str) -> None:
        start, width = self.spans.get(inp, (self.LOADED, 0.0))
        self._emit("stage", start + width * self.AFTER_MODEL.get(name, 0.0), stage=name, input=str(inp))


def _reader_options(args) -> dict:
    return {"format": args.format, "person": args.person, "fps": args.fps,
            "image_size": tuple(args.image_size) if args.image_size else None,
            "layout": args.layout, "mapping": args.mapping, "video": args.video, "max_frames": args.max_frames,
            "detector_model": args.detector_model, "detector_weights": args.detector_weights}


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
    _add_detector_flags(p)


def _add_detector_flags(p: argparse.ArgumentParser) -> None:
    from .detector import CHOICES, DEFAULT_MODEL

    p.add_argument("--detector-model", default=DEFAULT_MODEL, choices=CHOICES,
                   help="MediaPipe Pose model for a video input: lite, full, heavy (complexity 0, 1, 2); auto "
                        "(default): heavy when its file is installed, else full")
    p.add_argument("--detector-weights", default=None, metavar="PATH",
                   help="the lite or heavy model file (pose_landmark_*.tflite), or a folder holding it, when "
                        "`make mediapipe-models` has not installed it")


def cmd_lift(args) -> int:
    from .checkpoint import default_checkpoint
    from .lifter import PRESETS, Lifter, SamplingSettings
    from .outputs import Publisher, output_paths
    from .readers import Motion3D, read_sequence
    from . import footage
    from .result_from_motion import result_from_motion
    from .smoothing import cutoff_hz

    base = PRESETS[args.preset]
    settings = SamplingSettings(**{**base.__dict__, **{k: v for k, v in {
        "steps": args.steps, "hypotheses": args.hypotheses, "seed": args.seed,
        "aggregation": args.aggregation, "flip": args.flip, "action_window": args.action_window}.items() if v is not None}})
    # Check the outputs and read every input before loading the model: a bad path or file fails
    # fast, and nothing is written unless every input succeeds (engine.outputs).
    events = LiftProgress(args.inputs)
    events.hello()
    with Publisher(args.inputs, output_paths(args.inputs, args.output)) as publisher:
        sequences = [(inp, events.reading(inp) or read_sequence(
            inp, **_reader_options(args), detect_progress=lambda d, n, inp=inp: events.detecting(inp, d, n)))
            for inp in args.inputs]
        for inp, seq in sequences:
            cutoff_hz(args.smooth, seq.fps, args.smooth_hz, who=Path(inp).name)
        frames = [int(seq.joints_world.shape[0] if isinstance(seq, Motion3D) else seq.num_frames) for _, seq in sequences]
        events.plan(frames)
        lifter, finished = None, []
        for (inp, seq), out, n in zip(sequences, publisher.outputs, frames):
            emit("start", input=inp, frames=n)
            t0 = time.perf_counter()
            if isinstance(seq, Motion3D):
                events.stage(inp, "smoothing")
                result = result_from_motion(seq, args.smooth, args.smooth_hz)
            else:
                if lifter is None:
                    events.loading()
                    lifter = Lifter(args.checkpoint or default_checkpoint(), args.device)
                    log(f"loaded {lifter.meta['id']} on {lifter.device} in {lifter.load_seconds:.2f} s")
                result = lifter.lift(seq, settings, args.smooth, args.smooth_hz,
                                     progress=lambda d, n, inp=inp: events.lifting(inp, d, n),
                                     stage=lambda name, inp=inp: events.stage(inp, name),
                                     input_format=seq.meta.get("format", args.format),
                                     cleanup=args.cleanup == "on", root_motion=args.root_motion, lens_mm=args.lens_mm)
            if not isinstance(seq, Motion3D):
                footage.annotate(result, seq)      # from a video: the video and the camera matching the lift
            warning = result.meta.get("reprojection", {}).get("warning")
            if warning:
                log(f"warning: {inp}: {warning}")
            events.stage(inp, "writing")
            publisher.stage(result, out)
            finished.append({"input": inp, "output": str(out), "frames": len(result.prompt),
                             "seconds": round(time.perf_counter() - t0, 3)})
        publisher.publish()
    for fields in finished:     # "done" means the file is there, so it follows the publishing
        emit("done", fraction=1.0, **fields)
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
    from .frames import LENS_MM
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
    p.add_argument("--lens-mm", type=_ranged(*limits.LENS_MM_RANGE, whole=False, unit=" mm"), default=LENS_MM,
                   help="the camera's 35 mm-equivalent focal length (a phone's main camera: about 26-28; "
                        f"default {LENS_MM:g}): the aim at the person, the root's depth and the floor depend on it")
    p.set_defaults(func=cmd_lift)

    p = sub.add_parser("inspect", help="describe a keypoint file: format, frames, people")
    p.add_argument("input")
    _add_reader_flags(p)
    p.set_defaults(func=cmd_inspect)

    from .detect import add_parser as add_detect_parser

    add_detect_parser(sub, _add_detector_flags)

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
    "fit-face-map": ("engine.train.fit_face_map", "fit the map that places a missing nose and head top (see its --help)"),
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
    # Both signals cancel, SIGINT too: a process started in the background (a batch job, CI) inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt for it.
    for cancel_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(cancel_signal, _cancel)
    try:
        return args.func(args)
    except EngineError as exc:
        log(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        log("error: cancelled; nothing was written for the unfinished input.")
        return EXIT_CANCELLED
