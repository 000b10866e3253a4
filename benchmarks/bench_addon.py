"""Time to build and keyframe 1,800 frames: on the generated rig and retargeted onto a Rigify metarig.

    .venv/bin/python benchmarks/bench_addon.py [--frames 1800] [--repeat 3]

Each figure covers everything after the result file is read: the numpy solve (bone lengths, rest
pose, rotations), creating the armature (generated rig only) or the retarget maths, and the bulk
keyframe writes. One warm-up run, then the median of --repeat runs, each in a fresh empty scene.
Goal: under 1 s each. Uses the bpy module (5.0.1: slotted actions).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "addon")]

import bpy  # noqa: E402

import addon_synth  # noqa: E402
from addon.blender import apply  # noqa: E402
from addon.core import result_io  # noqa: E402


def one_run(result, target: str) -> tuple[float, int]:
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)
    opts = apply.ApplyOptions()
    if target == "rigify":
        addon_utils.enable("rigify", default_set=True)
        bpy.ops.object.armature_human_metarig_add()
        opts = apply.ApplyOptions(target="EXISTING", armature=bpy.context.object, mapping="rigify_metarig")
    t0 = time.perf_counter()
    applied = apply.apply_result(bpy.context.scene, result, opts)
    return time.perf_counter() - t0, applied.keys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=1800)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    path = Path("/tmp") / f"bench_addon_{os.getpid()}.npz"
    addon_synth.write_walking_result(path, frames=args.frames)
    result = result_io.load_result(path)
    path.unlink()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"bpy {bpy.app.version_string}")
    for target, label in (("new", "generated rig"), ("rigify", "Rigify metarig (retarget)")):
        one_run(result, target)  # warm-up
        times, keys = [], 0
        for _ in range(args.repeat):
            dt, keys = one_run(result, target)
            times.append(dt)
        med = statistics.median(times)
        print(f"{label:28s} {args.frames} frames: {med * 1000:7.1f} ms median of {args.repeat} "
              f"({keys:,} keys, {args.frames / med:,.0f} frames/s) goal < 1000 ms: {'OK' if med < 1 else 'MISSED'}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
