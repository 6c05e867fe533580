"""Figures of what a convolutional network learned: its kernels, feature visualisations and receptive fields.

Same conventions as :mod:`labkit.viz.plot`: every function gives its figure a title,
labels axes with units, and returns the ``Figure``.

Examples
--------
>>> import torch
>>> fig = kernel_tiles(torch.randn(8, 3, 5, 5), title="Random kernels")
>>> fig.texts[-1].get_text().split(";")[0]
'8 kernels of 5x5 px'
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from .plot import _numpy
from ..analysis.receptive import ReceptiveField

__all__ = [
    "symmetric_rgb",
    "kernel_tiles",
    "kernel_channels",
    "colour_energy",
    "spatial_energy",
    "image_matrix",
    "steps_strip",
    "activation_evidence",
    "receptive_field_figure",
]

_LAYER_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def symmetric_rgb(weight: torch.Tensor) -> tuple[np.ndarray, float]:
    """RGB kernels ``[N, 3, k, k]`` as images ``[N, k, k, 3]`` with one shared symmetric scale.

    ``0.5 + 0.5 * w / m`` with ``m = max |w|`` over all kernels: mid-grey is a zero
    weight, and the same colour means the same weight in every tile (no per-kernel
    contrast stretching, which would make weak kernels look as strong as the rest).

    Returns
    -------
    tuple
        The images in ``[0, 1]`` and the scale ``m``.

    Examples
    --------
    >>> tiles, m = symmetric_rgb(torch.tensor([[[[2.0]], [[0.0]], [[-2.0]]]]))
    >>> tiles[0, 0, 0].tolist(), m
    ([1.0, 0.5, 0.0], 2.0)
    """
    w = _numpy(weight).astype(np.float64)
    if w.ndim != 4 or w.shape[1] != 3:
        raise ValueError(f"expected RGB kernels [N, 3, k, k], got shape {w.shape}.")
    m = float(np.abs(w).max()) or 1.0
    return (0.5 + 0.5 * w / m).transpose(0, 2, 3, 1), m


def _mosaic(tiles: np.ndarray, ncols: int, gap: int = 1, fill: float = 1.0) -> np.ndarray:
    """Tiles ``[N, h, w(, 3)]`` into one image with ``gap``-pixel separators."""
    n, h, w = tiles.shape[:3]
    nrows = int(np.ceil(n / ncols))
    shape = (nrows * (h + gap) - gap, ncols * (w + gap) - gap) + tiles.shape[3:]
    out = np.full(shape, fill, dtype=np.float64)
    for i in range(n):
        r, c = divmod(i, ncols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = tiles[i]
    return out


def colour_energy(weight: torch.Tensor) -> np.ndarray:
    """Fraction of each RGB kernel's energy in colour-opponent (not luminance) directions.

    A kernel ``w[3, k, k]`` splits into its luminance part (the mean over R, G, B
    at each pixel, the same in all three channels) and the rest. 0: a pure
    black-and-white kernel; 1: pure colour contrast with no luminance structure.

    Examples
    --------
    >>> grey = torch.ones(1, 3, 2, 2); opponent = torch.tensor([1.0, -1.0, 0.0]).view(1, 3, 1, 1)
    >>> colour_energy(torch.cat([grey, opponent.expand(1, 3, 2, 2)])).round(3).tolist()
    [0.0, 1.0]
    """
    w = _numpy(weight).astype(np.float64)
    lum = w.mean(axis=1, keepdims=True)
    total = (w ** 2).sum(axis=(1, 2, 3))
    chroma = ((w - lum) ** 2).sum(axis=(1, 2, 3))
    return chroma / np.maximum(total, 1e-12)


def spatial_energy(weight: torch.Tensor) -> dict[str, np.ndarray]:
    """How each kernel's energy splits into a flat patch, a linear ramp (a soft edge) and finer structure.

    Every channel of a ``k x k`` kernel is projected on three orthogonal parts:
    its mean (a **flat** patch of one colour), the best plane through it minus
    that mean (a **ramp**: light on one side, dark on the other, i.e. a soft
    edge across the whole window), and the rest (**finer** structure: bars,
    spots, centre-surround, texture). The three fractions of the kernel's
    energy add up to 1. ``ramp_angle`` is the direction in which the ramp rises,
    in degrees (0: towards the right, 90: towards the bottom row, as drawn).

    Returns
    -------
    dict
        ``"flat"``, ``"ramp"``, ``"finer"`` (each ``[N]``, in ``[0, 1]``) and ``"ramp_angle"``.

    Examples
    --------
    >>> flat = torch.ones(1, 3, 5, 5)
    >>> ramp = torch.linspace(-1, 1, 5).expand(1, 3, 5, 5)  # rises from left to right
    >>> spot = torch.zeros(1, 3, 5, 5); spot[..., 2, 2] = 1.0; spot -= spot.mean()
    >>> parts = spatial_energy(torch.cat([flat, ramp, spot]))
    >>> [round(float(parts[p][i]), 3) for i, p in enumerate(["flat", "ramp", "finer"])], round(float(parts["ramp_angle"][1]))
    ([1.0, 1.0, 1.0], 0)
    """
    w = _numpy(weight).astype(np.float64)
    if w.ndim != 4:
        raise ValueError(f"expected kernels [N, C, k, k], got shape {w.shape}.")
    n, c, kh, kw = w.shape
    yy, xx = np.mgrid[0:kh, 0:kw]
    x, y = (xx - (kw - 1) / 2).ravel(), (yy - (kh - 1) / 2).ravel()
    flat_w = w.reshape(n, c, -1)
    total = np.maximum((flat_w ** 2).sum(axis=(1, 2)), 1e-12)
    mean = flat_w.mean(axis=2)  # [N, C]
    bx = (flat_w * x).sum(axis=2) / (x ** 2).sum()  # slopes of the best plane, per channel
    by = (flat_w * y).sum(axis=2) / (y ** 2).sum()
    flat_part = (mean ** 2).sum(axis=1) * kh * kw
    ramp_part = (bx ** 2).sum(axis=1) * (x ** 2).sum() + (by ** 2).sum(axis=1) * (y ** 2).sum()
    # the ramp of the luminance (channel mean) gives the direction of the edge
    angle = np.degrees(np.arctan2(by.mean(axis=1), bx.mean(axis=1)))
    return {"flat": flat_part / total, "ramp": ramp_part / total,
            "finer": np.clip(1 - (flat_part + ramp_part) / total, 0.0, 1.0), "ramp_angle": angle}


def kernel_tiles(weight: torch.Tensor, title: str, ncols: int | None = None,
                 order: Sequence[int] | None = None, scale: int = 1) -> plt.Figure:
    """First-layer RGB kernels ``[N, 3, k, k]`` as colour tiles on one shared symmetric scale.

    Parameters
    ----------
    weight
        The kernels (e.g. ``conv1.weight``).
    title
        Figure title (say which weights are shown).
    ncols
        Tiles per row (default 8 up to 32 kernels, else 16).
    order
        Optional display order of the kernels (e.g. sorted by :func:`colour_energy`).
    scale
        Display pixels per kernel pixel (nearest neighbour; no blur is invented).
    """
    tiles, m = symmetric_rgb(weight)
    if order is not None:
        tiles = tiles[np.asarray(order)]
    if scale > 1:
        tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    n, k = len(tiles), weight.shape[-1]
    ncols = min(ncols or (8 if n <= 32 else 16), n)
    mosaic = _mosaic(tiles, ncols, gap=max(1, scale // 2))
    width = min(10.0, 0.75 * ncols + 0.6)
    fig, ax = plt.subplots(figsize=(width, (width - 0.6) * mosaic.shape[0] / mosaic.shape[1] + 1.3))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    fig.suptitle(title)
    fig.text(0.5, 0.02, f"{n} kernels of {k}x{k} px; one shared scale: mid-grey = 0, "
             f"full saturation = ±{m:.3g}", ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def kernel_channels(weight: torch.Tensor, out_channels: Sequence[int], in_channels: Sequence[int],
                    title: str, in_kernels: torch.Tensor | None = None) -> plt.Figure:
    """Second-layer kernels: one 2-D tile per (output channel, input channel) pair.

    Rows are output channels, columns input channels; one diverging colour map,
    symmetric about 0 and shared by all tiles, with a colour bar.

    Parameters
    ----------
    weight
        Kernels ``[out, in, k, k]`` (e.g. ``conv2.weight``).
    out_channels, in_channels
        Which rows and columns to show.
    title
        Figure title.
    in_kernels
        Optional RGB kernels of the previous layer ``[in, 3, k1, k1]`` (e.g.
        ``conv1.weight``): drawn above the columns, so each column shows which
        feature map it reads (on their own shared symmetric scale).

    Examples
    --------
    >>> fig = kernel_channels(torch.randn(4, 6, 5, 5), [0, 1], [2, 3, 4], "demo", torch.randn(6, 3, 7, 7))
    >>> fig.axes[0].get_ylabel()
    'output channel'
    """
    w = _numpy(weight)[np.ix_(list(out_channels), list(in_channels))]
    n_out, n_in, k = w.shape[0], w.shape[1], w.shape[-1]
    m = float(np.abs(w).max()) or 1.0
    mosaic = _mosaic(w.reshape(n_out * n_in, k, k), n_in, gap=1, fill=np.nan)
    rows = n_out + (1 if in_kernels is not None else 0)
    fig, ax = plt.subplots(figsize=(min(11.0, 0.42 * n_in + 2.2), 0.42 * rows + 1.3))
    shown = ax.imshow(mosaic, cmap=plt.get_cmap("RdBu_r").with_extremes(bad="white"), vmin=-m, vmax=m,
                      interpolation="nearest")
    yticks = [(k + 1) * i + (k - 1) / 2 for i in range(n_out)]
    ylabels = [str(c) for c in out_channels]
    top = -0.5
    if in_kernels is not None:  # the conv1 kernel each column reads, in a row above the grid
        tiles, _ = symmetric_rgb(in_kernels)
        top = -1.5 - k
        for j, c in enumerate(in_channels):
            ax.imshow(tiles[c], extent=((k + 1) * j - 0.5, (k + 1) * j + k - 0.5, -1.5, top),
                      interpolation="nearest")
        yticks, ylabels = [top + k / 2] + yticks, ["conv1 kernel"] + ylabels
    ax.set_xticks([(k + 1) * j + (k - 1) / 2 for j in range(n_in)], [str(c) for c in in_channels], fontsize=7)
    ax.set_yticks(yticks, ylabels, fontsize=7)
    ax.set_xlim(-0.5, mosaic.shape[1] - 0.5)
    ax.set_ylim(mosaic.shape[0] - 0.5, top)
    ax.set_xlabel("input channel (a conv1 feature map)")
    ax.set_ylabel("output channel")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    fig.colorbar(shown, ax=ax, shrink=0.85, label="weight (shared scale)")
    fig.suptitle(f"{title}\n{k}x{k} kernels of {n_out} output x {n_in} input channels", fontsize=11)
    return fig


def _show(ax: plt.Axes, image: torch.Tensor | np.ndarray) -> None:
    im = _numpy(image)
    if im.ndim == 4:
        im = im[0]
    if im.ndim == 2 or im.shape[0] == 1:  # grey, e.g. a digit
        ax.imshow(np.clip(im.reshape(im.shape[-2:]), 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(np.clip(im.transpose(1, 2, 0), 0, 1), interpolation="bilinear")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def image_matrix(images: Mapping[str, Mapping[str, torch.Tensor]], title: str,
                 boxes: Mapping[tuple[str, str], tuple[float, float, float, float]] | None = None,
                 size: float = 2.1) -> plt.Figure:
    """A matrix of images: ``images[row label][column label]``, e.g. layers x objectives.

    Parameters
    ----------
    images
        Nested mapping of ``[3, H, W]`` (or ``[1, 3, H, W]``) images in ``[0, 1]``; grey ones
        ``[1, H, W]`` are shown in grey levels.
    title
        Figure title.
    boxes
        Optional ``(top, left, bottom, right)`` rectangle (pixel coordinates) per
        ``(row, column)``, drawn dashed (e.g. a neuron's receptive field).
    size
        Inches per image.
    """
    rows = list(images)
    cols = list(dict.fromkeys(c for r in rows for c in images[r]))
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(size * len(cols) + 0.9, size * len(rows) + 0.7),
                             squeeze=False)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            if c not in images[r]:
                ax.set_axis_off()
                continue
            _show(ax, images[r][c])
            if boxes and (r, c) in boxes:
                top, left, bottom, right = boxes[(r, c)]
                ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                                       edgecolor="white", linestyle="--", linewidth=1.2))
                h, w = _numpy(images[r][c]).shape[-2:]
                ax.set_xlim(-0.5, w - 0.5)
                ax.set_ylim(h - 0.5, -0.5)
            if i == 0:
                ax.set_title(c, fontsize=9)
            if j == 0:
                ax.set_ylabel(r, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def steps_strip(images: Sequence[torch.Tensor], steps: Sequence[int], title: str,
                values: Sequence[float] | None = None, unit: str = "activation") -> plt.Figure:
    """The image at increasing optimisation steps, one panel per step.

    Parameters
    ----------
    images
        Snapshots ``[3, H, W]`` (or ``[1, 3, H, W]``).
    steps
        The step of each snapshot.
    title
        Figure title.
    values
        Optional objective value of each snapshot, printed under it.
    unit
        Name of the value.
    """
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(1.55 * n + 0.4, 2.35), squeeze=False)
    for i, ax in enumerate(axes[0]):
        _show(ax, images[i])
        ax.set_title(f"step {steps[i]}", fontsize=9)
        if values is not None:
            ax.set_xlabel(f"{unit} {values[i]:.3g}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def activation_evidence(steps: Sequence[int], values: Sequence[float], natural: torch.Tensor | np.ndarray,
                        title: str, ylabel: str) -> plt.Figure:
    """Did the optimisation work? Activation vs step, and the result vs natural images.

    Left: the activation of the (untransformed) image at each recorded step, with
    the mean and maximum over natural-image crops. Right: the distribution over
    the natural crops, with the starting noise (first value) and the optimised
    image (last value) marked.

    Parameters
    ----------
    steps, values
        Recorded optimisation steps (the first is the start) and the activation
        of the image at each.
    natural
        Activation for each natural-image crop ``[N]``.
    title
        Figure title.
    ylabel
        What the activation is (with units).
    """
    nat = _numpy(natural).ravel()
    start, optimised = float(values[0]), float(values[-1])
    fig, (ax_c, ax_h) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
    ax_c.plot(steps, values, color="tab:red", marker="o", ms=3, label="optimised image")
    ax_c.axhline(nat.mean(), color="tab:green", ls="--", label="natural crops: mean")
    ax_c.axhline(nat.max(), color="tab:green", ls=":", label="natural crops: max")
    ax_c.set(xlabel="optimisation step", ylabel=ylabel, title="Activation during optimisation")
    ax_c.legend(fontsize=8)
    bins = np.linspace(min(nat.min(), start, optimised), max(nat.max(), start, optimised), 40)
    ax_h.hist(nat, bins=bins, color="tab:green", alpha=0.6, label=f"{len(nat)} natural crops")
    for value, colour, label in ((start, "tab:gray", "starting noise"), (optimised, "tab:red", "optimised image")):
        ax_h.axvline(value, color=colour, lw=2, label=f"{label}: {value:.3g}")
    ax_h.axvline(nat.mean(), color="tab:green", ls="--", label=f"natural mean: {nat.mean():.3g}")
    ax_h.set_yscale("log")
    ax_h.set(xlabel=ylabel, ylabel="number of crops", title="Optimised image vs controls")
    ax_h.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _central_unit(field: ReceptiveField, side: int) -> int:
    """Index of the unit whose receptive field is centred closest to the image centre."""
    n = field.out_size or 1
    centre = (side - 1) / 2
    return min(range(n), key=lambda i: abs(field.start + i * field.jump - centre))


def receptive_field_figure(image: torch.Tensor, fields: Sequence[ReceptiveField], title: str,
                           names: Sequence[str] | None = None) -> plt.Figure:
    """Receptive fields drawn on an input image, and their sizes per layer.

    Left: the image with, for each layer, the receptive field of the unit whose
    field is centred closest to the image centre (outside the image, in grey, is
    the zero padding). Right: receptive-field size per layer, with the image side
    for comparison; the colours match.

    Parameters
    ----------
    image
        Input ``[3, H, W]`` in ``[0, 1]``; the fields must have ``out_size`` set
        for this input size.
    fields
        From :func:`labkit.analysis.receptive_fields_of` (with ``input_size``).
    title
        Figure title.
    names
        Display names of the fields (default: their layer names).

    Examples
    --------
    >>> from labkit.analysis.receptive import receptive_fields
    >>> fig = receptive_field_figure(torch.rand(3, 8, 8), receptive_fields([("c", 3, 1, 1)], 8), "demo")
    >>> fig.axes[1].get_ylabel()
    'receptive-field side (input px)'
    """
    names = list(names) if names is not None else [f.name for f in fields]
    h, w = _numpy(image).shape[-2:]
    fig, (ax_i, ax_b) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.25]})
    boxes = []
    for f in fields:
        boxes.append((f.box(_central_unit(f, h), _central_unit(f, w))))
    lo = min(-0.5, *(b[0] for b in boxes), *(b[1] for b in boxes)) - 1
    hi = max(h - 0.5, w - 0.5, *(b[2] for b in boxes), *(b[3] for b in boxes)) + 1
    ax_i.set_facecolor("#d9d9d9")
    _show(ax_i, image)
    for i, (top, left, bottom, right) in enumerate(boxes):
        ax_i.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False,
                                 edgecolor=_LAYER_COLOURS[i % len(_LAYER_COLOURS)], linewidth=1.8))
    ax_i.set_xlim(lo, hi)
    ax_i.set_ylim(hi, lo)
    ax_i.set_title(f"input {h}x{w} px (grey: padding outside it)", fontsize=9)
    sizes = [f.size for f in fields]
    bars = ax_b.bar(range(len(fields)), sizes,
                    color=[_LAYER_COLOURS[i % len(_LAYER_COLOURS)] for i in range(len(fields))])
    ax_b.bar_label(bars, fontsize=8)
    ax_b.axhline(h, color="black", ls="--", lw=1, label=f"image side ({h} px)")
    ax_b.set_xticks(range(len(fields)), names, rotation=30, ha="right", fontsize=8)
    ax_b.set(xlabel="layer", ylabel="receptive-field side (input px)", title="Receptive-field size per layer")
    ax_b.legend(fontsize=8, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
