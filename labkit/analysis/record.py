"""The one recorder of layer outputs, by name, for ANNs and SNNs: :func:`~labkit.analysis.record_features`.

:func:`~labkit.analysis.record_features` is a context manager: inside it, every forward pass of the
model stores the output of each named layer (``model.get_submodule(name)``, the
names of ``model.named_modules()``), one row per input:

* a layer without a time axis (an ANN layer) gives ``[B, D]`` (each sample's output flattened);
* a layer with a time axis gives, by an explicit choice,
  ``time="rate"``: the time average ``[B, D]`` (firing rates for spiking layers),
  or ``time="steps"``: one representation per time step ``[T, B, D]``.

Layers inside a :class:`labkit.spiking.SpikingSequential` (at any depth, e.g.
``"body.1.path.layers.0"`` inside a residual block) are read through
:meth:`~labkit.spiking.SpikingSequential.time_regions`: there a stateless layer may run
once per step, once on ``[T*B, ...]`` (time folded into the batch), or once on
``[B, ...]`` (the leading layers with a static input, or after a time reduction);
the recorder turns each of these into the same ``[T, B, ...]`` tensor. Other layers
with time-first outputs (e.g. a hand-written snnTorch loop, or the blocks of
:func:`labkit.models.resnet_snn`) need ``time_axis=True``.

Feature visualisation reads layers through the same recorder, with
``flatten=False, detach=False`` (the outputs keep their shape and their gradient) and
``stop_early=True`` with :meth:`~labkit.analysis.FeatureRecording.run` (the layers after the last
recorded one are never computed).

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
>>> ann = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten())
>>> x = torch.rand(1, 1, 5, 5, requires_grad=True)
>>> with record_features(ann, ["0"], flatten=False, detach=False, stop_early=True) as rec:
...     acts = rec.run(x)  # stops after ann[0]: the ReLU and Flatten never run
>>> acts["0"].shape, acts["0"].requires_grad
(torch.Size([1, 2, 3, 3]), True)
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Collection, Iterator, Literal, Mapping

import torch
from torch import nn

from ..spiking import LIF, SpikingSequential

__all__ = ["FeatureRecording", "record_features", "spiking_layers", "eval_mode"]

TimeMode = Literal["rate", "steps"]
# the time layout of a recorded layer's output: no time axis (an ANN layer), or, as in
# SpikingSequential.time_regions, before the time axis / on it / after its reduction
Layout = Literal["none", "static", "time", "reduced"]


class _StopForward(Exception):
    """Raised by a hook once every recorded layer has produced all of its output (``stop_early``)."""


@dataclass
class _Layer:
    """A recorded layer: its name, module, time layout and the SpikingSequential that runs it."""

    name: str
    module: nn.Module
    layout: Layout
    scope: SpikingSequential | None = None  # whose call gives (T, B); None: no time axis or a generic one
    where: str = ""  # where it sits, for error messages


def _top_layer(net: SpikingSequential, module: nn.Module) -> int | None:
    """Index of the top-level layer of ``net`` that is ``module`` or contains it (by identity)."""
    for i, layer in enumerate(net.layers):
        if any(m is module for m in layer.modules()):
            return i
    return None


def _locate(model: nn.Module, name: str, time_axis: bool, names_by_id: dict[int, str]) -> _Layer:
    """How the layer ``name`` of ``model`` runs over time."""
    module = model.get_submodule(name)
    if isinstance(module, SpikingSequential):  # its own output: time-first unless it ends with a reduction
        regions = module.time_regions()
        return _Layer(name, module, "reduced" if regions and regions[-1] == "reduced" else "time", module)
    scope, index = None, 0
    for net in model.modules():  # pre-order: the innermost SpikingSequential around the layer comes last
        if isinstance(net, SpikingSequential):
            i = _top_layer(net, module)
            if i is not None:
                scope, index = net, i
    if scope is None:
        return _Layer(name, module, "time" if time_axis else "none")
    top = names_by_id.get(id(scope.layers[index]), f"layers.{index}")
    where = "" if top == name else f" (inside {top!r}, layer {index} of a SpikingSequential)"
    return _Layer(name, module, scope.time_regions()[index], scope, where)


class FeatureRecording(Mapping[str, torch.Tensor]):
    """Features recorded by :func:`~labkit.analysis.record_features`: ``recording[name]`` concatenates all batches.

    ``[N, D]`` for layers without a time axis and for ``time="rate"``, ``[T, N, D]``
    for ``time="steps"`` (without the flattening, ``D`` stands for the layer's own
    shape), with ``N`` the number of inputs seen since the start (or the last :meth:`take`).
    """

    def __init__(self, names: Collection[str], time: TimeMode | None) -> None:
        self.names = list(names)
        self.time = time
        self._batches: dict[str, list[torch.Tensor]] = {name: [] for name in self.names}
        self._recorder: _Recorder | None = None  # set while the `with` block is open

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

    def run(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        """Run the model once on ``args`` and return this pass's features ``{name: tensor}``.

        Unlike calling the model directly, the features are returned rather than kept
        in the recording, so a loop (e.g. an optimisation with ``detach=False``) holds
        on to one pass only. With ``stop_early=True`` this is the way to call the
        model: the pass stops as soon as every recorded layer has produced its output.

        Raises
        ------
        RuntimeError
            Outside the ``with`` block, or when a recorded layer did not run.
        """
        recorder = self._recorder
        if recorder is None:
            raise RuntimeError("run() works only inside the `with record_features(...)` block.")
        recorder.in_run = True
        try:
            try:
                recorder.model(*args, **kwargs)
            except _StopForward:
                pass
            features = recorder.finish()
        finally:
            recorder.in_run = recorder.active = False
        missing = [name for name in self.names if name not in features]
        if missing:
            raise RuntimeError(f"layers {missing} did not run in the forward pass of {type(recorder.model).__name__}; "
                               "check layer_names.")
        return features

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


def _first(name: str, output: object, detach: bool) -> torch.Tensor:
    """A layer's output tensor (the first element of a tuple, e.g. ``snn.Leaky``'s spikes)."""
    if isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"recorded layers must return a tensor (or a tuple starting with one); "
                        f"{name!r} returned {type(output).__name__}.")
    return output.detach() if detach else output


class _Recorder:
    """Hook state: outputs of the current forward call, turned into features when it ends."""

    def __init__(self, model: nn.Module, layers: list[_Layer], time: TimeMode | None, flatten: bool,
                 detach: bool, stop_early: bool, recording: FeatureRecording) -> None:
        self.model, self.layers, self.time = model, layers, time
        self.flatten, self.detach, self.stop_early = flatten, detach, stop_early
        self.recording = recording
        self.pending: dict[str, list[torch.Tensor]] = {layer.name: [] for layer in layers}
        self.steps: dict[int, tuple[int, int]] = {}  # id(SpikingSequential) -> (T, B) of its current call
        self.active = False  # inside a forward pass of the model
        self.in_run = False  # inside FeatureRecording.run

    # ---------------------------------------------------------------- hooks
    def before(self, module: nn.Module, args: tuple) -> None:
        if self.stop_early and not self.in_run:
            raise RuntimeError("stop_early=True stops the forward pass, so the model returns nothing: "
                               "call recording.run(x) inside the block instead of model(x).")
        self.active = True
        self.steps.clear()
        for outs in self.pending.values():
            outs.clear()

    def scope_hook(self, net: SpikingSequential):
        def hook(module: nn.Module, args: tuple) -> None:
            if args and isinstance(args[0], torch.Tensor):
                x = args[0]
                self.steps[id(net)] = (net.num_steps, x.shape[0]) if net.static_input else tuple(x.shape[:2])
        return hook

    def layer_hook(self, layer: _Layer):
        def hook(module: nn.Module, args: tuple, output: object) -> None:
            if not self.active:
                raise RuntimeError(f"layer {layer.name!r} ran outside a forward pass of the recorded model; "
                                   "call the model itself inside record_features.")
            self.pending[layer.name].append(_first(layer.name, output, self.detach))
            if self.stop_early and all(self._complete(each) for each in self.layers):
                raise _StopForward
        return hook

    def after(self, module: nn.Module, args: tuple, output: object) -> None:
        if self.in_run:  # FeatureRecording.run returns the features itself
            return
        for name, features in self.finish().items():
            self.recording._add(name, features)

    # ------------------------------------------------------------- features
    def finish(self) -> dict[str, torch.Tensor]:
        """Features of the pass that just ended, ``{name: tensor}`` for the layers that ran."""
        self.active = False
        out = {}
        for layer in self.layers:
            outs = self.pending[layer.name]
            if outs:
                out[layer.name] = self._features(layer, outs)
            outs.clear()
        return out

    def _complete(self, layer: _Layer) -> bool:
        """Whether ``layer`` has produced all of its output in this pass (for ``stop_early``)."""
        outs = self.pending[layer.name]
        if not outs or layer.layout != "time":
            return bool(outs)
        if layer.scope is None or id(layer.scope) not in self.steps:  # a generic time axis: known only at the end
            return False
        T, B = self.steps[id(layer.scope)]
        return (len(outs) == 1 and tuple(outs[0].shape[:2]) == (T, B)) or sum(len(o) for o in outs) >= T * B

    def _features(self, layer: _Layer, outs: list[torch.Tensor]) -> torch.Tensor:
        if layer.layout == "time":
            x = self._time_first(layer, outs)
            if self.time == "rate":
                x = x.mean(0)
            return x.flatten(1 if self.time == "rate" else 2) if self.flatten else x
        if len(outs) > 1:
            raise RuntimeError(f"layer {layer.name!r} ran {len(outs)} times in one forward pass; a layer without "
                               "a time axis must run once. For a per-step SNN loop pass time_axis=True.")
        x = outs[0].flatten(1) if self.flatten else outs[0]
        if self.time == "steps":  # a static region (checked on entry): the same output at every step
            return x.unsqueeze(0).expand(self.steps[id(layer.scope)][0], *x.shape)
        return x

    def _time_first(self, layer: _Layer, outs: list[torch.Tensor]) -> torch.Tensor:
        """``[T, B, ...]`` from one time-first output, ``T`` per-step outputs or a folded ``[T*B, ...]``."""
        if layer.scope is None:  # time_axis=True: one [T, B, ...] call, or one call per step
            out = outs[0] if len(outs) == 1 else torch.stack(outs)
            if out.dim() < 2:
                raise ValueError(f"layer {layer.name!r} returned shape {tuple(out.shape)}; with time_axis=True "
                                 "outputs must be time-first [T, B, ...].")
            return out
        T, B = self.steps[id(layer.scope)]
        if len(outs) == 1 and tuple(outs[0].shape[:2]) == (T, B):
            return outs[0]
        shapes = [tuple(o.shape) for o in outs]
        if sum(len(o) for o in outs) != T * B or any(s[1:] != shapes[0][1:] for s in shapes):
            raise RuntimeError(f"layer {layer.name!r}{layer.where}: expected [{T}, {B}, ...] over the time steps, "
                               f"or {T}*{B} rows in all, got outputs of shapes {shapes}; record the layer that "
                               "contains it instead.")
        flat = torch.cat(outs)
        return flat.reshape(T, B, *flat.shape[1:])


def _check_names(model: nn.Module, layer_names: Collection[str]) -> list[str]:
    if isinstance(layer_names, str) or not layer_names:
        raise ValueError(f"layer_names must be a non-empty list of submodule names, got {layer_names!r}.")
    names = list(layer_names)
    if len(set(names)) != len(names):
        raise ValueError(f"layer_names has duplicates: {names}.")
    modules = {n: m for n, m in model.named_modules() if n}
    for name in names:
        if name not in modules:
            available = list(modules)
            raise ValueError(f"layer_names: {type(model).__name__} has no submodule {name!r}; "
                             f"available: {available[:20]}{' ...' if len(available) > 20 else ''}.")
        if isinstance(modules[name], (nn.ModuleList, nn.ModuleDict)):
            raise ValueError(f"layer_names: {name!r} is a {type(modules[name]).__name__}, which is never called; "
                             f"name one of its layers, e.g. {name + '.0'!r}.")
    return names


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block; its training flag is restored afterwards, even on an error.

    >>> net = nn.Sequential(nn.Dropout(0.5)).train()
    >>> with eval_mode(net):
    ...     net.training
    False
    >>> net.training
    True
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def record_features(
    model: nn.Module,
    layer_names: Collection[str],
    time: TimeMode | None = None,
    time_axis: bool = False,
    *,
    flatten: bool = True,
    detach: bool = True,
    stop_early: bool = False,
) -> Iterator[FeatureRecording]:
    """Record the outputs of ``layer_names`` during every forward pass of ``model`` in the block.

    Parameters
    ----------
    model
        The network; it must be called as a whole inside the block, ``model(x)`` or
        ``recording.run(x)``.
    layer_names
        Submodule names as in ``model.named_modules()``, e.g. ``"layers.2"`` in a
        :class:`~labkit.spiking.SpikingSequential`, ``"features.0"`` in an
        ``nn.Sequential`` ANN, ``"body"`` for the features of a
        :class:`~labkit.models.FeatureClassifier`.
    time
        Required when a recorded layer has a time axis: ``"rate"`` averages over
        the ``T`` steps (``[B, D]``), ``"steps"`` keeps them (``[T, B, D]``). For
        layers without one, ``"rate"`` or ``None`` (``[B, D]``) are accepted so the
        same call serves ANNs and SNNs.
    time_axis
        Whether layers outside any :class:`~labkit.spiking.SpikingSequential` have
        time-first outputs ``[T, B, ...]``. With ``True``, such a layer called once
        per forward must return ``[T, B, ...]``, and a layer called once per step
        (a per-step loop) is stacked over the calls. Layers inside a
        :class:`~labkit.spiking.SpikingSequential` (and a SpikingSequential itself) are
        always read through its :meth:`~labkit.spiking.SpikingSequential.time_regions`.
    flatten
        ``True``: one vector per input (``[B, D]`` or ``[T, B, D]``); ``False``: keep
        each layer's own shape (``[B, C, H, W]``, ``[T, B, C, H, W]`` ...).
    detach
        ``True``: store the outputs without their graph; ``False``: keep it, so
        gradients flow from the features back to the input (feature visualisation).
    stop_early
        Stop the forward pass as soon as every recorded layer has produced its
        output, so the layers after them never run. The model must then be called
        with :meth:`~labkit.analysis.FeatureRecording.run`, which returns the features of that pass.

    Yields
    ------
    FeatureRecording
        ``recording[name]`` concatenates the features of all forward passes so far.

    Raises
    ------
    ValueError
        For an unknown layer name, a bad ``time``, or a layer with a time axis and no ``time``.

    Examples
    --------
    The rate of a spiking layer is the mean of its spikes over the steps:

    >>> from labkit.spiking import LIF, SpikingSequential
    >>> net = SpikingSequential(nn.Linear(4, 8), LIF(threshold=0.1), num_steps=6)
    >>> x = torch.rand(3, 4)
    >>> with record_features(net, ["layers.1"], time="steps") as steps, \\
    ...         record_features(net, ["layers.1"], time="rate") as rate:
    ...     _ = net(x)
    >>> steps["layers.1"].shape, torch.equal(steps["layers.1"].mean(0), rate["layers.1"])
    (torch.Size([6, 3, 8]), True)
    """
    if time not in (None, "rate", "steps"):
        raise ValueError(f"time must be 'rate', 'steps' or None, got {time!r}.")
    names = _check_names(model, layer_names)
    names_by_id = {id(m): n for n, m in model.named_modules()}
    layers = [_locate(model, name, bool(time_axis), names_by_id) for name in names]
    timed = [layer.name for layer in layers if layer.layout != "none"]
    if timed and time is None:
        raise ValueError(f"layers {timed} of {type(model).__name__} have a time axis: choose time='rate' "
                         "(average over time, [B, D]) or time='steps' (one per step, [T, B, D]).")
    if time == "steps":
        if not timed:
            raise ValueError("time='steps' needs layers with a time axis (inside a SpikingSequential, or "
                             "time_axis=True for time-first outputs); for an ANN use time='rate' or None.")
        flat = [layer.name for layer in layers if layer.layout == "none"]
        if flat:
            raise ValueError(f"layers {flat} have no time axis: record them with time='rate' "
                             "(or pass time_axis=True if their outputs are time-first [T, B, ...]).")
        for layer in layers:
            if layer.layout == "reduced":
                raise ValueError(f"layer {layer.name!r} comes after a layer that removed the time axis "
                                 "(MeanOverTime / SumOverTime); record it with time='rate'.")
    recording = FeatureRecording(names, time if timed else None)
    recorder = _Recorder(model, layers, time, flatten, detach, stop_early, recording)
    handles = [model.register_forward_pre_hook(recorder.before), model.register_forward_hook(recorder.after)]
    scopes = {id(layer.scope): layer.scope for layer in layers if layer.scope is not None}
    handles += [net.register_forward_pre_hook(recorder.scope_hook(net)) for net in scopes.values()]
    handles += [layer.module.register_forward_hook(recorder.layer_hook(layer)) for layer in layers]
    recording._recorder = recorder
    try:
        yield recording
    finally:
        recording._recorder = None
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
