"""One plotting style for the book: rasters, image grids, spike movies and learning curves.

Every function draws with matplotlib, gives the figure a title and labelled axes
(with units), and returns the ``Figure`` so a notebook can tweak or save it.

Examples
--------
>>> import torch
>>> from labkit.viz import plot
>>> fig = plot.raster(torch.rand(50, 20) < 0.1, title="Random spikes")
>>> fig.axes[0].get_xlabel()
'time step'
"""

from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

from ..config import is_static

__all__ = [
    "use_style",
    "raster",
    "image_grid",
    "spike_frames",
    "spike_movie",
    "bars",
    "curves",
    "count_distribution",
    "encoding_overview",
    "learning_curves",
    "membrane_trace",
    "rate_histograms",
    "histograms",
    "heatmap",
    "heatmaps",
    "interval_bars",
]

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (7.0, 3.5),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "figure.titlesize": 12,
    "image.cmap": "gray",
    "legend.frameon": False,
}
ON_COLOUR, OFF_COLOUR = "#d62728", "#1f77b4"


def use_style() -> None:
    """Apply the book's matplotlib style (called by :func:`labkit.start`)."""
    mpl.rcParams.update(STYLE)


def _numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def raster(
    spikes: torch.Tensor,
    title: str,
    dt: float | None = None,
    ylabel: str = "neuron",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """Raster plot of spikes ``[T, N]``: a dot per spike; OFF spikes (-1) in a second colour.

    Parameters
    ----------
    spikes
        Time-first spike tensor ``[T, N]`` with values in {-1, 0, 1}.
    title
        Figure title.
    dt
        Step in seconds; when given the time axis is in milliseconds.
    ylabel
        Label of the neuron axis.
    ax
        Axes to draw on (a new figure otherwise).
    """
    s = _numpy(spikes)
    if s.ndim != 2:
        raise ValueError(f"spikes must be [T, N], got shape {s.shape}; flatten the input dimensions first.")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3))
    scale = 1e3 * dt if dt else 1.0
    for value, colour, label in ((1, ON_COLOUR, "ON"), (-1, OFF_COLOUR, "OFF")):
        t, n = np.nonzero(s == value)
        if len(t):
            ax.scatter(t * scale, n, s=14, marker="|", color=colour, label=label, linewidths=1)
    if (s < 0).any():
        ax.legend(loc="upper right")
    ax.set_xlim(-0.5 * scale, s.shape[0] * scale)
    ax.set_ylim(-0.5, s.shape[1] - 0.5)
    ax.set_xlabel("time (ms)" if dt else "time step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def image_grid(
    images: torch.Tensor | Sequence[torch.Tensor],
    title: str,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    cmap: str = "gray",
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    colorbar_label: str | None = None,
) -> plt.Figure:
    """Grid of images ``[N, H, W]``, ``[N, 1, H, W]`` or ``[N, 3, H, W]`` (RGB).

    Parameters
    ----------
    images
        Images to show; single-channel ones use ``cmap``.
    title
        Figure title (say which data and split are shown).
    titles
        Optional per-image captions.
    ncols
        Columns (default: all in one row up to 8).
    cmap, vmin, vmax
        Colour map and range for single-channel images.
    colorbar_label
        Adds a shared colour bar with this label (e.g. units).
    """
    imgs = [_numpy(im) for im in images]
    n = len(imgs)
    if n == 0:
        raise ValueError("images is empty.")
    ncols = ncols or min(n, 8)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols + 0.6, 1.7 * nrows + 0.5), squeeze=False)
    shown = None
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        im = imgs[i]
        if im.ndim == 3 and im.shape[0] == 3:
            shown = ax.imshow(np.clip(im.transpose(1, 2, 0), 0, 1))
        else:
            shown = ax.imshow(im.reshape(im.shape[-2:]), cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.suptitle(title)
    if colorbar_label and shown is not None:
        fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8, label=colorbar_label)
    return fig


def spike_frames(
    spikes: torch.Tensor,
    steps: Sequence[int],
    title: str,
    dt: float | None = None,
) -> plt.Figure:
    """Static frames of a spike movie ``[T, H, W]`` (or ``[T, 1, H, W]``) at the given steps.

    ON spikes are white on black; with OFF spikes (-1) a red/blue map is used.
    """
    s = _numpy(spikes)
    s = s.reshape(s.shape[0], *s.shape[-2:])
    for t in steps:
        if not 0 <= t < s.shape[0]:
            raise ValueError(f"step {t} is outside [0, {s.shape[0] - 1}].")
    signed = (s < 0).any()
    unit = (lambda t: f"t = {t * dt * 1e3:g} ms") if dt else (lambda t: f"step {t}")
    return image_grid(
        [s[t] for t in steps], title=title, titles=[unit(t) for t in steps],
        cmap="bwr" if signed else "gray", vmin=-1 if signed else 0, vmax=1,
    )


def spike_movie(
    spikes: torch.Tensor,
    title: str,
    n_static: int = 6,
    interval_ms: int = 80,
    static: bool | None = None,
):
    """A spike movie ``[T, H, W]``: an animation in Jupyter, static frames in the book.

    Parameters
    ----------
    spikes
        Time-first frames.
    title
        Title of the movie or of the frame strip.
    n_static
        Number of evenly spaced frames shown when static.
    interval_ms
        Delay between animation frames.
    static
        Force one behaviour; defaults to :func:`labkit.config.is_static`.

    Returns
    -------
    matplotlib.figure.Figure or IPython.display.HTML
        The frame strip, or the animation as HTML (JavaScript player), which is
        also displayed: end the cell with ``;`` so that neither is shown twice.
    """
    s = _numpy(spikes)
    s = s.reshape(s.shape[0], *s.shape[-2:])
    if is_static() if static is None else static:
        steps = np.linspace(0, s.shape[0] - 1, n_static).round().astype(int).tolist()
        return spike_frames(s, steps, title=title)
    from IPython.display import HTML, display
    from matplotlib.animation import FuncAnimation

    signed = (s < 0).any()
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.axis("off")
    im = ax.imshow(s[0], cmap="bwr" if signed else "gray", vmin=-1 if signed else 0, vmax=1)
    ax.set_title(f"{title}\nstep 0")

    def update(t: int):
        im.set_data(s[t])
        ax.set_title(f"{title}\nstep {t}")
        return (im,)

    anim = FuncAnimation(fig, update, frames=s.shape[0], interval=interval_ms, blit=False)
    html = HTML(anim.to_jshtml())
    plt.close(fig)
    display(html)  # shown from inside a loop or an if too; the cell's `;` keeps the return value from showing again
    return html


def bars(
    values: Mapping[str, float],
    title: str,
    ylabel: str,
    fmt: str = "{:.3f}",
    errors: Mapping[str, tuple[float, float]] | None = None,
    wrap: int = 14,
) -> plt.Figure:
    """Bar chart of named values, each bar annotated with its value.

    Parameters
    ----------
    values
        Bar heights by name.
    title, ylabel
        Figure title and y-axis label (with units).
    fmt
        Format of the value written on each bar.
    errors
        Optional ``(low, high)`` interval per name (e.g. a
        :class:`labkit.stats.Interval`'s ends), drawn as an error bar.
    wrap
        Names longer than this many characters are broken into lines (at
        spaces), and the figure widens with the number of bars, so tick labels
        never overlap.

    Examples
    --------
    >>> fig = bars({"a": 0.5, "a longer name for b": 0.7}, "T", "R²", errors={"a": (0.4, 0.6)})
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['a', 'a longer name\\nfor b']
    """
    names, heights = list(values), list(values.values())
    fig, ax = plt.subplots(figsize=(max(5.0, 1.0 + 1.3 * len(names)), 3.2))
    labels = [textwrap.fill(name, wrap, break_long_words=False) for name in names]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drawn = ax.bar(range(len(names)), heights, color=[colours[i % len(colours)] for i in range(len(names))])
    ax.set_xticks(range(len(names)), labels)
    errors = dict(errors or {})
    for name in errors:
        if name not in values:
            raise KeyError(f"errors names {name!r}, which is not among the bars {names}.")
    ax.bar_label(drawn, labels=["" if n in errors else fmt.format(v) for n, v in values.items()], fontsize=9,
                 padding=2)
    for name, (low, high) in errors.items():  # the value above the interval, so the two never overlap
        i, h = names.index(name), values[name]
        ax.errorbar(i, h, yerr=[[max(h - low, 0.0)], [max(high - h, 0.0)]], color="black", capsize=4, lw=1.2)
        below = h < 0  # a negative bar gets its value under the interval
        ax.annotate(fmt.format(h), (i, min(h, low) if below else max(h, high)), xytext=(0, -2 if below else 2),
                    textcoords="offset points", ha="center", va="top" if below else "bottom", fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.margins(y=0.15)
    if any(h < 0 for h in heights):
        ax.axhline(0, color="black", lw=0.8)
    fig.tight_layout()
    return fig


def curves(
    x: Sequence[float],
    ys: Mapping[str, Sequence[float]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    references: Mapping[str, Sequence[float]] | None = None,
) -> plt.Figure:
    """Line plot of one or more named series against a shared x axis.

    ``references`` are drawn as dashed black-grey lines without markers (a
    prediction, a slope to compare with); ``logx``/``logy`` make the axes
    logarithmic (both: a power law is a straight line).
    """
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, y in ys.items():
        ax.plot(x, _numpy(y), marker="o", ms=3, label=name)
    for k, (name, y) in enumerate((references or {}).items()):
        ax.plot(x, _numpy(y), ls=("--", ":", "-.")[k % 3], color="0.35", lw=1.2, label=name)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if len(ys) + len(references or {}) > 1:
        ax.legend()
    return fig


def count_distribution(counts: torch.Tensor, num_steps: int, p: float, title: str) -> plt.Figure:
    """Histogram of spike counts against the Binomial(num_steps, p) probability mass function."""
    c = _numpy(counts).astype(int).ravel()
    k = np.arange(0, max(c.max(), int(num_steps * p * 2) + 3) + 1)
    pmf = torch.distributions.Binomial(num_steps, torch.tensor(float(p))).log_prob(torch.as_tensor(k, dtype=torch.float32)).exp()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(c, bins=np.arange(k[-1] + 2) - 0.5, density=True, alpha=0.6, label=f"empirical ({len(c):,} trains)")
    ax.plot(k, pmf.numpy(), "o-", ms=3, color="black", label=f"Binomial(T={num_steps}, p={p:.3f})")
    ax.set(xlabel=f"spike count in {num_steps} steps", ylabel="probability", title=title)
    ax.legend()
    return fig


def encoding_overview(spikes: torch.Tensor, title: str, dt: float | None = None) -> plt.Figure:
    """Spike-count map and a raster of the middle image row for spikes ``[T, (1,) H, W]``."""
    s = _numpy(spikes)
    s = s.reshape(s.shape[0], *s.shape[-2:])
    fig, (ax_img, ax_raster) = plt.subplots(1, 2, figsize=(8, 3.2), gridspec_kw={"width_ratios": [1, 2]})
    shown = ax_img.imshow(np.abs(s).sum(0), cmap="magma")
    ax_img.set_title("spikes per pixel")
    ax_img.axis("off")
    fig.colorbar(shown, ax=ax_img, shrink=0.8, label="spike count")
    raster(torch.as_tensor(s[:, s.shape[1] // 2, :]), title=f"middle row ({s.shape[2]} pixels)",
           dt=dt, ylabel="pixel (column)", ax=ax_raster)
    sparse = 1.0 - np.count_nonzero(s) / s.size
    fig.suptitle(f"{title}: {int(np.abs(s).sum()):,} spikes, sparsity {sparse:.3f}")
    fig.tight_layout()
    return fig


def _epoch_ticks(ax: plt.Axes, epochs: Sequence[int], most: int = 10) -> None:
    """Whole-number epoch ticks: one per epoch up to ``most`` epochs (even a run of one or two), else spaced out."""
    if not epochs:
        return
    if len(epochs) <= most:
        ax.set_xticks(epochs)
        ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
    else:
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)


def learning_curves(histories: Mapping[str, "object"], title: str) -> plt.Figure:
    """Loss and accuracy per epoch of one or more :class:`labkit.train.History`, labelled with their data.

    Left: the loss on the training batches (solid) and on the validation data
    (dashed). Right: the validation accuracy, when recorded. The axis titles name
    the validation data (``History.val_data``), so the figure says what it shows.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    val_names = sorted({h.val_data for h in histories.values() if h.val})
    for k, (name, h) in enumerate(histories.items()):
        colour = f"C{k % 10}"
        ax_loss.plot(h.epoch, h.train["loss"], marker="o", color=colour, label=f"{name}, training")
        if "loss" in h.val:
            ax_loss.plot(h.epoch, h.val["loss"], marker="s", ls="--", color=colour, label=f"{name}, validation")
        if "acc" in h.val:
            ax_acc.plot(h.epoch, [100 * a for a in h.val["acc"]], marker="o", color=colour, label=name)
    val_label = val_names[0] if len(val_names) == 1 else "validation data"
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss: training batches and validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"Accuracy on {val_label}")
    epochs = sorted({int(e) for h in histories.values() for e in h.epoch})
    for ax in (ax_loss, ax_acc):
        _epoch_ticks(ax, epochs)
    ax_loss.legend(fontsize="small")
    if ax_acc.lines:
        ax_acc.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def membrane_trace(
    current: torch.Tensor,
    mem: torch.Tensor,
    spikes: torch.Tensor,
    threshold: float,
    title: str,
    dt: float | None = None,
) -> plt.Figure:
    """Input current, membrane potential (with threshold) and spikes of one neuron over time."""
    t = np.arange(len(_numpy(current))) * (1e3 * dt if dt else 1.0)
    fig, (ax_i, ax_u, ax_s) = plt.subplots(3, 1, figsize=(7, 4.6), sharex=True,
                                          gridspec_kw={"height_ratios": [1, 2, 0.6]})
    ax_i.plot(t, _numpy(current), color="tab:green")
    ax_i.set_ylabel("input I")
    ax_u.plot(t, _numpy(mem), color="tab:blue", label="membrane U")
    ax_u.axhline(threshold, color="tab:red", ls="--", label="threshold")
    ax_u.set_ylabel("U (a.u.)")
    ax_u.legend(loc="upper left", fontsize=8)
    s = _numpy(spikes)
    ax_s.vlines(t[s > 0], 0, 1, color="black")
    ax_s.set_yticks([])
    ax_s.set_ylabel("spikes")
    ax_s.set_xlabel("time (ms)" if dt else "time step")
    fig.suptitle(f"{title}: {int(s.sum())} spikes")
    fig.tight_layout()
    return fig


def histograms(
    values: Mapping[str, torch.Tensor],
    title: str,
    xlabel: str,
    bins: int | np.ndarray = 30,
    ylabel: str = "count",
    log: bool = True,
) -> plt.Figure:
    """One histogram panel per named tensor (all values pooled), with its mean in the panel title.

    With ``log``, a panel whose bin counts span at least a decade gets a
    logarithmic count axis (a few large bins, e.g. zeros, would hide the rest).
    """
    fig, axes = plt.subplots(1, len(values), figsize=(3.2 * len(values) + 0.5, 3), squeeze=False)
    for ax, (name, v) in zip(axes.flat, values.items()):
        flat = _numpy(v).ravel()
        counts, _, _ = ax.hist(flat, bins=bins, color="tab:purple")
        filled = counts[counts > 0]
        if log and len(filled) and filled.max() >= 10 * filled.min():  # log only when counts span a decade
            ax.set_yscale("log")
        ax.set(title=f"{name}\nmean {flat.mean():.3f}", xlabel=xlabel, ylabel=ylabel)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def rate_histograms(rates: Mapping[str, torch.Tensor], title: str, bins: int = 20) -> plt.Figure:
    """Histograms of firing rates (spikes per step, in [0, 1]), one panel per layer."""
    return histograms(rates, title, xlabel="firing rate (spikes/step)", ylabel="neuron x image",
                      bins=np.linspace(0, 1, bins + 1))


def heatmap(
    matrix: torch.Tensor,
    title: str,
    xlabel: str,
    ylabel: str,
    xticklabels: Sequence[str] | None = None,
    yticklabels: Sequence[str] | None = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
    colorbar_label: str = "CKA",
    annotate: bool = True,
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """A matrix as a colour map (rows top to bottom), values written in the cells when ``annotate``."""
    m = _numpy(matrix)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(1.0 + 0.55 * m.shape[1], 0.8 + 0.5 * m.shape[0]))
    shown = ax.imshow(m, vmin=vmin, vmax=vmax, cmap="magma", aspect="auto")
    ax.grid(False)
    many = m.shape[1] > 8  # many labels stand upright so that neighbours never overlap
    ax.set_xticks(range(m.shape[1]), xticklabels if xticklabels is not None else range(m.shape[1]),
                  rotation=(90 if many else 45) if xticklabels is not None else 0,
                  ha="right" if xticklabels is not None and not many else "center")
    ax.set_yticks(range(m.shape[0]), yticklabels if yticklabels is not None else range(m.shape[0]))
    if annotate and m.size <= 100:
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if v > vmin + 0.6 * (vmax - vmin) else "white")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.colorbar(shown, ax=ax, label=colorbar_label, shrink=0.85)
    return fig


def heatmaps(
    matrices: Mapping[str, torch.Tensor],
    title: str,
    xlabel: str,
    ylabel: str,
    ticklabels: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
    ncols: int | None = None,
) -> plt.Figure:
    """Several :func:`heatmap` panels, one per named matrix, sharing the colour range.

    ``ticklabels`` name the layers of every panel, or of each panel by its name
    (panels of different sizes). ``ncols`` panels per row (default: all in one
    row, at most four); large matrices get smaller cells so that a row stays
    about page-wide.
    """
    n = len(matrices)
    ncols = min(n, 4) if ncols is None else max(1, min(ncols, n))
    nrows = -(-n // ncols)
    size = max(_numpy(m).shape[1] for m in matrices.values())
    cell = float(np.clip((13.0 / ncols - 1.9) / size, 0.2, 0.45))  # inches per matrix cell: rows stay page-wide
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * (1.9 + cell * size), nrows * (1.5 + 0.95 * cell * size)),
                             squeeze=False)
    for ax, (name, m) in zip(axes.flat, matrices.items()):
        labels = ticklabels.get(name) if isinstance(ticklabels, Mapping) else ticklabels
        heatmap(m, title=name, xlabel=xlabel, ylabel=ylabel, xticklabels=labels, yticklabels=labels,
                vmin=vmin, vmax=vmax, annotate=size <= 6 and cell >= 0.3, ax=ax)
        if cell < 0.3:
            ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def interval_bars(
    values: Mapping[str, object],
    title: str,
    xlabel: str,
    reference: float | None = None,
    reference_label: str = "",
    fmt: str = "{:.3f}",
    xlim: tuple[float, float] | None = None,
) -> plt.Figure:
    """Horizontal bars of estimates with their confidence intervals, one row per name.

    Horizontal, so that long names stay readable (they never overlap).

    Parameters
    ----------
    values
        ``{name: interval}``: a :class:`labkit.stats.Interval`, a
        :class:`labkit.stats.SeedSummary`, an ``(estimate, low, high)`` tuple,
        or a bare number (no whisker).
    title, xlabel
        Title and axis label (with units).
    reference
        Draw a dashed vertical line here (a yardstick or chance), labelled
        ``reference_label``.
    fmt
        Format of the value written at the end of each bar.
    xlim
        Axis range; default from 0 to a little beyond the largest interval.

    Examples
    --------
    >>> from labkit.stats import Interval
    >>> fig = interval_bars({"clean": Interval(0.8, 0.75, 0.85, 0.95, 10, "toy"), "noisy": 0.5}, "T", "CKA")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['clean', 'noisy']
    """
    def parts(v: object) -> tuple[float, float, float]:
        inner = getattr(v, "interval", v)  # a SeedSummary carries its interval
        if hasattr(inner, "estimate"):
            return float(inner.estimate), float(inner.low), float(inner.high)
        if isinstance(v, (tuple, list)) and len(v) == 3:
            return float(v[0]), float(v[1]), float(v[2])
        return float(v), float(v), float(v)

    names = list(values)
    est, low, high = (np.array(col) for col in zip(*(parts(values[name]) for name in names)))
    fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.45 * len(names)))
    y = np.arange(len(names))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ax.barh(y, est, color=[colours[i % len(colours)] for i in range(len(names))], alpha=0.85)
    ax.errorbar(est, y, xerr=[est - low, high - est], fmt="none", ecolor="black", capsize=3, lw=1)
    for yi, e, h in zip(y, est, high):
        ax.text(max(e, h), yi, " " + fmt.format(e), va="center", fontsize=8)
    if reference is not None:
        ax.axvline(reference, color="grey", ls="--", lw=1, label=reference_label or None)
        if reference_label:
            ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    top = max(float(np.max(high)), reference or 0.0)
    ax.set_xlim(xlim if xlim is not None else (min(0.0, float(np.min(low))), top * 1.18 if top > 0 else 1.0))
    ax.set(title=title, xlabel=xlabel)
    fig.tight_layout()
    return fig
