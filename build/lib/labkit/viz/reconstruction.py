"""Figures for autoencoders: reconstruction grids, embedding maps, sweeps with intervals, and a rate-code heatmap.

Examples
--------
>>> import torch
>>> from labkit.stats import Interval
>>> fig = sweep([3, 5], {"SAE": [Interval(0.6, 0.58, 0.62, 0.95, 100, "toy")] * 2}, title="Toy",
...             xlabel="kernel size (px)", ylabel="nRMSE")
>>> fig.axes[0].get_xlabel()
'kernel size (px)'
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..stats import Interval
from .plot import _numpy

__all__ = ["reconstruction_grid", "embedding_maps", "sweep", "value_heatmap", "value_heatmaps"]


def reconstruction_grid(images: torch.Tensor, output_spikes: torch.Tensor, steps: Sequence[int], title: str,
                        baseline: torch.Tensor | None = None, baseline_name: str = "AE",
                        dt: float | None = None) -> plt.Figure:
    """One row per sample: the input, output spike frames at ``steps``, the time-averaged output, and a baseline's.

    Parameters
    ----------
    images
        ``[B, 1, H, W]`` inputs in [0, 1] (or ``[B, H, W]``).
    output_spikes
        ``[T, B, 1, H, W]`` output spikes of the spiking autoencoder.
    steps
        Time steps whose output frames are shown.
    title
        Figure title (say which data and split).
    baseline
        Optional ``[B, 1, H, W]`` time-averaged output of another model (spikes per
        step), shown in the last column.
    baseline_name
        Its column title.
    dt
        Step in seconds, to label frames in ms.
    """
    x = _numpy(images).reshape(len(images), *images.shape[-2:])
    s = _numpy(output_spikes)
    s = s.reshape(s.shape[0], s.shape[1], *s.shape[-2:])
    if s.shape[1] != len(x):
        raise ValueError(f"output_spikes has {s.shape[1]} samples but images has {len(x)}.")
    for t in steps:
        if not 0 <= t < s.shape[0]:
            raise ValueError(f"step {t} is outside [0, {s.shape[0] - 1}].")
    columns = [("input", lambda i: x[i], 1.0)]
    label = (lambda t: f"output, t = {t * dt * 1e3:g} ms") if dt else (lambda t: f"output, step {t}")
    columns += [(label(t), (lambda i, t=t: s[t, i]), 1.0) for t in steps]
    columns.append((f"SAE mean over {s.shape[0]} steps", lambda i: s[:, i].mean(0), None))
    if baseline is not None:
        b = _numpy(baseline).reshape(len(x), *images.shape[-2:])
        columns.append((f"{baseline_name} (spikes/step)", lambda i: b[i], None))
    fig, axes = plt.subplots(len(x), len(columns), figsize=(1.45 * len(columns) + 0.4, 1.45 * len(x) + 0.6),
                             squeeze=False)
    for i in range(len(x)):
        for j, (name, get, vmax) in enumerate(columns):
            ax = axes[i, j]
            ax.imshow(get(i), cmap="gray", vmin=0, vmax=vmax if vmax is not None else 1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if i == 0:
                ax.set_title(name, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def embedding_maps(maps: Mapping[str, np.ndarray], labels: np.ndarray | torch.Tensor, classes: Sequence[str],
                   title: str) -> plt.Figure:
    """2-D maps of embeddings side by side (e.g. UMAP of two models), points coloured by class.

    Parameters
    ----------
    maps
        ``{name: [N, 2] coordinates}``, one panel each.
    labels
        ``[N]`` class of each point.
    classes
        Class names, for the legend.
    title
        Figure title (say which data and split).
    """
    y = _numpy(labels).astype(int)
    fig, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps) + 1.2, 4.0), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, (name, xy) in zip(axes.flat, maps.items()):
        xy = np.asarray(xy)
        if len(xy) != len(y):
            raise ValueError(f"{name}: {len(xy)} points but {len(y)} labels.")
        for c in np.unique(y):
            ax.scatter(*xy[y == c].T, s=5, color=colours(int(c) % 10), label=classes[int(c)])
        ax.set(title=name, xlabel="UMAP 1 (a.u.)", ylabel="UMAP 2 (a.u.)")
        ax.set_xticks([])
        ax.set_yticks([])
    axes.flat[-1].legend(title="class", loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=3, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def sweep(x: Sequence[float], series: Mapping[str, Sequence[Interval]], title: str, xlabel: str, ylabel: str,
          logx: bool = False, reference: Mapping[str, Sequence[float]] | None = None) -> plt.Figure:
    """A quantity against a setting, one line per model, each point with its interval (error bars).

    Parameters
    ----------
    x
        The setting's values.
    series
        ``{name: [Interval per x]}`` (from :func:`labkit.stats.bootstrap` or
        :func:`~labkit.stats.over_seeds`); a ``None`` leaves a gap.
    title, xlabel, ylabel
        Text (with units).
    logx
        Logarithmic x axis (e.g. embedding sizes).
    reference
        Optional ``{name: values per x}`` drawn dashed without intervals (e.g. a noise floor).
    """
    fig, ax = plt.subplots(figsize=(6, 3.4))
    xs = np.asarray(x, dtype=float)
    for k, (name, intervals) in enumerate(series.items()):
        if len(intervals) != len(xs):
            raise ValueError(f"{name}: {len(intervals)} intervals for {len(xs)} x values.")
        keep = [i for i, v in enumerate(intervals) if v is not None]
        est = np.array([intervals[i].estimate for i in keep])
        low = np.array([intervals[i].low for i in keep])
        high = np.array([intervals[i].high for i in keep])
        ax.errorbar(xs[keep], est, yerr=[est - low, high - est], marker="o", ms=4, capsize=3, label=name,
                    color=f"C{k}")
    for k, (name, values) in enumerate((reference or {}).items()):
        ax.plot(xs, values, ls="--", color="0.4" if k == 0 else f"C{k + len(series)}", label=name)
    if logx:
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
    else:
        ax.set_xticks(xs)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def value_heatmap(values: np.ndarray, xticklabels: Sequence[str], yticklabels: Sequence[str], title: str,
                  xlabel: str, ylabel: str, colorbar_label: str, ax: plt.Axes | None = None,
                  vmin: float | None = None, vmax: float | None = None, fmt: str = "{:.3f}") -> plt.Figure:
    """A matrix of values (rows top to bottom) with each written in its cell (``fmt``); NaN cells (not run) are left blank."""
    m = np.asarray(values, dtype=float)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(1.6 + 0.9 * m.shape[1], 1.0 + 0.6 * m.shape[0]))
    shown = ax.imshow(np.ma.masked_invalid(m), cmap="viridis", aspect="auto", vmin=vmin, vmax=vmax)
    ax.grid(False)
    ax.set_xticks(range(m.shape[1]), xticklabels)
    ax.set_yticks(range(m.shape[0]), yticklabels)
    lo, hi = shown.get_clim()
    for (i, j), v in np.ndenumerate(m):
        if np.isfinite(v):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                    color="black" if v > lo + 0.6 * (hi - lo) else "white")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.colorbar(shown, ax=ax, label=colorbar_label, shrink=0.85)
    return fig


def value_heatmaps(panels: Mapping[str, tuple], xticklabels: Sequence[str],
                   yticklabels: Sequence[str], title: str, xlabel: str, ylabel: str) -> plt.Figure:
    """Several :func:`value_heatmap` panels side by side: ``{panel title: (matrix, colour-bar label[, fmt])}``."""
    n = len(panels)
    rows, cols = np.asarray(next(iter(panels.values()))[0]).shape
    fig, axes = plt.subplots(1, n, figsize=(n * (1.9 + 0.85 * cols), 1.3 + 0.6 * rows), squeeze=False)
    for ax, (name, (matrix, label, *fmt)) in zip(axes.flat, panels.items()):
        value_heatmap(matrix, xticklabels, yticklabels, name, xlabel, ylabel, label, ax=ax, fmt=fmt[0] if fmt else "{:.3f}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
