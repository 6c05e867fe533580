"""Spiking: inputs, spike codes, event cameras, surrogate gradients, LIF neurons and the engine.

Modules, each importing only those above it in this list:

* :mod:`~labkit.spiking.stimuli`: input currents and still images moved along saccades;
* :mod:`~labkit.spiking.encoding`: rate, latency and delta spike codes;
* :mod:`~labkit.spiking.events`: the event-camera (DVS) emulator and real N-MNIST;
* :mod:`~labkit.spiking.surrogate`: surrogate derivatives;
* :mod:`~labkit.spiking.functional`: the LIF recurrence as pure functions;
* :mod:`~labkit.spiking.neurons`: the :class:`LIF` module and a one-neuron simulator;
* :mod:`~labkit.spiking.sequential`: :class:`SpikingSequential`, which runs layers over time.

Every spiking module takes time-first tensors ``[T, B, ...]``; functions that
return spikes and membranes return them in that order, ``(spikes, membrane)``,
as snnTorch does.
"""

from __future__ import annotations

from . import encoding, events, stimuli
from .functional import lif_multistep, lif_reference
from .neurons import LIF, simulate_neuron
from .sequential import (MeanOverTime, SpikingSequential, SumOverTime, default_channels_last,
                         default_fold)
from .surrogate import SURROGATE_NAMES, SpikeFn, describe_surrogate, stable_sigmoid, surrogate_derivative, surrogate_from_name

__all__ = [
    "encoding",
    "events",
    "stimuli",
    "LIF",
    "SpikingSequential",
    "SumOverTime",
    "MeanOverTime",
    "default_fold",
    "default_channels_last",
    "lif_multistep",
    "lif_reference",
    "simulate_neuron",
    "surrogate_derivative",
    "stable_sigmoid",
    "surrogate_from_name",
    "describe_surrogate",
    "SURROGATE_NAMES",
    "SpikeFn",
]
