"""Headless batch: lift keypoint files or videos and write animated rigs, no UI.

    blender -b --python addon/batch.py -- --input FILE_OR_DIR --output DIR \
        [--rig rig.blend --armature NAME] [--export bvh,fbx,blend] [--preset fast|quality] [--checkpoint PATH]
        [--image-size W H] [--fps F] [--detector-model auto|lite|full|heavy] [--detector-weights PATH]
    python addon/batch.py --input FILE_OR_DIR --output DIR ...      (with the `bpy` module)

All inputs that need the engine go to ONE `engine lift` process; inputs that already are result
`.npz` files skip the engine. For each input, DIR gets <stem>.npz (the result) and the requested
exports. A video (or a folder of videos) goes to the engine like a keypoint file: the engine runs
its detector (MediaPipe Pose) first, and the .blend gets the video as the camera's background and
a camera matching the lift. Modal operators do not run in background mode, so this calls the same code the
operator's synchronous path uses. On failure: one sentence on stderr, exit code 1.

This file is a script, not a module of the add-on: it puts the add-on's parent folder on
sys.path and imports the two halves as a package (`addon` from the source tree, `dreampose3d`
when installed): `core` for the engine and result files, `blender.headless` for the scene and
the exports.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
import tempfile
from pathlib import Path

_PKG_DIR = Path(__file__).resolve().parent
if str(_PKG_DIR.parent) not in sys.path:
    sys.path.insert(0, str(_PKG_DIR.parent))
try:  # "addon" from the source tree, "dreampose3d" when installed
    engine_client = importlib.import_module(f"{_PKG_DIR.name}.core.engine_client")
    result_io = importlib.import_module(f"{_PKG_DIR.name}.core.result_io")
    errors = importlib.import_module(f"{_PKG_DIR.name}.core.errors")
    defaults = importlib.import_module(f"{_PKG_DIR.name}.core.engine_defaults")
except ImportError as _exc:  # Blender would print a traceback and still exit 0
    print(f"error: the add-on cannot be loaded in this Python ({_exc}); Blender's Python needs numpy.",
          file=sys.stderr, flush=True)
    sys.exit(1)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="batch.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help="keypoint file, video, result .npz, or a folder of them")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--rig", help=".blend with the armature to retarget onto (default: generated rig)")
    p.add_argument("--armature", help="armature object name in --rig (default: the only armature)")
    p.add_argument("--mapping", default="AUTO", help="mapping preset id (e.g. rigify_metarig, mixamo) or AUTO")
    p.add_argument("--export", default="bvh,blend", help="comma list of bvh, fbx, blend")
    p.add_argument("--preset", default=None, choices=list(defaults.PRESET_NAMES))
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--format", default="auto")
    p.add_argument("--person", default=None)
    p.add_argument("--video", default=None, help="one video of a multi-video file (name or index from 'engine inspect')")
    p.add_argument("--fps", type=float, default=0.0, metavar="F",
                   help="frame rate of the keypoints, for files that do not store it (default: the file's)")
    p.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("W", "H"),
                   help="image width and height in pixels, for files that do not store them (default: the file's)")
    p.add_argument("--smooth", default=None, choices=list(defaults.SMOOTHING_METHODS),
                   help=f"temporal filter (default: the engine's, a {defaults.BUTTERWORTH_HZ:g} Hz "
                        f"{defaults.DEFAULT_SMOOTHING.capitalize()} low-pass)")
    p.add_argument("--smooth-hz", type=float, default=None)
    p.add_argument("--lens-mm", type=float, default=0.0,
                   help="the camera's 35 mm-equivalent focal length (default: the engine's, 35 mm)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--engine-python", default="", help="Python that runs the engine (default: found automatically)")
    p.add_argument("--no-root-motion", action="store_true", help="keep the character in place")
    p.add_argument("--foot-cleanup", action="store_true", help="pin feet during ground contacts")
    p.add_argument("--contact-overlay", action="store_true",
                   help="add a sphere at each ankle, shown in the viewport while that foot is on the floor")
    p.add_argument("--detector-model", default=None, choices=("auto", "lite", "full", "heavy"),
                   help="MediaPipe Pose model for video inputs (default: the engine's, auto: heavy when installed)")
    p.add_argument("--detector-weights", default=None, metavar="PATH",
                   help="the lite or heavy model file (pose_landmark_*.tflite) when not installed")
    p.add_argument("--no-footage", action="store_true",
                   help="videos: no camera background and no matching camera in the .blend")
    return p.parse_args(argv)


@dataclasses.dataclass
class BatchLiftOptions(engine_client.LiftOptions):
    """The add-on's `lift` flags plus the detector's, which only the batch sets."""

    detector_model: str | None = None
    detector_weights: str | None = None

    def argv(self) -> list[str]:
        out = super().argv()
        if self.detector_model:
            out += ["--detector-model", self.detector_model]
        if self.detector_weights:
            out += ["--detector-weights", str(self.detector_weights)]
        return out


def collect_inputs(path: Path) -> list[Path]:
    """A file is one input. A folder is one input per entry, except a folder of OpenPose
    per-frame JSON files (*_keypoints.json), which is one input."""
    if not path.exists():
        raise errors.InputError(f"The input {path} does not exist.")
    if path.is_file():
        return [path]
    entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    if any(p.name.endswith("_keypoints.json") for p in entries):
        return [path]
    if not entries:
        raise errors.InputError(f"The input folder {path} is empty.")
    return entries


def run_engine(inputs: list[Path], tmp: Path, args) -> dict[Path, Path]:
    """One engine process for all inputs; returns input -> result path.

    Where each result went is what the engine says in its `done` events (`input`, `output`), not
    a name worked out here: the engine names a folder's results by its own rule
    (engine.outputs.result_stem), and a second copy of that rule would drift from the first."""
    if not inputs:
        return {}
    opts = BatchLiftOptions(detector_model=args.detector_model, detector_weights=args.detector_weights,
                            format=args.format, person=args.person, video=args.video, fps=args.fps,
                                     image_size=tuple(args.image_size) if args.image_size else None,
                                     device=args.device, preset=args.preset, seed=args.seed,
                                     checkpoint=args.checkpoint, smooth=args.smooth, smooth_hz=args.smooth_hz,
                                     lens_mm=args.lens_mm)
    out = tmp / "result.npz" if len(inputs) == 1 else tmp / "results"
    written: dict[str, str] = {}

    def show(ev):
        if ev.get("event") == "done" and ev.get("output"):
            written[str(ev.get("input"))] = str(ev["output"])
        if ev.get("event") in ("start", "done"):
            print(json.dumps(ev), flush=True)

    engine_client.run_lift([str(i) for i in inputs], out, opts, args.engine_python, on_event=show)
    mapping = {i: Path(written.get(str(i), "")) for i in inputs}
    for i, r in mapping.items():
        if str(i) not in written or not r.is_file():
            raise errors.EngineClientError(f"The engine reported success but wrote no result for {i.name}.")
    return mapping


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    args = parse_args(argv)
    try:
        headless = importlib.import_module(f"{_PKG_DIR.name}.blender.headless")
        inputs = collect_inputs(Path(args.input))
        formats = [f for f in args.export.split(",") if f.strip()]
        with tempfile.TemporaryDirectory(prefix="dreampose3d_batch_") as tmp:
            ready = {i: i for i in inputs if result_io.is_result_file(i)}
            ready.update(run_engine([i for i in inputs if i not in ready], Path(tmp), args))
            for i in inputs:
                written = headless.convert(ready[i], i.stem if i.is_file() else i.name, Path(args.output), formats,
                                           rig=args.rig, armature=args.armature, mapping=args.mapping,
                                           root_motion=not args.no_root_motion, foot_cleanup=args.foot_cleanup,
                                           contact_overlay=args.contact_overlay, footage=not args.no_footage)
                for path in written:
                    print(json.dumps({"event": "written", "input": str(i), "output": path}), flush=True)
    except errors.AddonError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    if code:
        sys.exit(code)
