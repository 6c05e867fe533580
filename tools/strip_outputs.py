#!/usr/bin/env python3
"""Strip outputs from lab notebooks in place, before committing them.

Labs are stored without outputs, execution counts, widget state or papermill
metadata: the book build executes them, and clean files diff well. A code cell whose
metadata has ``"keep_output": true`` keeps its outputs and execution count (see
``tools/refresh_kept_outputs.py``, which refreshes them).

Usage::

    python tools/strip_outputs.py               # every labs/*.ipynb
    python tools/strip_outputs.py labs/01_x.ipynb
    python tools/strip_outputs.py --check       # exit 1 if a notebook needs stripping
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
# Metadata that execution adds and that does not belong in the repository.
NOTEBOOK_KEYS = ("papermill", "widgets")
CELL_KEYS = ("execution", "papermill", "ExecuteTime")


def strip_notebook(nb) -> bool:
    """Strip ``nb`` in place; return whether anything changed."""
    changed = False
    for key in NOTEBOOK_KEYS:
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    for cell in nb.cells:
        for key in CELL_KEYS:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
        if cell.cell_type != "code" or cell.metadata.get("keep_output") is True:
            continue
        if cell.get("execution_count") is not None:
            cell.execution_count = None
            changed = True
        if cell.get("outputs"):
            cell.outputs = []
            changed = True
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Strip outputs from lab notebooks.")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: labs/*.ipynb)")
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if any needs stripping"
    )
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "labs").glob("*.ipynb"))
    dirty = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if not strip_notebook(nb):
            continue
        dirty.append(path)
        if args.check:
            print(f"needs stripping: {path}")
        else:
            nbformat.write(nb, path)
            print(f"stripped: {path}")
    if args.check and dirty:
        print("run: python tools/strip_outputs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
