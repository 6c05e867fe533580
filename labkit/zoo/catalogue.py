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

from ..data import ImageSet, localisation_set, tensor_loader
from ..models import alexnet_cifar, cifar_cnn, cifar_snn, mnist_snn, resnet_ann, resnet_snn
from ..models.vqvae import perplexity, reconstruction_error, vqvae, vqvae_loss
from ..models.localiser import class_accuracy, localisation_loss, localiser_ann, localiser_snn, mean_iou
from ..spiking import surrogate_from_name

__all__ = ["Entry", "ENTRIES", "course", "SIZE_KEYS", "RECIPE_KEYS", "RESIDUAL_STUDY"]

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


class _ImagePairs:
    """Each image paired with itself, the target of an autoencoder: ``loader``, ``len`` and ``title`` as an ImageSet."""

    def __init__(self, images: ImageSet) -> None:
        self.images, self.title = images, images.title

    def __len__(self) -> int:
        return len(self.images)

    def loader(self, batch_size: int = 128, shuffle: bool = False) -> Any:
        return tensor_loader(self.images.images, self.images.images, batch_size=batch_size, shuffle=shuffle)


def _localiser_ann(channels: tuple[int, int, int], width: int, kernel: int, stem_stride: int) -> nn.Module:
    return localiser_ann(tuple(channels), width, kernel, stem_stride)


def _localiser_snn(num_steps: int, channels: tuple[int, int, int], width: int, kernel: int, stem_stride: int,
                   surrogate: str, beta: float) -> nn.Module:
    return localiser_snn(num_steps, tuple(channels), width, kernel, stem_stride, beta=beta,
                         spike_grad=surrogate_from_name(surrogate))


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
          prepare=_ImagePairs, loss=vqvae_loss, metrics={"mse": reconstruction_error, "perplexity": perplexity}),
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
]}


#: Lab 07's residual and depth study: residual networks deep enough (3 blocks per stage) to look for the periodic
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
    ]
    unique, seen = [], set()
    for name, seed, overrides in variants:  # a variant equal to another (e.g. full-mode defaults) is listed once
        mode = ENTRIES[name].quick if quick else ENTRIES[name].full
        key = (name, seed, tuple(sorted({**mode, **overrides}.items())))
        if key not in seen:
            seen.add(key)
            unique.append((name, seed, overrides))
    return unique
