"""Firing rates of spiking channels, and a spiking neuron as a black box for gradient-free search.

A spiking channel's *activation* is its mean firing rate: spikes per time step,
averaged over the steps and over the channel's positions, in ``[0, 1]``. With
``T`` steps and ``P`` positions it is a multiple of ``1 / (T P)``, so many
inputs tie. :func:`~labkit.analysis.channel_rates` measures it for every channel of a layer,
read by name with :func:`~labkit.analysis.record_features`;
:class:`RateObjective` wraps one channel as the black box that
:func:`labkit.maximise` queries: index vectors in, through a generator's
decoder, firing rates out, counting every image shown to the network.

Examples
--------
>>> import torch
>>> from labkit.models import mnist_snn
>>> net = mnist_snn(num_steps=4).eval()
>>> rates = channel_rates(net, "body.layers.2", torch.rand(3, 1, 28, 28))
>>> rates.shape, bool(((rates >= 0) & (rates <= 1)).all())
(torch.Size([3, 12]), True)
>>> f = RateObjective(net, "body.layers.5", 7, decode=lambda idx: torch.rand(len(idx), 1, 28, 28))
>>> f(np.zeros((5, 49), dtype=int)).shape, f.queries
((5,), 5)
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from .record import eval_mode, record_features

__all__ = ["channel_rates", "channel_rate", "RateObjective"]


@torch.no_grad()
def channel_rates(model: nn.Module, layer: str, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Mean firing rate of every channel of ``layer`` for each image: ``[N, C]``, spikes per step in ``[0, 1]``.

    Parameters
    ----------
    model
        A spiking network (run in eval mode, on its own device).
    layer
        A spiking layer's name in ``model.named_modules()``, e.g. ``"body.layers.2"``.
    images
        Inputs ``[N, ...]``.
    batch_size
        Images per forward pass.

    Raises
    ------
    ValueError
        For a layer whose output is not ``[B, C, ...]`` per time step.
    """
    device = next(model.parameters()).device
    out = []
    with eval_mode(model), record_features(model, [layer], time="rate", flatten=False, stop_early=True) as rec:
        for chunk in images.split(batch_size):
            rates = rec.run(chunk.to(device))[layer]
            if rates.dim() < 2:
                raise ValueError(f"layer {layer!r} gives shape {tuple(rates.shape)}; a channel needs [B, C, ...].")
            out.append(rates.flatten(2).mean(2).cpu() if rates.dim() > 2 else rates.cpu())
    return torch.cat(out)


def channel_rate(model: nn.Module, layer: str, channel: int, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Mean firing rate ``[N]`` of one channel of ``layer`` for each image (see :func:`~labkit.analysis.channel_rates`)."""
    rates = channel_rates(model, layer, images, batch_size)
    if not 0 <= channel < rates.shape[1]:
        raise IndexError(f"layer {layer!r} has {rates.shape[1]} channels; channel {channel} does not exist.")
    return rates[:, channel]


class RateObjective:
    """A spiking channel as a black box: index vectors ``[k, d]`` in, firing rates ``[k]`` out.

    Each row is decoded into an image by ``decode`` (e.g.
    :meth:`labkit.models.VQVAE.decode`), shown to the network, and scored by the
    channel's mean firing rate. No gradient is computed; :attr:`queries` counts
    the images shown.

    Parameters
    ----------
    model
        The spiking network.
    layer, channel
        Which channel (layer name and channel index).
    decode
        Index vectors (a ``long`` tensor ``[k, d]``) to images ``[k, ...]``.
    batch_size
        Images per forward pass.

    Attributes
    ----------
    queries
        Number of images shown so far.
    """

    def __init__(self, model: nn.Module, layer: str, channel: int,
                 decode: Callable[[torch.Tensor], torch.Tensor], batch_size: int = 500) -> None:
        self.model, self.layer, self.channel, self.decode = model, layer, int(channel), decode
        self.batch_size, self.queries = int(batch_size), 0

    def images(self, indices: np.ndarray | torch.Tensor) -> torch.Tensor:
        """The images that index vectors ``[k, d]`` decode to (no query is counted)."""
        with torch.no_grad():
            return self.decode(torch.as_tensor(np.asarray(indices), dtype=torch.long)).cpu()

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        images = self.images(indices)
        self.queries += len(images)
        return channel_rate(self.model, self.layer, self.channel, images, self.batch_size).double().numpy()

    def __repr__(self) -> str:
        return f"RateObjective(layer={self.layer!r}, channel={self.channel}, queries={self.queries})"
