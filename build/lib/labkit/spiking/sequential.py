"""Run a stack of layers over time: :class:`SpikingSequential` and the time reductions.

Every spiking module takes time-first tensors ``[T, B, ...]``.

:class:`SpikingSequential` runs a stack of layers with two savings:

* a **static input** (an image shown at every step, passed as ``[B, ...]``) goes
  once through the leading stateless layers (e.g. the first convolution), whose
  output is then broadcast over time instead of being recomputed ``T`` times;
* stateless layers (conv, linear, pooling, batch norm) run on all time steps in
  one call by folding time into the batch (``[T*B, ...]``), or optionally in
  per-step chunks. Batch norm always sees all ``T*B`` samples, so both execution
  modes compute the same function;
* on CPU, image tensors are kept channels-last (``NHWC`` in memory, each time
  step after the other), the layout oneDNN's convolutions and PyTorch's batch
  norm run fastest in.

Why these defaults (measured on 2 CPU cores, 1 thread, CPU time per training
step of the residual SNN of ``benchmarks/snn_engine.py``, 2026-11-29): in the
default NCHW layout, folding time into the batch was slower than per-step calls
for convolutions on 16-32 channels (a 3x3 convolution on 16 x 32 x 32 maps,
forward and backward for ``T*B = 1024``: 548 ms folded, 364 ms per step) and
per-step calls cost a copy to stack their outputs; in channels-last, folding is
as fast or faster for every layer of the course's networks (256 ms folded, 249 ms
per step; 37 ms and 45 ms for 16 x 16 x 16 maps), needs no copies, and batch norm
over ``T*B`` samples takes a third of its NCHW time. The whole step: 0.46 s
folded channels-last against 0.56-0.64 s per step in NCHW.

Examples
--------
>>> import torch
>>> from labkit.spiking import LIF, SpikingSequential, MeanOverTime
>>> net = SpikingSequential(torch.nn.Linear(4, 8), LIF(beta=0.9), torch.nn.Linear(8, 3),
...                         LIF(beta=0.9, output="membrane"), MeanOverTime(), num_steps=5)
>>> net(torch.rand(2, 4)).shape  # a static input [B, 4] shown for 5 steps
torch.Size([2, 3])
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn


__all__ = ["SpikingSequential", "SumOverTime", "MeanOverTime", "default_fold", "default_channels_last",
           "TimeRegion"]

#: Where a layer of a :class:`SpikingSequential` runs (see :meth:`~labkit.spiking.SpikingSequential.time_regions`).
TimeRegion = Literal["static", "time", "reduced"]


def _temporal(layer: nn.Module) -> bool:
    """Whether ``layer`` consumes a whole ``[T, B, ...]`` sequence (``temporal = True``)."""
    return bool(getattr(layer, "temporal", False))


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
    """Whether stateless layers fold time into the batch on ``device``: ``True`` everywhere.

    On GPUs one large kernel launch beats ``T`` small ones (not measured here yet).
    On CPU, with channels-last image tensors (:func:`default_channels_last`),
    folding was measured as fast as per-step calls or faster for every layer of
    the course's networks, and it needs no copies to stack per-step outputs (see
    the module docstring and ``benchmarks/snn_engine.py``).
    """
    torch.device(device)  # refuse a bad device name early
    return True


def default_channels_last(device: torch.device | str) -> bool:
    """Whether image tensors ``[.., C, H, W]`` are kept channels-last on ``device``: ``True`` on CPU.

    Measured on 2 CPU cores: oneDNN's convolutions and PyTorch's batch norm run
    1.3-3x faster on channels-last tensors (module docstring). ``False`` on GPUs,
    where it has not been measured yet.
    """
    return torch.device(device).type == "cpu"


def _channels_last(x: torch.Tensor, time_first: bool) -> torch.Tensor:
    """``x`` (``[B, C, H, W]``, or ``[T, B, C, H, W]`` if ``time_first``) with every image channels-last."""
    if x.dim() != (5 if time_first else 4):
        return x
    if not time_first:
        return x.contiguous(memory_format=torch.channels_last)
    flat = x.reshape(-1, *x.shape[2:])  # a view unless x is expanded over time or oddly strided
    return flat.contiguous(memory_format=torch.channels_last).view(x.shape)


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
    channels_last
        Keep image inputs of a network with a ``nn.Conv2d`` channels-last
        (``True``), leave them as they come (``False``), or choose by device
        (``None``, see :func:`default_channels_last`). Values are the same either
        way; only their order in memory differs (outputs may be channels-last:
        use ``.reshape``, not ``.view``, on them).
    """

    def __init__(self, *layers: nn.Module, num_steps: int, static_input: bool = True,
                 fold: bool | None = None, channels_last: bool | None = None) -> None:
        super().__init__()
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}.")
        self.layers = nn.ModuleList(layers)
        self.num_steps = num_steps
        self.static_input = static_input
        self.fold = fold
        self.channels_last = channels_last

    @staticmethod
    def _chain(layers: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            x = layer(x)
        return x

    def _run_stateless(self, layers: list[nn.Module], x: torch.Tensor, once: bool, fold: bool) -> torch.Tensor:
        """Run consecutive stateless layers: once without a time axis, else folded or per step."""
        if not layers or once:
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

    def time_regions(self) -> list[TimeRegion]:
        """Where each layer of ``layers`` runs, and so the time layout of its output.

        * ``"static"``: before any time axis (a static input, before the first
          temporal layer): the layer runs once on ``[B, ...]`` and its output is
          the same at every step;
        * ``"time"``: on the time axis: the output is ``[T, B, ...]`` (stateless
          layers run on ``[T*B, ...]`` or once per step, see ``fold``);
        * ``"reduced"``: at or after a :class:`MeanOverTime` / :class:`SumOverTime`
          that removed the time axis: the layer runs once on ``[B, ...]``.

        :meth:`forward` follows these regions; :func:`labkit.analysis.record_features`
        reads them to turn what a layer returned into ``[T, B, ...]``.

        Examples
        --------
        >>> from labkit.spiking import LIF
        >>> net = SpikingSequential(nn.Linear(4, 8), LIF(), nn.Linear(8, 3), MeanOverTime(), nn.ReLU(),
        ...                         num_steps=5)
        >>> net.time_regions()
        ['static', 'time', 'time', 'reduced', 'reduced']
        """
        regions: list[TimeRegion] = []
        region: TimeRegion = "static" if self.static_input else "time"
        for layer in self.layers:
            if _temporal(layer):
                region = "reduced" if isinstance(layer, (MeanOverTime, SumOverTime)) else "time"
            regions.append(region)
        return regions

    def _check_input(self, x: torch.Tensor) -> None:
        """Refuse a still batch fed to a sequence network (its batch would be read as time), and the reverse."""
        first = next((layer for layer in self.layers if not isinstance(layer, nn.Identity)), None)
        step_rank = {nn.Conv1d: 3, nn.Conv2d: 4, nn.Conv3d: 5}.get(type(first))
        if step_rank is None:
            return  # a Linear or pooling layer accepts several ranks: nothing to check
        want = step_rank if self.static_input else step_rank + 1
        if x.dim() != want:
            layout = "[B, C, ...]" if self.static_input else "[T, B, C, ...]"
            fix = ("pass a still batch, or build with static_input=False for sequences" if self.static_input
                   else "pass a sequence, or build with static_input=True (the image shown for num_steps steps)")
            raise ValueError(f"x has shape {tuple(x.shape)}, but this SpikingSequential (static_input="
                             f"{self.static_input}) starts with {type(first).__name__} and takes {want}-D "
                             f"input {layout}: {fix}.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the network on ``[B, ...]`` (static input) or ``[T, B, ...]``; see ``static_input``."""
        self._check_input(x)
        fold = self.fold if self.fold is not None else default_fold(x.device)
        nhwc = self.channels_last if self.channels_last is not None else default_channels_last(x.device)
        if nhwc and any(isinstance(layer, nn.Conv2d) for layer in self.layers):
            x = _channels_last(x, time_first=not self.static_input)
        region: TimeRegion = "static" if self.static_input else "time"  # the layout of x
        pending: list[nn.Module] = []  # consecutive stateless layers, all in `region`
        for layer, after in zip(self.layers, self.time_regions()):
            if not _temporal(layer):
                pending.append(layer)
                continue
            x = self._run_stateless(pending, x, region != "time", fold)
            pending = []
            if region == "static":  # broadcast over time without copying
                x = x.unsqueeze(0).expand(self.num_steps, *x.shape)
            x = layer(x)
            region = after
        x = self._run_stateless(pending, x, region != "time", fold)
        return x.unsqueeze(0).expand(self.num_steps, *x.shape) if region == "static" else x
