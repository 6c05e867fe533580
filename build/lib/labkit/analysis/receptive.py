"""Receptive fields of convolution and pooling stacks, computed from their hyper-parameters.

For a stack of layers with kernel ``k``, stride ``s``, padding ``p`` and dilation
``d`` (effective kernel ``k' = d (k - 1) + 1``), three numbers per layer locate
every unit's receptive field on the input (Araujo et al., 2019):

* **size** ``r``: side of the input window a unit sees,
  ``r_out = r_in + (k' - 1) j_in``;
* **jump** ``j``: input pixels between neighbouring units, ``j_out = j_in s``;
* **start**: input coordinate of the centre of the first unit's window,
  ``start_out = start_in + ((k' - 1) / 2 - p) j_in``.

Unit ``(row, col)`` of a layer then sees the input window centred on
``(start + row j, start + col j)`` of side ``r`` (parts of it may lie in the padding).
The input itself has ``r = 1``, ``j = 1``, ``start = 0``.

Examples
--------
>>> stack = [("conv", 3, 1, 1), ("pool", 2, 2, 0), ("conv", 3, 1, 1)]
>>> [(f.name, f.size, f.jump, f.start) for f in receptive_fields(stack)]
[('conv', 3, 1, 0.0), ('pool', 4, 2, 0.5), ('conv', 8, 2, 0.5)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from torch import nn

__all__ = ["ReceptiveField", "receptive_fields", "receptive_fields_of", "conv_layers"]


def _pair(value: int | Sequence[int]) -> int:
    """One number for square kernels/strides; rectangular ones are rejected."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ValueError(f"only square kernels, strides, paddings and dilations are supported, got {value}.")
        return int(value[0])
    return int(value)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the units of one layer.

    Attributes
    ----------
    name
        Layer name.
    kernel, stride, padding, dilation
        The layer's hyper-parameters.
    size
        Receptive-field side in input pixels.
    jump
        Input pixels between neighbouring units (product of strides so far).
    start
        Input coordinate of the centre of unit 0's receptive field.
    out_size
        Side of the layer's output map, when the input size was given.
    """

    name: str
    kernel: int
    stride: int
    padding: int
    dilation: int
    size: int
    jump: int
    start: float
    out_size: int | None = None

    def center(self, row: int, col: int) -> tuple[float, float]:
        """Input coordinates ``(y, x)`` of the centre of unit ``(row, col)``'s window.

        Examples
        --------
        >>> rf = receptive_fields([("c", 3, 2, 0)])[0]
        >>> rf.center(2, 0)
        (5.0, 1.0)
        """
        return self.start + row * self.jump, self.start + col * self.jump

    def box(self, row: int, col: int) -> tuple[float, float, float, float]:
        """Window of unit ``(row, col)`` as ``(top, left, bottom, right)``, pixel edges included.

        Pixel ``i`` covers ``[i - 0.5, i + 0.5]``, so a 3-pixel window centred on
        pixel 1 is ``(-0.5 ... 2.5)`` along that axis.

        Examples
        --------
        >>> receptive_fields([("c", 3, 1, 0)])[0].box(0, 0)
        (-0.5, -0.5, 2.5, 2.5)
        """
        y, x = self.center(row, col)
        half = self.size / 2
        return y - half, x - half, y + half, x + half


def receptive_fields(
    layers: Iterable[tuple],
    input_size: int | None = None,
) -> list[ReceptiveField]:
    """Receptive-field size, jump and start after each layer of a stack.

    Parameters
    ----------
    layers
        ``(name, kernel, stride, padding)`` or ``(name, kernel, stride, padding,
        dilation)`` per layer, input first.
    input_size
        Side of the input; when given, each layer's output size
        ``floor((n + 2p - k') / s) + 1`` is filled in.

    Returns
    -------
    list of ReceptiveField

    Examples
    --------
    AlexNet's first convolution and pooling (ImageNet, 224 px input):

    >>> conv1, pool1 = receptive_fields([("conv1", 11, 4, 2), ("pool1", 3, 2, 0)], 224)
    >>> conv1.size, conv1.jump, conv1.out_size, pool1.size, pool1.jump, pool1.out_size
    (11, 4, 55, 19, 8, 27)
    """
    size, jump, start, n = 1, 1, 0.0, input_size
    out = []
    for spec in layers:
        if len(spec) not in (4, 5):
            raise ValueError(f"each layer is (name, kernel, stride, padding[, dilation]), got {spec!r}.")
        name, k, s, p = spec[:4]
        d = spec[4] if len(spec) == 5 else 1
        k, s, p, d = (_pair(v) for v in (k, s, p, d))
        if k < 1 or s < 1 or p < 0 or d < 1:
            raise ValueError(f"layer {name!r}: need kernel, stride, dilation >= 1 and padding >= 0.")
        k_eff = d * (k - 1) + 1
        start = start + ((k_eff - 1) / 2 - p) * jump
        size = size + (k_eff - 1) * jump
        jump = jump * s
        if n is not None:
            n = (n + 2 * p - k_eff) // s + 1
            if n < 1:
                raise ValueError(f"layer {name!r}: the input is too small (output size {n}).")
        out.append(ReceptiveField(str(name), k, s, p, d, size, jump, float(start), n))
    return out


_SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_POINTWISE = (nn.ReLU, nn.LeakyReLU, nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity,
              nn.Sigmoid, nn.Tanh, nn.GELU, nn.LocalResponseNorm)


def conv_layers(model: nn.Module, prefix: str = "") -> list[tuple]:
    """``(name, kernel, stride, padding, dilation)`` of every conv/pool layer of a sequential stack.

    Walks ``model`` (an :class:`torch.nn.Sequential`, possibly nested) in order;
    point-wise layers (ReLU, batch norm, dropout, ...) do not change receptive
    fields and are skipped; anything else (e.g. ``Flatten``) ends the walk.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
    >>> conv_layers(net)
    [('0', 5, 1, 2, 1), ('2', 2, 2, 0, 1)]
    """
    out, _ = _walk(model, prefix)
    return out


def _walk(model: nn.Module, prefix: str) -> tuple[list[tuple], bool]:
    """Conv/pool specs of ``model``'s children in order, and whether the walk was cut short."""
    out: list[tuple] = []
    for name, module in model.named_children():
        full = f"{prefix}{name}"
        if isinstance(module, nn.Sequential):
            inner, stopped = _walk(module, f"{full}.")
            out.extend(inner)
            if stopped:
                return out, True
        elif isinstance(module, _SPATIAL):
            dilation = getattr(module, "dilation", 1)
            out.append((full, _pair(module.kernel_size), _pair(module.stride or module.kernel_size),
                        _pair(module.padding), _pair(dilation)))
        elif not isinstance(module, _POINTWISE):
            return out, True
    return out, False

def receptive_fields_of(model: nn.Module, input_size: int | None = None) -> list[ReceptiveField]:
    """:func:`receptive_fields` of the conv/pool layers of a sequential ``model`` (see :func:`~labkit.analysis.receptive.conv_layers`).

    Examples
    --------
    >>> import torchvision
    >>> fields = receptive_fields_of(torchvision.models.alexnet().features, 224)
    >>> [(f.name, f.size, f.out_size) for f in fields if f.name in ("10", "12")]
    [('10', 163, 13), ('12', 195, 6)]
    """
    return receptive_fields(conv_layers(model), input_size)

