"""Render a lift result as an animator would first judge it: front and side views, a few frames.

    .venv/bin/python docs/render_motion.py RESULT.npz OUT.png [--frames F ...] [--count 4]
        [--title TEXT] [--label before|after|TEXT] [--size 1200 520]

One PNG per result: the top row looks from the front (-Y), the bottom row from the side (+X), each
with `--count` frames side by side, drawn with level orthographic cameras so that a forward lean,
a body off the vertical and feet above or below the floor are seen at their true size. The skeleton
is drawn as thin tubes between joints (armatures do not render in Workbench): the subject's left
limbs blue, right limbs red, the spine and head grey; the floor (z = 0) is a dark line, and a faint
vertical line rises from the ankles' midpoint so a lean shows as the head leaving it. Each pose is
centred on its own pelvis (drift is for `benchmarks/bench_motion_quality.py` to measure).

Frames: by default `--count` frames evenly spread over the frames that were detected (the result's
`frame_flags` and the reader's gap report in `meta["source"]["gaps"]`), so that a held or invented
gap frame is not what gets judged. The frames used are printed; pass the same `--frames` to render
a later result of the same clip at the same instants.

It runs in the venv's `bpy` (5.0.1, Workbench, headless) and builds the scene directly rather than
opening a .blend, so it does not depend on any saved file. The images of issue #18:

    .venv/bin/python -m engine lift ../shared/samples/videopose3d_custom/jumping_jacks_front.mp4.npz \\
        --fps 30 --cleanup off -o /tmp/jj_before.npz        # (engines before the clean-up: no --cleanup)
    .venv/bin/python docs/render_motion.py /tmp/jj_before.npz docs/jumping_jacks_before.png
    # -> frames 393 443 493 543 (the default person's detected frames); then the same lift with
    # --cleanup on -> /tmp/jj_after.npz, and, at the same instants (the clean-up flags more frames
    # than the reader's gap report, so its default pick differs):
    .venv/bin/python docs/render_motion.py /tmp/jj_after.npz docs/jumping_jacks_after.png --frames 393 443 493 543
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.motion_quality import gap_report_frames  # noqa: E402
from engine.sequence import FRAME_DETECTED, LiftResult  # noqa: E402
from engine.skeleton import BONES, JOINT_NAMES, LEFT_ANKLE, RIGHT_ANKLE, ROOT  # noqa: E402

PANEL_W = 2.6          # metres of world per pose, across
ROW_H = 2.5            # metres per view row, floor to the next row's floor
LABEL_W = 0.9          # metres on the left for the row names
TITLE_H = 0.8          # metres above the top row for the title and the legend
TUBE_RADIUS = 0.018    # metres: thin enough to read the joints, thick enough at ~100 px/m
COLOURS = {"left": (0.12, 0.35, 0.85, 1.0), "right": (0.85, 0.2, 0.12, 1.0), "centre": (0.3, 0.3, 0.3, 1.0),
           "floor": (0.15, 0.15, 0.15, 1.0), "plumb": (0.72, 0.72, 0.72, 1.0), "text": (0.0, 0.0, 0.0, 1.0)}
BACKGROUND = (1.0, 1.0, 1.0)


def side_of(joint: int) -> str:
    name = JOINT_NAMES[joint]
    return "left" if name.startswith("left_") else "right" if name.startswith("right_") else "centre"


def detected_frames(result: LiftResult) -> np.ndarray:
    """Indices of the frames the input had a detection for."""
    t = len(result.joints3d_world)
    ok = np.ones(t, bool) if result.frame_flags is None else result.frame_flags == FRAME_DETECTED
    ok &= ~gap_report_frames((result.meta.get("source") or {}).get("gaps"), t)
    return np.flatnonzero(ok) if ok.any() else np.arange(t)


def pick_frames(result: LiftResult, count: int) -> list[int]:
    frames = detected_frames(result)
    at = (np.arange(count) + 0.5) / count * (len(frames) - 1)
    return [int(frames[int(round(a))]) for a in at]


def tube_mesh(segments: list[tuple[np.ndarray, np.ndarray]], radius: float, sides: int = 8):
    """Vertices and faces of closed tubes, one per (start, end) segment."""
    verts, faces = [], []
    ring = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    for a, b in segments:
        d = b - a
        length = np.linalg.norm(d)
        if length < 1e-6:
            continue
        d = d / length
        helper = np.array([1.0, 0, 0]) if abs(d[0]) < 0.9 else np.array([0, 1.0, 0])
        u = np.cross(d, helper)
        u /= np.linalg.norm(u)
        v = np.cross(d, u)
        circle = radius * (np.cos(ring)[:, None] * u + np.sin(ring)[:, None] * v)
        base = len(verts)
        verts.extend((a + circle).tolist())
        verts.extend((b + circle).tolist())
        for i in range(sides):
            j = (i + 1) % sides
            faces.append((base + i, base + j, base + sides + j, base + sides + i))
        faces.append(tuple(base + i for i in reversed(range(sides))))
        faces.append(tuple(base + sides + i for i in range(sides)))
    return verts, faces


def add_mesh(bpy, name: str, verts, faces, colour) -> None:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    obj = bpy.data.objects.new(name, mesh)
    obj.color = colour
    bpy.context.scene.collection.objects.link(obj)


def add_box(bpy, name: str, lo, hi, colour) -> None:
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    verts = [(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    add_mesh(bpy, name, verts, faces, colour)


def add_text(bpy, text: str, x: float, z: float, size: float, align: str = "LEFT") -> None:
    """Text standing in the XZ plane, facing the front camera (-Y)."""
    curve = bpy.data.curves.new(f"text_{text[:20]}", "FONT")
    curve.body, curve.size, curve.align_x = text, size, align
    obj = bpy.data.objects.new(curve.name, curve)
    obj.location = (x, -2.5, z)
    obj.rotation_euler = (np.pi / 2, 0.0, 0.0)
    obj.color = COLOURS["text"]
    bpy.context.scene.collection.objects.link(obj)


def pose_in_panel(joints: np.ndarray, view: str, x_centre: float, floor_z: float) -> np.ndarray:
    """(17, 3) world joints placed in a panel: centred on the pelvis across the view, the floor at
    `floor_z`. The side view (a camera at +X looking at -X) is turned -90 deg about Z, so the one
    front camera sees it exactly as that side camera would: world +Y to the right, -X away."""
    p = joints - np.array([joints[ROOT, 0], joints[ROOT, 1], 0.0])
    if view == "side":
        p = np.stack([p[:, 1], -p[:, 0], p[:, 2]], axis=1)
    return p + np.array([x_centre, 0.0, floor_z])


def build_scene(bpy, world: np.ndarray, frames: list[int], title: str) -> tuple[float, float]:
    """Every object of the picture; returns the picture's (width, height) in metres."""
    width = LABEL_W + PANEL_W * len(frames)
    height = TITLE_H + 2 * ROW_H
    add_text(bpy, title, 0.1, -0.38, 0.3)
    add_text(bpy, "blue: left, red: right; grey line: vertical through the ankles; dark line: the floor, z = 0",
             0.1, -0.64, 0.14)
    for row, (view, seen_from) in enumerate((("front", "from -Y"), ("side", "from +X"))):
        floor = -TITLE_H - (row + 1) * ROW_H + 0.4         # a little room under the floor line
        add_text(bpy, view, 0.1, floor + 1.0, 0.26)
        add_text(bpy, seen_from, 0.1, floor + 0.7, 0.16)
        add_box(bpy, f"floor_{view}", (LABEL_W, -1.5, floor - 0.02), (width - 0.05, 1.5, floor), COLOURS["floor"])
        for k, f in enumerate(frames):
            x = LABEL_W + PANEL_W * (k + 0.5)
            pose = pose_in_panel(world[f], view, x, floor)
            mid = pose[[LEFT_ANKLE, RIGHT_ANKLE]].mean(axis=0)
            verts, faces = tube_mesh([(np.array([mid[0], 0.3, floor]), np.array([mid[0], 0.3, floor + 1.95]))], 0.006)
            add_mesh(bpy, f"plumb_{view}_{f}", verts, faces, COLOURS["plumb"])
            for side in ("left", "right", "centre"):
                segments = [(pose[a], pose[b]) for a, b in BONES if side_of(b) == side]
                verts, faces = tube_mesh(segments, TUBE_RADIUS)
                add_mesh(bpy, f"{side}_{view}_{f}", verts, faces, COLOURS[side])
            if row == 1:
                add_text(bpy, f"frame {f}", x, floor - 0.3, 0.16, "CENTER")
    return width, height


def render(result_path: Path, out: Path, frames: list[int] | None, count: int, title: str | None,
           label: str | None, size: tuple[int, int]) -> list[int]:
    import bpy

    result = LiftResult.load(result_path)
    world = np.asarray(result.joints3d_world, dtype=np.float64)
    frames = frames or pick_frames(result, count)
    bad = [f for f in frames if not 0 <= f < len(world)]
    if bad:
        raise SystemExit(f"error: frames {bad} are outside the result's {len(world)} frames.")
    source = result.meta.get("source") or {}
    name = title or " / ".join(str(v) for v in (source.get("source_file") or result_path.stem, source.get("video")) if v)
    if label is None:
        label = "before" if out.stem.endswith("_before") else "after" if out.stem.endswith("_after") else ""
    label = {"before": "before (clean-up off)", "after": "after (clean-up on)"}.get(label, label)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    w_m, h_m = build_scene(bpy, world, frames, f"{name}  -  {label}" if label else name)
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "FLAT"
    scene.display.shading.color_type = "OBJECT"
    scene.view_settings.view_transform = "Standard"
    scene.world = bpy.data.worlds.new("background")
    scene.world.color = BACKGROUND
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.compression = 90
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    camera.data.type = "ORTHO"
    camera.data.ortho_scale = max(w_m, h_m * size[0] / size[1])      # the larger side fits
    camera.location = (w_m / 2, -10.0, -h_m / 2)
    camera.rotation_euler = (np.pi / 2, 0.0, 0.0)                     # level, looking along +Y
    camera.data.clip_end = 30.0
    scene.collection.objects.link(camera)
    scene.camera = camera
    out.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(out)
    bpy.ops.render.render(write_still=True)
    return frames


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("result", type=Path, help="a lift result .npz (joints3d_world)")
    p.add_argument("out", type=Path, help="the PNG to write")
    p.add_argument("--frames", type=int, nargs="+", default=None, help="frame indices (default: spread over detected frames)")
    p.add_argument("--count", type=int, default=4, help="frames per view when --frames is not given")
    p.add_argument("--title", default=None, help="default: the result's source file (and video)")
    p.add_argument("--label", default=None, help="before, after or any text (default: from OUT's _before/_after)")
    p.add_argument("--size", type=int, nargs=2, default=(1200, 520), metavar=("W", "H"))
    args = p.parse_args(argv)
    frames = render(args.result, args.out, args.frames, args.count, args.title, args.label, tuple(args.size))
    print(f"{args.out}: frames {' '.join(map(str, frames))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
