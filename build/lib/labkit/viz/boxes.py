"""Figures of boxes: canvases with their boxes, the IoU of two boxes drawn to scale, intervals by group.

Boxes are ``xyxy`` in continuous pixel coordinates (``labkit.data.BOX_CONVENTION``):
pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``. ``imshow`` centres pixel
``j`` on ``x = j``, so a box is drawn shifted by half a pixel, and its edges
fall exactly on pixel borders.

Examples
--------
>>> import torch
>>> fig = box_grid(torch.zeros(2, 1, 16, 16), {"truth": torch.tensor([[2.0, 2, 8, 8], [1, 1, 4, 9]])},
...                title="Two canvases")
>>> len(fig.axes[0].patches)
1
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..stats import Interval
from .plot import image_grid

__all__ = ["box_grid", "iou_diagram", "grouped_interval_bars", "BOX_COLOURS"]

#: Colours of the boxes of a figure, in the order the boxes are given (truth first).
BOX_COLOURS = ("#2ca02c", "#d62728", "#1f77b4", "#ff7f0e")


def _rectangle(box: Sequence[float], colour: str, shift: float = 0.5, **kw) -> Rectangle:
    x1, y1, x2, y2 = (float(v) for v in box)
    return Rectangle((x1 - shift, y1 - shift), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=1.6, **kw)


def box_grid(
    images: torch.Tensor,
    boxes: Mapping[str, torch.Tensor],
    title: str,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
) -> plt.Figure:
    """Canvases ``[N, C, H, W]`` with one or more sets of boxes ``{label: [N, 4]}`` drawn on them.

    Parameters
    ----------
    images
        The canvases (grey or RGB), values in ``[0, 1]``.
    boxes
        Named box sets, e.g. ``{"truth": ..., "ANN": ..., "SNN": ...}``; each is
        drawn in its own colour (:data:`BOX_COLOURS`) and named in the legend.
    title
        Figure title (say which data are shown).
    titles
        Optional caption per canvas (e.g. classes and IoU).
    ncols
        Columns of the grid.
    """
    if len(boxes) > len(BOX_COLOURS):
        raise ValueError(f"box_grid draws at most {len(BOX_COLOURS)} box sets, got {len(boxes)}.")
    for name, set_ in boxes.items():
        if len(set_) != len(images):
            raise ValueError(f"boxes[{name!r}] has {len(set_)} boxes for {len(images)} images.")
    fig = image_grid(images, title, titles=titles, ncols=ncols)
    for i, ax in enumerate(fig.axes[: len(images)]):
        for colour, set_ in zip(BOX_COLOURS, boxes.values()):
            ax.add_patch(_rectangle(set_[i].tolist(), colour))
    handles = [Line2D([], [], color=c, lw=2, label=name) for c, name in zip(BOX_COLOURS, boxes)]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), bbox_to_anchor=(0.5, -0.02))
    return fig


def iou_diagram(pred: Sequence[float], truth: Sequence[float], title: str, extent: float | None = None) -> plt.Figure:
    """Two boxes to scale, their intersection shaded, and the areas that make up their IoU.

    Continuous coordinates: a box's area is ``(x2 - x1) * (y2 - y1)``; the
    axes are pixel coordinates with ``y`` pointing down, as in an image.
    """
    p, t = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    ix1, iy1, ix2, iy2 = max(p[0], t[0]), max(p[1], t[1]), min(p[2], t[2]), min(p[3], t[3])
    inter = max(ix2 - ix1, 0.0) * max(iy2 - iy1, 0.0)
    area_p, area_t = (p[2] - p[0]) * (p[3] - p[1]), (t[2] - t[0]) * (t[3] - t[1])
    union = area_p + area_t - inter
    fig, ax = plt.subplots(figsize=(4.6, 5.0))
    text = lambda b: "(" + ", ".join(f"{v:g}" for v in b) + ")"  # noqa: E731
    ax.add_patch(_rectangle(t, BOX_COLOURS[0], shift=0, label=f"truth {text(t)}, area {area_t:g}"))
    ax.add_patch(_rectangle(p, BOX_COLOURS[1], shift=0, label=f"prediction {text(p)}, area {area_p:g}"))
    if inter > 0:
        ax.add_patch(Rectangle((ix1, iy1), ix2 - ix1, iy2 - iy1, color="0.6", alpha=0.5,
                               label=f"intersection, area {inter:g}"))
    top = extent or 1.2 * max(p[2], p[3], t[2], t[3])
    ax.set_xlim(0, top)
    ax.set_ylim(top, 0)
    ax.set_aspect("equal")
    ax.set(xlabel="x (pixels)", ylabel="y (pixels, downwards)",
           title=f"{title}\nIoU = {inter:g} / ({area_p:g} + {area_t:g} - {inter:g}) = {inter / union:.4f}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=8)
    return fig


def grouped_interval_bars(
    groups: Mapping[str, Mapping[str, Interval]],
    title: str,
    xlabel: str,
    ylabel: str,
) -> plt.Figure:
    """Grouped bars with their confidence intervals: ``{series: {group: Interval}}`` (e.g. network by size bin)."""
    series = list(groups)
    labels = list(next(iter(groups.values())))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(labels) + 2), 3.4))
    width = 0.8 / len(series)
    for k, name in enumerate(series):
        values = [groups[name][g] for g in labels]
        x = np.arange(len(labels)) + (k - (len(series) - 1) / 2) * width
        est = np.array([v.estimate for v in values])
        err = np.array([[v.estimate - v.low for v in values], [v.high - v.estimate for v in values]])
        ax.bar(x, est, width, yerr=err, capsize=3, label=name)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return fig
