"""The lab notebooks as stored in the repository: clean, named, listed and launchable.

* no outputs or execution counts (except code cells with ``"keep_output": true``),
  and no execution metadata: run ``python tools/strip_outputs.py`` to fix;
* exactly one cell tagged ``parameters``, which assigns ``QUICK``;
* file names ``NN_name.ipynb``, each listed in ``_toc.yml``;
* an "Open in Colab" badge whose URL is built from ``_config.yml``'s repository.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
LAB_NAME = re.compile(r"^\d\d_[a-z0-9]+(_[a-z0-9]+)*\.ipynb$")
FIX = "run `python tools/strip_outputs.py` and commit the result"


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    files.add(re.sub(r"\.(ipynb|md)$", "", str(node[key])))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return files


def _colab_url(lab: Path) -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]
    url = str(repo["url"]).rstrip("/")
    url = re.sub(r"\.git$", "", url)
    match = re.match(r"^https://github\.com/([^/]+)/([^/]+)$", url)
    assert match, f"_config.yml repository.url is not a GitHub repository: {url}"
    branch = repo.get("branch", "main")
    return (
        f"https://colab.research.google.com/github/{match[1]}/{match[2]}"
        f"/blob/{branch}/labs/{lab.name}"
    )


def test_there_are_labs():
    assert LABS, "no labs/*.ipynb found"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.name)
def test_file_name(lab):
    assert LAB_NAME.match(lab.name), (
        f"{lab.name}: lab files are named NN_name.ipynb (two digits, lower-case words "
        "joined by _), e.g. 01_spike_encoding.ipynb"
    )


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.name)
def test_stored_without_outputs(lab):
    nb = _load(lab)
    problems = []
    for key in ("papermill", "widgets"):
        if key in nb.get("metadata", {}):
            problems.append(f"notebook metadata has {key!r}")
    for i, cell in enumerate(nb["cells"], 1):
        meta = cell.get("metadata", {})
        for key in ("execution", "papermill"):
            if key in meta:
                problems.append(f"cell {i}: metadata has {key!r}")
        if cell["cell_type"] != "code" or meta.get("keep_output") is True:
            continue
        if cell.get("outputs"):
            problems.append(f"cell {i}: has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i}: has execution count {cell['execution_count']}")
    assert not problems, f"{lab.name} is stored executed ({FIX}):\n" + "\n".join(problems)


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.name)
def test_one_parameters_cell_assigning_quick(lab):
    nb = _load(lab)
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, (
        f"{lab.name}: needs exactly one cell tagged `parameters` (found {len(cells)}); "
        "papermill injects QUICK after it"
    )
    assert cells[0]["cell_type"] == "code", f"{lab.name}: the parameters cell is not code"
    tree = ast.parse(_source(cells[0]))
    names = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        for target in targets:
            if isinstance(target, ast.Name):
                names.add(target.id)
    assert "QUICK" in names, f"{lab.name}: the parameters cell does not assign QUICK"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.name)
def test_listed_in_toc(lab):
    assert f"labs/{lab.stem}" in _toc_files(), (
        f"{lab.name} is not in _toc.yml; add `- file: labs/{lab.stem}` under Labs"
    )


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.name)
def test_open_in_colab_badge(lab):
    expected = _colab_url(lab)
    text = "\n".join(_source(c) for c in _load(lab)["cells"] if c["cell_type"] == "markdown")
    links = re.findall(
        r"\[((?:!\[[^\]]*\]\([^)]*\))|[^\]]*)\]\((https://colab\.research\.google\.com/[^)\s]+)\)",
        text,
    )
    assert links, (
        f"{lab.name}: no Open in Colab badge; add to the first cell:\n"
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({expected})"
    )
    wrong = [url for _, url in links if url != expected]
    assert not wrong, f"{lab.name}: Colab links should be {expected}, found {wrong}"
    assert any("colab" in label.lower() for label, _ in links), (
        f"{lab.name}: the Colab link should read 'Open in Colab' (text or badge alt)"
    )
