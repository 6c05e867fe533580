"""Adversarial examples under an L-infinity budget: FGSM and PGD, for ANNs and SNNs alike.

Both attacks move every input pixel by at most ``epsilon`` in the direction that
increases the loss, and keep images in their valid range (``[0, 1]``):

* :func:`~labkit.analysis.fgsm` (Goodfellow et al., 2015): one step, ``x + epsilon * sign(grad)``;
* :func:`~labkit.analysis.pgd` (Madry et al., 2018): ``steps`` signed-gradient steps of ``step_size``,
  each followed by projection onto the ``epsilon``-ball around ``x`` and onto
  ``[0, 1]``, optionally from a uniformly random start inside the ball.

They work on any model that returns class scores, including spiking networks from
:mod:`labkit.spiking`, whose surrogate gradients make them differentiable. The model's
mode is left alone: call ``model.eval()`` first so that batch norm and dropout
behave as at test time. Only the input's gradient is computed; parameter
gradients (``.grad``) are not touched.

Examples
--------
>>> import torch
>>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
>>> x, y = torch.rand(5, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1])
>>> x_adv = pgd(model, x, y, epsilon=0.1, steps=5)
>>> bool((x_adv - x).abs().max() <= 0.1 + 1e-6), bool(x_adv.min() >= 0), bool(x_adv.max() <= 1)
(True, True, True)
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["fgsm", "pgd"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check(x: torch.Tensor, epsilon: float, bounds: tuple[float, float]) -> None:
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}.")
    lo, hi = bounds
    if not lo < hi:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds}.")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}.")
    if x.numel() and (x.min() < lo or x.max() > hi):
        raise ValueError(f"x must lie in [{lo}, {hi}], got values in [{float(x.min())}, {float(x.max())}].")


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> torch.Tensor:
    """Gradient of ``loss_fn(model(x), y)`` with respect to ``x`` only, on ``x``'s device.

    The forward and backward passes run where the model's parameters are (e.g. a GPU),
    whatever device the batch comes from.
    """
    device = next((p.device for p in model.parameters()), x.device)
    with torch.enable_grad():
        inputs = x.detach().to(device).requires_grad_(True)
        loss = loss_fn(model(inputs), y.to(device))
        (grad,) = torch.autograd.grad(loss, inputs)
    return grad.to(x.device)


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    loss_fn: LossFn = F.cross_entropy,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Fast gradient sign method: ``clamp(x + epsilon * sign(grad_x loss), 0, 1)``.

    Parameters
    ----------
    model
        Returns class scores ``[B, classes]`` for inputs ``x``.
    x
        Clean inputs in ``bounds``, any shape ``[B, ...]``.
    y
        Targets for ``loss_fn`` (class indices for cross-entropy).
    epsilon
        L-infinity budget per input element (e.g. ``8 / 255``).
    loss_fn
        The loss to increase.
    bounds
        Valid input range; the adversarial input is clamped to it.

    Returns
    -------
    torch.Tensor
        Adversarial inputs, detached, same shape as ``x``, with
        ``|x_adv - x| <= epsilon`` everywhere.

    Examples
    --------
    >>> model = torch.nn.Linear(2, 2)
    >>> x_adv = fgsm(model, torch.full((1, 2), 0.5), torch.tensor([0]), epsilon=0.25)
    >>> (x_adv - 0.5).abs().tolist()  # every input moved by epsilon, up or down
    [[0.25, 0.25]]
    """
    _check(x, epsilon, bounds)
    grad = _input_gradient(model, x, y, loss_fn)
    return (x.detach() + epsilon * grad.sign()).clamp(*bounds)


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    step_size: float | None = None,
    steps: int = 10,
    random_start: bool = True,
    loss_fn: LossFn = F.cross_entropy,
    bounds: tuple[float, float] = (0.0, 1.0),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient descent (ascent on the loss) in the L-infinity ball of radius ``epsilon``.

    Parameters
    ----------
    model, x, y, epsilon, loss_fn, bounds
        As in :func:`~labkit.analysis.fgsm`.
    step_size
        Size of each signed-gradient step; default ``2.5 * epsilon / steps``, so
        that all steps together can travel 2.5 times the radius (a common rule of
        thumb; Madry et al. used ``0.01`` for ``epsilon = 0.3``, 40 steps on MNIST).
    steps
        Number of gradient steps.
    random_start
        Start from ``x`` plus uniform noise in ``[-epsilon, epsilon]`` (Madry et
        al., 2018) instead of ``x``.
    generator
        Random generator for the start (default: torch's global one, so
        ``torch.manual_seed`` makes the attack repeatable).

    Returns
    -------
    torch.Tensor
        Adversarial inputs, detached, within ``epsilon`` of ``x`` and within ``bounds``.

    Notes
    -----
    With ``steps=1``, ``step_size=epsilon`` and ``random_start=False``, PGD is FGSM.
    """
    _check(x, epsilon, bounds)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}.")
    step_size = 2.5 * epsilon / steps if step_size is None else step_size
    if step_size <= 0 and epsilon > 0:
        raise ValueError(f"step_size must be > 0, got {step_size}.")
    x = x.detach()
    low, high = (x - epsilon).clamp(*bounds), (x + epsilon).clamp(*bounds)
    x_adv = x
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x_adv = (x + (2 * noise - 1) * epsilon).clamp(*bounds)
    for _ in range(steps):
        grad = _input_gradient(model, x_adv, y, loss_fn)
        x_adv = torch.minimum(torch.maximum(x_adv + step_size * grad.sign(), low), high)
    return x_adv
