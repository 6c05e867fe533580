"""No figure of ``labkit.viz`` draws tick labels on top of each other.

Every plotting function of :mod:`labkit.viz.plot` and :mod:`labkit.viz.learned` is
rendered with inputs like the labs' (their real label texts and sizes), the canvas
is drawn, and the tick labels of each axis are compared: two labels overlap when
their text boxes, rotated with the text, intersect by more than a pixel.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import labkit.viz
from labkit.analysis.receptive import receptive_fields_of
from labkit.models import LAYER_LABELS
from labkit.train import History
from labkit.stats import Interval
from labkit.viz import boxes, learned, plot, reconstruction, search

TOLERANCE_PX = 1.0


def _drawn_labels(axis) -> list:
    """The tick labels ``axis`` draws: visible, non-empty, of ticks inside the view."""
    ticks = axis._update_ticks()  # the ticks that the last draw showed (inside the view interval)
    labels = []
    for tick in ticks:
        for text in (tick.label1, tick.label2):
            if text.get_visible() and text.get_text().strip():
                labels.append(text)
    return labels


def _box(text, renderer) -> tuple[np.ndarray, float, float, float]:
    """Centre, unrotated width and height (pixels) and angle (radians) of a drawn text."""
    envelope = text.get_window_extent(renderer)
    centre = np.array([(envelope.x0 + envelope.x1) / 2, (envelope.y0 + envelope.y1) / 2])
    probe = text.figure.text(0, 0, text.get_text(), fontproperties=text.get_fontproperties(),
                             linespacing=text.get_linespacing(), rotation=0)
    flat = probe.get_window_extent(renderer)
    probe.remove()
    return centre, flat.width, flat.height, math.radians(text.get_rotation())


def _overlaps(a, b, renderer) -> bool:
    (ca, wa, ha, ta), (cb, wb, hb, tb) = _box(a, renderer), _box(b, renderer)
    if abs(ta - tb) > 1e-6:  # different angles: compare the envelopes
        ea, eb = a.get_window_extent(renderer), b.get_window_extent(renderer)
        return (min(ea.x1, eb.x1) - max(ea.x0, eb.x0) > TOLERANCE_PX
                and min(ea.y1, eb.y1) - max(ea.y0, eb.y0) > TOLERANCE_PX)
    d = cb - ca
    along = abs(d[0] * math.cos(ta) + d[1] * math.sin(ta))
    across = abs(-d[0] * math.sin(ta) + d[1] * math.cos(ta))
    return ((wa + wb) / 2 - along > TOLERANCE_PX) and ((ha + hb) / 2 - across > TOLERANCE_PX)


def overlapping_tick_labels(fig: plt.Figure) -> list[str]:
    """``"axes 0 x: 'a' / 'b'"`` for every pair of tick labels of one axis that overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []
    for i, ax in enumerate(fig.axes):
        if not ax.axison:
            continue
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = _drawn_labels(axis)
            for j, a in enumerate(labels):
                for b in labels[j + 1:]:
                    if _overlaps(a, b, renderer):
                        found.append(f"axes {i} ({ax.get_title()!r}) {name}: {a.get_text()!r} / {b.get_text()!r}")
    return found


def _history(epochs: int) -> History:
    e = list(range(1, epochs + 1))
    return History(epoch=e, train={"loss": [2 / k for k in e]}, val={"loss": [2.1 / k for k in e],
                   "acc": [0.1 + 0.5 * k / epochs for k in e]}, val_data="CIFAR-10 (validation images)")


def _fields():
    from labkit.models import alexnet_cifar

    net = alexnet_cifar(width=0.25)
    fields = receptive_fields_of(net.features, 32)
    return fields, [LAYER_LABELS[f"features.{f.name}"] for f in fields]


# One or more representative calls per plotting function, with the labs' own label texts.
FIGURES = {
    "plot.raster": lambda: plot.raster((torch.rand(100, 40) < 0.1).float(), title="R", dt=1e-3),
    "plot.image_grid": lambda: plot.image_grid(torch.rand(10, 3, 32, 32), title="G",
                                               titles=["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                       "frog", "horse", "ship", "truck"], ncols=10),
    "plot.spike_frames": lambda: plot.spike_frames(torch.rand(20, 28, 28), [0, 5, 10, 19], title="F", dt=1e-3),
    "plot.spike_movie": lambda: plot.spike_movie(torch.rand(20, 28, 28), title="M", static=True),
    "plot.bars[lab 01 codes]": lambda: plot.bars({"rate": 0.95, "latency": 0.99, "delta": 0.97},
                                                 title="Sparsity", ylabel="fraction", fmt="{:.4f}"),
    "plot.bars[lab 03 R2]": lambda: plot.bars(
        {"SNN → CNN": 0.74, "CNN → SNN": 0.59, "shuffled (SNN → CNN)": 0.003, "shuffled (CNN → SNN)": -0.026},
        title="Variance explained", ylabel="R² (1 = perfect, 0 = mean)"),
    "plot.bars[lab 03 yardstick]": lambda: plot.bars(
        {"second CNN → CNN": 0.84, "SNN → CNN": 0.74, "untrained CNN → CNN": 0.34, "second CNN → SNN": 0.64,
         "CNN → SNN": 0.61, "untrained CNN → SNN": 0.31},
        title="Yardsticks", ylabel="R²", errors={"SNN → CNN": (0.72, 0.76)}),
    "plot.bars[lab 07 by input]": lambda: plot.bars(
        {"clean": 0.78, "FGSM": 0.71, "PGD": 0.69, "event-like input to the SNN": 0.55},
        title="ANN vs SNN similarity by input (ε = 8/255 for the attacks)", ylabel="mean diagonal CKA"),
    "plot.curves": lambda: plot.curves([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
                                       {"RMSE": np.linspace(1, 0.03, 11)}, title="C", xlabel="T (steps)",
                                       ylabel="RMSE", logx=True),
    "plot.count_distribution": lambda: plot.count_distribution(torch.randint(0, 12, (500,)), 25, 0.2, title="D"),
    "plot.encoding_overview": lambda: plot.encoding_overview((torch.rand(25, 28, 28) < 0.1).float(), title="E"),
    "plot.learning_curves[2 epochs]": lambda: plot.learning_curves({"CNN": _history(2), "SNN (T = 2)": _history(2)},
                                                                   title="L"),
    "plot.learning_curves[6 epochs]": lambda: plot.learning_curves({"CNN": _history(6)}, title="L"),
    "plot.learning_curves[30 epochs]": lambda: plot.learning_curves({"CNN": _history(30)}, title="L"),
    "plot.membrane_trace": lambda: plot.membrane_trace(torch.rand(200), torch.rand(200), torch.rand(200) < 0.1,
                                                       threshold=1.0, title="T", dt=1e-3),
    "plot.histograms": lambda: plot.histograms({"CNN: ReLU activation (a.u.)": torch.rand(2000, 256) * 5,
                                                "SNN: firing rate (spikes/step)": torch.rand(2000, 256)},
                                               title="H", xlabel="feature value", ylabel="unit x image"),
    "plot.histograms[sparse features]": lambda: plot.histograms(
        {"CNN: ReLU activation (a.u.)": torch.relu(torch.randn(2000, 256) - 1.3) * 3,
         "SNN: firing rate (spikes/step)": (torch.rand(2000, 256) < 0.3).float() * torch.randint(1, 3, (2000, 256)) / 2},
        title="H", xlabel="feature value", ylabel="unit x image"),
    "plot.rate_histograms": lambda: plot.rate_histograms({f"layer {i}": torch.rand(100, 50) for i in range(4)},
                                                         title="RH"),
    "plot.heatmap": lambda: plot.heatmap(torch.rand(9, 9), title="K", xlabel="layer", ylabel="layer",
                                         xticklabels=["stem"] + [f"block {i}" for i in range(1, 9)],
                                         yticklabels=["stem"] + [f"block {i}" for i in range(1, 9)]),
    "plot.heatmaps": lambda: plot.heatmaps({"ANN seed 0 vs ANN seed 1": torch.rand(7, 7),
                                            "SNN seed 0 vs SNN seed 1": torch.rand(7, 7),
                                            "ANN seed 0 vs SNN seed 0": torch.rand(7, 7)},
                                           title="CKA", xlabel="layer of the 2nd network",
                                           ylabel="layer of the 1st network",
                                           ticklabels=["stem"] + [f"block {i}" for i in range(1, 7)]),
    "plot.heatmaps[time steps]": lambda: plot.heatmaps({f"block {i}": torch.rand(4, 4) for i in range(1, 5)},
                                                       title="CKA over time", xlabel="time step",
                                                       ylabel="time step"),
    "learned.kernel_tiles": lambda: learned.kernel_tiles(torch.randn(16, 3, 5, 5), title="conv1", scale=4),
    "learned.kernel_channels": lambda: learned.kernel_channels(torch.randn(48, 16, 5, 5), range(0, 48, 6),
                                                               range(16), title="conv2",
                                                               in_kernels=torch.randn(16, 3, 5, 5)),
    "learned.kernel_channels[wide]": lambda: learned.kernel_channels(torch.randn(192, 64, 5, 5), range(8),
                                                                     range(48, 64), title="conv2",
                                                                     in_kernels=torch.randn(64, 3, 11, 11)),
    "learned.image_matrix": lambda: learned.image_matrix(
        {row: {col: torch.rand(3, 64, 64) for col in ("layer (DeepDream)", "channel 28", "neuron 28 at (10, 10)")}
         for row in ("early (conv2)", "middle (conv3)", "deep (conv5)")}, title="FV"),
    "learned.steps_strip": lambda: learned.steps_strip([torch.rand(3, 64, 64) for _ in range(6)],
                                                       [0, 8, 16, 32, 64, 128], title="S",
                                                       values=[0.01, 0.5, 1.2, 2.3, 3.1, 3.3], unit="act."),
    "learned.activation_evidence": lambda: learned.activation_evidence(
        list(range(0, 129, 8)), np.linspace(0, 3, 17).tolist(), torch.rand(256), title="A",
        ylabel="mean activation after ReLU (a.u.)"),
    "learned.receptive_field_figure": lambda: learned.receptive_field_figure(torch.rand(3, 32, 32), *_fields()[:1],
                                                                             title="RF", names=_fields()[1]),
    "plot.interval_bars[lab 07]": lambda: plot.interval_bars(
        {"ANN seed 0 vs ANN seed 1": (0.77, 0.74, 0.80), "ANN vs SNN (3 pairs)": (0.78, 0.75, 0.81),
         "untrained vs trained ANN": 0.3, "event-like input to the SNN": (0.55, 0.5, 0.6)},
        title="CKA", xlabel="mean diagonal CKA", reference=0.77, reference_label="ANN-ANN yardstick"),
    "boxes.box_grid": lambda: boxes.box_grid(
        torch.rand(8, 1, 64, 64), {"truth": torch.tensor([[10.0, 12.0, 34.0, 36.0]] * 8),
                                   "SNN": torch.tensor([[12.0, 10.0, 30.0, 40.0]] * 8)},
        title="B", titles=[f"IoU 0.{k} (digit {k})" for k in range(8)]),
    "boxes.iou_diagram": lambda: boxes.iou_diagram((20, 20, 40, 40), (10, 10, 30, 30), title="IoU"),
    "boxes.grouped_interval_bars": lambda: boxes.grouped_interval_bars(
        {net: {size: Interval(0.5, 0.45, 0.55, 0.95, 100, "toy") for size in ("small (<18 px)", "medium (18-23 px)",
                                                                              "large (>=24 px)")}
         for net in ("ANN", "SNN", "mean-box baseline")},
        title="IoU by size", xlabel="object size (px)", ylabel="mean IoU"),
    "reconstruction.reconstruction_grid": lambda: reconstruction.reconstruction_grid(
        torch.rand(4, 1, 28, 28), (torch.rand(10, 4, 1, 28, 28) < 0.2).float(), [0, 4, 9],
        title="MNIST (offline training split)", baseline=torch.rand(4, 1, 28, 28), dt=5e-3),
    "reconstruction.embedding_maps": lambda: reconstruction.embedding_maps(
        {"SAE": np.random.rand(200, 2), "AE": np.random.rand(200, 2)}, np.arange(200) % 10,
        [str(k) for k in range(10)], title="UMAP"),
    "reconstruction.sweep": lambda: reconstruction.sweep(
        [2, 4, 8, 16, 32, 64, 128, 256], {m: [Interval(0.6, 0.55, 0.65, 0.95, 500, "toy")] * 8 for m in ("SAE", "AE")},
        title="S", xlabel="embedding size (units)", ylabel="test nRMSE", logx=True,
        reference={"noise floor": [0.37] * 8}),
    "reconstruction.value_heatmap": lambda: reconstruction.value_heatmap(
        np.random.rand(4, 5), [f"{f} Hz" for f in (0, 5, 10, 20, 50)], [f"{f} Hz" for f in (50, 100, 200, 400)],
        title="H", xlabel="f_off", ylabel="f_on", colorbar_label="test nRMSE"),
    "reconstruction.value_heatmaps": lambda: reconstruction.value_heatmaps(
        {"SAE": (np.random.rand(3, 4), "nRMSE"), "contrast gain": (np.random.rand(3, 4), "x", "{:.2f}")},
        [f"{f} Hz" for f in (0, 10, 20, 50)], [f"{f} Hz" for f in (100, 200, 400)],
        title="HH", xlabel="f_off", ylabel="f_on"),
    "search.best_so_far": lambda: search.best_so_far(
        {"deep channel 47 (body.layers.5)": {m: np.maximum.accumulate(np.random.rand(3, 1000), axis=1)
                                             for m in ("PROTES (TT)", "random", "(1+λ) ES")},
         "early channel 8 (body.layers.2)": {"random": np.maximum.accumulate(np.random.rand(3, 1000), axis=1)}},
        title="B", ylabel="firing rate (spikes per step)",
        references={"deep channel 47 (body.layers.5)": {"best test digit": 0.64, "gradient ascent": 0.75}}),
    "search.preferred_inputs": lambda: search.preferred_inputs(
        {f"deep channel {c}": {e: torch.rand(1, 28, 28) for e in range(6)} for c in (47, 53, 8)},
        {e: 10.0 + 15 * e for e in range(6)}, title="P",
        values={"deep channel 47": {e: 0.1 * e for e in range(6)}},
        captions={"deep channel 47": {e: f"reads as {e}" for e in range(6)}}),
}

#: Public functions of labkit.viz modules that do not draw a figure.
NOT_FIGURES = {"plot.use_style", "learned.symmetric_rgb", "learned.colour_energy", "learned.spatial_energy"}


def _plotting_functions() -> list[str]:
    """Every public function of every ``labkit.viz`` module (but widgets), as ``"module.function"``."""
    found = []
    for info in pkgutil.iter_modules(labkit.viz.__path__):
        if info.name == "widgets":  # interact calls the lab's own drawing function
            continue
        module = importlib.import_module(f"labkit.viz.{info.name}")
        for name in getattr(module, "__all__", []):
            if inspect.isfunction(getattr(module, name)) and f"{info.name}.{name}" not in NOT_FIGURES:
                found.append(f"{info.name}.{name}")
    return sorted(found)


def test_every_plotting_function_is_covered():
    """A new plotting function in labkit.viz needs a representative call in FIGURES (or a place in NOT_FIGURES)."""
    covered = {key.split("[")[0] for key in FIGURES}
    missing = sorted(set(_plotting_functions()) - covered)
    assert not missing, f"add representative calls to FIGURES for {missing}"


@pytest.mark.parametrize("key", sorted(FIGURES))
def test_tick_labels_do_not_overlap(key):
    fig = FIGURES[key]()
    assert overlapping_tick_labels(fig) == []


def test_the_overlap_check_can_fail():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.bar(["a long label", "another long label", "a third one"], [1, 2, 3])
    assert overlapping_tick_labels(fig)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.bar(["a long label", "another long label", "a third one"], [1, 2, 3])
    ax.tick_params(axis="x", rotation=90)
    assert overlapping_tick_labels(fig) == []
