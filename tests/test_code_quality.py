"""The house rules, checked on every run: ruff (lint and format), mypy, module and function sizes,
and an import graph without loops in which no lower layer imports a higher one."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import ROOT

SRC = ROOT / "src" / "clearzoom"
PYTHON_TREES = ["src", "scripts", "benchmarks", "tests"]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
#: the layers of the package, lowest first: a module may import its own layer and those below
LAYERS = [
    {"_version", "errors", "_source", "coords", "atomic", "trace", "precision", "config"},
    {"analysis"},
    {"imageio"},
    {"models"},
    {"checkpoints"},
    {"instruct"},
    {"data"},
    {"inference", "features"},
    {"eval", "coding"},
    {"train", "explain", "cluster"},
    {"web"},
    {"cli", "__main__"},
]


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: it is in the dev extra (bash scripts/setup.sh installs it)")
    return [found]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_passes():
    r = _run(*_tool("ruff"), "check", "--no-cache", "--output-format", "concise", *PYTHON_TREES)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_applied():
    r = _run(*_tool("ruff"), "format", "--check", "--no-cache", *PYTHON_TREES)
    assert r.returncode == 0, "run `ruff format`:\n" + r.stdout + r.stderr


def test_the_lint_catches_an_undefined_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    return psnr_cell(1)\n")
    r = _run(*_tool("ruff"), "check", "--no-cache", "--select", "F", str(bad))
    assert r.returncode == 1 and "F821" in r.stdout


def test_mypy_passes_on_the_package():
    r = _run(sys.executable, "-m", "mypy", "--no-incremental")  # files and options: pyproject.toml
    assert r.returncode == 0, r.stdout + r.stderr


def _modules() -> dict[str, Path]:
    mods = {}
    for p in SRC.rglob("*.py"):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def test_modules_and_functions_stay_small():
    """Function bodies are counted without their docstring; a function may be longer only where a
    ``# long:`` comment on its ``def`` line says why."""
    too_long = []
    for name, path in _modules().items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if ast.get_docstring(node) is not None:
                    doc = node.body[0]
                    n -= doc.end_lineno - doc.lineno + 1
                if n > MAX_FUNCTION_LINES and "# long:" not in lines[node.lineno - 1]:
                    too_long.append(f"{name}.{node.name}: {n} lines")
    assert not too_long, too_long


def _imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the clearzoom modules it imports (at any depth of the file)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for m, p in mods.items():
        package = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    edges[m].add(full if full in mods else target)
            elif isinstance(node, ast.Import):
                edges[m].update(a.name for a in node.names)
        edges[m] = {t for t in edges[m] if t in mods and t != m}
    return edges


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module}: not in LAYERS (add its package to the table)")


def test_no_import_goes_up_a_layer():
    """``clearzoom/__init__.py`` is the face (it imports lazily) and is left out."""
    bad = []
    for src, targets in _imports(_modules()).items():
        if src == "clearzoom":
            continue
        for t in targets:
            if t != "clearzoom" and _layer(t) > _layer(src):
                bad.append(f"{src} -> {t}")
    assert not bad, bad


def test_the_import_graph_has_no_loop():
    edges = _imports(_modules())
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("import loop: " + " -> ".join(path[path.index(t) :] + [t]))
            if t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])


def test_the_layer_check_catches_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "src" / "clearzoom"
    (fake / "models").mkdir(parents=True)
    (fake / "models" / "liif.py").write_text("from ..inference import engine\n")
    (fake / "inference").mkdir()
    (fake / "inference" / "engine.py").write_text("from ..models import liif\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", fake)
    with pytest.raises(AssertionError, match="clearzoom.models.liif -> clearzoom.inference.engine"):
        test_no_import_goes_up_a_layer()
    with pytest.raises(AssertionError, match="import loop"):
        test_the_import_graph_has_no_loop()
