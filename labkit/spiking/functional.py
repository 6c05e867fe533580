"""Pure functions for LIF dynamics: the multi-step recurrence, fused and per step.

:func:`~labkit.spiking.lif_multistep` runs all ``T`` steps of a layer as one autograd node with
hand-written BPTT; :func:`~labkit.spiking.lif_reference` is the same recurrence written exactly
like :class:`snntorch.Leaky`, one step at a time. Both return ``(spikes, membrane)``
``[T, ...]``, the order snnTorch uses. :class:`labkit.spiking.LIF` is the thin
module on top.
"""

from __future__ import annotations

from typing import Literal

import torch

from .surrogate import SpikeFn, surrogate_vjp

__all__ = ["ResetMode", "lif_multistep", "lif_reference"]

ResetMode = Literal["subtract", "zero", "none"]


def _check_input(x: torch.Tensor, who: str) -> None:
    """Refuse what the recurrence would get silently wrong: integer input, no time axis, no time steps."""
    if not torch.is_tensor(x):
        raise TypeError(f"{who}: x must be a torch.Tensor [T, B, ...], got {type(x).__name__}.")
    if not torch.is_floating_point(x):
        raise TypeError(
            f"{who}: x has dtype {x.dtype}; LIF layers take floating-point input currents (an integer "
            "input would cast beta and threshold to integers, e.g. beta 0.9 -> 0). Fix: pass x.float()."
        )
    if x.dim() < 1 or x.shape[0] == 0:
        raise ValueError(
            f"{who}: x has no time steps (shape {tuple(x.shape)}); the time axis comes first, "
            "[T, B, ...] with T >= 1."
        )


def _reduce_like(grad: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Sum ``grad`` over the dimensions along which ``like`` was broadcast."""
    while grad.dim() > like.dim():
        grad = grad.sum(0)
    for dim, size in enumerate(like.shape):
        if size == 1 and grad.shape[dim] != 1:
            grad = grad.sum(dim, keepdim=True)
    return grad.reshape(like.shape)


class _FusedLIF(torch.autograd.Function):
    """All time steps of a LIF layer (reset delay on) as one autograd node."""

    @staticmethod
    def forward(ctx, x, beta, threshold, spike_fn, reset):  # noqa: D102 - see class docstring
        ctx.set_materialize_grads(False)  # an unused output (often the membrane) costs nothing
        b = beta.clamp(0, 1)
        scalar_thr = threshold.numel() == 1
        thr = threshold.item() if scalar_thr else threshold
        mems, spks = torch.empty_like(x), torch.empty_like(x)
        fired = torch.empty(x.shape[1:], dtype=torch.bool, device=x.device)
        for t in range(x.shape[0]):
            mem = mems[t]
            if t == 0:
                mem.copy_(x[0])  # U_0 = beta * 0 + I_0
            elif reset == "zero":
                torch.mul(mems[t - 1], 1 - spks[t - 1], out=mem)
                mem.mul_(b).add_(x[t])
            else:
                torch.addcmul(x[t], mems[t - 1], b, out=mem)  # beta U + I
                if reset == "subtract":
                    if scalar_thr:
                        mem.add_(spks[t - 1], alpha=-thr)
                    else:
                        mem.addcmul_(spks[t - 1], thr, value=-1)
            torch.gt(mem, thr, out=fired)  # U > theta  <=>  U - theta > 0 in IEEE arithmetic
            spks[t].copy_(fired)
        ctx.spike_fn, ctx.reset = spike_fn, reset
        ctx.save_for_backward(beta, threshold, mems, spks)
        return spks, mems

    @staticmethod
    def backward(ctx, grad_spk, grad_mem):  # noqa: D102
        beta, threshold, mems, spks = ctx.saved_tensors
        b = beta.clamp(0, 1)
        if grad_spk is not None:
            # grad_spk * S'(U - theta) in one pass of the surrogate's backward
            from_spikes = direct = surrogate_vjp(ctx.spike_fn, mems - threshold, grad_spk)
            if grad_mem is not None:
                direct = direct + grad_mem
        else:
            from_spikes = None
            direct = grad_mem if grad_mem is not None else torch.zeros_like(mems)
        # dU_t / dU_{t-1} = beta (subtract, none) or beta * (1 - r_t) with r_t = S_{t-1} (zero)
        carry = b * (1 - spks[:-1]) if ctx.reset == "zero" else b.expand_as(mems[1:])
        grads = torch.empty_like(mems)
        grads[-1] = direct[-1]
        for t in range(mems.shape[0] - 2, -1, -1):
            torch.addcmul(direct[t], carry[t], grads[t + 1], out=grads[t])
        grad_beta = grad_thr = None
        if ctx.needs_input_grad[1]:
            prev = mems[:-1] * (1 - spks[:-1]) if ctx.reset == "zero" else mems[:-1]
            inside = ((beta >= 0) & (beta <= 1)).to(mems.dtype)
            grad_beta = _reduce_like(grads[1:] * prev, beta) * inside
        if ctx.needs_input_grad[2]:
            g_thr = -from_spikes if from_spikes is not None else torch.zeros_like(mems)
            if ctx.reset == "subtract":
                g_thr[1:] -= grads[1:] * spks[:-1]
            grad_thr = _reduce_like(g_thr, threshold)
        return grads, grad_beta, grad_thr, None, None


def lif_reference(
    x: torch.Tensor,
    beta: torch.Tensor,
    threshold: torch.Tensor,
    spike_fn: SpikeFn,
    reset: ResetMode = "subtract",
    reset_delay: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step LIF recurrence written exactly like :class:`snntorch.Leaky` (autograd through every step).

    Used by :class:`LIF` when no fused kernel applies (``reset_delay=False``) and
    as a readable reference.

    Returns
    -------
    tuple of torch.Tensor
        Spikes and membrane potentials, both ``[T, ...]``.
    """
    _check_input(x, "lif_reference")
    b = beta.clamp(0, 1)
    mem = torch.zeros_like(x[0])
    spks, mems = [], []
    for t in range(x.shape[0]):
        r = spike_fn(mem - threshold).clone().detach()
        if reset == "subtract":
            mem = b * mem + x[t] - r * threshold
        elif reset == "zero":
            mem = b * ((1 - r) * mem) + x[t]
        else:
            mem = b * mem + x[t]
        spk = spike_fn(mem - threshold).to(x.dtype)
        if not reset_delay and reset != "none":
            do_reset = spk - r
            mem = mem - do_reset * (threshold if reset == "subtract" else mem)
        spks.append(spk)
        mems.append(mem)
    return torch.stack(spks), torch.stack(mems)


def lif_multistep(
    x: torch.Tensor,
    beta: torch.Tensor,
    threshold: torch.Tensor,
    spike_fn: SpikeFn,
    reset: ResetMode = "subtract",
    reset_delay: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes and membranes ``[T, ...]`` of a LIF layer driven by ``x`` ``[T, ...]``, both differentiable.

    Uses the fused single-node kernel whenever the reset is delayed (snnTorch's
    default) or absent, and :func:`~labkit.spiking.lif_reference` otherwise.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``x`` has no time steps (``T = 0``).
    """
    _check_input(x, "lif_multistep")
    if reset_delay or reset == "none":
        return _FusedLIF.apply(x, beta, threshold, spike_fn, reset)
    return lif_reference(x, beta, threshold, spike_fn, reset, reset_delay)
