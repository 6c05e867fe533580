"""AlexNet with ImageNet weights when they can be had, else the catalogue's AlexNet-style CIFAR-10 network.

:func:`~labkit.zoo.load_alexnet` first asks torchvision for AlexNet with its ImageNet weights
(Krizhevsky et al., 2012). Offline (no weights can be downloaded) it takes
``"alexnet-cifar"`` from the catalogue (:func:`labkit.zoo.get`: trained once,
resumably, and shared) and says so in its ``description``: randomly initialised
weights are never passed off as trained ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import get_device
from ..models.alexnet import CONV_LAYERS, AlexNet, imagenet_alexnet
from ..train import History
from .store import get

__all__ = ["LoadedAlexNet", "load_alexnet"]


@dataclass
class LoadedAlexNet:
    """What :func:`~labkit.zoo.load_alexnet` returns.

    Attributes
    ----------
    model
        The network (eval mode, on the device asked for), taking images in ``[0, 1]``.
    description
        One sentence saying which weights are used; glue it as ``alexnet_weights``.
    input_size
        Side of the images the network was trained on (224 or 32).
    imagenet
        ``True`` for torchvision's pretrained ImageNet weights.
    title
        Short form of ``description`` for figure titles.
    test_accuracy
        Test accuracy in [0, 1]: measured on the CIFAR-10 test images for the
        lab-trained network; torchvision's reported ImageNet top-1 for the
        pretrained one.
    history
        Its training history (``None`` for ImageNet).
    n_train
        Number of CIFAR-10 training images (``None`` for ImageNet).
    reason
        Why the ImageNet weights were not used (empty when they were).
    config
        Settings of the lab-trained network (sizes, recipe, width), as in the
        catalogue; ``n_test`` test images give ``test_accuracy``, and the
        history's validation curves are on ``n_val`` images held out of the
        training data.
    convs
        Names of the five convolutions (``CONV_LAYERS``).
    """

    model: AlexNet
    description: str
    input_size: int
    imagenet: bool
    title: str
    test_accuracy: float | None = None
    history: History | None = None
    n_train: int | None = None
    reason: str = ""
    config: dict = field(default_factory=dict)
    convs: dict[str, str] = field(default_factory=lambda: dict(CONV_LAYERS))


def load_alexnet(quick: bool | None = None, seed: int = 0, device: torch.device | str | None = None,
                 progress: bool | None = None, **overrides: Any) -> LoadedAlexNet:
    """AlexNet with ImageNet weights, or the catalogue's AlexNet-style network trained on CIFAR-10.

    Parameters
    ----------
    quick
        Quick or full sizes of the fallback network (``None``: ``LABKIT_QUICK``).
    seed
        Seed of the fallback network.
    device
        Where to put the model (default :func:`labkit.config.get_device`).
    progress
        Progress bars while the fallback trains.
    **overrides
        Settings of ``"alexnet-cifar"`` to change (``epochs``, ``width`` ...).

    Returns
    -------
    LoadedAlexNet
        The model, a description of its weights and the input size, plus the test
        accuracy and the training history when trained here.
    """
    try:
        model, top1 = imagenet_alexnet()
    except Exception as error:  # noqa: BLE001 - offline, proxy, corrupt cache: fall back
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".strip(": ")
    else:
        description = (f"AlexNet with torchvision's pretrained ImageNet weights (IMAGENET1K_V1, "
                       f"top-1 accuracy {top1:.1f}% as reported by torchvision)")
        return LoadedAlexNet(model.to(device or get_device()).eval(), description, 224,
                             True, "ImageNet AlexNet (torchvision weights)", test_accuracy=top1 / 100)
    net = get("alexnet-cifar", seed=seed, quick=quick, device=device, progress=progress, **overrides)
    accuracy, epochs = net.test_acc, net.settings["epochs"]
    description = (f"AlexNet-style network trained in this course on {net.n_train:,} CIFAR-10 images "
                   f"({epochs} epochs), test accuracy {100 * accuracy:.1f}% on {net.n_test:,} test "
                   "images (ImageNet weights unavailable)")
    title = f"lab-trained AlexNet-style net, {net.n_train:,} CIFAR-10 images, {100 * accuracy:.1f}% test acc."
    config = dict(net.settings, n_train=net.n_train, n_val=net.n_val, n_test=net.n_test)
    return LoadedAlexNet(net.model, description, 32, False, title, accuracy, net.history, net.n_train,
                         reason, config)
