"""AlexNet for lab 04: ImageNet weights when they can be downloaded, else one trained here.

:func:`load_alexnet` first asks torchvision for AlexNet with its ImageNet weights
(Krizhevsky et al., 2012). Offline (no weights can be downloaded) it
trains :func:`alexnet_cifar`, an AlexNet-style network for 32x32 images, on
CIFAR-10 (Krizhevsky, 2009) with :func:`labkit.train.fit` (an atomic
checkpoint per epoch, resumable, reused on the next run) and says so in its
``description``, which every figure title of the lab repeats: randomly
initialised weights are never passed off as trained ones.

Both networks are wrapped in :class:`AlexNet` (input normalisation, ``features``,
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
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn

from .config import seed_everything
from .data import balanced_subset, load_cifar10
from .run import Run
from .train import History, fit

__all__ = [
    "ALEXNET_CHANNELS",
    "CONV_LAYERS",
    "RELU_AFTER",
    "LAYER_LABELS",
    "VISUALISED_LAYERS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "Normalize",
    "AlexNet",
    "alexnet_cifar",
    "LoadedAlexNet",
    "load_alexnet",
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
#: An early, a middle and a deep convolution, visualised in lab 04.
VISUALISED_LAYERS: dict[str, str] = {
    "early (conv2)": "features.3", "middle (conv3)": "features.6", "deep (conv5)": "features.10",
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
    conv1, which starts near zero (``conv1_std``): its kernels are looked at in
    lab 04, and after a short training they then show what training put there
    rather than the random start.

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


@dataclass
class LoadedAlexNet:
    """What :func:`load_alexnet` returns.

    Attributes
    ----------
    model
        The network (eval mode, on the run's device), taking images in ``[0, 1]``.
    description
        One sentence saying which weights are used; glue it as ``alexnet_weights``.
    layers
        The layers to visualise: ``{label: layer name}`` (:data:`VISUALISED_LAYERS`).
    input_size
        Side of the images the network was trained on (224 or 32).
    imagenet
        ``True`` for torchvision's pretrained ImageNet weights.
    title
        Short form of ``description`` for figure titles.
    test_accuracy
        Measured test accuracy of the lab-trained network (``None`` for ImageNet).
    history
        Its training history (``None`` for ImageNet).
    n_train
        Number of CIFAR-10 training images (``None`` for ImageNet).
    reason
        Why the ImageNet weights were not used (empty when they were).
    config
        Training configuration of the lab-trained network (sizes, epochs, width,
        learning rate); with ``run.seed`` it rebuilds the initial weights
        (``seed_everything(run.seed); alexnet_cifar(width=config["width"])``).
    convs
        Names of the five convolutions (:data:`CONV_LAYERS`).
    """

    model: AlexNet
    description: str
    layers: dict[str, str]
    input_size: int
    imagenet: bool
    title: str
    test_accuracy: float | None = None
    history: History | None = None
    n_train: int | None = None
    reason: str = ""
    config: dict = field(default_factory=dict)
    convs: dict[str, str] = field(default_factory=lambda: dict(CONV_LAYERS))


def _imagenet_alexnet() -> tuple[AlexNet, float]:
    """torchvision's AlexNet with ImageNet weights (downloads them); raises when unavailable."""
    import torchvision

    weights = torchvision.models.AlexNet_Weights.IMAGENET1K_V1
    chatter = io.StringIO()  # torch.hub's "Downloading ..." line: not worth showing on failure
    with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
        net = torchvision.models.alexnet(weights=weights, progress=False)
    top1 = float(weights.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1", float("nan")))
    model = AlexNet(Normalize(IMAGENET_MEAN, IMAGENET_STD), net.features, net.avgpool, net.classifier)
    return model, top1


def load_alexnet(
    quick: bool,
    run: Run,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    epochs: int | None = None,
    width: float | None = None,
    lr: float = 1e-3,
    batch_size: int = 64,
    progress: bool | None = None,
) -> LoadedAlexNet:
    """AlexNet with ImageNet weights, or an AlexNet-style network trained here on CIFAR-10.

    Parameters
    ----------
    quick
        Quick mode: a small network trained briefly on a CIFAR-10 subset (when the
        ImageNet weights are unavailable). Sizes only; the code path is the same.
    run
        The lab's :class:`labkit.Run` (seed, device, checkpoint folder).
    n_train, n_test
        CIFAR-10 training / test images (default quick 8,000 / 1,000; full: all).
    epochs
        Training epochs (default quick 4, full 20).
    width
        Channel multiplier of :func:`alexnet_cifar` (default quick 0.25, full 1.0).
    lr, batch_size
        Adam learning rate and batch size.
    progress
        Progress bars of :func:`labkit.train.fit`.

    Returns
    -------
    LoadedAlexNet
        The model, a description of its weights, the layers to visualise and the
        input size, plus accuracy and history when trained here.

    Notes
    -----
    Training writes ``run.checkpoint("lab04-alexnet-cifar", **config)`` after every
    epoch and resumes from it, so re-running (or a Colab reconnect) continues or
    reloads the same network instead of training again.
    """
    try:
        model, top1 = _imagenet_alexnet()
    except Exception as error:  # noqa: BLE001 - offline, proxy, corrupt cache: fall back
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".strip(": ")
    else:
        description = (f"AlexNet with torchvision's pretrained ImageNet weights (IMAGENET1K_V1, "
                       f"top-1 accuracy {top1:.1f}% as reported by torchvision)")
        return LoadedAlexNet(model.to(run.device).eval(), description, dict(VISUALISED_LAYERS), 224,
                             True, "ImageNet AlexNet (torchvision weights)")

    n_train = n_train if n_train is not None else (8_000 if quick else None)
    n_test = n_test if n_test is not None else (1_000 if quick else None)
    epochs = epochs if epochs is not None else (4 if quick else 20)
    width = width if width is not None else (0.25 if quick else 1.0)
    train_set, test_set = load_cifar10("train"), load_cifar10("test")
    if n_train is not None:
        train_set = balanced_subset(train_set, n_train, seed=run.seed)
    if n_test is not None:
        test_set = balanced_subset(test_set, n_test, seed=run.seed)
    config = dict(n_train=len(train_set), n_test=len(test_set), epochs=epochs, width=width, lr=lr,
                  batch_size=batch_size, source=train_set.source)
    seed_everything(run.seed)
    model = alexnet_cifar(width=width)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = fit(model, train_set.loader(batch_size=batch_size, shuffle=True), optimizer, epochs=epochs,
                  val_loader=test_set.loader(batch_size=500), device=run.device,
                  checkpoint=run.checkpoint("lab04-alexnet-cifar", **config), resume=True,
                  progress=progress)
    accuracy = history.val_acc[-1]
    description = (f"AlexNet-style network trained in this lab on {len(train_set):,} CIFAR-10 images "
                   f"({epochs} epochs), test accuracy {100 * accuracy:.1f}% on {len(test_set):,} test "
                   "images (ImageNet weights unavailable)")
    title = f"lab-trained AlexNet-style net, {len(train_set):,} CIFAR-10 images, {100 * accuracy:.1f}% test acc."
    return LoadedAlexNet(model.eval(), description, dict(VISUALISED_LAYERS), 32, False, title,
                         accuracy, history, len(train_set), reason, config)
