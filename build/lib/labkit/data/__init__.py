"""Data: MNIST and CIFAR-10 as tensors, offline packs verified by sha256, honest splits, augmentation.

:func:`load_mnist` and :func:`load_cifar10` take the offline data root
(``LABKIT_DATA``) first and torchvision's real download otherwise; every
:class:`ImageSet` says in ``source`` and ``title`` which data it holds, and every
figure title repeats it. :func:`localisation_set` pastes those images on larger
canvases, with a class and a box each, for single-object localisation. figure title repeats it. :class:`Pairs` holds inputs with targets for tasks that
are not classification (an image with itself for an autoencoder), and
:mod:`~labkit.data.events` turns event streams into frames with tonic (and loads
DVS Gesture).
"""

from __future__ import annotations

from . import events
from .augment import RandomCropFlip
from .datasets import (
    CIFAR10_CLASSES,
    MNIST_CLASSES,
    PACK_SHA256,
    DataIntegrityError,
    DataUnavailableError,
    ImageSet,
    balanced_subset,
    load_cifar10,
    load_mnist,
    mnist_train_test,
    split_validation,
    tensor_loader,
)
from .localisation import BOX_CONVENTION, LocalisationSet, check_boxes, localisation_set, paired_iou
from .pairs import Pairs, autoencoder_pairs

__all__ = [
    "ImageSet",
    "DataUnavailableError",
    "DataIntegrityError",
    "load_mnist",
    "load_cifar10",
    "mnist_train_test",
    "balanced_subset",
    "split_validation",
    "tensor_loader",
    "RandomCropFlip",
    "LocalisationSet",
    "localisation_set",
    "check_boxes",
    "paired_iou",
    "BOX_CONVENTION",
    "PACK_SHA256",
    "MNIST_CLASSES",
    "CIFAR10_CLASSES",
    "Pairs",
    "autoencoder_pairs",
    "events",
]
