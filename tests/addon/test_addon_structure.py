"""The add-on's shape: a bpy-free `core/` half, a `blender/` half, no import cycles, one error base,
and one copy of the engine's options, checked against the engine.

The test virtualenv has bpy installed, so a stray `import bpy` in `core/` would still import here;
these tests read the source (ast) and import `core` with bpy blocked to catch it.
"""

from __future__ import annotations

import ast
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import build_addon

REPO = Path(build_addon.__file__).resolve().parent
ADDON = REPO / "addon"
BLOCKED = ("bpy", "mathutils", "bmesh", "bpy_extras", "addon_utils")


def _modules(sub: str) -> list[str]:
    """Dotted names of every module of addon.<sub>."""
    return [f"addon.{sub}"] + sorted(f"addon.{sub}.{m.name}" for m in pkgutil.iter_modules([str(ADDON / sub)]))


# ----------------------------------------------------------------------------- the bpy-free half

def test_core_imports_nothing_from_blender_or_the_blender_half():
    assert build_addon.core_blender_imports() == []


def test_the_core_check_finds_every_kind_of_blender_import(tmp_path):
    core = tmp_path / "addon" / "core"
    core.mkdir(parents=True)
    (core / "fine.py").write_text("import numpy\nfrom . import skeleton\nfrom .errors import AddonError\n"
                                  "from ..core import rig_solver\nimport json\n")
    (core / "bad.py").write_text(
        "import bpy\n"                                   # 1
        "from mathutils import Matrix\n"                 # 2
        "import bmesh.ops\n"                             # 3
        "from ..blender import operators\n"              # 4
        "from .. import blender\n"                       # 5
        "from addon.blender.keyframes import new_action\n"  # 6
        "def f():\n"
        "    import importlib\n"
        "    return importlib.import_module('bpy')\n"     # 9
    )
    found = build_addon.core_blender_imports(core)
    assert [f.split()[0] for f in found] == [f"core/bad.py:{n}" for n in (1, 2, 3, 4, 5, 6, 9)], found


def test_every_core_module_imports_with_bpy_and_mathutils_blocked():
    code = (
        "import importlib, json, sys\n"
        f"for name in {BLOCKED!r}:\n"
        "    sys.modules[name] = None  # 'import bpy' now raises ImportError\n"
        f"names = {_modules('core')!r}\n"
        "for n in names:\n"
        "    importlib.import_module(n)\n"
        "print(json.dumps(sorted(n for n in sys.modules if n.startswith('addon'))))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    loaded = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(_modules("core")) <= set(loaded)
    assert not [n for n in loaded if n.startswith("addon.blender")]


# ----------------------------------------------------------------------------- imports between modules

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """addon module -> the addon modules it imports (anywhere in the file, relative or absolute)."""
    files = {_module_name(p): p for p in ADDON.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in build_addon._imported_names(node, package):
                if target in files and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def test_the_addon_modules_import_each_other_without_a_cycle():
    graph = _import_graph()
    assert "addon.blender.preferences" in graph["addon.blender.properties"]  # the graph sees real imports
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_preferences_and_properties_do_not_import_each_other():
    graph = _import_graph()
    assert "addon.blender.properties" not in graph["addon.blender.preferences"]
    assert not any(m.startswith("addon.blender") for m in graph["addon.blender.preferences"])
    for name, edges in graph.items():
        if name.startswith("addon.core"):
            assert not [e for e in edges if e.startswith("addon.blender")], name


# ----------------------------------------------------------------------------- errors

def test_every_error_class_of_the_addon_derives_from_addon_error():
    pytest.importorskip("bpy")
    import importlib

    from addon.core.errors import AddonError

    found = []
    for name in _modules("core") + _modules("blender"):
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == name:
                found.append(cls)
                assert issubclass(cls, AddonError), f"{name}.{cls.__name__}"
    assert len(found) >= 5


def test_operators_and_batch_catch_addon_error_only():
    """No tuples of add-on error classes: callers catch the base."""
    from addon.core import errors

    own = {n for n, c in vars(errors).items() if inspect.isclass(c) and issubclass(c, BaseException)}
    for path in (ADDON / "batch.py", ADDON / "blender" / "operators.py", ADDON / "blender" / "headless.py"):
        caught = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                for n in ast.walk(node.type):
                    name = n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", None)
                    if name in own:
                        caught.add(name)
        assert caught <= {"AddonError"}, f"{path.name} catches {sorted(caught)}"


# ----------------------------------------------------------------------------- the engine's options

def test_presets_and_smoothing_defaults_are_the_engines():
    from engine.cli import build_parser
    from engine.lifter import PRESETS
    from engine.smoothing import BUTTERWORTH_HZ, DEFAULT_METHOD, METHODS

    from addon.core import engine_defaults as d

    assert d.PRESET_NAMES == tuple(PRESETS)
    assert d.DEFAULT_PRESET == build_parser().parse_args(["lift", "a.json", "-o", "b.npz"]).preset
    assert d.SMOOTHING_METHODS == tuple(METHODS)
    assert d.DEFAULT_SMOOTHING == DEFAULT_METHOD and d.BUTTERWORTH_HZ == BUTTERWORTH_HZ


def test_the_engines_options_are_spelled_only_in_engine_defaults():
    """One copy: no other add-on module writes a preset or filter name (or the cut-off) itself."""
    from addon.core import engine_defaults as d

    names = set(d.PRESET_NAMES) | (set(d.SMOOTHING_METHODS) - {"none"})  # "none" is a plain word elsewhere
    hits = []
    for path in sorted(ADDON.rglob("*.py")):
        if path.name == "engine_defaults.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Constant):
                continue
            if (isinstance(node.value, str) and node.value in names) or \
                    (isinstance(node.value, float) and node.value == d.BUTTERWORTH_HZ):
                hits.append(f"{path.relative_to(ADDON)}:{node.lineno} {node.value!r}")
    assert hits == []
