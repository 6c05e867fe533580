"""The API page builds without a warning, in seconds rather than after every lab has run.

``make book`` builds with ``-W -n`` (every warning, every unresolved reference is
an error), but only after executing the eight labs. This test builds
``book/api.md`` alone with the book's own Sphinx settings from ``_config.yml``,
so a docstring that cites a name that is not documented (``:func:`nrmse``` in
``labkit.metrics``, where ``nrmse`` is documented as ``labkit.nrmse``) fails here.
It also checks that ``book/api.md`` is what ``tools/api_page.py`` writes today.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sphinx = pytest.importorskip("sphinx.cmd.build")


def test_api_page_is_up_to_date(tmp_path):
    before = (ROOT / "book" / "api.md").read_text()
    out = tmp_path / "book"  # the script writes book/api.md under its working directory
    out.mkdir()
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "api_page.py")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (out / "api.md").read_text() == before, "book/api.md is stale: run `python tools/api_page.py`"


def test_api_page_builds_without_warnings(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    settings = {k: v for k, v in config["sphinx"]["config"].items()
                if k.startswith(("autodoc_", "napoleon_", "nitpick", "suppress_warnings"))}
    extensions = ["myst_parser", *[e for e in config["sphinx"]["extra_extensions"] if e != "sphinx_exercise"]]
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.md").write_text((ROOT / "book" / "api.md").read_text())
    (source / "conf.py").write_text(
        f"extensions = {extensions!r}\n"
        f"myst_enable_extensions = {config['parse']['myst_enable_extensions']!r}\n"
        + "".join(f"{k} = {v!r}\n" for k, v in settings.items())
    )
    result = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-n", "--keep-going", "-q",
                             str(source), str(tmp_path / "html")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, "the API page has Sphinx warnings:\n" + result.stderr[-6000:]
