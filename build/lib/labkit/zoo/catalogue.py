"""The catalogue: every named network of the course, with its builder, recipe and quick and full sizes.

An :class:`Entry` says how to build a network (``build(**arch)``), which data it
learns from, and its settings in quick and full mode: data sizes (``n_train``,
``n_val``, ``n_test``), the :class:`~labkit.train.Recipe` fields (``epochs``,
``lr``, ``batch_size`` ...), and architecture arguments (``num_steps``,
``width`` ...). A network that does not classify says what it learns instead:
``prepare`` turns each split of images into its task's data (pairs of image and
image for an autoencoder, canvases with boxes for a localiser), ``loss`` and
``metrics`` score it. :func:`~labkit.zoo.course` lists the variants the labs
use, which ``python -m labkit.zoo`` trains ahead of time.

The quick sizes were chosen by measurement on 2 CPU cores (accuracy per
CPU-second; the comments give the figures and the README has the table):
spiking networks use a few time steps with direct (static) input, the residual
networks a stride-2 stem (their blocks then run at 16x16 px, four times
cheaper), and a one-cycle schedule (the AlexNet-style network keeps the cosine
decay it was tuned with).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from torch import nn

from ..data import localisation_set
from ..data.pairs import autoencoder_pairs
from ..models import alexnet_cifar, cifar_cnn, cifar_snn, mnist_snn, resnet_ann, resnet_snn
from ..models.autoencoder import conv_ae, conv_sae, reconstruction_loss, reconstruction_nrmse
from ..models.events import event_snn
from ..models.localiser import class_accuracy, localisation_loss, localiser_ann, localiser_snn, mean_iou
from ..models.vqvae import perplexity, reconstruction_error, vqvae, vqvae_loss
from ..spiking import surrogate_from_name
from .events import EVENT_BINS, event_autoencoder_data, event_classifier_data

__all__ = ["Entry", "ENTRIES", "course", "SIZE_KEYS", "RECIPE_KEYS", "RESIDUAL_STUDY", "autoencoder_course",
           "AUTOENCODER_SWEEPS"]

#: Settings that choose the data.
SIZE_KEYS = ("n_train", "n_val", "n_test")
#: Settings that go to :class:`labkit.train.Recipe`.
RECIPE_KEYS = ("epochs", "lr", "batch_size", "optimizer", "weight_decay", "label_smoothing", "schedule")


@dataclass(frozen=True)
class Entry:
    """One network of the catalogue.

    Attributes
    ----------
    name
        Catalogue name, e.g. ``"cifar-snn"``.
    summary
        One line for tables and errors.
    dataset
        ``"mnist"`` or ``"cifar10"``.
    build
        ``build(**arch)`` makes the untrained network.
    quick, full
        Settings per mode: sizes (``SIZE_KEYS``, ``None`` = all), recipe fields
        (``RECIPE_KEYS``) and architecture arguments (the rest).
    prepare
        ``prepare(images)`` turns each split (an :class:`~labkit.data.ImageSet`)
        into the task's data: anything with ``loader(batch_size, shuffle)``,
        ``len`` and ``title`` whose batches are ``(inputs, targets)``. It must be
        deterministic. ``None``: the images and their class labels.
    loss, metrics
        ``loss(outputs, targets)`` and ``{name: fn(outputs, targets) -> float}``
        for training and testing. ``None``: cross-entropy (with the recipe's
        label smoothing) and accuracy.
    keep_epochs
        Keep the weights after every epoch in the checkpoint, so that
        :func:`~labkit.zoo.at_epoch` returns the network as it was during
        training (for the study of training dynamics).
    """

    name: str
    summary: str
    dataset: str
    build: Callable[..., nn.Module]
    quick: Mapping[str, Any] = field(default_factory=dict)
    full: Mapping[str, Any] = field(default_factory=dict)
    prepare: Callable[[Any], Any] | None = None
    loss: Callable[[Any, Any], Any] | None = None
    metrics: Mapping[str, Callable[[Any, Any], float]] | None = None
    keep_epochs: bool = False


def _mnist_snn(num_steps: int, surrogate: str, beta: float) -> nn.Module:
    return mnist_snn(num_steps, spike_grad=surrogate_from_name(surrogate), beta=beta)


def _cifar_cnn(channels: tuple[int, int], hidden: int) -> nn.Module:
    return cifar_cnn(tuple(channels), hidden)


def _cifar_snn(num_steps: int, channels: tuple[int, int], hidden: int, surrogate: str, beta: float) -> nn.Module:
    return cifar_snn(num_steps, tuple(channels), hidden, beta=beta, spike_grad=surrogate_from_name(surrogate))


def _resnet_ann(width: int, depth: int, residual: bool, stem_stride: int) -> nn.Module:
    return resnet_ann(width, depth, residual, stem_stride=stem_stride)


def _resnet_snn(num_steps: int, width: int, depth: int, residual: bool, stem_stride: int, surrogate: str,
                beta: float) -> nn.Module:
    return resnet_snn(num_steps, width, depth, residual, beta=beta, spike_grad=surrogate_from_name(surrogate),
                      stem_stride=stem_stride)


def _alexnet(width: float) -> nn.Module:
    return alexnet_cifar(width=width)


def _mnist_vqvae(codes: int, dim: int, channels: tuple[int, int]) -> nn.Module:
    return vqvae(codes, dim, tuple(channels))


def _localiser_ann(channels: tuple[int, int, int], width: int, kernel: int, stem_stride: int) -> nn.Module:
    return localiser_ann(tuple(channels), width, kernel, stem_stride)


def _localiser_snn(num_steps: int, channels: tuple[int, int, int], width: int, kernel: int, stem_stride: int,
                   surrogate: str, beta: float) -> nn.Module:
    return localiser_snn(num_steps, tuple(channels), width, kernel, stem_stride, beta=beta,
                         spike_grad=surrogate_from_name(surrogate))


def _mnist_sae(kernel_size: int, embedding: int, channels: tuple[int, int], num_steps: int, f_on: float, f_off: float,
               dt: float, beta: float, recurrent: int) -> nn.Module:
    return conv_sae(kernel_size, embedding, tuple(channels), num_steps, f_on, f_off, dt, beta, recurrent)


def _mnist_ae(kernel_size: int, embedding: int, channels: tuple[int, int], num_steps: int, f_on: float, f_off: float,
              dt: float) -> nn.Module:
    return conv_ae(kernel_size, embedding, tuple(channels), num_steps, f_on, f_off, dt)


def _event_sae(kernel_size: int, embedding: int, channels: tuple[int, int], beta: float) -> nn.Module:
    return conv_sae(kernel_size, embedding, tuple(channels), EVENT_BINS, beta=beta, in_channels=2, rate_coded=False)


def _event_snn(kernel_size: int, channels: tuple[int, int], beta: float) -> nn.Module:
    return event_snn(kernel_size, tuple(channels), beta=beta)


_CIFAR_SIZES_FULL = dict(n_train=45_000, n_val=5_000, n_test=None)
# Quick sizes, chosen by measurement on 2 CPU cores (2026-11-29, README table): a first cold build with
# 6,000 digits x 3 epochs, 12,000 images x 5 and 15,000 x 6 gave MNIST SNNs 95.7-96.9%, CNN 60.2%, SNN 54.0%,
# residual ANNs 58.1-61.1% and SNNs 51.1-52.1% in 568 s; these sizes add data and epochs where that missed.
_MNIST_QUICK = dict(n_train=6_500, n_val=400, n_test=2_000, epochs=5, lr=3e-3)
_CIFAR_QUICK = dict(n_train=12_000, n_val=1_000, n_test=2_000, epochs=6, lr=3e-3)
_RESNET_QUICK = dict(n_train=20_000, n_val=1_000, n_test=2_000, epochs=6, lr=1e-2)
# the SNN's own training digits (the same split), a few epochs
_MNIST_VQVAE_QUICK = dict(n_train=6_500, n_val=400, n_test=2_000, epochs=4, lr=3e-3)
# Localisers: MNIST digits pasted on 64x64 canvases (labkit.data.localisation_set); the SNN as Barchid et al.
# (beta 0.5, fast sigmoid 25). Quick sizes measured on the 2-core machine under load (2026-11-29): the ANN takes
# 45 s and the SNN (T = 4) 200 s of CPU time on one thread, about 2.5 min of wall time on 2 idle cores together
# (1.65 x mnist-snn's CPU time per step); test mean IoU 0.67 and 0.54 against 0.06 for the mean box. In tuning
# runs of an earlier class head, T = 2 did not learn the box in 3 epochs (validation IoU 0.13) and lr 1e-2 beat
# 3e-3 for the SNN (0.45 against 0.40 after 6 epochs).
# Offline, the MNIST training part holds at most 6,925 class-balanced digits: n_train + n_val = 6,900.
_LOCALISER = dict(channels=(16, 32, 64), width=32, kernel=5, stem_stride=4)
_LOCALISER_QUICK = dict(n_train=6_400, n_val=500, n_test=2_000, epochs=12, lr=1e-2, batch_size=64, **_LOCALISER)
_LOCALISER_FULL = dict(n_train=None, n_val=1_000, n_test=None, epochs=12, lr=1e-2, batch_size=128, **_LOCALISER)
_LOCALISER_TASK = dict(prepare=localisation_set, loss=localisation_loss,
                       metrics={"acc": class_accuracy, "miou": mean_iou})
# Autoencoders: quick and full code the same 50 ms of input (10 steps of 5 ms, 25 of 2 ms; 100 Hz: p = 0.5 or 0.2).
# Measured on the 2-core machine: quick SAE test nRMSE 0.660, AE 0.695 (noise floor 0.371); the 23 quick variants
# of autoencoder_course() train from cold in 220 s of CPU time on one thread (event recordings emulated included).
_AE_QUICK = dict(n_train=2_000, n_val=200, n_test=500, epochs=3, lr=1e-2, batch_size=64, kernel_size=5, embedding=32,
                 channels=(8, 16), num_steps=10, f_on=100.0, f_off=0.0, dt=5e-3)
_AE_FULL = dict(n_train=6_000, n_val=500, n_test=None, epochs=10, lr=3e-3, batch_size=64, kernel_size=5, embedding=32,
                channels=(16, 32), num_steps=25, f_on=100.0, f_off=0.0, dt=2e-3)
_RECONSTRUCTION = dict(prepare=autoencoder_pairs, loss=reconstruction_loss, metrics={"nrmse": reconstruction_nrmse})
# Event networks: 10 ms recordings (EVENT_BINS). Measured: the event SAE trained on 1,000 recordings for 3 epochs
# emitted one blurred map for every digit (nRMSE 0.61, the average-map yardstick 0.66); 2,000 for 4 epochs: 0.48.
_EVENTS_QUICK = dict(n_train=2_000, n_val=100, n_test=400, epochs=3, lr=1e-2, batch_size=64, kernel_size=5,
                     channels=(8, 16), beta=0.9)
_EVENTS_FULL = dict(n_train=6_000, n_val=500, n_test=None, epochs=10, lr=3e-3, batch_size=64, kernel_size=5,
                    channels=(16, 32), beta=0.9)

ENTRIES: dict[str, Entry] = {entry.name: entry for entry in [
    Entry("mnist-snn", "convolutional SNN for MNIST (snnTorch tutorial 6 layout), mean readout membrane",
          "mnist", _mnist_snn,
          quick=dict(**_MNIST_QUICK, num_steps=4, surrogate="atan", beta=0.9),
          full=dict(n_train=None, n_val=1_000, n_test=None, epochs=5, lr=2e-3, num_steps=25,
                    surrogate="atan", beta=0.9),
          keep_epochs=True),  # lab 05 follows what its neurons prefer across epochs (5 x 120 kB of weights)
    Entry("mnist-vqvae", "VQ-VAE for MNIST: a 7x7 grid of codebook indices, and a decoder from indices to digits",
          "mnist", _mnist_vqvae,
          quick=dict(**_MNIST_VQVAE_QUICK, codes=32, dim=16, channels=(32, 64)),
          full=dict(n_train=None, n_val=1_000, n_test=None, epochs=15, lr=2e-3, codes=32, dim=16, channels=(32, 64)),
          prepare=autoencoder_pairs, loss=vqvae_loss, metrics={"mse": reconstruction_error, "perplexity": perplexity}),
    Entry("cifar-cnn", "CIFAR-10 CNN: two conv-BN-ReLU-pool blocks and a 256-unit feature layer",
          "cifar10", _cifar_cnn,
          quick=dict(**_CIFAR_QUICK, channels=(32, 64), hidden=256),
          full=dict(**_CIFAR_SIZES_FULL, epochs=20, lr=3e-3, channels=(32, 64), hidden=256)),
    Entry("cifar-snn", "the spiking twin of cifar-cnn: LIF in place of every ReLU, rate features",
          "cifar10", _cifar_snn,
          quick=dict(**_CIFAR_QUICK, channels=(32, 64), hidden=256, num_steps=2, surrogate="atan", beta=0.9),
          full=dict(**_CIFAR_SIZES_FULL, epochs=20, lr=3e-3, channels=(32, 64), hidden=256,
                    num_steps=4, surrogate="atan", beta=0.9)),
    Entry("resnet-ann", "small residual ANN for CIFAR-10 (stem and two stages of basic blocks)",
          "cifar10", _resnet_ann,
          quick=dict(**_RESNET_QUICK, width=16, depth=1, residual=True, stem_stride=2),
          full=dict(**_CIFAR_SIZES_FULL, epochs=30, lr=1e-2, width=16, depth=3, residual=True, stem_stride=1)),
    Entry("resnet-snn", "the spiking twin of resnet-ann: LIF neurons, spikes added at the shortcuts",
          "cifar10", _resnet_snn,
          quick=dict(**_RESNET_QUICK, width=16, depth=1, residual=True, stem_stride=2, num_steps=2,
                     surrogate="atan", beta=0.9),
          full=dict(**_CIFAR_SIZES_FULL, epochs=30, lr=1e-2, width=16, depth=3, residual=True, stem_stride=1,
                    num_steps=4, surrogate="atan", beta=0.9)),
    Entry("alexnet-cifar", "AlexNet-style network for 32x32 images (five convolutions, three pools)",
          "cifar10", _alexnet,
          quick=dict(n_train=12_000, n_val=1_000, n_test=2_000, epochs=6, lr=1e-3, batch_size=64, width=0.25,
                     schedule="cosine"),
          full=dict(**_CIFAR_SIZES_FULL, epochs=20, lr=1e-3, batch_size=64, width=1.0, schedule="cosine")),
    Entry("localiser-ann", "single-object localiser: conv encoder, decoder with additive skips, box and class heads",
          "mnist", _localiser_ann, quick=_LOCALISER_QUICK, full=_LOCALISER_FULL, **_LOCALISER_TASK),
    Entry("localiser-snn", "the spiking twin of localiser-ann: LIF (beta 0.5, fast sigmoid 25), mean-membrane heads",
          "mnist", _localiser_snn, quick=dict(**_LOCALISER_QUICK, num_steps=4, surrogate="fast_sigmoid:25", beta=0.5),
          full=dict(**_LOCALISER_FULL, num_steps=8, surrogate="fast_sigmoid:25", beta=0.5), **_LOCALISER_TASK),
    Entry("mnist-sae", "convolutional spiking autoencoder on rate-coded MNIST (LIF throughout, output spike counts)",
          "mnist", _mnist_sae, quick=dict(**_AE_QUICK, beta=0.9, recurrent=0),
          full=dict(**_AE_FULL, beta=0.9, recurrent=0), **_RECONSTRUCTION),
    Entry("mnist-ae", "the non-spiking twin of mnist-sae: the same layers with ReLU, on the same spike counts",
          "mnist", _mnist_ae, quick=_AE_QUICK, full=_AE_FULL, **_RECONSTRUCTION),
    Entry("event-sae", "spiking autoencoder of emulated event frames (moving digits, 1 ms bins, ON/OFF)",
          "mnist", _event_sae, quick={**_EVENTS_QUICK, "epochs": 4, "embedding": 32}, full=dict(**_EVENTS_FULL, embedding=32),
          prepare=event_autoencoder_data, loss=reconstruction_loss, metrics={"nrmse": reconstruction_nrmse}),
    Entry("event-snn", "spiking classifier of emulated event frames (moving digits), kernel size as a setting",
          "mnist", _event_snn, quick=_EVENTS_QUICK, full=_EVENTS_FULL, prepare=event_classifier_data),
]}


#: Lab 07's residual and depth study, with residual networks deep enough (3 blocks per stage) to look for the periodic
#: layerwise pattern of residual SNNs, with and without shortcuts, and 1 block per stage for the effect of depth.
#: Quick mode trains them on 8,000 images instead of 20,000 to keep the catalogue's cost down (measured cost in
#: the README); in full mode depth 3 is the default, so the residual networks are the seed-0 ones.
RESIDUAL_STUDY = {True: dict(depth=3, n_train=8_000), False: dict(depth=3)}


def course(quick: bool) -> list[tuple[str, int, dict[str, Any]]]:
    """The variants the labs use, ``(name, seed, overrides)``, each once; ``python -m labkit.zoo`` trains them.

    >>> {n for n, _, _ in course(True)} == {n for n, _, _ in course(False)}, course(True)[0]
    (True, ('mnist-snn', 0, {'surrogate': 'fast_sigmoid:25'}))
    """
    res = ENTRIES["resnet-snn"].quick if quick else ENTRIES["resnet-snn"].full
    study = RESIDUAL_STUDY[quick]
    variants = [
        *[("mnist-snn", 0, {"surrogate": s}) for s in
          ("fast_sigmoid:25", "fast_sigmoid:5", "atan:2", "sigmoid:5", "straight_through")],
        *[("mnist-snn", seed, {"surrogate": s}) for seed in (1, 2) for s in  # lab 02 compares surrogates over 3 seeds
          ("fast_sigmoid:25", "fast_sigmoid:5", "atan:2", "sigmoid:5", "straight_through")],
        ("mnist-vqvae", 0, {}),
        ("cifar-cnn", 0, {}), ("cifar-snn", 0, {}),
        ("cifar-cnn", 1, {}),  # lab 03's yardstick: a second CNN seed
        ("alexnet-cifar", 0, {}),
        *[(name, seed, {}) for seed in (0, 1, 2) for name in ("resnet-ann", "resnet-snn")],  # lab 07: 3 ANN/SNN pairs
        *[(name, 0, {**study, "residual": r}) for r in (True, False) for name in ("resnet-ann", "resnet-snn")],
        *[(name, 0, {**study, "depth": 1}) for name in ("resnet-ann", "resnet-snn")],
        ("resnet-snn", 0, {"width": 2 * res["width"]}),
        ("localiser-ann", 0, {}), ("localiser-snn", 0, {}),
        *autoencoder_course(quick),
    ]
    unique, seen = [], set()
    for name, seed, overrides in variants:  # a variant equal to another (e.g. full-mode defaults) is listed once
        mode = ENTRIES[name].quick if quick else ENTRIES[name].full
        key = (name, seed, tuple(sorted({**mode, **overrides}.items())))
        if key not in seen:
            seen.add(key)
            unique.append((name, seed, overrides))
    return unique


def autoencoder_course(quick: bool) -> list[tuple[str, int, dict[str, Any]]]:
    """The autoencoder sweeps (one seed; intervals come from bootstrapping test images) and the event networks.

    Kernel size and embedding size for the spiking autoencoder and its non-spiking
    twin, a grid of rate-code frequencies, explicit recurrence in 1 or 2 layers,
    and event networks. Quick mode runs smaller grids (``AUTOENCODER_SWEEPS``).

    >>> len(autoencoder_course(True)) < len(autoencoder_course(False))
    True
    """
    sweeps = AUTOENCODER_SWEEPS["quick" if quick else "full"]
    variants: list[tuple[str, int, dict[str, Any]]] = []
    for name in ("mnist-sae", "mnist-ae"):
        variants += [(name, 0, {"kernel_size": k}) for k in sweeps["kernel_size"]]
        variants += [(name, 0, {"embedding": e}) for e in sweeps["embedding"]]
    variants += [("mnist-sae", 0, {"f_on": f_on, "f_off": f_off}) for f_on in sweeps["f_on"] for f_off in sweeps["f_off"]
                 if f_off < f_on]
    variants += [("mnist-sae", 0, {"recurrent": r}) for r in sweeps["recurrent"]]
    variants += [("event-sae", 0, {})] + [("event-snn", 0, {"kernel_size": k}) for k in sweeps["event_kernel_size"]]
    unique: list[tuple[str, int, dict[str, Any]]] = []
    for name, seed, overrides in variants:  # a sweep point at the default settings is the default network
        defaults = ENTRIES[name].quick if quick else ENTRIES[name].full
        overrides = {k: v for k, v in overrides.items() if defaults.get(k) != v}
        if (name, seed, overrides) not in unique:
            unique.append((name, seed, overrides))
    return unique


#: The settings each autoencoder sweep visits, per mode.
AUTOENCODER_SWEEPS: dict[str, dict[str, tuple]] = {
    "quick": dict(kernel_size=(3, 5, 7, 9), embedding=(2, 8, 32, 128), f_on=(100.0, 200.0), f_off=(0.0, 25.0),
                  recurrent=(0, 1, 2), event_kernel_size=(3, 5, 7)),
    "full": dict(kernel_size=(3, 5, 7, 9), embedding=(2, 4, 8, 16, 32, 64, 128, 256),
                 f_on=(50.0, 100.0, 200.0, 400.0), f_off=(0.0, 25.0, 50.0), recurrent=(0, 1, 2),
                 event_kernel_size=(3, 5, 7, 9)),
}
