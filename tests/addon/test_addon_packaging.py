"""build_addon.py: the zip, the manifest rules, and that the add-on never imports torch/scipy/engine."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import build_addon

REPO = Path(build_addon.__file__).resolve().parent


def test_zip_has_one_package_folder_with_manifest_and_generated_skeleton(tmp_path):
    import engine.skeleton as es

    path = build_addon.build(tmp_path)
    assert path.name == "dreampose3d_addon-0.1.0.zip"
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        skeleton = json.loads(z.read("dreampose3d/core/skeleton.json"))
    assert {n.split("/")[0] for n in names} == {"dreampose3d"}
    assert "dreampose3d/blender_manifest.toml" in names and "dreampose3d/__init__.py" in names
    assert skeleton["joint_names"] == list(es.JOINT_NAMES) and skeleton["parents"] == list(es.PARENTS)


def test_the_zip_holds_both_halves(tmp_path):
    with zipfile.ZipFile(build_addon.build(tmp_path)) as z:
        names = set(z.namelist())
    for sub in build_addon.SUBPACKAGES:
        modules = sorted(p.name for p in (REPO / "addon" / sub).glob("*.py"))
        assert "__init__.py" in modules and len(modules) > 3
        assert {f"dreampose3d/{sub}/{m}" for m in modules} <= names
    assert "dreampose3d/batch.py" in names and "dreampose3d/presets/mixamo.json" in names


def test_the_zip_records_the_repository_it_was_built_from(tmp_path):
    """An installed add-on is not next to the repository: Find engine reads this record to look in its .venv."""
    from addon.core import engine_locate

    with zipfile.ZipFile(build_addon.build(tmp_path)) as z:
        z.extractall(tmp_path / "installed")
    record = tmp_path / "installed" / build_addon.PACKAGE / "core" / engine_locate.BUILD_RECORD.name
    assert engine_locate.recorded_repository(record) == REPO
    assert not engine_locate.BUILD_RECORD.exists()     # the source tree has none: it is its own repository


def test_a_zip_without_a_half_is_refused(tmp_path):
    path = build_addon.build(tmp_path)
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as z:
        for n, data in entries.items():
            if not n.startswith("dreampose3d/blender/"):
                z.writestr(n, data)
    with pytest.raises(build_addon.BuildError, match="lacks dreampose3d/blender/"):
        build_addon.validate_zip(broken)


@pytest.mark.bpy
def test_blenders_own_extension_validator_accepts_the_zip(tmp_path):
    bpy = pytest.importorskip("bpy")
    cli = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    if not cli.exists():
        pytest.skip("this bpy build has no blender_ext.py")
    r = subprocess.run([sys.executable, str(cli), "validate", str(build_addon.build(tmp_path))],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_addon_code_imports_no_torch_scipy_or_engine():
    assert build_addon.forbidden_imports() == []


def test_forbidden_import_is_found(tmp_path):
    (tmp_path / "bad.py").write_text("import numpy\nfrom scipy.spatial import transform\n")
    assert build_addon.forbidden_imports(tmp_path) == [f"{tmp_path.name}/bad.py:2 scipy.spatial"]


@pytest.mark.parametrize("change, message", [
    ({"tagline": "x" * 65}, "at most 64"),
    ({"tagline": "Lift keypoints to 3D."}, "punctuation"),
    ({"version": "1.0"}, "semantic versioning"),
    ({"id": "Dream-Pose"}, "lower-case"),
    ({"license": ["SPDX:MIT"]}, "GPL-3.0-or-later"),
    ({"blender_version_min": "4.1.0"}, "4.2.0 or later"),
    ({"permissions": {"files": "Because."}}, "reason"),
    ({"permissions": {}}, "files permission"),
])
def test_manifest_rules(change, message):
    manifest = {**build_addon.read_manifest(), **change}
    with pytest.raises(build_addon.BuildError, match=message):
        build_addon.validate_manifest(manifest)


def test_manifest_and_bl_info_agree():
    build_addon.validate_manifest(build_addon.read_manifest())
    assert build_addon.bl_info_version() == (0, 1, 0)


EXTENSION_SCRIPT = r"""
import json, sys, bpy
zip_path, result = sys.argv[1:3]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
out = {"addons": [k for k in bpy.context.preferences.addons.keys() if "dreampose3d" in k]}
prefs = bpy.context.preferences.addons["bl_ext.user_default.dreampose3d"].preferences
out["prefs_device"] = prefs.device
bpy.context.scene.dreampose3d.input_path = result
out["op"] = sorted(bpy.ops.dreampose3d.lift())
out["bones"] = len(bpy.data.objects["DreamPose3D"].pose.bones)
out["recorded"] = str(sys.modules["bl_ext.user_default.dreampose3d.core.engine_locate"].recorded_repository())
out["halves"] = sorted(k.rsplit(".", 1)[1] for k in sys.modules
                       if k in ("bl_ext.user_default.dreampose3d.core", "bl_ext.user_default.dreampose3d.blender"))
print("RESULT " + json.dumps(out))
"""


@pytest.mark.bpy
def test_zip_installs_as_an_extension_in_blender_5(tmp_path, walk_npz):
    import os

    pytest.importorskip("bpy")
    zip_path = build_addon.build(tmp_path / "dist")
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "resources"))
    r = subprocess.run([sys.executable, "-c", EXTENSION_SCRIPT, str(zip_path), str(walk_npz)], capture_output=True,
                       text=True, timeout=180, env=env)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, r.stdout[-2000:] + r.stderr[-2000:]
    out = json.loads(line[7:])
    assert out == {"addons": ["bl_ext.user_default.dreampose3d"], "prefs_device": "auto", "op": ["FINISHED"],
                   "bones": 17, "halves": ["blender", "core"], "recorded": str(REPO)}
