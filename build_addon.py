"""Build and validate the add-on zip: dist/dreampose3d_addon-<version>.zip.

    python build_addon.py            # build + validate, prints the zip path
    python build_addon.py --check    # validate the source only

The zip holds one top-level folder `dreampose3d/` (the `addon/` package renamed, with its two
subpackages `core/` and `blender/`, `batch.py` and `presets/`), so it installs both as a Blender
4.2+ extension (blender_manifest.toml in that folder) and as a legacy add-on in Blender 3.x
(Preferences > Add-ons > Install, which needs a package folder with bl_info).
It also writes `dreampose3d/core/skeleton.json`, generated from engine/skeleton.py, so the
installed add-on has the engine's joint names and parents without a hand-written copy, and
`dreampose3d/core/build.json`, the absolute path of this repository: an installed add-on is not next
to the repository, and "Find engine" (addon/core/engine_locate.py) looks for its `.venv` there.

Checks (each failure is one sentence, exit code 1): manifest fields (schema_version, id, semver
version equal to bl_info's, tagline <= 64 characters without final punctuation,
blender_version_min, GPL-3.0-or-later license, a reason for each permission); bl_info present;
no module in the add-on imports torch, scipy or engine (ast); no module in `addon/core/` imports
Blender's modules (bpy, mathutils, bmesh, ...) or the add-on's `blender` half (ast); the zip layout.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import zipfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = None

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from addon.core.engine_locate import BUILD_RECORD, build_record  # noqa: E402  (core/ imports without Blender)

SRC = ROOT / "addon"
PACKAGE = "dreampose3d"
FORBIDDEN_IMPORTS = {"torch", "scipy", "engine"}
# Modules that exist only inside Blender: the add-on's core/ half must import none of them.
BLENDER_MODULES = {"bpy", "bpy_extras", "bpy_types", "mathutils", "bmesh", "addon_utils", "gpu", "gpu_extras",
                   "bgl", "blf", "aud", "bl_math", "idprop", "imbuf", "freestyle", "bl_ui", "bl_operators",
                   "rna_prop_ui"}
SUBPACKAGES = ("core", "blender")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
EXTENSION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
SKIP = ("__pycache__", ".pyc", ".pyo", "skeleton.json", BUILD_RECORD.name, "README.md~")


class BuildError(RuntimeError):
    pass


def read_manifest(path: Path = SRC / "blender_manifest.toml") -> dict:
    text = path.read_text(encoding="utf-8")
    if tomllib is not None:
        return tomllib.loads(text)
    raise BuildError("Python 3.11+ (tomllib) is needed to validate the manifest.")


def bl_info_version(init: Path = SRC / "__init__.py") -> tuple:
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "bl_info" for t in node.targets):
            info = ast.literal_eval(node.value)
            for key in ("name", "version", "blender", "category"):
                if key not in info:
                    raise BuildError(f"bl_info lacks '{key}'.")
            return tuple(info["version"])
    raise BuildError("addon/__init__.py has no bl_info, so Blender 3.x cannot install it.")


def validate_manifest(m: dict) -> None:
    def need(key):
        if key not in m:
            raise BuildError(f"The manifest lacks '{key}'.")
        return m[key]

    if need("schema_version") != "1.0.0":
        raise BuildError("The manifest's schema_version must be \"1.0.0\".")
    if not EXTENSION_ID.match(need("id")):
        raise BuildError(f"The manifest id '{m['id']}' must be lower-case letters, digits and underscores.")
    if not SEMVER.match(need("version")):
        raise BuildError(f"The manifest version '{m['version']}' is not semantic versioning.")
    tagline = need("tagline")
    if len(tagline) > 64:
        raise BuildError(f"The tagline has {len(tagline)} characters; at most 64 are allowed.")
    if not tagline or not tagline[-1].isalnum():
        raise BuildError("The tagline must not end with punctuation.")
    if not SEMVER.match(need("blender_version_min")):
        raise BuildError("blender_version_min must look like \"4.2.0\".")
    if tuple(int(x) for x in m["blender_version_min"].split(".")) < (4, 2, 0):
        raise BuildError("blender_version_min must be 4.2.0 or later for extensions.")
    if need("license") != ["SPDX:GPL-3.0-or-later"]:
        raise BuildError("The license must be [\"SPDX:GPL-3.0-or-later\"] as Blender requires.")
    for key in ("name", "maintainer", "type"):
        need(key)
    for perm, reason in (m.get("permissions") or {}).items():
        if perm not in ("files", "network", "clipboard", "camera", "microphone"):
            raise BuildError(f"Unknown permission '{perm}'.")
        if not isinstance(reason, str) or not reason or len(reason) > 64 or reason.endswith("."):
            raise BuildError(f"Permission '{perm}' needs a reason of at most 64 characters without a final period.")
    if "files" not in (m.get("permissions") or {}):
        raise BuildError("The add-on reads and writes files, so the manifest must declare the files permission.")
    version = ".".join(map(str, bl_info_version()))
    if version != m["version"]:
        raise BuildError(f"bl_info version {version} differs from the manifest version {m['version']}.")


def forbidden_imports(src: Path = SRC) -> list[str]:
    """'file:line module' for every import of torch, scipy or engine in the add-on."""
    bad = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in FORBIDDEN_IMPORTS:
                    bad.append(f"{path.relative_to(src.parent)}:{node.lineno} {n}")
    return bad


def _imported_names(node: ast.AST, package: list[str]) -> list[str]:
    """Absolute dotted names an import statement (or importlib.import_module / __import__ call
    with a literal name) brings in; `package` is the importing module's package, for relative
    imports. `from a import b` yields both "a" and "a.b" (b may be a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package[:len(package) - node.level + 1] if node.level <= len(package) else []
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        return [module] + [f"{module}.{a.name}" for a in node.names if a.name != "*"]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("import_module", "__import__"):
            return [node.args[0].value]
    return []


def core_blender_imports(core: Path = SRC / "core") -> list[str]:
    """'file:line module' for every import in `core/` of a Blender-only module (bpy, mathutils,
    bmesh, ...) or of the add-on's `blender` half, relative or absolute. The core half must run
    in any Python with numpy: the tests, build_addon.py, batch.py before Blender is needed."""
    top = core.parent.name
    bad = []
    for path in sorted(core.rglob("*.py")):
        rel = path.relative_to(core.parent)
        package = [top] + list(rel.parent.parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for name in _imported_names(node, package):
                parts = name.split(".")
                own = parts[0] in (top, "addon", PACKAGE)
                if parts[0] in BLENDER_MODULES or (own and len(parts) > 1 and parts[1] == "blender"):
                    bad.append(f"{rel.as_posix()}:{node.lineno} {name}")
                    break
    return bad


def skeleton_json() -> str:
    """core/skeleton.json for the zip, made by the add-on's own parser (no engine import)."""
    from addon.core.skeleton import parse_skeleton_source

    return json.dumps(parse_skeleton_source((ROOT / "engine" / "skeleton.py").read_text(encoding="utf-8")), indent=1)


def validate_zip(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    tops = {n.split("/")[0] for n in names}
    if tops != {PACKAGE}:
        raise BuildError(f"The zip must hold exactly one folder '{PACKAGE}/', found {sorted(tops)}.")
    need = ["__init__.py", "blender_manifest.toml", "batch.py", "presets/mixamo.json", "core/skeleton.json",
            f"core/{BUILD_RECORD.name}"]
    need += [f"{sub}/{f.name}" for sub in SUBPACKAGES for f in sorted((SRC / sub).glob("*.py"))]
    for n in need:
        if f"{PACKAGE}/{n}" not in names:
            raise BuildError(f"The zip lacks {PACKAGE}/{n}.")
    if any("__pycache__" in n or n.endswith(".pyc") for n in names):
        raise BuildError("The zip contains compiled Python files.")


def check() -> dict:
    manifest = read_manifest()
    validate_manifest(manifest)
    bad = forbidden_imports()
    if bad:
        raise BuildError(f"The add-on must not import torch, scipy or engine: {', '.join(bad)}.")
    bad = core_blender_imports()
    if bad:
        raise BuildError(f"The add-on's core/ must not import Blender or the blender/ half: {', '.join(bad)}.")
    return manifest


def build(out_dir: Path = ROOT / "dist") -> Path:
    manifest = check()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"dreampose3d_addon-{manifest['version']}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(SRC.rglob("*")):
            rel = f.relative_to(SRC).as_posix()
            if f.is_dir() or any(s in rel for s in SKIP):
                continue
            z.write(f, f"{PACKAGE}/{rel}")
        z.writestr(f"{PACKAGE}/core/skeleton.json", skeleton_json())
        z.writestr(f"{PACKAGE}/core/{BUILD_RECORD.name}", build_record(ROOT))
    validate_zip(path)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Build and validate the DreamPose3D Blender add-on zip.")
    p.add_argument("--check", action="store_true", help="validate the source only")
    p.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    args = p.parse_args(argv)
    try:
        if args.check:
            check()
            print("add-on source OK")
        else:
            print(build(Path(args.out)))
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
