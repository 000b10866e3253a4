"""Render the rig over the footage, as the add-on's camera view shows it: a result lifted from a
video, put into a scene by the add-on's own `apply_result` (the generated armature, the movie clip
as the camera's background, the camera matching the lift), rendered from that camera at a few
frames and laid over the same video frames.

    .venv/bin/python docs/render_video_overlay.py RESULT.npz OUT.png [--frames F ...] [--width 1800]

Armatures do not render in Workbench and camera backgrounds do not render at all, so each frame's
posed bones (their heads and tails, read back from the armature after `frame_set`) are drawn as
tubes (the subject's left blue, right red, the rest grey), rendered with a transparent film from
the scene camera, and composited over the video frame, decoded by the engine's own decoder, that
the movie clip shows at that scene frame. It runs in the venv's `bpy` (5.0.1, headless). The README's
picture:

    .venv/bin/python -m engine lift ../shared/samples/video/sports2d_demo.mp4 -o /tmp/sports2d_demo.npz
    .venv/bin/python docs/render_video_overlay.py /tmp/sports2d_demo.npz docs/video_overlay.png --frames 20 80 140
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "docs"))

from render_motion import COLOURS, add_mesh, tube_mesh  # noqa: E402

TUBE_RADIUS = 0.025


def _side(name: str) -> str:
    return "left" if name.startswith("left_") else "right" if name.startswith("right_") else "centre"


def render(result_path: Path, out: Path, frames: list[int], width: int) -> None:
    import bpy
    import cv2

    from addon.blender.apply import ApplyOptions, apply_result
    from addon.core import result_io
    from engine import video

    result = result_io.load_result(result_path)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    applied = apply_result(scene, result, ApplyOptions(name="DreamPose3D", frame_start=1))
    added = applied.footage
    if added is None or added.camera is None or added.info is None:
        raise SystemExit(f"error: {result_path.name} was not lifted from a video (no footage in its meta).")
    rig, info = applied.armature, added.info
    vw, vh = info.image_size
    scale = width / (vw * len(frames))
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "FLAT"
    scene.display.shading.color_type = "OBJECT"
    scene.view_settings.view_transform = "Standard"
    scene.render.film_transparent = True
    scene.render.resolution_percentage = int(round(100 * scale))
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    decoded = {i: f for i, f in enumerate(video.frames(info.video)) if i in frames}
    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in frames:
            scene.frame_set(scene.frame_start + f)
            for ob in [o for o in bpy.data.objects if o.name.startswith("tube_")]:
                bpy.data.objects.remove(ob)
            segments = {"left": [], "right": [], "centre": []}
            for pb in rig.pose.bones:
                if pb.parent is None:
                    continue
                head, tail = rig.matrix_world @ pb.head, rig.matrix_world @ pb.tail
                segments[_side(pb.name)].append((np.array(head), np.array(tail)))
            for side, segs in segments.items():
                verts, faces = tube_mesh(segs, TUBE_RADIUS)
                add_mesh(bpy, f"tube_{side}", verts, faces, COLOURS[side])
            scene.render.filepath = str(Path(tmp) / f"rig_{f}.png")
            bpy.ops.render.render(write_still=True)
            rig_rgba = cv2.imread(scene.render.filepath, cv2.IMREAD_UNCHANGED)        # BGRA
            frame = cv2.cvtColor(decoded[f], cv2.COLOR_RGB2BGR)
            frame = cv2.resize(frame, (rig_rgba.shape[1], rig_rgba.shape[0]), interpolation=cv2.INTER_AREA)
            alpha = rig_rgba[..., 3:4].astype(np.float32) / 255.0
            tile = (frame * (1 - alpha) + rig_rgba[..., :3] * alpha).astype(np.uint8)
            for colour, thick in (((0, 0, 0), 5), ((255, 255, 255), 2)):     # white on a dark outline
                cv2.putText(tile, f"frame {f}", (12, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.9, colour, thick, cv2.LINE_AA)
            tiles.append(tile)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.concatenate(tiles, axis=1))
    cam = result.meta["footage"]["camera"]
    print(f"{out}: frames {' '.join(map(str, frames))}; camera reprojection median {cam['reprojection_px']['median']} px")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("result", type=Path, help="a lift result .npz lifted from a video")
    p.add_argument("out", type=Path, help="the PNG to write")
    p.add_argument("--frames", type=int, nargs="+", default=[20, 80, 140], help="frame indices")
    p.add_argument("--width", type=int, default=1800, help="width of the picture in pixels")
    args = p.parse_args(argv)
    render(args.result, args.out, args.frames, args.width)
    return 0


if __name__ == "__main__":
    sys.exit(main())
