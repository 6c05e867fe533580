"""Browser test of the built site in ``_build/html`` (run ``make book`` first).

A headless Debian Chromium (``/usr/bin/chromium``, or ``$LABKIT_CHROMIUM``) driven by
Playwright opens the intro page, every lab page and the reference pages from a local
``http.server`` and checks what a reader gets: no JavaScript errors, nothing loaded
from another host (the site is fully offline), pictures loaded and described,
MathJax-rendered math, the ``widget`` cells showing something, and exercise
solutions folded until clicked.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1"}
TIMEOUT_MS = 30_000


# --------------------------------------------------------------------------- pages
def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return [str(toc["root"])] + files


def _page(docname: str) -> str:
    return re.sub(r"\.(md|ipynb|rst)$", "", docname) + ".html"


TOC = _toc_files()
INTRO = _page(TOC[0])
LABS = [_page(f) for f in TOC if f.startswith("labs/")]
OTHERS = [_page(f) for f in TOC[1:] if not f.startswith("labs/")]
ALL_PAGES = [INTRO, *LABS, *OTHERS]


# --------------------------------------------------------------------------- fixtures
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").is_file():
        pytest.fail(
            f"{SITE.relative_to(ROOT)}/index.html is missing: run `make book` first "
            "(it executes the labs and builds the site), then run this test again.",
            pytrace=False,
        )
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright import sync_api
    except ImportError:
        pytest.fail("Playwright is not installed: run `make venv`", pytrace=False)
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's (`apt-get install -y "
            "chromium`) or set LABKIT_CHROMIUM; Playwright's own browser download "
            "does not work offline.",
            pytrace=False,
        )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


class Visit:
    """A loaded page plus what happened while loading it."""

    def __init__(self, page, url: str):
        self.page = page
        self.url = url
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.foreign: list[str] = []


@pytest.fixture
def visit(browser, site_url):
    contexts = []

    def open_page(path: str, redirect_to: str | None = None) -> Visit:
        context = browser.new_context(service_workers="block")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        v = Visit(page, site_url + path)

        def route(route):
            url = route.request.url
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
                v.foreign.append(url)
                route.abort()
            else:
                route.continue_()

        context.route("**/*", route)
        page.on(
            "console",
            lambda msg: v.console_errors.append(f"{msg.text} ({msg.location.get('url', '')})")
            if msg.type == "error"
            else None,
        )
        page.on("pageerror", lambda exc: v.page_errors.append(str(exc)))
        response = page.goto(v.url, wait_until="load")
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        if redirect_to is not None:
            page.wait_for_url(site_url + redirect_to, wait_until="load")
        _settle(page)
        return v

    yield open_page
    for context in contexts:
        context.close()


def _settle(page) -> None:
    """Wait until MathJax is done and every picture has loaded (or failed)."""
    page.evaluate(
        """async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
                await MathJax.startup.promise;
            }
            await Promise.all([...document.images].map((img) => {
                img.loading = "eager";
                return img.decode().catch(() => null);
            }));
        }"""
    )
    try:
        page.wait_for_load_state("networkidle", timeout=10_000)
    except Exception:  # noqa: BLE001 - idle is best effort; the checks say what is wrong
        pass


# --------------------------------------------------------------------------- checks
def _check_clean(v: Visit, path: str) -> None:
    assert not v.page_errors, f"{path}: JavaScript exceptions: {v.page_errors}"
    assert not v.console_errors, f"{path}: console errors: {v.console_errors}"
    assert not v.foreign, (
        f"{path}: requests to other hosts (the site must work offline): {v.foreign}"
    )


def _check_images(v: Visit, path: str) -> None:
    images = v.page.evaluate(
        """() => [...document.images].map((img) => ({
            src: img.getAttribute("src") || "",
            alt: (img.getAttribute("alt") || "").trim(),
            ok: img.complete && img.naturalWidth > 0,
        }))"""
    )
    broken = [img["src"] for img in images if not img["ok"]]
    assert not broken, f"{path}: pictures that did not load: {broken}"
    file_name = re.compile(r"^\S+\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)
    undescribed = [
        img["src"]
        for img in images
        if not img["alt"]
        or file_name.match(img["alt"])
        or img["alt"] in (img["src"], img["src"].rsplit("/", 1)[-1])
    ]
    assert not undescribed, (
        f"{path}: pictures without a real alt text (set it in the cell metadata, "
        f'"mystnb": {{"image": {{"alt": "..."}}}}): {undescribed}'
    )


def _check_math(v: Visit, path: str) -> None:
    result = v.page.evaluate(
        """() => {
            const maths = [...document.querySelectorAll(".math")];
            const bare = maths.filter((m) => !m.querySelector("mjx-container"));
            const main = (document.querySelector("main") || document.body).cloneNode(true);
            main.querySelectorAll("pre, code, script, style, textarea, mjx-container, .highlight")
                .forEach((n) => n.remove());
            return {
                maths: maths.length,
                rendered: document.querySelectorAll("mjx-container").length,
                bare: bare.map((m) => m.textContent.slice(0, 60)),
                text: main.textContent,
            };
        }"""
    )
    if result["maths"]:
        assert result["rendered"] > 0, f"{path}: MathJax rendered no math"
        assert not result["bare"], f"{path}: math left unrendered: {result['bare']}"
    # a Markdown table (labkit.book.table) left as text; typography may have turned --- into a dash
    table_rule = re.search(r"\|\s*[-\u2013\u2014]+\s*\|", result["text"])
    assert table_rule is None, (
        f"{path}: unrendered Markdown table: ...{result['text'][max(0, table_rule.start() - 60):table_rule.end() + 20]!r}..."
        if table_rule else "")
    for raw in ("\\(", "\\)", "\\[", "\\]", "$$", "\\begin{"):
        at = result["text"].find(raw)
        assert at < 0, (
            f"{path}: raw TeX {raw!r} left in the page text: "
            f"...{result['text'][max(0, at - 40):at + 40]!r}..."
        )


# --------------------------------------------------------------------------- tests
def test_site_lists_labs():
    assert LABS, "_toc.yml lists no labs/ pages"


def test_index_redirects_to_intro(visit):
    v = visit("index.html", redirect_to=INTRO)
    _check_clean(v, "index.html")


@pytest.mark.parametrize("path", ALL_PAGES)
def test_page_is_clean_and_offline(visit, path):
    v = visit(path)
    assert v.page.locator("main h1").count() >= 1, f"{path}: no title"
    _check_clean(v, path)
    _check_images(v, path)
    _check_math(v, path)


@pytest.mark.parametrize("path", LABS)
def test_lab_widget_cells_show_something(visit, path):
    v = visit(path)
    cells = v.page.locator(".tag_widget")
    assert cells.count() >= 1, (
        f"{path}: no cell tagged `widget` (the cell showing the interactive explorer "
        "needs the tag; the book shows its static picture)"
    )
    for i in range(cells.count()):
        cell = cells.nth(i)
        shown = cell.locator(".cell_output img, .cell_output .jupyter-widgets").filter(
            visible=True
        )
        try:
            shown.first.wait_for(state="visible", timeout=10_000)
        except Exception:  # noqa: BLE001
            pytest.fail(
                f"{path}: widget cell {i + 1} shows neither a picture nor a widget",
                pytrace=False,
            )
        img = cell.locator(".cell_output img").filter(visible=True)
        if img.count():
            assert img.first.evaluate("(i) => i.naturalWidth > 0"), (
                f"{path}: widget cell {i + 1}: its picture did not load"
            )
    _check_clean(v, path)


@pytest.mark.parametrize("path", LABS)
def test_lab_solutions_fold(visit, path):
    v = visit(path)
    solutions = v.page.locator("div.solution")
    if solutions.count() == 0:
        pytest.skip(f"{path} has no exercise solution")
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        body = solution.locator(":scope > :not(.admonition-title)").first
        assert "dropdown" in (solution.get_attribute("class") or ""), (
            f"{path}: solution {i + 1} is not folded; give it `:class: dropdown`"
        )
        assert body.is_hidden(), f"{path}: solution {i + 1} is visible before a click"
        solution.locator(".toggle-button").first.click()
        body.wait_for(state="visible", timeout=5_000)
        assert body.is_visible(), f"{path}: solution {i + 1} stays hidden after a click"
    _check_clean(v, path)


def test_api_page_documents_labkit(visit):
    path = next((p for p in OTHERS if p.endswith("api.html")), None)
    assert path, "_toc.yml has no api page"
    v = visit(path)
    for name in ("labkit.config.resolve_quick", "labkit.config.seed_everything"):
        anchor = v.page.locator(f'[id="{name}"]')
        assert anchor.count() == 1, f"{path}: {name} is not documented"
        assert "Parameters" in anchor.locator("xpath=..").inner_text(), (
            f"{path}: {name} is documented without its parameters"
        )
    modules = v.page.evaluate(
        "() => [...document.querySelectorAll('[id^=\"module-labkit.\"]')].map(e => e.id)"
    )
    for module in ("config", "data", "spiking", "spiking.encoding", "models", "train", "analysis", "fv",
                   "viz", "viz.plot", "viz.widgets", "zoo", "book"):
        assert f"module-labkit.{module}" in modules, f"{path}: labkit.{module} is missing"
