"""Interactive figures that degrade to a static figure when there is no front end.

:func:`~labkit.viz.interact` wraps :func:`ipywidgets.interact`. In JupyterLab or Colab the
student gets sliders; in the built book, in CI and in plain scripts (see
:func:`labkit.config.is_static`) the function is called once with its default
arguments, so the page shows a real figure instead of an empty widget box.

Examples
--------
>>> import matplotlib.pyplot as plt
>>> def show(gain=1.0):
...     fig, ax = plt.subplots(); ax.plot([0, gain]); ax.set_title(f"gain {gain}")
...     return fig
>>> fig = interact(show, static=True, gain=(0.0, 2.0, 0.1))
>>> fig.axes[0].get_title()
'gain 1.0'
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from ..config import is_static

__all__ = ["interact"]


def _defaults(func: Callable[..., Any], names: list[str]) -> dict[str, Any]:
    params = inspect.signature(func).parameters
    missing = [n for n in names if n not in params]
    if missing:
        raise TypeError(f"{func.__name__}() has no parameter(s) {missing} to attach controls to.")
    no_default = [n for n, p in params.items() if p.default is inspect.Parameter.empty]
    if no_default:
        raise TypeError(
            f"{func.__name__}() needs a default for {no_default}: the static figure is drawn at the defaults."
        )
    return {n: p.default for n, p in params.items()}


def interact(func: Callable[..., Any], static: bool | None = None, **controls: Any) -> Any:
    """Show ``func`` with a control per keyword, or call it once at its defaults.

    Parameters
    ----------
    func
        Draws a figure from keyword arguments, each with a default value (the
        value shown in the static figure and the sliders' starting point). It may
        return the figure.
    static
        Force the static (``True``) or interactive (``False``) behaviour;
        defaults to :func:`labkit.config.is_static`.
    **controls
        ipywidgets abbreviations: ``(min, max, step)`` for a slider, a list for a
        drop-down, or a widget instance.

    Returns
    -------
    Any
        Static: whatever ``func`` returned. Interactive: the ipywidgets
        ``interactive`` object.
    """
    defaults = _defaults(func, list(controls))
    if is_static() if static is None else static:
        return func(**defaults)
    import ipywidgets
    import matplotlib.pyplot as plt

    def draw(**kwargs: Any) -> None:
        func(**kwargs)
        plt.show()

    widgets = {}
    for name, abbrev in controls.items():
        widget = ipywidgets.interactive.widget_from_abbrev(abbrev, defaults[name])
        widget.description = name
        widgets[name] = widget
    return ipywidgets.interact(draw, **widgets)
