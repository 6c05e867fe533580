"""Recipes: standard ways to call :func:`~labkit.train.fit`, so every network of the course trains the same way.

A :class:`Recipe` holds what changes the result of training besides the network
and the data (optimiser, learning rate and schedule, batch size, epochs, label
smoothing); :func:`~labkit.train.train_model` applies it: seed once, build the network,
train on the training data with validation after each epoch, and checkpoint
every epoch so an interrupted run resumes. The test set is never touched here:
evaluate it at the end with :func:`~labkit.train.evaluate`.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F

from ..config import seed_everything
from .loop import History, LossFn, Metric, accuracy, fit

__all__ = ["Recipe", "train_model"]


@dataclass(frozen=True)
class Recipe:
    """How to train a network: everything besides the network and the data that changes the result.

    Attributes
    ----------
    epochs
        Passes over the training images.
    lr
        Peak learning rate.
    batch_size
        Training batch size.
    optimizer
        ``"adamw"`` or ``"sgd"`` (Nesterov momentum 0.9).
    weight_decay
        Decoupled weight decay (AdamW) or L2 (SGD).
    label_smoothing
        Cross-entropy label smoothing.
    schedule
        ``"onecycle"`` (warm-up for a quarter of the steps, then cosine decay,
        stepped every batch) or ``"cosine"`` (decay over epochs).

    Examples
    --------
    >>> Recipe(epochs=3).as_dict()["schedule"]
    'onecycle'
    """

    epochs: int
    lr: float = 3e-3
    batch_size: int = 128
    optimizer: str = "adamw"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    schedule: str = "onecycle"

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"Recipe: epochs must be >= 1, got {self.epochs}.")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"Recipe: optimizer must be 'adamw' or 'sgd', got {self.optimizer!r}.")
        if self.schedule not in ("onecycle", "cosine"):
            raise ValueError(f"Recipe: schedule must be 'onecycle' or 'cosine', got {self.schedule!r}.")

    def as_dict(self) -> dict[str, Any]:
        """The recipe as a plain dict (for checkpoint keys and tables)."""
        return asdict(self)

    def optimizer_for(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        """The optimiser over ``model``'s parameters."""
        if self.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=self.lr, momentum=0.9, nesterov=True,
                                   weight_decay=self.weight_decay)
        return torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def scheduler_for(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> tuple[Any, str]:
        """The learning-rate scheduler and when :func:`~labkit.train.fit` steps it (``"batch"`` or ``"epoch"``)."""
        if self.schedule == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=self.lr, total_steps=self.epochs * steps_per_epoch, pct_start=0.25), "batch"
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.epochs), "epoch"

    def loss(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Cross-entropy with this recipe's label smoothing."""
        if self.label_smoothing == 0:
            return F.cross_entropy
        return functools.partial(F.cross_entropy, label_smoothing=self.label_smoothing)


def train_model(
    build: Callable[[], torch.nn.Module],
    train_set: Any,
    val_set: Any,
    recipe: Recipe,
    *,
    loss_fn: LossFn | None = None,
    metrics: Mapping[str, Metric] | None = None,
    seed: int,
    device: torch.device | str,
    checkpoint: str | Path | None = None,
    progress: bool | None = None,
    keep_epochs: bool = False,
) -> tuple[torch.nn.Module, History]:
    """Seed, build and train a network with ``recipe``; reload it when ``checkpoint`` holds a finished run.

    Seeds every generator once with ``seed``, then calls ``build()`` for the
    initial weights, so the weights and the data order follow from ``seed``
    alone. Then :func:`~labkit.train.fit` with ``resume=True``: re-running
    reloads the finished run, an interrupted one continues.

    Parameters
    ----------
    build
        Makes the untrained network, e.g. ``lambda: cifar_cnn()``.
    train_set, val_set
        :class:`labkit.data.ImageSet` (anything with ``loader(batch_size, shuffle)``,
        ``len`` and ``title``): the training data and the validation data
        held out of them (:func:`labkit.data.split_validation`).
    recipe
        How to train.
    loss_fn
        ``loss_fn(outputs, targets)``; default: the recipe's cross-entropy
        (:meth:`Recipe.loss`), for classifiers.
    metrics
        ``{name: fn(outputs, targets) -> float}``; default ``{"acc": accuracy}``
        with the default loss, else none.
    seed
        Seed for initial weights and data order.
    device
        Where to train.
    checkpoint
        File for the resumable checkpoint (e.g. from :meth:`labkit.Run.checkpoint`
        or the model catalogue, :mod:`labkit.zoo`); ``None`` trains without one.
    progress
        Progress bars (default: on in Jupyter, off in the book build).
    keep_epochs
        Keep the weights after every epoch in the checkpoint (see :func:`~labkit.train.fit`).

    Returns
    -------
    tuple
        ``(model, history)``: the trained network on ``device`` and its
        :class:`~labkit.train.History`, whose ``val`` curves are on ``val_set``.
    """
    seed_everything(seed)
    model = build()
    optimizer = recipe.optimizer_for(model)
    loader = train_set.loader(batch_size=recipe.batch_size, shuffle=True)
    scheduler, step = recipe.scheduler_for(optimizer, len(loader))
    if loss_fn is None:
        loss_fn, metrics = recipe.loss(), {"acc": accuracy} if metrics is None else metrics
    history = fit(model, loader, optimizer, epochs=recipe.epochs, loss_fn=loss_fn, metrics=metrics,
                  val_loader=val_set.loader(batch_size=500), val_data=val_set.title,
                  scheduler=scheduler, scheduler_step=step, device=device, checkpoint=checkpoint, resume=True,
                  progress=progress, keep_epochs=keep_epochs)
    return model, history
