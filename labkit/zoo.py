"""Trained networks by name: load them, or train them here when no weights can be had.

:func:`load_alexnet` first asks torchvision for AlexNet with its ImageNet weights
(Krizhevsky et al., 2012). Offline (no weights can be downloaded) it trains
:func:`labkit.models.alexnet_cifar`, an AlexNet-style network for 32x32 images, on
CIFAR-10 (Krizhevsky, 2009) with :func:`labkit.train.fit` (an atomic checkpoint
per epoch, resumable, reused on the next run) and says so in its
``description``: randomly initialised weights are never passed off as trained ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .data import balanced_subset, load_cifar10, split_validation
from .models.alexnet import CONV_LAYERS, AlexNet, alexnet_cifar, imagenet_alexnet
from .run import Run
from .train import History, evaluate, train_classifier

__all__ = ["LoadedAlexNet", "load_alexnet"]


@dataclass
class LoadedAlexNet:
    """What :func:`load_alexnet` returns.

    Attributes
    ----------
    model
        The network (eval mode, on the run's device), taking images in ``[0, 1]``.
    description
        One sentence saying which weights are used; glue it as ``alexnet_weights``.
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
        ``n_test`` test images give ``test_accuracy``; the history's validation
        curves are on ``n_val`` images held out of the training data.
    convs
        Names of the five convolutions (:data:`CONV_LAYERS`).
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


def load_alexnet(
    quick: bool,
    run: Run,
    *,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    epochs: int | None = None,
    width: float | None = None,
    lr: float = 1e-3,
    batch_size: int = 64,
    name: str = "alexnet-cifar",
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
    n_train, n_val, n_test
        CIFAR-10 training images, validation images held out of them, and test
        images (default quick 8,000 / 1,000 / 1,000; full: all 50,000 training
        images less 5,000 for validation, and all 10,000 test images).
    epochs
        Training epochs (default quick 4, full 20).
    width
        Channel multiplier of :func:`~labkit.models.alexnet_cifar` (default quick 0.25, full 1.0).
    lr, batch_size
        Adam learning rate and batch size.
    name
        Checkpoint name (:meth:`labkit.Run.checkpoint`).
    progress
        Progress bars of :func:`labkit.train.fit`.

    Returns
    -------
    LoadedAlexNet
        The model, a description of its weights and the input size, plus the test
        accuracy and the training history when trained here.

    Notes
    -----
    Training goes through :func:`labkit.train.train_classifier`, which writes
    ``run.checkpoint(name, **config)`` after every epoch and resumes from it, so
    re-running (or a Colab reconnect) continues or reloads the same network
    instead of training again. The test images are used once, after training.
    """
    try:
        model, top1 = imagenet_alexnet()
    except Exception as error:  # noqa: BLE001 - offline, proxy, corrupt cache: fall back
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".strip(": ")
    else:
        description = (f"AlexNet with torchvision's pretrained ImageNet weights (IMAGENET1K_V1, "
                       f"top-1 accuracy {top1:.1f}% as reported by torchvision)")
        return LoadedAlexNet(model.to(run.device).eval(), description, 224,
                             True, "ImageNet AlexNet (torchvision weights)")

    n_train = n_train if n_train is not None else (9_000 if quick else None)
    n_val = n_val if n_val is not None else (1_000 if quick else 5_000)
    n_test = n_test if n_test is not None else (1_000 if quick else None)
    epochs = epochs if epochs is not None else (4 if quick else 20)
    width = width if width is not None else (0.25 if quick else 1.0)
    train_set, test_set = load_cifar10("train"), load_cifar10("test")
    if n_train is not None:
        train_set = balanced_subset(train_set, n_train, seed=run.seed)
    if n_test is not None:
        test_set = balanced_subset(test_set, n_test, seed=run.seed)
    train_set, val_set = split_validation(train_set, n_val, seed=run.seed)
    config = dict(n_test=len(test_set), width=width, source=train_set.source)
    model, history = train_classifier(lambda: alexnet_cifar(width=width), train_set, val_set, run, name,
                                      epochs=epochs, lr=lr, batch_size=batch_size, progress=progress,
                                      **config)
    accuracy = evaluate(model, test_set.loader(batch_size=500), device=run.device)["acc"]
    description = (f"AlexNet-style network trained in this lab on {len(train_set):,} CIFAR-10 images "
                   f"({epochs} epochs), test accuracy {100 * accuracy:.1f}% on {len(test_set):,} test "
                   "images (ImageNet weights unavailable)")
    title = f"lab-trained AlexNet-style net, {len(train_set):,} CIFAR-10 images, {100 * accuracy:.1f}% test acc."
    config.update(n_train=len(train_set), n_val=len(val_set), epochs=epochs, lr=lr, batch_size=batch_size)
    return LoadedAlexNet(model.eval(), description, 32, False, title,
                         accuracy, history, len(train_set), reason, config)
