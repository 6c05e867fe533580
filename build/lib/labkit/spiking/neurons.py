"""Spiking neurons as modules: the multi-step :class:`LIF` layer and a single-neuron simulator.

:class:`LIF` follows :class:`snntorch.Leaky` exactly (same update, reset,
reset delay, threshold and surrogate from :mod:`snntorch.surrogate`), so the
snnTorch documentation describes it. With reset delay (snnTorch's default),

.. math::

    r_t = H(U_{t-1} - \\theta), \\quad
    U_t = \\beta U_{t-1} + I_t - r_t\\,\\theta \\;\\text{(subtract)}, \\quad
    U_t = \\beta (1 - r_t) U_{t-1} + I_t \\;\\text{(zero)}, \\quad
    S_t = H(U_t - \\theta),

with :math:`\\beta` clamped to [0, 1] and :math:`r_t` carrying no gradient.

Why not just call ``snntorch.Leaky`` in a loop? Measured on 2 CPU cores, a
per-step loop builds about ten autograd nodes per layer and step. Here one
autograd node covers all ``T`` steps of a layer (:func:`labkit.spiking.lif_multistep`):
the forward pass runs the recurrence without recording a graph, in place, one step
at a time, and the backward pass is hand-written BPTT in one reverse loop, with the
surrogate's derivative written out for the course's surrogates and taken from the
surrogate's own backward for any other elementwise one. Tests check spikes (identical),
membranes and gradients against a plain ``snntorch.Leaky`` loop to 1e-6 in float64, and a
residual SNN's gradients against autograd through every step.
"""

from __future__ import annotations

from typing import Literal

import torch
from snntorch import surrogate
from torch import nn

from .functional import ResetMode, _check_input, lif_multistep
from .surrogate import SpikeFn, describe_surrogate

__all__ = ["LIF", "simulate_neuron"]


class LIF(nn.Module):
    """Multi-step leaky integrate-and-fire layer with :class:`snntorch.Leaky` semantics.

    Parameters
    ----------
    beta
        Membrane decay per step, clamped to [0, 1]; a float or a tensor
        broadcastable to one time step (per-neuron decay). NaN is refused.
    threshold
        Firing threshold, > 0 (a threshold <= 0 fires on zero input); a float
        or a broadcastable tensor.
    spike_grad
        Surrogate from :mod:`snntorch.surrogate` (default ``surrogate.atan()``,
        as in snnTorch).
    reset_mechanism
        ``"subtract"`` (default), ``"zero"`` or ``"none"``.
    reset_delay
        As in snnTorch: the reset takes effect at the next step (default).
    learn_beta, learn_threshold
        Make ``beta`` / ``threshold`` trainable parameters.
    output
        ``"spikes"`` (default) or ``"membrane"`` (a non-spiking readout layer
        returns its membrane trace).

    Notes
    -----
    Input and output are ``[T, B, ...]``, floating point, with ``T >= 1``: an
    integer input is refused (it would cast ``beta`` 0.9 to 0 and ``threshold``
    2.5 to 2), as is an empty time axis. The ``repr`` names the surrogate and
    its slope (:func:`labkit.spiking.describe_surrogate`), so a
    checkpoint's fingerprint in :func:`labkit.train.fit` tells surrogates apart.
    The state starts at zero in every
    forward call and lives only inside that call, so two networks (or two calls)
    never share state: unlike snnTorch's class-wide ``utils.reset``, nothing here
    is global.
    """

    def __init__(
        self,
        beta: float | torch.Tensor = 0.9,
        threshold: float | torch.Tensor = 1.0,
        spike_grad: SpikeFn | None = None,
        reset_mechanism: ResetMode = "subtract",
        reset_delay: bool = True,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        output: Literal["spikes", "membrane"] = "spikes",
    ) -> None:
        super().__init__()
        if reset_mechanism not in ("subtract", "zero", "none"):
            raise ValueError(f"reset_mechanism must be 'subtract', 'zero' or 'none', got {reset_mechanism!r}.")
        if output not in ("spikes", "membrane"):
            raise ValueError(f"output must be 'spikes' or 'membrane', got {output!r}.")
        beta_t = torch.as_tensor(beta, dtype=torch.get_default_dtype())
        thr_t = torch.as_tensor(threshold, dtype=torch.get_default_dtype())
        if torch.isnan(beta_t).any():
            raise ValueError(f"beta must be a number in [0, 1] (values outside are clamped), got {beta!r}.")
        if not bool((thr_t > 0).all() & torch.isfinite(thr_t).all()):
            raise ValueError(
                f"threshold must be finite and > 0, got {threshold!r}: a threshold <= 0 fires on zero "
                "input. Scale the input weights instead of lowering the threshold below zero."
            )
        if learn_beta:
            self.beta = nn.Parameter(beta_t)
        else:
            self.register_buffer("beta", beta_t)
        if learn_threshold:
            self.threshold = nn.Parameter(thr_t)
        else:
            self.register_buffer("threshold", thr_t)
        self.spike_grad = spike_grad if spike_grad is not None else surrogate.atan()
        self.reset_mechanism = reset_mechanism
        self.reset_delay = reset_delay
        self.output = output

    temporal = True  # consumes [T, B, ...] as a whole (see SpikingSequential)

    def extra_repr(self) -> str:
        return (f"beta={self.beta.tolist() if self.beta.numel() < 4 else 'tensor'}, "
                f"threshold={self.threshold.tolist() if self.threshold.numel() < 4 else 'tensor'}, "
                f"spike_grad={describe_surrogate(self.spike_grad)}, "
                f"reset={self.reset_mechanism}, output={self.output}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run all time steps of ``x`` ``[T, B, ...]``; return spikes or membrane ``[T, B, ...]``."""
        _check_input(x, "LIF")
        if x.dim() < 2:
            raise ValueError(f"LIF expects time-first input [T, B, ...], got shape {tuple(x.shape)}.")
        beta = self.beta.to(x.dtype)
        thr = self.threshold.to(x.dtype)
        spk, mem = lif_multistep(x, beta, thr, self.spike_grad, self.reset_mechanism, self.reset_delay)
        return mem if self.output == "membrane" else spk



def simulate_neuron(
    current: torch.Tensor,
    beta: float = 0.9,
    threshold: float = 1.0,
    reset_mechanism: ResetMode = "subtract",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Membrane and spikes ``[T]`` of one LIF neuron in the textbook form ``U[t] = beta U[t-1] + (1 - beta) I[t]``.

    snnTorch (and :class:`LIF`) add the input unscaled, ``U[t] = beta U[t-1] + I[t]``:
    the factor ``1 - beta`` is folded into the weights of a network. This helper
    feeds ``(1 - beta) * current`` so that a constant current ``I`` drives the
    membrane towards ``I`` (the steady state of the continuous equation with
    ``R = 1``), which makes traces easy to read.

    Parameters
    ----------
    current
        Input current ``[T]``.
    beta, threshold, reset_mechanism
        As in :class:`LIF`.

    Returns
    -------
    tuple of torch.Tensor
        ``(spikes [T], membrane [T])``, the order of snnTorch and of every labkit function.

    Examples
    --------
    >>> spikes, mem = simulate_neuron(torch.full((20,), 2.0), beta=0.5)
    >>> int(spikes.sum()), round(mem.max().item(), 3)
    (10, 1.5)
    """
    if current.dim() != 1:
        raise ValueError(f"current must be 1-D [T], got shape {tuple(current.shape)}.")
    lif = LIF(beta=beta, threshold=threshold, reset_mechanism=reset_mechanism)
    with torch.no_grad():
        spikes, mem = lif_multistep(((1 - beta) * current).view(-1, 1).float(), lif.beta, lif.threshold,
                                    lif.spike_grad, lif.reset_mechanism, lif.reset_delay)
    return spikes[:, 0], mem[:, 0]
