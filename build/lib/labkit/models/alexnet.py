"""AlexNet (Krizhevsky et al., 2012) as one wrapper for torchvision's ImageNet network and a CIFAR-sized variant.

:func:`~labkit.models.imagenet_alexnet` wraps torchvision's AlexNet with its ImageNet weights
(downloaded when online); :func:`~labkit.models.alexnet_cifar` builds an AlexNet-style network
for 32x32 images. Both are :class:`AlexNet` (input normalisation, ``features``,
``avgpool``, ``classifier``), take images in ``[0, 1]`` and share layer names:
``features.0`` (conv1), ``features.3`` (conv2), ``features.6`` (conv3),
``features.8`` (conv4) and ``features.10`` (conv5).

Examples
--------
>>> net = alexnet_cifar(width=0.125)
>>> net(torch.rand(2, 3, 32, 32)).shape
torch.Size([2, 10])
>>> [net.get_submodule(name).out_channels for name in CONV_LAYERS.values()]
[8, 24, 48, 32, 32]
"""

from __future__ import annotations

import contextlib
import io
from typing import Sequence

import torch
from torch import nn

__all__ = [
    "ALEXNET_CHANNELS",
    "CONV_LAYERS",
    "RELU_AFTER",
    "LAYER_LABELS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "Normalize",
    "AlexNet",
    "alexnet_cifar",
    "imagenet_alexnet",
]

#: Output channels of AlexNet's five convolutions (torchvision's single-GPU variant).
ALEXNET_CHANNELS: tuple[int, ...] = (64, 192, 384, 256, 256)
#: Layer names of the five convolutions, the same in both networks.
CONV_LAYERS: dict[str, str] = {
    "conv1": "features.0", "conv2": "features.3", "conv3": "features.6",
    "conv4": "features.8", "conv5": "features.10",
}
#: The ReLU after each convolution (its output is the rectified activation the next layer sees).
RELU_AFTER: dict[str, str] = {
    "features.0": "features.1", "features.3": "features.4", "features.6": "features.7",
    "features.8": "features.9", "features.10": "features.11",
}
#: Readable names of the convolution and pooling layers of ``features`` (both networks).
LAYER_LABELS: dict[str, str] = {
    "features.0": "conv1", "features.2": "pool1", "features.3": "conv2", "features.5": "pool2",
    "features.6": "conv3", "features.8": "conv4", "features.10": "conv5", "features.12": "pool5",
}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


class Normalize(nn.Module):
    """Per-channel ``(x - mean) / std`` for images in ``[0, 1]``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return (x - self.mean) / self.std


class AlexNet(nn.Module):
    """``normalize -> features -> avgpool -> flatten -> classifier`` on images in ``[0, 1]``.

    Parameters
    ----------
    normalize
        Input normalisation (the training set's channel means and deviations).
    features
        The convolution stack (``nn.Sequential``, AlexNet's layer order).
    avgpool
        Pooling to the classifier's fixed grid (lets any input size through).
    classifier
        Fully connected head.
    """

    def __init__(self, normalize: nn.Module, features: nn.Sequential, avgpool: nn.Module,
                 classifier: nn.Module) -> None:
        super().__init__()
        self.normalize, self.features, self.avgpool, self.classifier = normalize, features, avgpool, classifier
        for module in self.modules():  # hooks must see conv outputs, not ReLU-overwritten ones
            if isinstance(module, nn.ReLU):
                module.inplace = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = self.avgpool(self.features(self.normalize(x)))
        return self.classifier(torch.flatten(x, 1))


def alexnet_cifar(width: float = 0.25, num_classes: int = 10, dropout: float = 0.0,
                  conv1_std: float = 1e-3) -> AlexNet:
    """An AlexNet-style network for 32x32 images.

    Five convolutions with AlexNet's channel pattern (64, 192, 384, 256, 256)
    multiplied by ``width``, ReLU, three overlapping 3x3 max-pools of stride 2
    (32 -> 16 -> 8 -> 4 px), and a three-layer classifier (optionally with
    dropout). conv1 and conv2 are 5x5 (AlexNet: 11x11 at stride 4, and 5x5), the
    others 3x3. Weights start with He (Kaiming) initialisation and zero biases,
    which lets this normalisation-free stack learn within a few epochs, except
    conv1, which starts near zero (``conv1_std``): after a short training its
    kernels then show what training put there rather than the random start,
    which matters when they are looked at.

    Parameters
    ----------
    width
        Channel multiplier (1.0: AlexNet's channel counts).
    num_classes
        Classes of the output layer.
    dropout
        Dropout probability in the classifier.
    conv1_std
        Standard deviation of conv1's normal initial weights; ``None`` uses He
        initialisation like the other layers.
    """
    c1, c2, c3, c4, c5 = (max(4, round(width * c)) for c in ALEXNET_CHANNELS)
    hidden = max(32, round(width * 1024))
    features = nn.Sequential(
        nn.Conv2d(3, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
        nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
    )
    classifier = nn.Sequential(
        nn.Dropout(dropout), nn.Linear(c5 * 16, hidden), nn.ReLU(),
        nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )
    for module in (*features, *classifier):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    if conv1_std is not None:
        nn.init.normal_(features[0].weight, std=conv1_std)
    return AlexNet(Normalize(CIFAR10_MEAN, CIFAR10_STD), features, nn.AdaptiveAvgPool2d(4), classifier)


def imagenet_alexnet() -> tuple[AlexNet, float]:
    """torchvision's AlexNet with ImageNet weights (downloads them), and its reported top-1 accuracy in %.

    Raises whatever torchvision raises when the weights cannot be had (offline, a
    corrupt cache).
    """
    import torchvision

    weights = torchvision.models.AlexNet_Weights.IMAGENET1K_V1
    chatter = io.StringIO()  # torch.hub's "Downloading ..." line: not worth showing on failure
    with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
        net = torchvision.models.alexnet(weights=weights, progress=False)
    top1 = float(weights.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1", float("nan")))
    model = AlexNet(Normalize(IMAGENET_MEAN, IMAGENET_STD), net.features, net.avgpool, net.classifier)
    return model, top1
