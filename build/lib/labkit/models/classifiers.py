"""Networks shared by the labs, built on :mod:`labkit.spiking`.

Examples
--------
>>> import torch
>>> net = mnist_snn(num_steps=4, channels=(4, 8))
>>> net(torch.rand(2, 1, 28, 28)).shape
torch.Size([2, 10])
>>> cnn, snn = cifar_cnn(channels=(4, 8), hidden=16), cifar_snn(num_steps=3, channels=(4, 8), hidden=16)
>>> cnn.features(torch.rand(2, 3, 32, 32)).shape, snn.features(torch.rand(2, 3, 32, 32)).shape
(torch.Size([2, 16]), torch.Size([2, 16]))
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.augment import RandomCropFlip
from ..spiking import LIF, MeanOverTime, SpikeFn, SpikingSequential

__all__ = ["mnist_snn", "FeatureClassifier", "cifar_cnn", "cifar_snn"]


def mnist_snn(
    num_steps: int,
    spike_grad: SpikeFn | None = None,
    beta: float = 0.9,
    channels: tuple[int, int] = (12, 64),
) -> FeatureClassifier:
    """Convolutional SNN for 28x28 digits, as in snnTorch's tutorial 6.

    Body: ``conv 5x5 (c1) - maxpool 2 - LIF - conv 5x5 (c2) - maxpool 2 - LIF - flatten``,
    spikes ``[T, B, D]``; head: ``linear (10)`` into a non-spiking LIF readout whose
    mean membrane over ``num_steps`` steps gives the class scores for cross-entropy.
    The image is shown at every step (static input), so the first convolution runs once.

    Parameters
    ----------
    num_steps
        Time steps per image.
    spike_grad
        Surrogate from :mod:`snntorch.surrogate` for every spiking layer.
    beta
        Membrane decay of every layer.
    channels
        Channels of the two convolutions.

    Examples
    --------
    >>> net = mnist_snn(num_steps=3)
    >>> net(torch.rand(2, 1, 28, 28)).shape, net.features(torch.rand(2, 1, 28, 28)).shape
    (torch.Size([2, 10]), torch.Size([3, 2, 1024]))
    """
    c1, c2 = channels

    def lif(**kw):
        return LIF(beta=beta, spike_grad=spike_grad, **kw)

    body = SpikingSequential(nn.Conv2d(1, c1, 5), nn.MaxPool2d(2), lif(),
                             nn.Conv2d(c1, c2, 5), nn.MaxPool2d(2), lif(), nn.Flatten(), num_steps=num_steps)
    head = SpikingSequential(nn.Linear(c2 * 4 * 4, 10), lif(reset_mechanism="none", output="membrane"),
                             MeanOverTime(), num_steps=num_steps, static_input=False)
    return FeatureClassifier(body, head)


class FeatureClassifier(nn.Module):
    """labkit's one model convention: a ``body`` that computes the representation and a ``head`` that reads it out.

    ``features(x) = body(x)`` is what the analyses compare (``[B, D]`` features, or
    spikes ``[T, B, ...]`` for a spiking body without a time reduction, or feature
    maps); ``forward(x) = head(features(x))`` gives class scores. Layers inside are
    named ``body.…`` and ``head.…`` for :func:`labkit.analysis.record_features`.
    """

    def __init__(self, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.body, self.head = body, head

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``[B, D]``."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.head(self.features(x))


def _conv_block(c_in: int, c_out: int, activation: nn.Module) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), activation, nn.MaxPool2d(2)]


def cifar_cnn(channels: tuple[int, int] = (32, 64), hidden: int = 256, augment: bool = True) -> FeatureClassifier:
    """CNN for 32x32 RGB: two blocks (Conv2d 3x3, BatchNorm2d, ReLU, MaxPool2d) and an MLP head.

    Features are the ``hidden`` ReLU units of the MLP (non-negative, arbitrary units).

    Parameters
    ----------
    channels
        Channels of the two convolution blocks.
    hidden
        Width of the penultimate (feature) layer.
    augment
        Random crop and flip of the input while training (:class:`labkit.data.augment.RandomCropFlip`).
    """
    c1, c2 = channels
    body = nn.Sequential(
        *([RandomCropFlip()] if augment else []),
        *_conv_block(3, c1, nn.ReLU()), *_conv_block(c1, c2, nn.ReLU()),
        nn.Flatten(), nn.Linear(c2 * 8 * 8, hidden), nn.ReLU(),
    )
    return FeatureClassifier(body, nn.Linear(hidden, 10))


def cifar_snn(
    num_steps: int,
    channels: tuple[int, int] = (32, 64),
    hidden: int = 256,
    beta: float = 0.9,
    spike_grad: SpikeFn | None = None,
    augment: bool = True,
) -> FeatureClassifier:
    """The spiking twin of :func:`cifar_cnn`: the same layers with a LIF layer in place of every ReLU.

    The image is shown at each of ``num_steps`` steps (the first convolution and
    batch norm run once). Features are the firing rates of the ``hidden`` LIF
    neurons, averaged over time (spikes per step, in [0, 1]); the head is a
    linear readout of those rates.

    Parameters
    ----------
    num_steps
        Time steps per image.
    channels, hidden, augment
        As in :func:`cifar_cnn`.
    beta, spike_grad
        Membrane decay and surrogate of every LIF layer.
    """
    c1, c2 = channels

    def lif() -> LIF:
        return LIF(beta=beta, spike_grad=spike_grad)

    body = SpikingSequential(
        *([RandomCropFlip()] if augment else []),
        *_conv_block(3, c1, lif()), *_conv_block(c1, c2, lif()),
        nn.Flatten(), nn.Linear(c2 * 8 * 8, hidden), lif(), MeanOverTime(),
        num_steps=num_steps,
    )
    return FeatureClassifier(body, nn.Linear(hidden, 10))
