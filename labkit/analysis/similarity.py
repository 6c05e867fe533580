"""Layer-by-layer CKA between networks, over a whole data set, in minibatches.

Joins :func:`labkit.analysis.record_features` (what each layer outputs) and
:class:`labkit.analysis.cka.MinibatchCKA` (unbiased HSIC accumulated over batches), so a
comparison over thousands of images never builds an ``n x n`` matrix.

A :class:`Net` names a model, the layers to compare and how to read them:
``spiking=True`` for models with time-first outputs ``[T, B, ...]`` (their layers
are read as firing rates, or per time step in :func:`~labkit.analysis.time_step_cka`), and an
optional ``inputs`` function that turns an image batch into that model's input
(e.g. a rate-coded spike sequence).

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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import torch
from torch import nn

from .cka import MinibatchCKA
from .record import record_features

__all__ = ["Net", "layer_cka", "time_step_cka"]


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


def layer_cka(x: Net, y: Net, loader: Iterable, device: torch.device | str = "cpu") -> torch.Tensor:
    """Debiased CKA between every layer of ``x`` and every layer of ``y`` over all batches of ``loader``.

    Both models see the same images (each through its own ``inputs``). Spiking
    layers are compared by their firing rates (time average).

    Returns
    -------
    torch.Tensor
        ``[len(x.layers), len(y.layers)]`` float64 CKA values.
    """
    for net in (x, y):
        net.model.eval().to(device)
    cka = MinibatchCKA(len(x.layers), len(y.layers))
    for images in _batches(loader, device):
        cka.update(x.features(images), y.features(images))
    return cka.compute()


def time_step_cka(net: Net, loader: Iterable, device: torch.device | str = "cpu") -> torch.Tensor:
    """For each layer of a spiking ``net``, the CKA between its representations at every pair of time steps.

    Returns
    -------
    torch.Tensor
        ``[layers, T, T]``: entry ``[l, s, t]`` compares layer ``l`` at steps ``s`` and ``t``.
    """
    if not net.spiking:
        raise ValueError("time_step_cka needs a spiking Net (spiking=True): an ANN has no time steps.")
    net.model.eval().to(device)
    accumulators: list[MinibatchCKA] = []
    for images in _batches(loader, device):
        per_layer = net.features(images, time="steps")  # each [T, B, D]
        if not accumulators:
            accumulators = [MinibatchCKA(f.shape[0], f.shape[0]) for f in per_layer]
        for acc, f in zip(accumulators, per_layer):
            steps = list(f.unbind(0))
            acc.update(steps, steps)
    if not accumulators:
        raise ValueError("loader is empty.")
    return torch.stack([acc.compute() for acc in accumulators])
