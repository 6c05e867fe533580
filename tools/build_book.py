#!/usr/bin/env python3
"""Build the lab book into ``_build/html``: execute the labs, fetch assets, run Jupyter Book.

Steps:

1. stage a source tree in ``_build/src/`` with ``_config.yml``, ``_toc.yml``, ``book/``
   and every ``labs/*.ipynb`` executed by papermill (``QUICK`` injected as a real
   bool, ``LABKIT_STATIC=1``, ``LABKIT_QUICK`` to match, no ``MPLBACKEND``);
2. fetch MathJax, require.js and the widget manager from the npm registry into
   ``_build/src/_vendor`` (see ``tools/fetch_assets.py``);
3. ``jupyter-book build`` with warnings as errors, nitpicky, into ``_build/html``.

A lab is not executed again when its notebook, the ``labkit`` sources,
``requirements.txt`` and ``QUICK`` are unchanged since its last successful run (a
hash is stored next to the executed copy); ``--force`` runs it anyway.

The staged ``_config.yml`` also loads this file as a Sphinx extension (``setup``
below) with workarounds for the pinned Sphinx/theme versions: duplicated inline
scripts (sphinx-thebe's ``const THEBE_JS_URL`` then throws on every page) and the
theme's empty ``default_mode``. In the book, papermill's injected-parameters cell is
hidden and the Colab badge picture is a local copy (the site loads nothing remote).

``--student`` builds a student edition without the exercise solutions
(sphinx-exercise ``hide_solutions: true``) into ``_build/student/_build/html``.

Examples::

    python tools/build_book.py --quick 1
    python tools/build_book.py --quick 0 --force
    python tools/build_book.py --quick 1 --only 01_spike_encoding
    python tools/build_book.py --quick 1 --student
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
SRC = BUILD / "src"
STUDENT = BUILD / "student"

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))  # this checkout's labkit, also for autodoc (PYTHONPATH below)
from fetch_assets import AssetError, fetch_assets  # noqa: E402


class BuildError(RuntimeError):
    """A step of the build failed; the message says which."""


def log(msg: str) -> None:
    print(f"[book] {msg}", flush=True)


# --------------------------------------------------------------------------- staging
def _ignore(_dir: str, names: list[str]) -> set[str]:
    junk = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}
    return {n for n in names if n in junk or n.endswith(".pyc")}


def _replace_tree(src: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=_ignore)


def stage_config(src_root: Path, student: bool = False) -> None:
    """Copy ``_config.yml`` into the staged tree, adding this module as a Sphinx
    extension (see :func:`setup`) and, for the student edition, ``hide_solutions``."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")) or {}
    sphinx = config.setdefault("sphinx", {}) or {}
    config["sphinx"] = sphinx
    extensions = list(sphinx.get("extra_extensions") or [])
    if SPHINX_EXTENSION not in extensions:
        extensions.append(SPHINX_EXTENSION)
    sphinx["extra_extensions"] = extensions
    if student:
        config["title"] = f"{config.get('title', '')} (student edition)".strip()
        sphinx.setdefault("config", {})["hide_solutions"] = True
    text = "# Staged by tools/build_book.py from the repository's _config.yml; do not edit.\n"
    text += yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    (src_root / "_config.yml").write_text(text, encoding="utf-8")


def stage_static(src_root: Path = SRC) -> None:
    """Copy the config files and ``book/`` into the staged tree (labs come later)."""
    src_root.mkdir(parents=True, exist_ok=True)
    stage_config(src_root)
    shutil.copy2(ROOT / "_toc.yml", src_root / "_toc.yml")
    _replace_tree(ROOT / "book", src_root / "book")
    labs = src_root / "labs"
    labs.mkdir(exist_ok=True)
    (labs / COLAB_BADGE_FILE).write_text(COLAB_BADGE_SVG, encoding="utf-8")
    # Non-notebook files beside the labs (pictures, small data) are copied as they are.
    for item in (ROOT / "labs").iterdir():
        if item.suffix == ".ipynb" or item.name in _ignore("", [item.name]):
            continue
        if item.is_dir():
            _replace_tree(item, labs / item.name)
        else:
            shutil.copy2(item, labs / item.name)


def lab_notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "labs").glob("*.ipynb") if p.is_file())


def inputs_hash(notebook: Path, quick: bool) -> str:
    """Hash of what a lab's executed output depends on."""
    h = hashlib.sha256()
    h.update(f"quick={quick}\n".encode())
    h.update(notebook.read_bytes())
    sources = sorted((ROOT / "labkit").rglob("*.py"))
    sources += [ROOT / "requirements.txt", ROOT / "pyproject.toml"]
    for path in sources:
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def _kernel_env(quick: bool) -> None:
    """Set the environment the kernel inherits (papermill starts it from os.environ)."""
    os.environ["LABKIT_STATIC"] = "1"
    os.environ["LABKIT_QUICK"] = "1" if quick else "0"
    # MPLBACKEND=Agg would make plt.show() a no-op: no figures in the book.
    os.environ.pop("MPLBACKEND", None)
    # Autodoc and the kernel import labkit from this checkout.
    path = os.environ.get("PYTHONPATH", "")
    if str(ROOT) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), path) if p)


# The labs show the usual "Open in Colab" badge, whose picture lives on Colab's site.
# The book is fully offline, so the staged copy points at a local look-alike instead.
COLAB_BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_BADGE_FILE = "_colab-badge.svg"
COLAB_BADGE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" \
role="img" aria-label="Open In Colab"><title>Open In Colab</title>
<rect width="117" height="20" rx="3" fill="#555"/>
<rect x="24" width="93" height="20" rx="3" fill="#f9ab00"/>
<rect x="24" width="6" height="20" fill="#f9ab00"/>
<circle cx="9" cy="10" r="4.5" fill="none" stroke="#f9ab00" stroke-width="2.2"/>
<circle cx="16" cy="10" r="4.5" fill="none" stroke="#e8710a" stroke-width="2.2"/>
<text x="70" y="14" fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" \
font-size="11" text-anchor="middle">Open in Colab</text></svg>
"""


def _prepare_for_book(out: Path) -> None:
    """Adjust an executed lab for the book: hide papermill's injected-parameters cell
    (the page shows the lab as students get it) and use the local Colab badge."""
    nb = json.loads(out.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else source
            cell["source"] = text.replace(COLAB_BADGE_URL, COLAB_BADGE_FILE)
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def execute_lab(notebook: Path, quick: bool, force: bool, cell_timeout: int | None = None) -> str:
    """Execute one lab into ``_build/src/labs``; returns "ran" or "cached"."""
    import papermill

    out = SRC / "labs" / notebook.name
    stamp = out.with_suffix(".hash")
    digest = inputs_hash(notebook, quick)
    if not force and out.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        log(f"{notebook.name}: unchanged since last run with QUICK={quick}, not re-executed")
        return "cached"
    stamp.unlink(missing_ok=True)
    log(f"{notebook.name}: executing with QUICK={quick} ...")
    start = time.monotonic()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(out),
            parameters={"QUICK": bool(quick)},
            cwd=str(SRC / "labs"),
            kernel_name="python3",
            progress_bar=False,
            report_mode=False,
            execution_timeout=cell_timeout,
        )
    except Exception as exc:  # PapermillExecutionError, kernel death, timeouts, ...
        elapsed = time.monotonic() - start
        raise BuildError(
            f"lab {notebook.name} FAILED after {elapsed:.0f} s (QUICK={quick}): "
            f"{type(exc).__name__}: {exc}\n"
            f"The partly executed notebook is in {out.relative_to(ROOT)}."
        ) from exc
    _prepare_for_book(out)
    stamp.write_text(digest + "\n")
    log(f"{notebook.name}: done in {time.monotonic() - start:.1f} s")
    return "ran"


def stage_labs(
    quick: bool, force: bool, only: str | None, cell_timeout: int | None = None
) -> None:
    notebooks = lab_notebooks()
    if not notebooks:
        raise BuildError("no labs/*.ipynb found")
    if only is not None:
        wanted = only if only.endswith(".ipynb") else only + ".ipynb"
        if not any(nb.name == wanted for nb in notebooks):
            names = ", ".join(nb.stem for nb in notebooks)
            raise BuildError(f"--only {only}: no such lab (labs: {names})")
    # Drop executed copies of labs that no longer exist.
    names = {nb.name for nb in notebooks}
    for stale in (SRC / "labs").glob("*.ipynb"):
        if stale.name not in names:
            stale.unlink()
            stale.with_suffix(".hash").unlink(missing_ok=True)
    _kernel_env(quick)
    failed: list[str] = []
    for i, nb in enumerate(notebooks, 1):
        log(f"lab {i}/{len(notebooks)}: {nb.name}")
        if only is not None and nb.name != wanted:
            out = SRC / "labs" / nb.name
            if not out.is_file():
                log(f"{nb.name}: not executed (--only); staged without outputs")
                shutil.copy2(nb, out)
                _prepare_for_book(out)
            continue
        # Run the other labs too, so that one build reports every failing lab.
        try:
            execute_lab(nb, quick, force, cell_timeout)
        except BuildError as exc:
            print(f"\n[book] ERROR: {exc}\n", file=sys.stderr, flush=True)
            failed.append(nb.name)
    if failed:
        raise BuildError(f"{len(failed)} lab(s) failed: {', '.join(failed)}")


# --------------------------------------------------------------------------- building
def check_autodoc_import() -> None:
    """Sphinx autodoc imports labkit: make sure it is this checkout's copy."""
    spec = importlib.util.find_spec("labkit")
    if spec is None or spec.origin is None:
        raise BuildError(
            "cannot import labkit, which the API page documents; run `make venv` "
            "(pip install -e .)"
        )
    origin = Path(spec.origin).resolve()
    if ROOT / "labkit" not in origin.parents:
        raise BuildError(f"labkit is imported from {origin}, not from {ROOT / 'labkit'}")
    result = subprocess.run(
        [sys.executable, "-c", "import labkit"], cwd=SRC, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BuildError(f"`import labkit` fails, so autodoc would:\n{result.stderr}")


def jupyter_book_exe() -> str:
    exe = Path(sys.executable).parent / "jupyter-book"
    if exe.is_file():
        return str(exe)
    found = shutil.which("jupyter-book")
    if found is None:
        raise BuildError("jupyter-book not found; run `make venv`")
    return found


def run_jupyter_book(src_root: Path, path_output: Path) -> None:
    cmd = [
        jupyter_book_exe(),
        "build",
        str(src_root),
        "--path-output",
        str(path_output),
        "--builder",
        "html",
        "-W",
        "-n",
        "--keep-going",
        # Always a full build: an incremental one would not repeat the warnings of
        # pages it skips, so -W could pass on a page that failed last time.
        "--all",
    ]
    log("$ " + " ".join(os.path.relpath(c, ROOT) if c.startswith("/") else c for c in cmd))
    # A clean output folder: no page or source left over from an earlier build.
    shutil.rmtree(path_output / "_build" / "html", ignore_errors=True)
    env = dict(os.environ)
    # labkit for autodoc, and this folder for the `build_book` Sphinx extension.
    extra = [str(ROOT), str(Path(__file__).resolve().parent)]
    env["PYTHONPATH"] = os.pathsep.join(extra + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise BuildError(
            f"jupyter-book build failed (exit {result.returncode}); every Sphinx "
            "warning is an error here, see the messages above"
        )
    log(f"jupyter-book build done in {time.monotonic() - start:.1f} s")


# --------------------------------------------------------------------------- Sphinx
# The staged _config.yml loads this module as a Sphinx extension (SPHINX_EXTENSION).
SPHINX_EXTENSION = "build_book"


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated inline scripts from a page.

    Sphinx 7.4 registers an inline script added after the builder started (filename
    ``None``) a second time with filename ``""``; sphinx-thebe adds one declaring
    ``const THEBE_JS_URL``, and the second copy throws "Identifier 'THEBE_JS_URL'
    has already been declared" on every page.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set = set()
    unique = []
    for js in scripts:
        attributes = getattr(js, "attributes", {}) or {}
        key = (
            getattr(js, "filename", str(js)) or "",
            tuple(sorted((k, str(v)) for k, v in attributes.items())),
        )
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    if len(unique) != len(scripts):
        scripts[:] = unique


def _theme_mode(app, pagename, templatename, context, doctree) -> None:
    """pydata-sphinx-theme 0.17 logs "Got invalid theme mode: ." on every page: its
    template reads ``default_mode`` from the page context, which nothing sets under
    sphinx-book-theme. "auto" (follow the reader's system) is the theme's fallback."""
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def _student_edition(app, config) -> None:
    """With ``hide_solutions`` (the student edition) also drop the page sources and the
    download button: the downloadable .ipynb/.md would still contain the solutions."""
    if getattr(config, "hide_solutions", False):
        config.html_copy_source = False
        if isinstance(config.html_theme_options, dict):
            config.html_theme_options["use_download_button"] = False


def setup(app):
    """Sphinx extension hooks used by the book build (workarounds, no new markup)."""
    app.connect("config-inited", _student_edition)
    app.connect("html-page-context", _theme_mode)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Execute the labs and build the book into _build/html."
    )
    parser.add_argument(
        "--quick",
        choices=("1", "0"),
        default="1",
        help="1: labs run in quick mode (default), 0: full mode",
    )
    parser.add_argument("--only", metavar="NAME", help="execute only this lab, e.g. 01_spike_encoding")
    parser.add_argument("--force", action="store_true", help="re-execute labs even when unchanged")
    parser.add_argument(
        "--cell-timeout",
        type=int,
        default=0,
        metavar="SECONDS",
        help="fail a lab whose cell runs longer than this (default: no limit)",
    )
    parser.add_argument(
        "--student",
        action="store_true",
        help="also build the student edition (no solutions) into _build/student/_build/html",
    )
    args = parser.parse_args(argv)
    quick = args.quick == "1"

    start = time.monotonic()
    try:
        log(f"staging sources in {SRC.relative_to(ROOT)} (QUICK={quick})")
        stage_static()
        stage_labs(quick, args.force, args.only, args.cell_timeout or None)
        log("fetching offline assets (MathJax, require.js, widget manager)")
        t0 = time.monotonic()
        fetch_assets(SRC / "_vendor")
        log(f"assets ready in {time.monotonic() - t0:.1f} s")
        check_autodoc_import()
        run_jupyter_book(SRC, ROOT)
        log(f"site: {(BUILD / 'html' / 'index.html').relative_to(ROOT)}")
        if args.student:
            student_src = STUDENT / "src"
            if student_src.exists():
                shutil.rmtree(student_src)
            shutil.copytree(SRC, student_src)
            stage_config(student_src, student=True)
            run_jupyter_book(student_src, STUDENT)
            log(f"student site: {(STUDENT / '_build' / 'html' / 'index.html').relative_to(ROOT)}")
    except (BuildError, AssetError) as exc:
        print(f"\n[book] ERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    log(f"finished in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
