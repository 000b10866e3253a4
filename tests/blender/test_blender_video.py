"""Issue #20 in Debian's real `blender` binary (3.4.1): the headless batch takes a video (the
engine detects with MediaPipe and lifts with the tiny checkpoint), and the written .blend, opened
by Blender, holds the animated armature and the video as the scene camera's background."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine_support import require_blender_binary, require_shared

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.blender, pytest.mark.slow, pytest.mark.shared]

CHECK = r'''
import json, os, sys, bpy
blend = sys.argv[sys.argv.index("--") + 1]
bpy.ops.wm.open_mainfile(filepath=blend)
s = bpy.context.scene
arm = [o for o in bpy.data.objects if o.type == "ARMATURE"][0]
fr = arm.animation_data.action.frame_range
bgs = [b for b in s.camera.data.background_images] if s.camera else []
out = {"frames": [int(fr[0]), int(fr[1])], "bones": len(arm.data.bones), "camera": s.camera.name if s.camera else None,
       "show": bool(s.camera and s.camera.data.show_background_images),
       "backgrounds": [[b.source, os.path.normpath(bpy.path.abspath(b.clip.filepath)) if b.clip else None] for b in bgs],
       "clip_start": [c.frame_start for c in bpy.data.movieclips], "clip_frames": [c.frame_duration for c in bpy.data.movieclips],
       "resolution": [s.render.resolution_x, s.render.resolution_y]}
print("RESULT " + json.dumps(out))
'''


def _blender(tmp_path, *args, timeout=600):
    env = dict(os.environ, BLENDER_USER_SCRIPTS=str(tmp_path / "user_scripts"),
               BLENDER_USER_CONFIG=str(tmp_path / "user_config"), HF_HUB_OFFLINE="1", DREAMPOSE3D_PYTHON=sys.executable)
    return subprocess.run([require_blender_binary(), "-b", "--factory-startup", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_batch_turns_a_video_into_a_blend_with_the_footage(tiny_checkpoint, tmp_path):
    from engine import video

    sample = require_shared("samples", "video", "sports2d_demo.mp4")
    videos = tmp_path / "videos"
    videos.mkdir()
    clip = video.cut(sample, videos / "wall.mp4", 30)          # a folder of videos, as batch takes it
    out = tmp_path / "out"
    proc = _blender(tmp_path, "--python", str(REPO / "addon" / "batch.py"), "--", "--input", str(videos),
                    "--output", str(out), "--export", "blend", "--checkpoint", str(tiny_checkpoint), "--device", "cpu",
                    "--detector-model", "full")
    assert proc.returncode == 0, proc.stderr[-3000:]
    footage = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith('{"event": "footage"')]
    assert footage and footage[0]["video"] == str(clip.resolve()) and footage[0]["camera"] == "wall camera"
    script = tmp_path / "check.py"
    script.write_text(CHECK)
    check = _blender(tmp_path, "--python-exit-code", "1", "--python", str(script), "--", str(out / "wall.blend"))
    line = next((ln for ln in check.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, check.stderr[-3000:]
    got = json.loads(line[7:])
    assert got["frames"] == [1, 30] and got["bones"] == 17 and got["camera"] == "wall camera" and got["show"]
    assert got["backgrounds"] == [["MOVIE_CLIP", str(clip.resolve())]]
    assert got["clip_start"] == [1] and got["clip_frames"] == [30] and got["resolution"] == [1768, 994]
