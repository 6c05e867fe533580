"""Figures of a search for what excites a neuron: best value against queries, and preferred inputs across training.

* :func:`best_so_far`: one panel per neuron, the best activation found against
  the number of queries for each method, median over seeds with the spread
  (lowest to highest seed) shaded, and reference lines (e.g. the best natural
  image);
* :func:`preferred_inputs`: the most exciting input of a few neurons after each
  training epoch, with the network's accuracy at each epoch underneath.

Examples
--------
>>> import numpy as np
>>> curves = {"random": np.maximum.accumulate(np.random.default_rng(0).random((3, 50)), axis=1)}
>>> fig = best_so_far({"neuron 1": curves}, title="toy", ylabel="value", references={"neuron 1": {"max": 1.0}})
>>> len(fig.axes)
1
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .learned import _show

__all__ = ["best_so_far", "preferred_inputs"]

_COLOURS = {"protes": "tab:red", "random": "tab:gray", "es": "tab:blue", "(1+λ)": "tab:blue", "nevergrad": "tab:purple"}


def best_so_far(panels: Mapping[str, Mapping[str, np.ndarray]], title: str, ylabel: str,
                references: Mapping[str, Mapping[str, float]] | None = None, logx: bool = True) -> plt.Figure:
    """Best value found against the number of queries: median over seeds (line) and their range (band).

    Parameters
    ----------
    panels
        ``{panel title: {method: curves [seeds, queries]}}``, the curves as
        returned by :func:`labkit.maximise` (best so far after each query).
    title
        Figure title.
    ylabel
        What the value is, with units (e.g. ``"firing rate (spikes per step)"``).
    references
        ``{panel title: {label: value}}`` drawn as horizontal lines.
    logx
        Queries on a logarithmic axis.
    """
    references = references or {}
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    styles = iter(["--", ":", "-."] * 4)
    ref_styles: dict[str, str] = {}
    for ax, (name, methods) in zip(axes[0], panels.items()):
        for method, curves in methods.items():
            c = np.atleast_2d(np.asarray(curves, dtype=float))
            x = np.arange(1, c.shape[1] + 1)
            colour = _COLOURS.get(method.split()[0].lower())
            ax.plot(x, np.median(c, axis=0), color=colour, lw=1.8, label=f"{method} (median of {len(c)})")
            ax.fill_between(x, c.min(axis=0), c.max(axis=0), color=colour, alpha=0.18, lw=0)
        for label, value in references.get(name, {}).items():
            style = ref_styles.setdefault(label, next(styles))
            ax.axhline(value, color="black", ls=style, lw=1, label=f"{label}: {value:.3g}")
        if logx:
            ax.set_xscale("log")
        ax.set(xlabel="queries (images shown to the network)", ylabel=ylabel, title=name)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def preferred_inputs(images: Mapping[str, Mapping[int, torch.Tensor]], accuracy: Mapping[int, float], title: str,
                     values: Mapping[str, Mapping[int, float]] | None = None,
                     captions: Mapping[str, Mapping[int, str]] | None = None,
                     accuracy_label: str = "test accuracy (%)") -> plt.Figure:
    """The most exciting input of each neuron (rows) after each epoch (columns), and the accuracy per epoch.

    Parameters
    ----------
    images
        ``{neuron: {epoch: image [C, H, W]}}`` in ``[0, 1]``.
    accuracy
        ``{epoch: accuracy in %}``, plotted under the images.
    title
        Figure title.
    values
        ``{neuron: {epoch: activation}}`` printed under each image.
    captions
        ``{neuron: {epoch: text}}`` added under each image (e.g. the class it is read as).
    accuracy_label
        The accuracy axis label (which data it is measured on).
    """
    rows = list(images)
    epochs = sorted({e for r in rows for e in images[r]})
    fig = plt.figure(figsize=(1.45 * len(epochs) + 1.6, 1.75 * len(rows) + 2.6))
    grid = fig.add_gridspec(len(rows) + 1, len(epochs), height_ratios=[1] * len(rows) + [1.25], hspace=0.55)
    for i, r in enumerate(rows):
        for j, e in enumerate(epochs):
            ax = fig.add_subplot(grid[i, j])
            if e not in images[r]:
                ax.set_axis_off()
                continue
            _show(ax, images[r][e])
            text = []
            if values is not None and e in values.get(r, {}):
                text.append(f"{values[r][e]:.3g}")
            if captions is not None and e in captions.get(r, {}):
                text.append(captions[r][e])
            ax.set_xlabel(" · ".join(text), fontsize=8)
            if i == 0:
                ax.set_title(f"epoch {e}", fontsize=9)
            if j == 0:
                ax.set_ylabel(r, fontsize=8)
    ax = fig.add_subplot(grid[len(rows), :])
    xs = sorted(accuracy)
    ax.plot(xs, [accuracy[e] for e in xs], marker="o", color="tab:green")
    ax.set(xlabel="epoch (0: initial weights)", ylabel=accuracy_label, xticks=xs)
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    fig.suptitle(title)
    return fig
