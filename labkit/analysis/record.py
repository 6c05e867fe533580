"""Record the features of named layers of an ANN or an SNN with forward hooks.

:func:`record_features` is a context manager: inside it, every forward pass of the
model stores the output of each named layer (``model.get_submodule(name)``, the
names of ``model.named_modules()``), detached, one row per input:

* an ANN layer gives ``[B, D]`` (each sample's output flattened);
* an SNN layer gives, by an explicit choice,
  ``time="rate"``: the time average ``[B, D]`` (firing rates for spiking layers),
  or ``time="steps"``: one representation per time step ``[T, B, D]``.

Spiking models are detected as :class:`labkit.spiking.SpikingSequential`; for other
models with time-first outputs (e.g. a hand-written snnTorch loop) pass
``time_axis=True``. Inside a :class:`~labkit.spiking.SpikingSequential` a stateless layer
may run once per step, once on ``[T*B, ...]`` (time folded into the batch), or once
on ``[B, ...]`` (the leading layers with a static input); the recorder turns each of
these into the same ``[T, B, ...]`` tensor.

Examples
--------
>>> import torch
>>> from labkit.spiking import LIF, SpikingSequential
>>> net = SpikingSequential(torch.nn.Linear(4, 8), LIF(), torch.nn.Linear(8, 3), num_steps=5)
>>> with record_features(net, ["layers.1", "layers.2"], time="rate") as rec:
...     _ = net(torch.rand(2, 4))
...     _ = net(torch.rand(3, 4))
>>> rec["layers.1"].shape, rec["layers.2"].shape  # 5 inputs, time-averaged
(torch.Size([5, 8]), torch.Size([5, 3]))
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Literal, Mapping, Sequence

import torch
from torch import nn

from ..spiking import LIF, MeanOverTime, SpikingSequential, SumOverTime

__all__ = ["FeatureRecording", "record_features", "spiking_layers"]

TimeMode = Literal["rate", "steps"]
# where a layer of a SpikingSequential sits: before any time axis (static input),
# on the time axis, or after a layer that averaged or summed time away
Region = Literal["static", "time", "reduced"]


def _spiking_regions(net: SpikingSequential) -> list[Region]:
    """Region of every top-level layer of ``net``, following :meth:`SpikingSequential.forward`."""
    regions: list[Region] = []
    state: Region = "static" if net.static_input else "time"
    for layer in net.layers:
        if getattr(layer, "temporal", False):
            state = "reduced" if isinstance(layer, (MeanOverTime, SumOverTime)) else "time"
        regions.append(state)
    return regions


class FeatureRecording(Mapping[str, torch.Tensor]):
    """Features recorded by :func:`record_features`: ``recording[name]`` concatenates all batches.

    ``[N, D]`` for ANN layers and ``time="rate"``, ``[T, N, D]`` for ``time="steps"``,
    with ``N`` the number of inputs seen since the start (or the last :meth:`take`).
    """

    def __init__(self, names: Sequence[str], time: TimeMode | None) -> None:
        self.names = list(names)
        self.time = time
        self._batches: dict[str, list[torch.Tensor]] = {name: [] for name in self.names}

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._batches:
            raise KeyError(f"{name!r} was not recorded; recorded layers: {self.names}.")
        batches = self._batches[name]
        if not batches:
            raise KeyError(f"nothing recorded for {name!r} yet: run the model inside the `with` block.")
        return torch.cat(batches, dim=1 if self.time == "steps" else 0)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def take(self) -> dict[str, torch.Tensor]:
        """Features recorded since the last ``take`` (one entry per layer), then forget them.

        Use it to stream features batch by batch, e.g. into
        :class:`labkit.analysis.cka.MinibatchCKA`, without keeping the whole data set.
        """
        out = {name: self[name] for name in self.names}
        self.clear()
        return out

    def clear(self) -> None:
        """Forget everything recorded so far."""
        for batches in self._batches.values():
            batches.clear()

    def _add(self, name: str, features: torch.Tensor) -> None:
        self._batches[name].append(features)


def _first(output: object) -> torch.Tensor:
    """A layer's output tensor (the first element of a tuple, e.g. ``snn.Leaky``'s spikes)."""
    if isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"recorded layers must return a tensor (or a tuple starting with one), "
                        f"got {type(output).__name__}.")
    return output.detach()


class _Recorder:
    """Hook state: outputs of the current forward call, turned into features when it ends."""

    def __init__(self, model: nn.Module, names: list[str], time: TimeMode | None, time_axis: bool,
                 recording: FeatureRecording) -> None:
        self.model, self.names, self.time, self.time_axis = model, names, time, time_axis
        self.recording = recording
        self.pending: dict[str, list[torch.Tensor]] = {name: [] for name in names}
        self.active = False
        self.steps_batch: tuple[int, int] | None = None  # (T, B) of the current SpikingSequential call
        self.regions: dict[str, Region] = {}
        if isinstance(model, SpikingSequential):
            top = _spiking_regions(model)
            for name in names:
                self.regions[name] = top[int(name.split(".")[1])]

    def before(self, module: nn.Module, args: tuple) -> None:
        self.active = True
        for outs in self.pending.values():
            outs.clear()
        if isinstance(self.model, SpikingSequential) and args and isinstance(args[0], torch.Tensor):
            x = args[0]
            self.steps_batch = (self.model.num_steps, x.shape[0]) if self.model.static_input else tuple(x.shape[:2])

    def layer_hook(self, name: str):
        def hook(module: nn.Module, args: tuple, output: object) -> None:
            if not self.active:
                raise RuntimeError(f"layer {name!r} ran outside a forward pass of the recorded model; "
                                   "call the model itself inside record_features.")
            self.pending[name].append(_first(output))
        return hook

    def after(self, module: nn.Module, args: tuple, output: object) -> None:
        self.active = False
        for name, outs in self.pending.items():
            if outs:
                self.recording._add(name, self._features(name, outs))
            outs.clear()

    def _features(self, name: str, outs: list[torch.Tensor]) -> torch.Tensor:
        if not self.time_axis:
            if len(outs) > 1:
                raise RuntimeError(f"layer {name!r} ran {len(outs)} times in one forward pass; a layer without "
                                   "a time axis must run once. For a per-step SNN loop pass time_axis=True.")
            return outs[0].flatten(1)
        region = self.regions.get(name, "time")
        if region == "time":
            return self._reduce(self._time_first(name, outs))
        if self.time == "steps" and region == "reduced":
            raise ValueError(f"layer {name!r} comes after a layer that removed the time axis "
                             "(MeanOverTime / SumOverTime); record it with time='rate'.")
        features = outs[0].flatten(1)
        if self.time == "steps":  # a static input: the same representation at every step
            return features.unsqueeze(0).expand(self.steps_batch[0], *features.shape)
        return features

    def _time_first(self, name: str, outs: list[torch.Tensor]) -> torch.Tensor:
        """``[T, B, ...]`` from one time-first output, ``T`` per-step outputs or a folded ``[T*B, ...]``."""
        if self.steps_batch is None:  # a generic model: one [T, B, ...] call, or one call per step
            out = outs[0] if len(outs) == 1 else torch.stack(outs)
            if out.dim() < 2:
                raise ValueError(f"layer {name!r} returned shape {tuple(out.shape)}; with time_axis=True "
                                 "outputs must be time-first [T, B, ...].")
            return out
        T, B = self.steps_batch
        if len(outs) == 1 and tuple(outs[0].shape[:2]) == (T, B):
            return outs[0]
        flat = torch.cat(outs)
        if flat.shape[0] != T * B:
            raise RuntimeError(f"layer {name!r}: expected {T}*{B} rows over the time steps, "
                               f"got {flat.shape[0]} (shapes {[tuple(o.shape) for o in outs]}).")
        return flat.reshape(T, B, *flat.shape[1:])

    def _reduce(self, out: torch.Tensor) -> torch.Tensor:
        return out.mean(0).flatten(1) if self.time == "rate" else out.flatten(2)


def _check_names(model: nn.Module, layer_names: Sequence[str]) -> list[str]:
    if isinstance(layer_names, str) or not layer_names:
        raise ValueError(f"layer_names must be a non-empty list of submodule names, got {layer_names!r}.")
    names = list(layer_names)
    if len(set(names)) != len(names):
        raise ValueError(f"layer_names has duplicates: {names}.")
    available = [n for n, _ in model.named_modules() if n]
    for name in names:
        if name not in available:
            raise ValueError(f"layer_names: {type(model).__name__} has no submodule {name!r}; "
                             f"available: {available[:20]}{' ...' if len(available) > 20 else ''}.")
        if isinstance(model, SpikingSequential) and not name.startswith("layers."):
            raise ValueError(f"layer_names: {name!r} is not a layer of the SpikingSequential "
                             "(names look like 'layers.3').")
    return names


@contextmanager
def record_features(
    model: nn.Module,
    layer_names: Sequence[str],
    time: TimeMode | None = None,
    time_axis: bool | None = None,
) -> Iterator[FeatureRecording]:
    """Record the outputs of ``layer_names`` during every forward pass of ``model`` in the block.

    Parameters
    ----------
    model
        The network; it must be called as a whole (``model(x)``) inside the block.
    layer_names
        Submodule names as in ``model.named_modules()``, e.g. ``"layers.2"`` in a
        :class:`~labkit.spiking.SpikingSequential` or ``"features.0"`` in an
        ``nn.Sequential`` ANN.
    time
        For models with a time axis, required: ``"rate"`` averages over the ``T``
        steps (``[B, D]``), ``"steps"`` keeps them (``[T, B, D]``). For an ANN,
        ``"rate"`` or ``None`` (``[B, D]``) are accepted so the same call serves both.
    time_axis
        Whether layer outputs are time-first ``[T, B, ...]``; by default ``True``
        exactly for :class:`~labkit.spiking.SpikingSequential`. With ``True`` on another
        model, a layer called once per forward must return ``[T, B, ...]`` and a
        layer called once per step (a per-step loop) is stacked over the calls.

    Yields
    ------
    FeatureRecording
        ``recording[name]`` concatenates the features of all forward passes so far.

    Raises
    ------
    ValueError
        For an unknown layer name, a bad ``time``, or a time-first model without ``time``.
    """
    if time not in (None, "rate", "steps"):
        raise ValueError(f"time must be 'rate', 'steps' or None, got {time!r}.")
    if time_axis is None:
        time_axis = isinstance(model, SpikingSequential)
    if time_axis and time is None:
        raise ValueError(f"{type(model).__name__} has time-first outputs [T, B, ...]: choose time='rate' "
                         "(average over time, [B, D]) or time='steps' (one per step, [T, B, D]).")
    if not time_axis and time == "steps":
        raise ValueError("time='steps' needs a model with a time axis (a SpikingSequential or time_axis=True).")
    names = _check_names(model, layer_names)
    recording = FeatureRecording(names, time if time_axis else None)
    recorder = _Recorder(model, names, time, time_axis, recording)
    handles = [model.register_forward_pre_hook(recorder.before),
               model.register_forward_hook(recorder.after)]
    handles += [model.get_submodule(name).register_forward_hook(recorder.layer_hook(name)) for name in names]
    try:
        yield recording
    finally:
        for handle in handles:
            handle.remove()


def spiking_layers(model: nn.Module) -> list[str]:
    """Names of the :class:`~labkit.spiking.LIF` layers of ``model`` that emit spikes (not membrane readouts).

    Record them with ``time="rate"`` to get firing rates in spikes per step.

    Examples
    --------
    >>> net = SpikingSequential(nn.Linear(4, 8), LIF(), nn.Linear(8, 3), LIF(output="membrane"), num_steps=5)
    >>> spiking_layers(net)
    ['layers.1']
    """
    return [name for name, module in model.named_modules() if isinstance(module, LIF) and module.output == "spikes"]
