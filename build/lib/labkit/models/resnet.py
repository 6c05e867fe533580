"""Small residual networks for 32x32 images, as ANN and SNN twins with the same layout.

Layout (``depth`` blocks per stage, stage widths ``width``, ``2 width``):

``stem (conv 3x3, BN, act) - stage 1 - stage 2 (first block strides 2) - global average pool - linear``

Each block is ``conv, BN, act, conv, BN`` plus the shortcut (identity, or a 1x1
convolution with BN when the shape changes), followed by ``act``. In the ANN
``act`` is ReLU; in the SNN it is a :class:`labkit.spiking.LIF` layer, the shortcut
adds the block's input spikes to the input current of its output neurons (the
"spiking ResNet" arrangement), and the classifier reads the mean membrane of a
non-spiking LIF over time. ``residual=False`` removes every shortcut.

Both twins are :class:`~labkit.models.FeatureClassifier`: the ``body`` is the stem
and the blocks, the ``head`` the pooling and the linear readout. The outputs of the
stem and of every block are named ``body.0`` ... ``body.K`` in both twins
(:func:`~labkit.models.block_names`), so :func:`labkit.analysis.record_features` records the same
places in both.

Examples
--------
>>> import torch
>>> ann = resnet_ann(width=4, depth=1)
>>> snn = resnet_snn(num_steps=2, width=4, depth=1)
>>> ann(torch.rand(2, 3, 32, 32)).shape, snn(torch.rand(2, 3, 32, 32)).shape
(torch.Size([2, 10]), torch.Size([2, 10]))
>>> block_names(ann) == block_names(snn) == ["body.0", "body.1", "body.2"]
True
"""

from __future__ import annotations

import torch
from torch import nn

from ..spiking import LIF, MeanOverTime, SpikeFn, SpikingSequential
from .classifiers import FeatureClassifier

__all__ = ["resnet_ann", "resnet_snn", "block_names", "set_static_input", "BasicBlock", "SpikingBlock"]


def _conv_bn(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out)]


class BasicBlock(nn.Module):
    """ANN residual block: ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, residual: bool = True) -> None:
        super().__init__()
        self.path = nn.Sequential(*_conv_bn(c_in, c_out, stride=stride), nn.ReLU(), *_conv_bn(c_out, c_out))
        self.residual = residual
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out
                         else nn.Sequential(*_conv_bn(c_in, c_out, kernel=1, stride=stride)))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out = self.path(x)
        return self.act(out + self.shortcut(x) if self.residual else out)


class SpikingBlock(nn.Module):
    """SNN residual block on ``[T, B, C, H, W]``: ``LIF(bn(conv(LIF(bn(conv(x))))) + shortcut(x))``."""

    temporal = True

    def __init__(self, c_in: int, c_out: int, num_steps: int, stride: int = 1, residual: bool = True,
                 beta: float = 0.9, spike_grad: SpikeFn | None = None) -> None:
        super().__init__()
        self.path = SpikingSequential(*_conv_bn(c_in, c_out, stride=stride), LIF(beta, spike_grad=spike_grad),
                                      *_conv_bn(c_out, c_out), num_steps=num_steps, static_input=False)
        self.residual = residual
        self.shortcut = (None if stride == 1 and c_in == c_out else
                         SpikingSequential(*_conv_bn(c_in, c_out, kernel=1, stride=stride),
                                           num_steps=num_steps, static_input=False))
        self.act = LIF(beta, spike_grad=spike_grad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        current = self.path(x)
        if self.residual:
            current = current + (x if self.shortcut is None else self.shortcut(x))
        return self.act(current)


def _stages(width: int, depth: int) -> list[tuple[int, int, int]]:
    """``(c_in, c_out, stride)`` of every block."""
    if width < 1 or depth < 1:
        raise ValueError(f"width and depth must be >= 1, got width={width}, depth={depth}.")
    plan, c = [], width
    for stage, c_out in enumerate((width, 2 * width)):
        for i in range(depth):
            plan.append((c, c_out, 2 if stage == 1 and i == 0 else 1))
            c = c_out
    return plan


def resnet_ann(width: int = 16, depth: int = 2, residual: bool = True, stem_stride: int = 1) -> FeatureClassifier:
    """The ANN twin (see the module docstring). ``body.0`` is the stem; ``body.1 ...`` the blocks.

    ``stem_stride=2`` halves the stem's output side (32 -> 16 px), which makes every
    block four times cheaper: the quick-mode size.
    """
    plan = _stages(width, depth)
    blocks = [nn.Sequential(*_conv_bn(3, width, stride=stem_stride), nn.ReLU())]
    blocks += [BasicBlock(c_in, c_out, stride, residual) for c_in, c_out, stride in plan]
    return FeatureClassifier(nn.Sequential(*blocks),
                             nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 10)))


def resnet_snn(num_steps: int, width: int = 16, depth: int = 2, residual: bool = True, beta: float = 0.9,
               spike_grad: SpikeFn | None = None, stem_stride: int = 1) -> FeatureClassifier:
    """The SNN twin: the image is shown at every step; ``body.K`` outputs spikes ``[T, B, C, H, W]``."""
    plan = _stages(width, depth)
    stem = SpikingSequential(*_conv_bn(3, width, stride=stem_stride), LIF(beta, spike_grad=spike_grad),
                             num_steps=num_steps)
    blocks = [SpikingBlock(c_in, c_out, num_steps, stride, residual, beta, spike_grad)
              for c_in, c_out, stride in plan]
    head = SpikingSequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 10),
                             LIF(beta, spike_grad=spike_grad, reset_mechanism="none", output="membrane"),
                             MeanOverTime(), num_steps=num_steps, static_input=False)
    return FeatureClassifier(nn.Sequential(stem, *blocks), head)


def block_names(net: nn.Module) -> list[str]:
    """Names of the stem and block outputs, for :func:`labkit.analysis.record_features`."""
    return [f"body.{i}" for i in range(len(net.body))]


def set_static_input(net: nn.Module, static: bool) -> nn.Module:
    """Switch a :func:`resnet_snn` between still images ``[B, C, H, W]`` and sequences ``[T, B, C, H, W]``.

    With ``static=False`` the network takes a time-varying input, e.g. a rate-coded
    spike train of the image (:func:`labkit.spiking.encoding.rate`) or event frames, with
    the same weights.
    """
    stem = net.body[0] if isinstance(getattr(net, "body", None), nn.Sequential) else None
    if not isinstance(stem, SpikingSequential):
        raise TypeError("set_static_input expects a network built by resnet_snn.")
    stem.static_input = static
    return net
