"""The add-on in Debian's real `blender` binary (3.4.1): install the built zip as a legacy add-on,
run the headless batch, and read the written .bvh and .blend back with Blender itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine_support import require_blender_binary

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "addon"))
sys.path.insert(0, str(REPO))

pytestmark = pytest.mark.blender

BLENDER = shutil.which("blender")

INSTALL = r'''
import json, sys, addon_utils, bpy
zip_path, result = sys.argv[sys.argv.index("--") + 1:]
bpy.ops.preferences.addon_install(filepath=zip_path)
addon_utils.enable("dreampose3d", default_set=True)
out = {"enabled": "dreampose3d" in bpy.context.preferences.addons, "has_op": hasattr(bpy.ops.dreampose3d, "lift")}
bpy.ops.wm.read_homefile(use_empty=True)
bpy.context.scene.dreampose3d.input_path = result
out["op"] = sorted(bpy.ops.dreampose3d.lift())
rig = bpy.data.objects.get("DreamPose3D")
out["bones"] = len(rig.pose.bones) if rig else 0
out["fcurves"] = len(rig.animation_data.action.fcurves) if rig else 0
out["markers"] = sorted(m.name for m in bpy.context.scene.timeline_markers)
import dreampose3d
out["file"] = dreampose3d.__file__
out["halves"] = [sys.modules[f"dreampose3d.{half}"].__file__ for half in ("core", "blender")]
print("RESULT " + json.dumps(out))
'''

CHECK = r'''
import builtins, json, sys, bpy
import io_anim_bvh.import_bvh as _ib
# Debian's Blender 3.4.1 runs Python 3.11, where open(..., 'rU') is gone; its BVH importer still
# uses it. Give the importer an `open` that drops the 'U' (a shim for the reader, not our writer).
_ib.open = lambda f, mode="r", *a, **k: builtins.open(f, mode.replace("U", ""), *a, **k)
bvh, blend, fbx = sys.argv[sys.argv.index("--") + 1:]
out = {}
if fbx:
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=fbx)
    arm = [o for o in bpy.data.objects if o.type == "ARMATURE"][0]
    out["fbx"] = {"bones": len(arm.data.bones), "frames": [int(f) for f in bpy.data.actions[0].frame_range]}
bpy.ops.wm.read_homefile(use_empty=True)
bpy.ops.import_anim.bvh(filepath=bvh)
ob = bpy.context.object
fr = ob.animation_data.action.frame_range
out["bvh"] = {"bones": len(ob.data.bones), "frames": [int(fr[0]), int(fr[1])]}
bpy.ops.wm.open_mainfile(filepath=blend)
arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
a = arms[0]
fr = a.animation_data.action.frame_range
out["blend"] = {"armatures": len(arms), "bones": len(a.data.bones), "frames": [int(fr[0]), int(fr[1])],
                "keys": len(a.animation_data.action.fcurves[0].keyframe_points),
                "frame_end": bpy.context.scene.frame_end}
print("RESULT " + json.dumps(out))
'''


def _blender_env(tmp_path: Path) -> dict:
    env = dict(os.environ, BLENDER_USER_SCRIPTS=str(tmp_path / "user_scripts"),
               BLENDER_USER_CONFIG=str(tmp_path / "user_config"), HF_HUB_OFFLINE="1")
    env["DREAMPOSE3D_PYTHON"] = sys.executable  # the venv that has the engine
    return env


def _run_blender(script_or_args, tmp_path, *args, timeout=180):
    if isinstance(script_or_args, str):
        path = tmp_path / f"script_{abs(hash(script_or_args))}.py"
        path.write_text(script_or_args)
        cmd = [BLENDER, "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(path), "--", *args]
    else:
        cmd = [BLENDER, "-b", "--factory-startup", *script_or_args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_blender_env(tmp_path))


def _result(proc) -> dict:
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError(f"no RESULT line; stderr:\n{proc.stderr[-3000:]}\nstdout:\n{proc.stdout[-3000:]}")


@pytest.fixture(scope="module")
def blender():
    return require_blender_binary()


@pytest.fixture(scope="module")
def addon_zip(tmp_path_factory) -> Path:
    import build_addon

    return build_addon.build(tmp_path_factory.mktemp("dist"))


@pytest.fixture()
def result_npz(tmp_path) -> Path:
    import addon_synth

    return Path(addon_synth.write_walking_result(tmp_path / "walk.npz", frames=90))


def test_zip_installs_as_legacy_addon_and_lifts_a_result(blender, addon_zip, result_npz, tmp_path):
    out = _result(_run_blender(INSTALL, tmp_path, str(addon_zip), str(result_npz)))
    assert out["enabled"] and out["has_op"]
    assert out["file"].startswith(str(tmp_path / "user_scripts"))
    assert [Path(f).parent.name for f in out["halves"]] == ["core", "blender"]  # both halves, from the zip
    assert all(f.startswith(str(tmp_path / "user_scripts")) for f in out["halves"])
    assert out["op"] == ["FINISHED"]
    assert out["bones"] == 17 and out["fcurves"] == 89  # legacy action.fcurves in 3.4, foot contacts included
    assert out["markers"] == ["a person walking", "a person waving"]


def test_installed_batch_writes_bvh_and_blend_that_read_back(blender, addon_zip, result_npz, tmp_path):
    _result(_run_blender(INSTALL, tmp_path, str(addon_zip), str(result_npz)))
    batch = tmp_path / "user_scripts" / "addons" / "dreampose3d" / "batch.py"
    out_dir = tmp_path / "out"
    proc = _run_blender(["--python", str(batch), "--", "--input", str(result_npz), "--output", str(out_dir),
                         "--export", "bvh,fbx,blend"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {p.suffix for p in out_dir.iterdir()} == {".npz", ".bvh", ".fbx", ".blend"}
    check = _result(_run_blender(CHECK, tmp_path, str(out_dir / "walk.bvh"), str(out_dir / "walk.blend"),
                                 str(out_dir / "walk.fbx")))
    assert check["bvh"] == {"bones": 17, "frames": [1, 90]}
    assert check["fbx"] == {"bones": 17, "frames": [1, 90]}
    assert check["blend"] == {"armatures": 1, "bones": 17, "frames": [1, 90], "keys": 90, "frame_end": 90}


def test_batch_failure_exits_non_zero_with_one_sentence(blender, tmp_path):
    proc = _run_blender(["--python", str(REPO / "addon" / "batch.py"), "--", "--input", str(tmp_path / "nope.json"),
                         "--output", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == f"error: The input {tmp_path / 'nope.json'} does not exist."


@pytest.mark.slow
def test_batch_lifts_keypoints_with_the_real_engine(blender, keypoints_file, tiny_checkpoint, tmp_path):
    """Two keypoint files, one engine process, a generated rig each, read back from the .bvh."""
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(keypoints_file, folder / "a.npz")
    shutil.copy(keypoints_file, folder / "b.npz")
    out_dir = tmp_path / "out"
    proc = _run_blender(["--python", str(REPO / "addon" / "batch.py"), "--", "--input", str(folder), "--output",
                         str(out_dir), "--export", "bvh,blend", "--checkpoint", str(tiny_checkpoint),
                         "--device", "cpu"], tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    starts = [ln for ln in proc.stdout.splitlines() if ln.startswith('{"event": "start"')]
    assert len(starts) == 2
    check = _result(_run_blender(CHECK, tmp_path, str(out_dir / "b.bvh"), str(out_dir / "b.blend"), ""))
    assert check["bvh"]["bones"] == 17 and check["blend"]["frames"] == [1, 60]
