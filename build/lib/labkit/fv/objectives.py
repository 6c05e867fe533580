"""What to maximise: objectives on a network's activations, read by the recorder.

An :class:`Objective` maps the activations of named layers (a dict from layer
name to ``[B, C, H, W]`` tensor) to one value **per image** ``[B]``, the quantity
to be *maximised*. Three granularities (Olah et al., 2017):

* :func:`layer` - a whole layer (DeepDream: mean squared rectified activation);
* :func:`channel` - one feature map: mean activation of channel ``c`` over positions;
* :func:`neuron` - one unit: channel ``c`` at one spatial position ``(row, col)``.

Objectives add (``a + b``), subtract and scale by numbers (``0.5 * a``), so
``channel("features.6", 28) - 0.1 * layer("features.6")`` is an objective too.
Layers are named as in ``model.named_modules()`` (e.g. ``"features.6"``) and found
with :meth:`torch.nn.Module.get_submodule`; :func:`activations` reads them with
:func:`labkit.analysis.record_features`, the recorder shared by the whole package.

Examples
--------
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
>>> obj = channel("0", 1) + 0.5 * neuron("0", 2, (1, 1))
>>> sorted(obj.layers), obj.name
(['0'], 'channel 0:1 + 0.5 * neuron 0:2@(1, 1)')
>>> acts = activations(net, torch.rand(2, 3, 5, 5), obj.layers)
>>> obj(acts).shape
torch.Size([2])
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

import torch
from torch import nn

from ..analysis.record import record_features

__all__ = [
    "Objective",
    "layer",
    "channel",
    "neuron",
    "activations",
]

class Objective:
    """A differentiable score per image, computed from named layer activations.

    Parameters
    ----------
    fn
        Maps ``{layer name: activation}`` to values ``[B]`` (higher is better).
    layers
        Names of the layers ``fn`` reads.
    name
        Human-readable description (used in figure titles).
    """

    def __init__(self, fn: Callable[[Mapping[str, torch.Tensor]], torch.Tensor], layers: Iterable[str], name: str) -> None:
        self.fn, self.layers, self.name = fn, frozenset(layers), name

    def __call__(self, acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = self.layers - set(acts)
        if missing:
            raise KeyError(f"objective {self.name!r} needs activations of {sorted(missing)}.")
        return self.fn(acts)

    def __repr__(self) -> str:
        return f"Objective({self.name!r})"

    def __add__(self, other: Objective | float) -> Objective:
        if isinstance(other, (int, float)):
            return Objective(lambda a: self(a) + other, self.layers, f"{self.name} + {other:g}")
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(lambda a: self(a) + other(a), self.layers | other.layers,
                         f"{self.name} + {other.name}")

    def __radd__(self, other: float) -> Objective:
        if isinstance(other, (int, float)) and other == 0:  # sum([...]) starts at 0
            return self
        return self + other

    def __neg__(self) -> Objective:
        return Objective(lambda a: -self(a), self.layers, f"-({self.name})")

    def __sub__(self, other: Objective | float) -> Objective:
        return self + (-other)

    def __mul__(self, factor: float) -> Objective:
        if not isinstance(factor, (int, float)):
            return NotImplemented
        return Objective(lambda a: factor * self(a), self.layers, f"{factor:g} * {self.name}")

    __rmul__ = __mul__

    def __truediv__(self, divisor: float) -> Objective:
        return self * (1.0 / divisor)


def _check_channel(act: torch.Tensor, name: str, c: int) -> None:
    if act.ndim != 4:
        raise ValueError(f"layer {name!r} gives shape {tuple(act.shape)}; channel and neuron "
                         "objectives need a convolutional [B, C, H, W] activation.")
    if not 0 <= c < act.shape[1]:
        raise IndexError(f"layer {name!r} has {act.shape[1]} channels; channel {c} does not exist.")


def layer(name: str) -> Objective:
    """The whole layer: mean of the squared *rectified* activation over channels and positions (DeepDream).

    DeepDream maximises the squared output of a layer's ReLUs, so every unit
    pulls the image towards what it already responds to, the more so the more it
    responds. The objectives of this course read a convolution's output *before*
    its ReLU; squaring that directly would also reward strongly *negative*
    responses (a unit pushed far below its threshold, silent after the ReLU), so
    the activation is rectified first: ``mean(relu(a)^2)``. On a layer that is
    already rectified (a ReLU's output) the rectification changes nothing.

    Examples
    --------
    >>> layer("x")({"x": torch.full((1, 2, 3, 3), 2.0)}).tolist()
    [4.0]
    >>> layer("x")({"x": torch.full((1, 2, 3, 3), -2.0)}).tolist()  # silenced units earn nothing
    [0.0]
    """
    def fn(acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        act = acts[name]
        return torch.relu(act).pow(2).flatten(1).mean(1)

    return Objective(fn, [name], f"layer {name}")


def channel(name: str, c: int) -> Objective:
    """Channel ``c`` of layer ``name``: its activation averaged over all positions.

    Examples
    --------
    >>> act = torch.zeros(1, 3, 2, 2); act[0, 1] = 5.0
    >>> channel("x", 1)({"x": act}).tolist()
    [5.0]
    """
    def fn(acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        act = acts[name]
        _check_channel(act, name, c)
        return act[:, c].flatten(1).mean(1)

    return Objective(fn, [name], f"channel {name}:{c}")


def neuron(name: str, c: int, position: tuple[int, int] | None = None) -> Objective:
    """One unit: channel ``c`` of layer ``name`` at ``position = (row, col)``.

    Parameters
    ----------
    name
        Layer name.
    c
        Channel index.
    position
        ``(row, col)`` in the layer's feature map; ``None`` takes the centre
        ``(H // 2, W // 2)`` of whatever size the map has.

    Examples
    --------
    >>> act = torch.zeros(1, 2, 4, 4); act[0, 1, 3, 0] = 7.0
    >>> neuron("x", 1, (3, 0))({"x": act}).tolist(), neuron("x", 1)({"x": act}).tolist()
    ([7.0], [0.0])
    """
    def fn(acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        act = acts[name]
        _check_channel(act, name, c)
        h, w = act.shape[-2:]
        row, col = position if position is not None else (h // 2, w // 2)
        if not (0 <= row < h and 0 <= col < w):
            raise IndexError(f"layer {name!r} has a {h}x{w} map; position {(row, col)} is outside it.")
        return act[:, c, row, col]

    where = "centre" if position is None else f"({position[0]}, {position[1]})"
    return Objective(fn, [name], f"neuron {name}:{c}@{where}")


def activations(model: nn.Module, x: torch.Tensor, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """Outputs of the named layers for input ``x``, in their own shape (the forward pass stops after the last one).

    A thin wrapper of :func:`labkit.analysis.record_features` (``flatten=False,
    detach=False, stop_early=True``). Gradients flow as usual; wrap the call in
    :func:`torch.no_grad` to measure only.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 1))
    >>> activations(net, torch.rand(1, 1, 4, 4), ["0"])["0"].shape  # the Linear never runs
    torch.Size([1, 2, 2, 2])
    """
    with record_features(model, list(dict.fromkeys(names)), flatten=False, detach=False, stop_early=True) as rec:
        return rec.run(x)
