"""Recipes: standard ways to call :func:`~labkit.train.fit`, so every lab trains the same way.

:func:`train_classifier` is the labs' classifier recipe: seed once, build the
network, Adam with cosine learning-rate decay, a validation split for model
selection, and a resumable checkpoint keyed by the configuration. The test set
is never touched here: evaluate it at the end with :func:`~labkit.train.evaluate`.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..config import seed_everything
from .loop import History, fit

__all__ = ["train_classifier"]


def train_classifier(
    build: Callable[[], torch.nn.Module],
    train_set: Any,
    val_set: Any,
    run: Any,
    name: str,
    epochs: int,
    lr: float = 2e-3,
    batch_size: int = 128,
    seed: int | None = None,
    progress: bool | None = None,
    **config: Any,
) -> tuple[torch.nn.Module, History]:
    """Seed, build and train a classifier with the labs' recipe; reload it when it was trained before.

    Seeds every generator once with ``seed`` (default ``run.seed``), then calls
    ``build()`` for the initial weights, so the weights and the data order follow
    from ``seed`` alone. Then :func:`~labkit.train.fit` with Adam, cosine decay
    and ``checkpoint=run.checkpoint(name, ...)``, ``resume=True``: re-running the
    cell reloads the finished run, an interrupted one continues.

    Parameters
    ----------
    build
        Makes the untrained network, e.g. ``lambda: cifar_cnn()``.
    train_set, val_set
        :class:`labkit.data.ImageSet` (anything with ``loader(batch_size, shuffle)``,
        ``len`` and ``title``): the training images and the validation images
        held out of them (:func:`labkit.data.split_validation`).
    run
        The :class:`labkit.Run` of the lab (device and checkpoint folder).
    name
        Checkpoint name, e.g. ``"lab03-cnn"``.
    epochs, lr, batch_size
        Training settings.
    seed
        Seed for initial weights and data order; ``run.seed`` if omitted. Give
        networks that a lab compares different seeds unless sharing the start is
        the point of the comparison.
    progress
        Progress bars (default: on in Jupyter, off in the book build).
    **config
        Anything else that defines the network (sizes, time steps, surrogate ...),
        for the checkpoint key.

    Returns
    -------
    tuple
        ``(model, history)``: the trained network on ``run.device`` and its
        :class:`~labkit.train.History`, whose ``val`` curves are on ``val_set``.
    """
    seed = run.seed if seed is None else seed
    seed_everything(seed)
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    checkpoint = run.checkpoint(name, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                                n_train=len(train_set), n_val=len(val_set), **config)
    history = fit(model, train_set.loader(batch_size=batch_size, shuffle=True), optimizer, epochs=epochs,
                  val_loader=val_set.loader(batch_size=500), val_data=val_set.title, scheduler=scheduler,
                  device=run.device, checkpoint=checkpoint, resume=True, progress=progress)
    return model, history
