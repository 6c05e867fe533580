"""Layer-by-layer CKA between networks, over a whole data set, in minibatches.

Joins :func:`labkit.analysis.record_features` (what each layer outputs) and
:class:`labkit.analysis.cka.MinibatchCKA` (unbiased HSIC accumulated over batches), so a
comparison over thousands of images never builds an ``n x n`` matrix.

A :class:`Net` names a model, the layers to compare and how to read them:
``spiking=True`` for models with time-first outputs ``[T, B, ...]`` (their layers
are read as firing rates, or per time step in :func:`~labkit.analysis.time_step_cka`), and an
optional ``inputs`` function that turns an image batch into that model's input
(e.g. a rate-coded spike sequence).

Findings need intervals: :func:`layer_cka_batches` and :func:`time_step_cka_batches`
keep each batch's HSIC terms, and :func:`cka_interval` resamples the batches of
images (the same batches for every comparison, so differences are paired) to put a
bootstrap interval around any number read from the CKA matrices. The summaries the
labs read from a matrix are here too: :func:`diagonal_mean` (corresponding layers),
:func:`periodicity` (the residual pattern of Li et al., 2023) and
:func:`step_similarity` (how much a spiking layer changes over time steps).

Examples
--------
>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
>>> data = [(torch.randn(32, 6), torch.zeros(32)) for _ in range(3)]
>>> a = Net(net, ["0", "2"])
>>> m = layer_cka(a, a, data)
>>> [round(v, 6) for v in m.diagonal().tolist()]
[1.0, 1.0]
>>> b = Net(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4)), ["0", "2"])
>>> acc = layer_cka_batches(a, b, data)
>>> ci = cka_interval(diagonal_mean, acc, n_boot=200)
>>> ci.low <= ci.estimate <= ci.high
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..spiking import LIF
from ..stats import Interval, bootstrap
from .cka import MinibatchCKA
from .record import record_features

__all__ = ["Net", "layer_cka", "layer_cka_batches", "time_step_cka", "time_step_cka_batches", "cka_interval",
           "diagonal_mean", "periodicity", "step_similarity", "LayerSet", "residual_layers"]


@dataclass
class Net:
    """A model, the names of the layers to compare, and how to feed and read it."""

    model: nn.Module
    layers: Sequence[str]
    spiking: bool = False
    inputs: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)

    def features(self, x: torch.Tensor, time: str = "rate") -> list[torch.Tensor]:
        """Features of every layer for the batch ``x`` (``[B, D]``, or ``[T, B, D]`` with ``time="steps"``)."""
        x = self.inputs(x) if self.inputs is not None else x
        with torch.no_grad(), record_features(self.model, self.layers, time, time_axis=self.spiking) as rec:
            return list(rec.run(x).values())


def _batches(loader: Iterable, device: torch.device | str) -> Iterable[torch.Tensor]:
    for batch in loader:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        yield x.to(device)


def layer_cka_batches(x: Net, y: Net, loader: Iterable, device: torch.device | str = "cpu") -> MinibatchCKA:
    """:func:`~labkit.analysis.layer_cka` that keeps each batch's HSIC terms: ``.compute()`` gives the matrix,
    :func:`cka_interval` an interval for anything read from it."""
    for net in (x, y):
        net.model.eval().to(device)
    cka = MinibatchCKA(len(x.layers), len(y.layers), keep_batches=True)
    for images in _batches(loader, device):
        fx = x.features(images)
        cka.update(fx, fx if y is x else y.features(images))  # a network with itself runs once
    if cka.batches == 0:
        raise ValueError("loader is empty.")
    return cka


def layer_cka(x: Net, y: Net, loader: Iterable, device: torch.device | str = "cpu") -> torch.Tensor:
    """Debiased CKA between every layer of ``x`` and every layer of ``y`` over all batches of ``loader``.

    Both models see the same images (each through its own ``inputs``). Spiking
    layers are compared by their firing rates (time average).

    Returns
    -------
    torch.Tensor
        ``[len(x.layers), len(y.layers)]`` float64 CKA values.
    """
    return layer_cka_batches(x, y, loader, device).compute()


def time_step_cka_batches(net: Net, loader: Iterable, device: torch.device | str = "cpu") -> list[MinibatchCKA]:
    """:func:`~labkit.analysis.time_step_cka` that keeps each batch's HSIC terms: one accumulator per layer, each ``[T, T]``."""
    if not net.spiking:
        raise ValueError("time_step_cka needs a spiking Net (spiking=True): an ANN has no time steps.")
    net.model.eval().to(device)
    accumulators: list[MinibatchCKA] = []
    for images in _batches(loader, device):
        per_layer = net.features(images, time="steps")  # each [T, B, D]
        if not accumulators:
            accumulators = [MinibatchCKA(f.shape[0], f.shape[0], keep_batches=True) for f in per_layer]
        for acc, f in zip(accumulators, per_layer):
            steps = list(f.unbind(0))
            acc.update(steps, steps)
    if not accumulators:
        raise ValueError("loader is empty.")
    return accumulators


def time_step_cka(net: Net, loader: Iterable, device: torch.device | str = "cpu") -> torch.Tensor:
    """For each layer of a spiking ``net``, the CKA between its representations at every pair of time steps.

    Returns
    -------
    torch.Tensor
        ``[layers, T, T]``: entry ``[l, s, t]`` compares layer ``l`` at steps ``s`` and ``t``.
    """
    return torch.stack([acc.compute() for acc in time_step_cka_batches(net, loader, device)])


def cka_interval(statistic: Callable[..., float | torch.Tensor], *accumulators: MinibatchCKA, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> Interval:
    """Bootstrap interval of ``statistic(*matrices)`` over the batches of images the CKA was accumulated on.

    Each draw resamples the batches (with repetition) and recomputes every
    accumulator's CKA matrix from the same batches, so a statistic that compares
    two accumulators over the same loader (a difference) is a paired comparison.
    The interval covers the choice of images, not the training run: for that,
    compare networks trained from several seeds (:func:`labkit.stats.over_seeds`).

    Parameters
    ----------
    statistic
        ``statistic(m1, m2, ...) -> float``, one CKA matrix per accumulator,
        e.g. :func:`diagonal_mean` or ``lambda a, b: diagonal_mean(a) - diagonal_mean(b)``.
    *accumulators
        From :func:`layer_cka_batches` or :func:`time_step_cka_batches`, all
        over the same loader (same number of batches).
    n_boot, level, seed
        As in :func:`labkit.stats.bootstrap`.
    """
    if not accumulators:
        raise ValueError("cka_interval needs at least one accumulator (from layer_cka_batches).")
    counts = {acc.batches for acc in accumulators}
    if any(not acc.keep_batches for acc in accumulators):
        raise ValueError("cka_interval needs per-batch terms: use layer_cka_batches / time_step_cka_batches.")
    if len(counts) != 1:
        raise ValueError(f"the accumulators hold different numbers of batches {sorted(counts)}; "
                         "accumulate them over the same loader.")
    n = counts.pop()
    if n < 2:
        raise ValueError("cka_interval needs at least 2 batches of images; use a smaller batch_size in the loader.")

    def resampled(index: np.ndarray) -> float:
        batches = index.astype(int).tolist()
        return float(statistic(*[acc.compute(batches) for acc in accumulators]))

    return bootstrap(np.arange(n), resampled, n_boot=n_boot, level=level, seed=seed, unit="batches of images")


def diagonal_mean(m: torch.Tensor) -> float:
    """Mean CKA between corresponding layers (the diagonal of a square layer x layer matrix)."""
    if m.dim() != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"diagonal_mean needs a square [layers, layers] matrix, got shape {tuple(m.shape)}.")
    return float(m.diagonal().mean())


def periodicity(m: torch.Tensor, inside: Sequence[bool]) -> float:
    """How much the layers inside residual blocks stand out from the block outputs around them.

    For every layer inside a block (``inside[i]``), with ``p`` the block output
    (or stem) before it and ``q`` the block output after it, compare the CKA that
    skips it, ``m[p, q]``, with the CKA through it, ``(m[p, i] + m[i, q]) / 2``;
    the result is the mean of ``skip - through``. Positive: block outputs resemble
    each other more than the layer between them, the periodic pattern that
    Li et al. (2023) found in residual SNNs. In a plain chain of layers the value
    is usually negative (similarity falls with distance).

    Parameters
    ----------
    m
        A network's layer x layer CKA with itself, layers in forward order.
    inside
        For each layer, whether it lies inside a block (``LayerSet.inside``).

    Examples
    --------
    >>> m = torch.tensor([[1.0, 0.5, 0.9], [0.5, 1.0, 0.5], [0.9, 0.5, 1.0]])
    >>> round(periodicity(m, [False, True, False]), 3)
    0.4
    """
    if m.dim() != 2 or m.shape[0] != m.shape[1] or len(inside) != m.shape[0]:
        raise ValueError(f"periodicity needs a square matrix and one inside flag per layer, got shape "
                         f"{tuple(m.shape)} and {len(inside)} flags.")
    gaps = []
    for i, flag in enumerate(inside):
        if not flag:
            continue
        before = [p for p in range(i) if not inside[p]]
        after = [q for q in range(i + 1, len(inside)) if not inside[q]]
        if before and after:
            p, q = before[-1], after[0]
            gaps.append(float(m[p, q]) - (float(m[p, i]) + float(m[i, q])) / 2)
    if not gaps:
        raise ValueError("periodicity needs layers inside blocks with a block output on each side.")
    return float(np.mean(gaps))


def step_similarity(m: torch.Tensor, first: int = 0) -> float:
    """Mean CKA between different time steps of one layer, from step ``first`` on (``m`` is ``[T, T]``).

    ``first=1`` leaves out step 0, where membranes start at zero and a layer's
    representation is special; ``1 - step_similarity`` is how much the layer varies
    over time.

    Examples
    --------
    >>> m = torch.tensor([[1.0, 0.2, 0.2], [0.2, 1.0, 0.9], [0.2, 0.9, 1.0]])
    >>> round(step_similarity(m), 3), round(step_similarity(m, first=1), 3)
    (0.433, 0.9)
    """
    sub = m[first:, first:]
    k = sub.shape[0]
    if m.dim() != 2 or m.shape[0] != m.shape[1] or k < 2:
        raise ValueError(f"step_similarity needs a square [T, T] matrix with at least 2 steps from step {first}, "
                         f"got shape {tuple(m.shape)}.")
    return float((sub.sum() - sub.diagonal().sum()) / (k * k - k))


@dataclass(frozen=True)
class LayerSet:
    """Layers of a network to compare: submodule ``names``, short ``labels`` and which lie ``inside`` blocks."""

    names: list[str]
    labels: list[str]
    inside: list[bool]


def residual_layers(model: nn.Module, inside: bool = True) -> LayerSet:
    """The stem and every block output of a ``labkit.models`` residual network, and the activation inside each block.

    Works for both twins (:func:`labkit.models.resnet_ann`, :func:`labkit.models.resnet_snn`),
    so the same places are compared in both. The activation inside block ``k``
    (its ReLU, or its LIF layer) is labelled ``"k mid"``, the block's output ``"k"``.

    Examples
    --------
    >>> from labkit.models import resnet_ann, resnet_snn
    >>> residual_layers(resnet_ann(width=4, depth=1)).labels
    ['stem', '1 mid', '1', '2 mid', '2']
    >>> residual_layers(resnet_snn(2, width=4, depth=1)).names[1]
    'body.1.path.layers.2'
    >>> residual_layers(resnet_ann(width=4, depth=1), inside=False).names
    ['body.0', 'body.1', 'body.2']
    """
    body = getattr(model, "body", None)
    if not isinstance(body, nn.Sequential) or len(body) < 2 or not all(hasattr(b, "path") for b in body[1:]):
        raise TypeError("residual_layers expects a network built by labkit.models.resnet_ann or resnet_snn.")
    names, labels, flags = ["body.0"], ["stem"], [False]
    for k, block in enumerate(body[1:], start=1):
        if inside:
            mid = next((n for n, m in block.path.named_modules() if isinstance(m, (nn.ReLU, LIF))), None)
            if mid is None:
                raise TypeError(f"block {k} has no ReLU or LIF layer inside its path.")
            names.append(f"body.{k}.path.{mid}")
            labels.append(f"{k} mid")
            flags.append(True)
        names.append(f"body.{k}")
        labels.append(str(k))
        flags.append(False)
    return LayerSet(names, labels, flags)
