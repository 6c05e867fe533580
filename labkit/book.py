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

from typing import Any, TypeVar

__all__ = ["glue"]

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
