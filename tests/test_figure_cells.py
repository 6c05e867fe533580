"""A figure cell shows its figure once: when it ends in an expression (which Jupyter would display as well), a `;`."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

LABS = sorted((Path(__file__).resolve().parents[1] / "labs").glob("*.ipynb"))


def _figure_cells(lab: Path):
    for number, cell in enumerate(json.loads(lab.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] == "code" and "image" in cell.get("metadata", {}).get("mystnb", {}):
            yield number, "".join(cell["source"])


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.name)
def test_figure_cells_that_end_in_an_expression_end_in_a_semicolon(lab):
    # without the `;` the figure the expression returns is shown next to the one matplotlib draws (lab 01's
    # event-camera cell showed its frames twice)
    bad = []
    for number, source in _figure_cells(lab):
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        body = ast.parse("\n".join(lines)).body
        last = body[-1] if body else None
        returns_none = isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and \
            getattr(last.value.func, "id", None) in ("glue", "print")  # nothing to display twice
        if isinstance(last, ast.Expr) and not returns_none and not source.rstrip().endswith(";"):
            bad.append(number)
    assert not bad, f"{lab.name}: figure cells {bad} end in an expression without ';' (the figure would show twice)"
