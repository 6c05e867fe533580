"""Re-execute labs in quick mode and store the outputs of their ``keep_output`` cells.

Cells whose metadata has ``"keep_output": true`` (and a ``# NBVAL_CHECK_OUTPUT``
comment) keep their output in the repository so that nbval can detect a change in
results. Run this after changing such a cell or the code it calls::

    python tools/refresh_kept_outputs.py labs/01_spike_encoding.ipynb

All other outputs stay stripped.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat
import papermill


def refresh(path: Path) -> int:
    """Execute ``path`` in quick mode and copy the outputs of its keep_output cells back."""
    env_backup = dict(os.environ)
    os.environ.update(LABKIT_QUICK="1", LABKIT_STATIC="1")
    os.environ.pop("MPLBACKEND", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / path.name
            papermill.execute_notebook(str(path), str(out), parameters={"QUICK": True},
                                       cwd=str(path.parent), progress_bar=False)
            executed = nbformat.read(out, as_version=4)
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    source = nbformat.read(path, as_version=4)
    by_id = {c.get("id"): c for c in executed.cells}
    kept = 0
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("keep_output"):
            run_cell = by_id[cell.get("id")]
            cell.outputs = run_cell.outputs
            kept += 1
            cell.execution_count = kept  # nbval skips reference cells that were never run
        else:
            cell.outputs, cell.execution_count = [], None
    nbformat.write(source, path)
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    for path in parser.parse_args().notebooks:
        print(f"{path}: stored the output of {refresh(path)} keep_output cell(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
