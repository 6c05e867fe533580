"""Networks shared by the labs, built on :mod:`labkit.snn`.

Examples
--------
>>> import torch
>>> net = mnist_snn(num_steps=4, channels=(4, 8))
>>> net(torch.rand(2, 1, 28, 28)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

from torch import nn

from .snn import LIF, MeanOverTime, SpikeFn, SpikingSequential

__all__ = ["mnist_snn"]


def mnist_snn(
    num_steps: int,
    spike_grad: SpikeFn | None = None,
    beta: float = 0.9,
    channels: tuple[int, int] = (12, 64),
) -> SpikingSequential:
    """Convolutional SNN for 28x28 digits, as in snnTorch's tutorial 6.

    ``conv 5x5 (c1) - maxpool 2 - LIF - conv 5x5 (c2) - maxpool 2 - LIF - linear (10) -``
    non-spiking LIF readout; the output is the readout's mean membrane over
    ``num_steps`` steps (class scores for cross-entropy). The image is shown at
    every step (static input), so the first convolution runs once.

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
    """
    c1, c2 = channels

    def lif(**kw):
        return LIF(beta=beta, spike_grad=spike_grad, **kw)

    return SpikingSequential(
        nn.Conv2d(1, c1, 5), nn.MaxPool2d(2), lif(),
        nn.Conv2d(c1, c2, 5), nn.MaxPool2d(2), lif(),
        nn.Flatten(), nn.Linear(c2 * 4 * 4, 10), lif(reset_mechanism="none", output="membrane"),
        MeanOverTime(), num_steps=num_steps,
    )
