#!/usr/bin/env python3
"""Fetch the book's front-end assets from the npm registry, for a fully offline site.

The built site must load nothing from a CDN. Three packages are downloaded with
``npm pack`` (the tarball only, nothing installed) into a cache folder,
``$LABKIT_CACHE/npm`` or ``~/.cache/labkit/npm``, so later builds reuse them, and
unpacked into ``<book source>/_vendor/``:

* ``mathjax`` 3: its ``es5/`` tree becomes ``_vendor/mathjax/`` (``tex-chtml.js``
  plus the fonts and TeX extensions it loads on demand);
* ``requirejs``: ``require.js`` becomes ``_vendor/require.min.js``;
* ``@jupyter-widgets/html-manager`` 1.x: ``dist/embed-amd.js`` (and the icon fonts
  it loads relative to itself) become ``_vendor/embed-amd.js``, with a small shim in
  front so the widgets' MathJax 2 calls work with MathJax 3.

``_config.yml`` points Sphinx at them (``html_static_path: ["_vendor"]``,
``mathjax_path`` and ``nb_ipywidgets_js``). The folder is deliberately not named
``_static``: Jupyter Book 1.x would then add every .js/.css in it to every page.

Usage::

    python tools/fetch_assets.py _build/src/_vendor
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# Exact versions: the site is reproducible and the cache is keyed on the tarball name.
MATHJAX = ("mathjax", "3.2.2")
REQUIREJS = ("requirejs", "2.3.8")
# html-manager 1.x is the one that matches ipywidgets 8 (widget protocol 2).
HTML_MANAGER = ("@jupyter-widgets/html-manager", "1.0.15")
PACKAGES = (MATHJAX, REQUIREJS, HTML_MANAGER)

# Files that must exist after unpacking (checked so a broken cache is noticed).
EXPECTED = (
    "mathjax/tex-chtml.js",
    "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    "require.min.js",
    "embed-amd.js",
)


# A shim put in front of embed-amd.js. (1) It points the widget manager at the icon
# fonts copied beside it. (2) ipywidgets 8 typesets widget labels with the MathJax 2
# API (``MathJax.Hub.Queue``), which MathJax 3 lacks: "Cannot read properties of
# undefined (reading 'Queue')". The shim maps it onto MathJax 3 once MathJax has loaded
# (MathJax is a deferred script, so it is there at DOMContentLoaded; widgets render
# at "load").
MATHJAX2_SHIM = """/* labkit: MathJax.Hub.Queue (MathJax 2 API, used by ipywidgets) on MathJax 3 */
(function () {
  /* The widget icon fonts lie beside this file, but webpack looks them up beside the
     AMD module's URL, <page folder>/@jupyter-widgets/html-manager/dist/: map it here. */
  if (document.currentScript) {
    var src = document.currentScript.src.split("?")[0];
    var here = src.slice(0, src.lastIndexOf("/"));
    if (window.require && window.require.config) {
      window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": here } });
    }
    window.__jupyter_widgets_assets_path__ = window.__jupyter_widgets_assets_path__ || here + "/";
  }
  function typeset(element) {
    var mj = window.MathJax;
    if (!mj || !mj.startup || !mj.startup.promise) { return; }
    mj.startup.promise.then(function () {
      return mj.typesetPromise ? mj.typesetPromise(element ? [element] : undefined) : null;
    }).catch(function (err) { console.warn("MathJax typeset failed", err); });
  }
  function install() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.version) { return; }
    mj.Hub = {
      Queue: function () {
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset") { typeset(job[2]); }
          else if (typeof job === "function") { job(); }
        }
      }
    };
  }
  install();
  document.addEventListener("DOMContentLoaded", install);
  window.addEventListener("load", install, true);
})();
"""


class AssetError(RuntimeError):
    """Raised when the assets cannot be fetched or unpacked."""


def cache_root() -> Path:
    """The npm tarball cache: ``$LABKIT_CACHE/npm`` or ``~/.cache/labkit/npm``."""
    base = Path(os.environ.get("LABKIT_CACHE", Path.home() / ".cache" / "labkit"))
    path = base.expanduser() / "npm"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tarball_name(name: str, version: str) -> str:
    """The file name ``npm pack`` gives a package (``@scope/pkg`` -> ``scope-pkg``)."""
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(
            "npm is not installed, but the book needs it to fetch MathJax, require.js "
            "and the ipywidgets HTML manager from the npm registry (the site loads "
            "nothing from a CDN). Install Node.js and npm, e.g. "
            "`apt-get install -y nodejs npm`, then build again."
        )
    return npm


def _npm_pack(name: str, version: str, cache: Path) -> Path:
    """Download ``name@version`` as a tarball into ``cache`` (no install)."""
    target = cache / tarball_name(name, version)
    if target.is_file() and tarfile.is_tarfile(target):
        return target
    spec = f"{name}@{version}"
    npm = _npm()
    print(f"[assets] npm pack {spec}", flush=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = [npm, "pack", spec, "--json", "--silent", "--pack-destination", tmp]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=600, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise AssetError(f"`npm pack {spec}` timed out after 600 s.") from exc
        if proc.returncode != 0:
            raise AssetError(
                f"`npm pack {spec}` failed (exit {proc.returncode}); is the npm "
                f"registry reachable?\n{proc.stderr.strip() or proc.stdout.strip()}"
            )
        try:
            filename = json.loads(proc.stdout)[0]["filename"]
        except (ValueError, LookupError, TypeError):
            filename = tarball_name(name, version)
        got = Path(tmp) / Path(filename).name
        if not got.is_file():
            tgzs = list(Path(tmp).glob("*.tgz"))
            if len(tgzs) != 1:
                raise AssetError(f"`npm pack {spec}` produced no tarball in {tmp}.")
            got = tgzs[0]
        if not tarfile.is_tarfile(got):
            raise AssetError(f"`npm pack {spec}` produced a broken tarball: {got}")
        os.replace(got, target)
    return target


def _members(tar: tarfile.TarFile, prefix: str):
    """Regular files under ``package/<prefix>``, renamed relative to that prefix."""
    root = "package/" + prefix
    for member in tar.getmembers():
        if not member.isfile() or not member.name.startswith(root):
            continue
        rel = member.name[len(root):].lstrip("/")
        if not rel or rel.startswith("/") or ".." in Path(rel).parts:
            continue
        yield member, rel


def _extract_tree(tgz: Path, prefix: str, dest: Path, keep=lambda rel: True) -> int:
    count = 0
    with tarfile.open(tgz, "r:gz") as tar:
        for member, rel in _members(tar, prefix):
            if not keep(rel):
                continue
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            assert src is not None
            with src, open(out, "wb") as fh:
                shutil.copyfileobj(src, fh)
            count += 1
    if count == 0:
        raise AssetError(f"{tgz.name} has no files under package/{prefix}")
    return count


def fetch_assets(dest: Path) -> None:
    """Fetch (or reuse from the cache) the offline assets and unpack them into ``dest``.

    Parameters
    ----------
    dest
        The ``_vendor`` folder of the staged book source. It is replaced.

    Raises
    ------
    AssetError
        If npm is missing, a download fails or a tarball lacks an expected file.
    """
    dest = Path(dest)
    cache = cache_root()
    tarballs = {name: _npm_pack(name, version, cache) for name, version in PACKAGES}

    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # MathJax: the whole es5 tree, since tex-chtml.js loads fonts/extensions lazily.
    _extract_tree(tarballs[MATHJAX[0]], "es5/", tmp / "mathjax")
    # require.js (not minified upstream; the name is what _config.yml expects).
    with tarfile.open(tarballs[REQUIREJS[0]], "r:gz") as tar:
        src = tar.extractfile("package/require.js")
        if src is None:
            raise AssetError("requirejs tarball has no require.js")
        (tmp / "require.min.js").write_bytes(src.read())
    # embed-amd.js and the icon fonts it loads from its own folder (webpack assets).
    fonts = (".woff", ".woff2", ".ttf", ".eot", ".svg")
    _extract_tree(
        tarballs[HTML_MANAGER[0]],
        "dist/",
        tmp,
        keep=lambda rel: "/" not in rel and (rel == "embed-amd.js" or rel.endswith(fonts)),
    )
    embed = tmp / "embed-amd.js"
    if embed.is_file():
        embed.write_bytes(MATHJAX2_SHIM.encode() + b"\n" + embed.read_bytes())
    missing = [rel for rel in EXPECTED if not (tmp / rel).is_file()]
    if missing:
        raise AssetError(f"assets incomplete after unpacking, missing: {missing}")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "dest",
        nargs="?",
        default="_build/src/_vendor",
        type=Path,
        help="folder to fill (default: _build/src/_vendor)",
    )
    args = parser.parse_args(argv)
    try:
        fetch_assets(args.dest)
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"[assets] ready in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
