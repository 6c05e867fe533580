"""Analysis: read layers, compare representations, probe robustness.

* :mod:`~labkit.analysis.record`: the one recorder of layer outputs by name, ANN or SNN, rates or per step;
* :mod:`~labkit.analysis.regression`: linear and MLP maps between two feature spaces and their scores;
* :mod:`~labkit.analysis.cka`: linear, debiased and minibatch CKA;
* :mod:`~labkit.analysis.similarity`: CKA layer by layer and step by step over a data loader, with intervals;
* :mod:`~labkit.analysis.inputs`: other inputs for trained networks (rate-coded spikes, an event camera) and
  ANN/SNN comparisons on them;
* :mod:`~labkit.analysis.receptive`: receptive-field size, jump and start per layer;
* :mod:`~labkit.analysis.attacks`: FGSM and PGD adversarial inputs;
* :mod:`~labkit.analysis.rates`: firing rates of spiking channels, and a channel as a black box to query;
* :mod:`~labkit.analysis.maximise`: gradient-free search over a discrete grid (PROTES, random, ES), exported as :func:`labkit.maximise`.
* :mod:`~labkit.analysis.boxes`: localisers scored: mean IoU against a baseline box, mAP, IoU by object size.
* :mod:`~labkit.analysis.reconstruction`: autoencoders' nRMSE per sample, the rate code's noise floor, embeddings, UMAP.
"""

from __future__ import annotations

from . import attacks, boxes, cka, inputs, receptive, reconstruction, regression, similarity
from .attacks import fgsm, pgd
from .cka import MinibatchCKA, linear_cka
from .rates import RateObjective, channel_rate, channel_rates
from .receptive import ReceptiveField, receptive_fields, receptive_fields_of
from .reconstruction import embeddings, knn_correct, noise_floor, sample_nrmse, umap_2d
from .record import FeatureRecording, eval_mode, record_features, spiking_layers
from .similarity import Net, layer_cka, time_step_cka

__all__ = [
    "attacks",
    "boxes",
    "cka",
    "inputs",
    "similarity",
    "receptive",
    "regression",
    "record_features",
    "eval_mode",
    "FeatureRecording",
    "spiking_layers",
    "linear_cka",
    "MinibatchCKA",
    "layer_cka",
    "time_step_cka",
    "Net",
    "ReceptiveField",
    "receptive_fields",
    "receptive_fields_of",
    "fgsm",
    "pgd",
    "channel_rates",
    "channel_rate",
    "RateObjective",
    "reconstruction",
    "sample_nrmse",
    "noise_floor",
    "embeddings",
    "knn_correct",
    "umap_2d",
]
