"""labkit's layout: imports point downwards only, there are no cycles, and the public map is complete.

The layers, lowest first (``labkit/__init__.py`` documents the same map):
base (config, io, checks) < data < spiking < models < train < analysis < fv < viz < top (run, zoo, book, exercise).
A module may import from its own layer or below, never above, and the graph of
imports between labkit modules (including imports inside functions) has no cycle.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "labkit"
LAYERS = {
    "config": 0, "io": 0, "checks": 0, "stats": 0, "metrics": 0,
    "data": 1,
    "spiking": 2,
    "models": 3,
    "train": 4,
    "analysis": 5,
    "fv": 6,
    "viz": 7,
    "run": 8, "zoo": 8, "book": 8, "exercise": 8,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every labkit module ``path`` imports, at module level or inside functions."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "labkit"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "labkit":
                continue
            found.add(target)
            for alias in node.names:  # `from . import encoding` imports a module
                if (PACKAGE.parent / Path(*f"{target}.{alias.name}".split("."))).with_suffix(".py").exists() or \
                        (PACKAGE.parent / Path(*f"{target}.{alias.name}".split(".")) / "__init__.py").exists():
                    found.add(f"{target}.{alias.name}")
    return found - {name}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_top_level_part_has_a_layer():
    tops = {m.split(".")[1] for m in MODULES if m.count(".") >= 1}
    assert tops <= set(LAYERS), f"add {sorted(tops - set(LAYERS))} to LAYERS here and to the map in labkit/__init__.py"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "labkit"))
def test_imports_point_downwards(module):
    mine = _layer(module)
    upward = sorted(t for t in _imports(MODULES[module]) if t != "labkit" and _layer(t) is not None and _layer(t) > mine)
    assert not upward, f"{module} (layer {mine}) imports from a higher layer: {upward}"


def test_no_import_cycles():
    graph = {m: {t for t in _imports(p) if t in MODULES and t != "labkit"} for m, p in MODULES.items() if m != "labkit"}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            # a package's __init__ importing its own modules is not a cycle with them
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path + [node, nxt]))
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_old_cycle_is_gone():
    assert "labkit.spiking.encoding" not in _imports(PACKAGE / "spiking" / "events.py") or \
        "labkit.spiking.events" not in _imports(PACKAGE / "spiking" / "encoding.py")


@pytest.mark.parametrize("package", ["data", "spiking", "models", "train", "analysis", "fv", "viz"])
def test_public_names_exist_and_are_documented(package):
    module = importlib.import_module(f"labkit.{package}")
    assert module.__doc__ and module.__doc__.strip(), f"labkit.{package} needs a docstring saying what it is for"
    for name in module.__all__:
        assert hasattr(module, name), f"labkit.{package}.__all__ lists {name!r}, which does not exist"


def test_no_module_summary_names_a_lab():
    offenders = []
    for name, path in MODULES.items():
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if re.search(r"\blabs? ?0\d\b|\blab0\d", doc.splitlines()[0] if doc else "", re.I):
            offenders.append(name)
    assert not offenders, f"module summaries must be general, not for one lab: {offenders}"


def test_notebooks_import_public_names_only():
    private = []
    for nb_path in sorted((ROOT / "labs").glob("*.ipynb")):
        for cell in json.loads(nb_path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            for m in re.finditer(r"from (labkit[\w.]*) import ([^\n]+)", src):
                if m.group(1).split(".")[-1].startswith("_") or any(n.strip().startswith("_") for n in m.group(2).split(",")):
                    private.append(f"{nb_path.name}: {m.group(0)}")
            private += [f"{nb_path.name}: {m.group(0)}" for m in re.finditer(r"labkit(?:\.\w+)*\._\w+", src)]
    assert not private, private
