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

from .surrogate import SpikeFn, surrogate_inplace_vjp

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


def _number_or_tensor(value: torch.Tensor) -> float | torch.Tensor:
    """A one-element ``beta`` / ``threshold`` as a Python number (cheaper kernels), else the tensor itself."""
    return value.item() if value.numel() == 1 else value


def _empty_steps(x: torch.Tensor) -> torch.Tensor:
    """An uninitialised tensor shaped like ``x`` ``[T, ...]`` whose steps are laid out in memory like ``x[0]``.

    Channels-last images stay channels-last, also when ``x`` is a static input
    expanded over time (for which ``torch.empty_like`` would return NCHW).
    """
    step = x[0]
    if x.dim() == 5 and not step.is_contiguous() and step.is_contiguous(memory_format=torch.channels_last):
        flat = torch.empty((x.shape[0] * x.shape[1], *x.shape[2:]), dtype=x.dtype, device=x.device,
                           memory_format=torch.channels_last)
        return flat.view(x.shape)
    return torch.empty(x.shape, dtype=x.dtype, device=x.device)


class _FusedLIF(torch.autograd.Function):
    """All time steps of a LIF layer (reset delay on) as one autograd node.

    Both passes work one time step at a time with in-place kernels into
    preallocated ``[T, ...]`` buffers (laid out like the input's steps, so
    channels-last images stay channels-last), so each step's slice (0.5-8 MB in
    the course's networks) is still in cache for the next operation on it. The
    backward pass saves only the membranes (and the spikes, which are the output
    anyway) and computes ``dL/dU_t = S'(U_t - theta) dL/dS_t + beta dL/dU_{t+1}``
    in one reverse loop, with the surrogate's derivative written out for the
    course's surrogates (:func:`~labkit.spiking.surrogate.surrogate_inplace_vjp`).

    Measured on 2 CPU cores (1 thread, CPU time, ``T = 8``, 0.5 M neurons per
    step, atan surrogate, 2026-11-29): forward and backward 12 ms against 36 ms for
    the earlier version of this class, which evaluated the surrogate's derivative
    on the whole ``[T, ...]`` tensor through snnTorch's backward (five temporaries:
    20% of a residual SNN's training step) and built spikes as a boolean tensor
    copied to float; at 2 M neurons per step 110 ms against 430 ms. Blocking the
    neurons into chunks that fit in L2 gained nothing more (65 K elements: 14 ms),
    so there is none. Taking the surrogate term of all steps at once (three large
    operations instead of three per step) made the backward pass slower on one
    thread (87 ms against 24 ms at 2 M neurons per step: the temporaries leave the
    cache), though faster with two threads on a machine loaded by other processes
    (96 ms against 256 ms at 0.5 M), where every multi-threaded operation waits for
    the second thread to be scheduled; the idle-machine figure decided.
    ``torch.compile`` of the forward recurrence was slower (15 ms against 5.5 ms)
    and took about a minute to compile, so it is not used.

    The forward pass keeps snnTorch's rounding: ``beta * U`` and ``+ I`` are two
    separate operations (``torch.addcmul`` fuses them into one multiply-add on CPU,
    which rounds differently in about a quarter of all elements), then
    ``- S * threshold``, which is exact to round either way since ``S`` is 0 or 1.
    """

    @staticmethod
    def forward(ctx, x, beta, threshold, spike_fn, reset):  # noqa: D102 - see class docstring
        ctx.set_materialize_grads(False)  # an unused output (often the membrane) costs nothing
        steps = x.shape[0]
        b, thr = _number_or_tensor(beta.clamp(0, 1)), _number_or_tensor(threshold)
        mems, spks = _empty_steps(x), _empty_steps(x)
        for t in range(steps):
            mem = mems[t]
            if t == 0:
                mem.copy_(x[0])  # U_0 = beta * 0 + I_0
            else:
                torch.mul(mems[t - 1], b, out=mem)  # beta U
                if reset == "zero":  # beta (1 - S) U, exact: S is 0 or 1
                    mem.addcmul_(mem, spks[t - 1], value=-1)
                mem.add_(x[t])  # + I
                if reset == "subtract":  # - S theta
                    if isinstance(thr, float):
                        mem.add_(spks[t - 1], alpha=-thr)
                    else:
                        mem.addcmul_(spks[t - 1], thr, value=-1)
            torch.gt(mem, thr, out=spks[t])  # U > theta  <=>  U - theta > 0 in IEEE arithmetic
        ctx.spike_fn, ctx.reset = spike_fn, reset
        ctx.save_for_backward(beta, threshold, mems, spks)
        return spks, mems

    @staticmethod
    def backward(ctx, grad_spk, grad_mem):  # noqa: D102
        beta, threshold, mems, spks = ctx.saved_tensors
        steps = mems.shape[0]
        b, thr = _number_or_tensor(beta.clamp(0, 1)), _number_or_tensor(threshold)
        g_spk, g_mem = grad_spk, grad_mem
        # grad_spk * S'(U - theta), kept whole only for a learned threshold
        from_spikes = torch.empty_like(mems) if ctx.needs_input_grad[2] and g_spk is not None else None
        vjp = surrogate_inplace_vjp(ctx.spike_fn)
        grads = torch.empty_like(mems)
        scratch = torch.empty_like(mems[0])
        for t in range(steps - 1, -1, -1):  # dL/dU_t = direct_t + dU_{t+1}/dU_t * dL/dU_{t+1}
            grad = grads[t]
            if g_spk is not None:
                torch.sub(mems[t], thr, out=scratch)
                vjp(scratch, g_spk[t], grad)
                if from_spikes is not None:
                    from_spikes[t].copy_(grad)
                if g_mem is not None:
                    grad.add_(g_mem[t])
            elif g_mem is not None:
                grad.copy_(g_mem[t])
            else:
                grad.zero_()
            if t == steps - 1:
                continue
            # dU_{t+1} / dU_t = beta (subtract, none) or beta * (1 - S_t) (zero)
            if ctx.reset == "zero":
                torch.mul(grads[t + 1], b, out=scratch)
                scratch.addcmul_(scratch, spks[t], value=-1)
                grad.add_(scratch)
            elif isinstance(b, float):
                grad.add_(grads[t + 1], alpha=b)
            else:
                grad.addcmul_(grads[t + 1], b)
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
