"""Surrogate gradients: the derivative used in place of the Heaviside step's.

:func:`surrogate_derivative` reads the derivative off any elementwise surrogate
from :mod:`snntorch.surrogate` (by running its backward pass), and
:func:`stable_sigmoid` is snnTorch's sigmoid surrogate without its overflow.
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["SpikeFn", "surrogate_derivative", "stable_sigmoid"]

#: A spike function: Heaviside forward, surrogate derivative backward.
SpikeFn = Callable[[torch.Tensor], torch.Tensor]


def surrogate_vjp(spike_fn: SpikeFn, u: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``grad * dS/du`` at ``u``, computed by the surrogate's own backward pass."""
    with torch.enable_grad():
        leaf = u.detach().requires_grad_(True)
        (out,) = torch.autograd.grad(spike_fn(leaf), leaf, grad)
    return out


def surrogate_derivative(spike_fn: SpikeFn, u: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative that the surrogate ``spike_fn`` uses in place of the Heaviside's.

    Parameters
    ----------
    spike_fn
        A surrogate from :mod:`snntorch.surrogate`, e.g. ``surrogate.atan(alpha=2)``.
    u
        Membrane minus threshold, any shape.

    Returns
    -------
    torch.Tensor
        ``dS/du`` as the surrogate's backward pass computes it.

    Examples
    --------
    >>> from snntorch import surrogate
    >>> surrogate_derivative(surrogate.fast_sigmoid(slope=25), torch.tensor([0.0, 0.2])).tolist()
    [1.0, 0.02777777798473835]
    """
    return surrogate_vjp(spike_fn, u, torch.ones_like(u))


class _StableSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, slope):  # noqa: D102
        ctx.save_for_backward(u)
        ctx.slope = slope
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad_output):  # noqa: D102
        (u,) = ctx.saved_tensors
        sig = torch.sigmoid(ctx.slope * u)
        return grad_output * ctx.slope * sig * (1 - sig), None


def stable_sigmoid(slope: float = 25.0) -> SpikeFn:
    """Sigmoid surrogate (Heaviside forward, ``k sigma(k u) (1 - sigma(k u))`` backward), overflow-free.

    Same function as :func:`snntorch.surrogate.sigmoid`, whose backward computes
    ``exp(-k u)`` directly: for ``u < -88 / k`` in float32 that overflows and the
    gradient is NaN (measured with snnTorch 1.0: ``k = 5`` at ``u = -18`` gives
    NaN), which silently ruins training. This version uses ``torch.sigmoid``.

    Examples
    --------
    >>> surrogate_derivative(stable_sigmoid(5.0), torch.tensor([-30.0, 0.0])).tolist()
    [0.0, 1.25]
    """
    if slope <= 0:
        raise ValueError(f"slope must be > 0, got {slope}.")

    def spike(u: torch.Tensor) -> torch.Tensor:
        return _StableSigmoid.apply(u, slope)

    return spike
