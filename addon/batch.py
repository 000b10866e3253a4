"""Headless batch: lift keypoint files and write animated rigs, no UI.

    blender -b --python addon/batch.py -- --input FILE_OR_DIR --output DIR \
        [--rig rig.blend --armature NAME] [--export bvh,fbx,blend] [--preset fast|quality] [--checkpoint PATH]
    python addon/batch.py --input FILE_OR_DIR --output DIR ...      (with the `bpy` module)

All inputs that need the engine go to ONE `engine lift` process; inputs that already are result
`.npz` files skip the engine. For each input, DIR gets <stem>.npz (the result) and the requested
exports. Modal operators do not run in background mode, so this calls the same code the
operator's synchronous path uses. On failure: one sentence on stderr, exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

_PKG_DIR = Path(__file__).resolve().parent
if str(_PKG_DIR.parent) not in sys.path:
    sys.path.insert(0, str(_PKG_DIR.parent))
try:  # "addon" from the source tree, "dreampose3d" when installed
    engine_client = importlib.import_module(f"{_PKG_DIR.name}.engine_client")
    result_io = importlib.import_module(f"{_PKG_DIR.name}.result_io")
except ImportError as _exc:  # Blender would print a traceback and still exit 0
    print(f"error: the add-on cannot be loaded in this Python ({_exc}); Blender's Python needs numpy.",
          file=sys.stderr, flush=True)
    sys.exit(1)


class BatchError(RuntimeError):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(prog="batch.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help="keypoint file, result .npz, or a folder of them")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--rig", help=".blend with the armature to retarget onto (default: generated rig)")
    p.add_argument("--armature", help="armature object name in --rig (default: the only armature)")
    p.add_argument("--mapping", default="AUTO", help="mapping preset id (e.g. rigify_metarig, mixamo) or AUTO")
    p.add_argument("--export", default="bvh,blend", help="comma list of bvh, fbx, blend")
    p.add_argument("--preset", default=None, choices=["fast", "quality"])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--format", default="auto")
    p.add_argument("--person", default=None)
    p.add_argument("--video", default=None, help="one video of a multi-video file (name or index from 'engine inspect')")
    p.add_argument("--fps", type=float, default=0.0)
    p.add_argument("--smooth", default=None, choices=["none", "one-euro", "butterworth"],
                   help="temporal filter (default: the engine's, a 4 Hz Butterworth low-pass)")
    p.add_argument("--smooth-hz", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--engine-python", default="", help="Python that runs the engine (default: found automatically)")
    p.add_argument("--no-root-motion", action="store_true", help="keep the character in place")
    p.add_argument("--foot-cleanup", action="store_true", help="pin feet during ground contacts")
    return p.parse_args(argv)


def collect_inputs(path: Path) -> list[Path]:
    """A file is one input. A folder is one input per entry, except a folder of OpenPose
    per-frame JSON files (*_keypoints.json), which is one input."""
    if not path.exists():
        raise BatchError(f"The input {path} does not exist.")
    if path.is_file():
        return [path]
    entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    if any(p.name.endswith("_keypoints.json") for p in entries):
        return [path]
    if not entries:
        raise BatchError(f"The input folder {path} is empty.")
    return entries


def run_engine(inputs: list[Path], tmp: Path, args) -> dict[Path, Path]:
    """One engine process for all inputs; returns input -> result path."""
    if not inputs:
        return {}
    opts = engine_client.LiftOptions(format=args.format, person=args.person, video=args.video, fps=args.fps, device=args.device,
                                     preset=args.preset, seed=args.seed, checkpoint=args.checkpoint,
                                     smooth=args.smooth, smooth_hz=args.smooth_hz)
    out = tmp / f"{inputs[0].stem}.npz" if len(inputs) == 1 else tmp / "results"

    def show(ev):
        if ev.get("event") in ("start", "done"):
            print(json.dumps(ev), flush=True)

    engine_client.run_lift(inputs, out, opts, args.engine_python, on_event=show)
    mapping = {i: (out if len(inputs) == 1 else out / f"{i.stem}.npz") for i in inputs}
    for i, r in mapping.items():
        if not r.is_file():
            raise BatchError(f"The engine reported success but wrote no result for {i.name}.")
    return mapping


def new_scene(args):
    import bpy

    if args.rig:
        rig = Path(args.rig)
        if not rig.is_file():
            raise BatchError(f"The rig file {rig} does not exist.")
        bpy.ops.wm.open_mainfile(filepath=str(rig))
        arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
        if args.armature:
            obj = bpy.data.objects.get(args.armature)
            if obj is None or obj.type != "ARMATURE":
                raise BatchError(f"{rig.name} has no armature object named '{args.armature}'.")
        elif len(arms) == 1:
            obj = arms[0]
        else:
            raise BatchError(f"{rig.name} has {len(arms)} armatures; name one with --armature.")
        return bpy.context.scene, obj
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene, None


def convert(result_path: Path, stem: str, args) -> list[str]:
    apply = importlib.import_module(f"{_PKG_DIR.name}.apply")
    export = importlib.import_module(f"{_PKG_DIR.name}.export")
    result = result_io.load_result(result_path)
    scene, target = new_scene(args)
    opts = apply.ApplyOptions(target="EXISTING" if target is not None else "NEW", armature=target,
                              mapping=args.mapping, root_motion=not args.no_root_motion,
                              foot_cleanup=args.foot_cleanup, frame_start=1, name=stem)
    applied = apply.apply_result(scene, result, opts)
    if result.warning:
        print(f"warning: {stem}: {result.warning}", file=sys.stderr, flush=True)
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    dest = out_dir / f"{stem}.npz"
    if dest.resolve() != result_path.resolve():
        shutil.copyfile(result_path, dest)
    written.append(str(dest))
    formats = [f for f in args.export.split(",") if f.strip()]
    written += export.export_all(applied.armature, out_dir, stem, formats, scene.frame_start, scene.frame_end)
    return written


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    args = parse_args(argv)
    known = (BatchError, engine_client.EngineClientError, result_io.ResultError)
    try:
        apply = importlib.import_module(f"{_PKG_DIR.name}.apply")
        retarget = importlib.import_module(f"{_PKG_DIR.name}.retarget")
        export = importlib.import_module(f"{_PKG_DIR.name}.export")
        known += (apply.ApplyError, retarget.RetargetError, export.ExportError)
        inputs = collect_inputs(Path(args.input))
        with tempfile.TemporaryDirectory(prefix="dreampose3d_batch_") as tmp:
            ready = {i: i for i in inputs if result_io.is_result_file(i)}
            ready.update(run_engine([i for i in inputs if i not in ready], Path(tmp), args))
            for i in inputs:
                for path in convert(ready[i], i.stem if i.is_file() else i.name, args):
                    print(json.dumps({"event": "written", "input": str(i), "output": path}), flush=True)
    except known as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    if code:
        sys.exit(code)
