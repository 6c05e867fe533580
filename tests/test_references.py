"""The bibliography parses, and every citation in the book names an entry in it.

A broken ``book/references.bib`` (a brace lost in a merge) only showed up after
the eight labs had executed in the book build; this test finds it in a second.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pybtex.database
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
LITERAL = re.compile(r"``.*?``")  # a role shown as an example, not a citation


def _cited_keys() -> dict[str, set[str]]:
    """Map each cited key to the pages citing it (markdown pages and lab markdown cells)."""
    texts: dict[str, str] = {p.name: p.read_text() for p in (ROOT / "book").glob("*.md")}
    for nb in sorted((ROOT / "labs").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        texts[nb.name] = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )
    cited: dict[str, set[str]] = {}
    for page, text in texts.items():
        for group in CITE.findall(LITERAL.sub("", text)):
            for key in group.split(","):
                cited.setdefault(key.strip(), set()).add(page)
    return cited


def test_bibliography_parses_without_duplicates() -> None:
    try:
        entries = pybtex.database.parse_string(BIB.read_text(), "bibtex").entries
    except Exception as err:  # pybtex raises its own scanner errors
        pytest.fail(f"{BIB.relative_to(ROOT)} does not parse: {err}")
    keys = re.findall(r"^@\w+\{([^,]+),", BIB.read_text(), flags=re.M)
    assert len(keys) == len(entries), "an entry was swallowed by the one above it"
    assert len(set(keys)) == len(keys), f"duplicate keys: {sorted(k for k in keys if keys.count(k) > 1)}"


def test_every_citation_has_an_entry() -> None:
    keys = set(pybtex.database.parse_string(BIB.read_text(), "bibtex").entries)
    cited = _cited_keys()
    assert cited, "no citations found: the pattern no longer matches the book's syntax"
    missing = {k: sorted(pages) for k, pages in cited.items() if k not in keys}
    assert not missing, f"cited but not in {BIB.name}: {missing}"
