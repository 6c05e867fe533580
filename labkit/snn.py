"""labkit's spiking-network engine: multi-step LIF neurons and a sequential network runner.

Every spiking module here takes time-first tensors ``[T, B, ...]``.

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
autograd node covers all ``T`` steps of a layer: the forward pass runs the
recurrence without recording a graph and the backward pass is hand-written
BPTT (a single multiply-add per step), with the surrogate derivative taken from
the snnTorch surrogate itself, so any elementwise surrogate works. A test checks
outputs, membranes and gradients against a plain ``snntorch.Leaky`` loop to 1e-6
in float64.

:class:`SpikingSequential` runs a stack of layers with two savings:

* a **static input** (an image shown at every step, passed as ``[B, ...]``) goes
  once through the leading stateless layers (e.g. the first convolution), whose
  output is then broadcast over time instead of being recomputed ``T`` times;
* stateless layers (conv, linear, pooling, batch norm) run on all time steps in
  one call by folding time into the batch (``[T*B, ...]``) or, where that is
  measured to be slower (CPU, see ``benchmarks/snn_engine.py``), in per-step
  chunks. Batch norm always sees all ``T*B`` samples, so both execution modes
  compute the same function.

Examples
--------
>>> import torch
>>> from labkit.snn import LIF, SpikingSequential, MeanOverTime
>>> net = SpikingSequential(torch.nn.Linear(4, 8), LIF(beta=0.9), torch.nn.Linear(8, 3),
...                         LIF(beta=0.9, output="membrane"), MeanOverTime(), num_steps=5)
>>> net(torch.rand(2, 4)).shape  # a static input [B, 4] shown for 5 steps
torch.Size([2, 3])
"""

from __future__ import annotations

from typing import Callable, Literal, Sequence

import torch
from snntorch import surrogate
from torch import nn

__all__ = [
    "LIF",
    "SpikingSequential",
    "SumOverTime",
    "MeanOverTime",
    "lif_multistep",
    "surrogate_derivative",
    "stable_sigmoid",
    "lif_reference",
    "firing_rates",
    "simulate_neuron",
    "default_fold",
]

SpikeFn = Callable[[torch.Tensor], torch.Tensor]
ResetMode = Literal["subtract", "zero", "none"]


def _reduce_like(grad: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Sum ``grad`` over the dimensions along which ``like`` was broadcast."""
    while grad.dim() > like.dim():
        grad = grad.sum(0)
    for dim, size in enumerate(like.shape):
        if size == 1 and grad.shape[dim] != 1:
            grad = grad.sum(dim, keepdim=True)
    return grad.reshape(like.shape)


def _surrogate_vjp(spike_fn: SpikeFn, u: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
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
    return _surrogate_vjp(spike_fn, u, torch.ones_like(u))


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
            from_spikes = direct = _surrogate_vjp(ctx.spike_fn, mems - threshold, grad_spk)
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
    default) or absent, and :func:`lif_reference` otherwise.
    """
    if reset_delay or reset == "none":
        return _FusedLIF.apply(x, beta, threshold, spike_fn, reset)
    return lif_reference(x, beta, threshold, spike_fn, reset, reset_delay)


class LIF(nn.Module):
    """Multi-step leaky integrate-and-fire layer with :class:`snntorch.Leaky` semantics.

    Parameters
    ----------
    beta
        Membrane decay per step, clamped to [0, 1]; a float or a tensor
        broadcastable to one time step (per-neuron decay).
    threshold
        Firing threshold.
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
    record
        Keep the last forward's spikes and membrane (detached) in
        the attributes ``spikes`` and ``mem`` for plots and firing rates.

    Notes
    -----
    Input and output are ``[T, B, ...]``. The state starts at zero in every
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
        record: bool = False,
    ) -> None:
        super().__init__()
        if reset_mechanism not in ("subtract", "zero", "none"):
            raise ValueError(f"reset_mechanism must be 'subtract', 'zero' or 'none', got {reset_mechanism!r}.")
        if output not in ("spikes", "membrane"):
            raise ValueError(f"output must be 'spikes' or 'membrane', got {output!r}.")
        beta_t = torch.as_tensor(beta, dtype=torch.get_default_dtype())
        thr_t = torch.as_tensor(threshold, dtype=torch.get_default_dtype())
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
        self.record = record
        self.spikes: torch.Tensor | None = None
        self.mem: torch.Tensor | None = None

    temporal = True  # consumes [T, B, ...] as a whole (see SpikingSequential)

    def extra_repr(self) -> str:
        return (f"beta={self.beta.tolist() if self.beta.numel() < 4 else 'tensor'}, "
                f"threshold={self.threshold.tolist() if self.threshold.numel() < 4 else 'tensor'}, "
                f"reset={self.reset_mechanism}, output={self.output}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run all time steps of ``x`` ``[T, B, ...]``; return spikes or membrane ``[T, B, ...]``."""
        if x.dim() < 2:
            raise ValueError(f"LIF expects time-first input [T, B, ...], got shape {tuple(x.shape)}.")
        beta = self.beta.to(x.dtype)
        thr = self.threshold.to(x.dtype)
        spk, mem = lif_multistep(x, beta, thr, self.spike_grad, self.reset_mechanism, self.reset_delay)
        if self.record:
            self.spikes, self.mem = spk.detach(), mem.detach()
        return mem if self.output == "membrane" else spk


class SumOverTime(nn.Module):
    """``[T, B, ...] -> [B, ...]``: spike counts (sum over time)."""

    temporal = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x.sum(0)


class MeanOverTime(nn.Module):
    """``[T, B, ...] -> [B, ...]``: firing rates or mean membrane (mean over time)."""

    temporal = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x.mean(0)


def default_fold(device: torch.device | str) -> bool:
    """Whether stateless layers fold time into the batch on ``device``.

    ``True`` on GPUs (one large kernel launch beats ``T`` small ones). ``False``
    on CPU, where per-step calls were measured faster for convolutions
    (``benchmarks/snn_engine.py``).
    """
    return torch.device(device).type != "cpu"


class SpikingSequential(nn.Module):
    """Run layers on time-first tensors, choosing how to execute stateless layers.

    Parameters
    ----------
    *layers
        Stateless modules (``nn.Conv2d``, ``nn.Linear``, ``nn.BatchNorm2d``,
        pooling, ``nn.Flatten`` ...) and temporal modules (:class:`LIF`,
        :class:`SumOverTime`, :class:`MeanOverTime`: anything with
        ``temporal = True``), in order.
    num_steps
        Number of time steps for static inputs.
    static_input
        ``True`` (default): ``forward`` takes a still input ``[B, ...]`` shown at
        each of ``num_steps`` steps, and the leading stateless layers run once.
        ``False``: ``forward`` takes a sequence ``[T, B, ...]`` (events, or a
        spike-encoded input).
    fold
        Fold time into the batch for stateless layers (``True``), run them per
        time step (``False``), or choose by device (``None``, see
        :func:`default_fold`). Both compute the same function (batch norm always
        normalises over all ``T*B`` samples).
    """

    def __init__(self, *layers: nn.Module, num_steps: int, static_input: bool = True,
                 fold: bool | None = None) -> None:
        super().__init__()
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}.")
        self.layers = nn.ModuleList(layers)
        self.num_steps = num_steps
        self.static_input = static_input
        self.fold = fold

    @staticmethod
    def _chain(layers: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            x = layer(x)
        return x

    def _run_stateless(self, layers: list[nn.Module], x: torch.Tensor, static: bool, fold: bool) -> torch.Tensor:
        """Run consecutive stateless layers: once for a static input, else folded or per step."""
        if not layers or static:
            return self._chain(layers, x)
        # split at batch-norm layers, which always see all T*B samples
        groups: list[tuple[bool, list[nn.Module]]] = []
        for layer in layers:
            folded = fold or isinstance(layer, nn.modules.batchnorm._BatchNorm)
            if groups and groups[-1][0] == folded:
                groups[-1][1].append(layer)
            else:
                groups.append((folded, [layer]))
        for folded, group in groups:
            T, B = x.shape[:2]
            if folded:
                out = self._chain(group, x.reshape(T * B, *x.shape[2:]))
                x = out.reshape(T, B, *out.shape[1:])
            else:  # unbind/stack: one backward node each, not T
                x = torch.stack([self._chain(group, step) for step in x.unbind(0)])
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the network on ``[B, ...]`` (static input) or ``[T, B, ...]``; see ``static_input``."""
        fold = self.fold if self.fold is not None else default_fold(x.device)
        static = self.static_input  # True while x has no time axis: stateless layers run once
        reduced = False  # True after MeanOverTime/SumOverTime: no time axis any more
        pending: list[nn.Module] = []
        for layer in self.layers:
            if not getattr(layer, "temporal", False):
                pending.append(layer)
                continue
            x = self._run_stateless(pending, x, static or reduced, fold)
            pending = []
            if static:  # broadcast over time without copying
                x = x.unsqueeze(0).expand(self.num_steps, *x.shape)
                static = False
            x = layer(x)
            reduced = isinstance(layer, (MeanOverTime, SumOverTime))
        x = self._run_stateless(pending, x, static or reduced, fold)
        return x.unsqueeze(0).expand(self.num_steps, *x.shape) if static else x

    def lif_layers(self) -> list[tuple[str, LIF]]:
        """``(name, layer)`` for every :class:`LIF` in the network."""
        lifs = [layer for layer in self.layers if isinstance(layer, LIF)]
        return [(f"LIF {k}", layer) for k, layer in enumerate(lifs, start=1)]

    def record(self, on: bool = True) -> "SpikingSequential":
        """Switch recording of spikes and membranes on (or off) in every LIF layer."""
        for _, layer in self.lif_layers():
            layer.record = on
        return self


def firing_rates(net: SpikingSequential) -> dict[str, torch.Tensor]:
    """Per-neuron firing rates (spikes per step) of every recording LIF layer after a forward pass.

    Returns
    -------
    dict
        ``{layer name: tensor [B, ...] of rates in [0, 1]}`` for spiking layers
        that recorded (see :meth:`SpikingSequential.record`).
    """
    rates = {}
    for name, layer in net.lif_layers():
        if layer.output == "spikes" and layer.spikes is not None:
            rates[name] = layer.spikes.mean(0)
    return rates


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
        ``(membrane [T], spikes [T])``.
    """
    if current.dim() != 1:
        raise ValueError(f"current must be 1-D [T], got shape {tuple(current.shape)}.")
    lif = LIF(beta=beta, threshold=threshold, reset_mechanism=reset_mechanism, record=True)
    with torch.no_grad():
        spikes = lif(((1 - beta) * current).view(-1, 1).float())
    return lif.mem[:, 0], spikes[:, 0]
