"""A convolutional spiking classifier for event frames, with the kernel size as a setting.

Event frames come from loaders batch first, ``[B, T, 2, H, W]`` (ON and OFF
channels, one frame per time bin); :class:`TimeFirst` turns them into the
time-first sequence that :class:`~labkit.spiking.SpikingSequential` runs.

Examples
--------
>>> import torch
>>> net = event_snn(kernel_size=3, channels=(4, 8))
>>> net(torch.randint(0, 2, (2, 5, 2, 28, 28), dtype=torch.uint8)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

import torch
from torch import nn

from ..checks import check_int
from ..spiking import LIF, MeanOverTime, SpikeFn, SpikingSequential
from .classifiers import FeatureClassifier

__all__ = ["TimeFirst", "event_snn"]


class TimeFirst(nn.Module):
    """``[B, T, ...] -> [T, B, ...]`` as floats: a batch of event recordings as a time-first spike sequence."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if x.dim() < 3:
            raise ValueError(f"x must be recordings [B, T, ...], got shape {tuple(x.shape)}.")
        return x.transpose(0, 1).float()


def event_snn(
    kernel_size: int = 5,
    channels: tuple[int, int] = (8, 16),
    in_channels: int = 2,
    image_size: int = 28,
    num_classes: int = 10,
    beta: float = 0.9,
    spike_grad: SpikeFn | None = None,
) -> FeatureClassifier:
    """Spiking classifier of event frames: two convolutions (``kernel_size``, same padding), pooling and LIF.

    Body: ``conv k - maxpool 2 - LIF - conv k - maxpool 2 - LIF - flatten`` on
    the time-first frames, spikes ``[T, B, D]``; head: a linear layer into a
    non-spiking LIF readout whose mean membrane over time gives the class scores.
    Runs for as many steps as the recordings have bins.

    Parameters
    ----------
    kernel_size
        Odd kernel size of both convolutions (padding ``kernel_size // 2`` keeps the size).
    channels
        Channels of the two convolutions.
    in_channels, image_size, num_classes
        Input polarities, frame side (a multiple of 4) and classes.
    beta, spike_grad
        Membrane decay and surrogate of every LIF layer.
    """
    kernel_size = check_int(kernel_size, "kernel_size")
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (3, 5, 7 ...), got {kernel_size}.")
    image_size = check_int(image_size, "image_size", minimum=4)
    if image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4 (two 2x2 poolings), got {image_size}.")
    c1, c2 = (check_int(c, "channels") for c in channels)
    pad, side = kernel_size // 2, image_size // 4

    def lif(**kw) -> LIF:
        return LIF(beta=beta, spike_grad=spike_grad, **kw)

    body = nn.Sequential(TimeFirst(), SpikingSequential(
        nn.Conv2d(in_channels, c1, kernel_size, padding=pad), nn.MaxPool2d(2), lif(),
        nn.Conv2d(c1, c2, kernel_size, padding=pad), nn.MaxPool2d(2), lif(), nn.Flatten(),
        num_steps=1, static_input=False))
    head = SpikingSequential(nn.Linear(c2 * side * side, num_classes), lif(reset_mechanism="none", output="membrane"),
                             MeanOverTime(), num_steps=1, static_input=False)
    return FeatureClassifier(body, head)
