"""Put numbers computed by a notebook into the book's prose.

:func:`glue` stores a value with :func:`myst_nb.glue` so the text can cite it as
``{glue:text}`name:.3f```; when myst-nb is not installed (a bare Colab runtime)
it just returns the value, so the notebook still runs.

Examples
--------
>>> glue("answer", 42, display=False)
42
"""

from __future__ import annotations

from typing import Any, Sequence, TypeVar

__all__ = ["glue", "table"]

T = TypeVar("T")


def glue(name: str, value: T, display: bool = False) -> T:
    """Record ``value`` under ``name`` for the book and return it unchanged.

    Parameters
    ----------
    name
        Key used in the prose: ``{glue:text}`name```.
    value
        A number, string, table or figure.
    display
        Also show the value in the notebook output.
    """
    if not name.isidentifier():
        raise ValueError(f"name must be a Python-identifier-like key, got {name!r}.")
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - without myst-nb there is no book to feed
        return value
    _glue(name, value, display=display)
    return value


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], floatfmt: str = "{:.3f}"):
    """A Markdown table for notebook output (rendered as a real table in the book).

    Parameters
    ----------
    rows
        Table rows; floats are formatted with ``floatfmt``.
    headers
        Column names.

    Returns
    -------
    IPython.display.Markdown
        Displays as a table in Jupyter and in the built book.

    Examples
    --------
    >>> table([["rate", 0.5]], ["code", "sparsity"]).data.splitlines()[2]
    '| rate | 0.500 |'
    """
    from IPython.display import Markdown

    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"row {i} has {len(row)} cells but there are {len(headers)} headers.")

    def cell(v: Any) -> str:
        return floatfmt.format(v) if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return Markdown("\n".join(lines))
