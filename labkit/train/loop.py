"""The one training loop: :func:`fit`, its :class:`History` and :func:`evaluate`.

``fit`` trains any ``torch.nn.Module`` on batches ``(inputs, targets)`` with any
loss ``loss_fn(outputs, targets)`` and a dict of metrics ``{name: fn(outputs,
targets) -> float}``: class scores with cross-entropy and accuracy (the
default), a reconstruction with its error, boxes with their losses. After every
epoch it evaluates the validation batches, if given, and can write a checkpoint
atomically; ``resume=True`` restores model, optimiser, scheduler, history and
random-number state and continues where the run stopped, giving the same
weights as an uninterrupted run.

Examples
--------
>>> import torch
>>> from torch.utils.data import DataLoader, TensorDataset
>>> from labkit import seed_everything
>>> from labkit.train import fit
>>> _ = seed_everything(0)
>>> data = TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
>>> model = torch.nn.Linear(4, 2)
>>> history = fit(model, DataLoader(data, batch_size=16), torch.optim.SGD(model.parameters(), 0.1),
...               epochs=2, progress=False)
>>> len(history.train["loss"]), sorted(history.train)
(2, ['acc', 'loss'])
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..config import get_device, is_static
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state

__all__ = ["History", "accuracy", "evaluate", "fit"]

LossFn = Callable[[Any, Any], torch.Tensor]
Metric = Callable[[Any, Any], float]


def accuracy(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows whose highest score is the target class.

    >>> accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]))
    0.5
    """
    if torch.is_floating_point(targets):
        raise ValueError("accuracy needs integer class targets; for regression pass metrics={} "
                         "(or a metric of your own) to fit/evaluate.")
    return (scores.argmax(dim=-1) == targets).double().mean().item()


@dataclass
class History:
    """Per-epoch record of a training run, labelled with the data each number comes from.

    Attributes
    ----------
    epoch
        Epoch numbers, starting at 1.
    seconds
        Wall time of each epoch (training and validation).
    train
        ``{"loss": [...], metric: [...]}`` averaged over the training batches of
        each epoch, in training mode (dropout and augmentation on).
    val
        The same on the validation batches after each epoch (empty without them).
    val_data
        What the validation batches are, e.g. ``"CIFAR-10 (validation images ...)"``;
        plots use it, so a curve always says which data it shows.
    """

    epoch: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train: dict[str, list[float]] = field(default_factory=dict)
    val: dict[str, list[float]] = field(default_factory=dict)
    val_data: str = "validation data"

    def as_dict(self) -> dict[str, Any]:
        """The history as a plain dict (for pandas, JSON or checkpoints)."""
        return asdict(self)

    def best(self, metric: str = "acc") -> float:
        """Highest validation value of ``metric`` (NaN when there was no validation data)."""
        values = self.val.get(metric, [])
        return max(values) if values else float("nan")

    def _append(self, split: dict[str, list[float]], values: Mapping[str, float]) -> None:
        for name, value in values.items():
            split.setdefault(name, []).append(value)


def _map(batch: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply ``fn`` to a tensor, or to every tensor in a tuple/list/dict (e.g. class and box targets)."""
    if isinstance(batch, torch.Tensor):
        return fn(batch)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_map(b, fn) for b in batch)
    if isinstance(batch, dict):
        return {k: _map(v, fn) for k, v in batch.items()}
    return batch


def _default_metrics(loss_fn: LossFn, metrics: Mapping[str, Metric] | None) -> dict[str, Metric]:
    if metrics is not None:
        return dict(metrics)
    return {"acc": accuracy} if loss_fn is F.cross_entropy else {}


class _Totals:
    """Sample-weighted running means of the loss and the metrics over one pass."""

    def __init__(self, metrics: Mapping[str, Metric]) -> None:
        self.metrics, self.sums, self.count = metrics, {"loss": 0.0, **{k: 0.0 for k in metrics}}, 0

    def add(self, loss: torch.Tensor, outputs: Any, targets: Any, n: int) -> None:
        self.sums["loss"] += loss.item() * n
        for name, metric in self.metrics.items():
            self.sums[name] += metric(outputs, targets) * n
        self.count += n

    def means(self) -> dict[str, float]:
        if self.count == 0:
            raise ValueError("loader is empty: no batches to train on or evaluate.")
        return {name: total / self.count for name, total in self.sums.items()}


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    loader: Iterable,
    loss_fn: LossFn = F.cross_entropy,
    metrics: Mapping[str, Metric] | None = None,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Mean loss and metrics of ``model`` (in eval mode) over every batch of ``loader``.

    Parameters
    ----------
    model
        The network.
    loader
        Iterable of ``(inputs, targets)`` batches.
    loss_fn
        Loss on ``(outputs, targets)``, averaged over the batch.
    metrics
        ``{name: fn(outputs, targets) -> float}``; default ``{"acc": accuracy}``
        with the default cross-entropy loss, else none.
    device
        Where to run; defaults to the model's device.

    Returns
    -------
    dict
        ``{"loss": ..., name: ...}``, sample-weighted means over the loader.
    """
    device = torch.device(device) if device else next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals = _Totals(_default_metrics(loss_fn, metrics))
    try:
        for inputs, targets in loader:
            inputs, targets = _map(inputs, lambda t: t.to(device)), _map(targets, lambda t: t.to(device))
            outputs = model(inputs)
            totals.add(loss_fn(outputs, targets), outputs, targets, len(inputs))
    finally:
        model.train(was_training)
    return totals.means()


def fit(
    model: torch.nn.Module,
    train_loader: Iterable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    loss_fn: LossFn = F.cross_entropy,
    metrics: Mapping[str, Metric] | None = None,
    val_loader: Iterable | None = None,
    val_data: str = "validation data",
    scheduler: Any | None = None,
    device: torch.device | str | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    Parameters
    ----------
    model
        The network; moved to ``device``.
    train_loader
        Iterable of ``(inputs, targets)`` batches (targets may be a tuple or dict
        of tensors). With a shuffling loader and no explicit generator the order
        follows torch's global seed, which checkpoints save and restore.
    optimizer
        Optimiser over ``model``'s parameters.
    epochs
        Total number of epochs (including those already done when resuming).
    loss_fn
        Loss on ``(outputs, targets)``, averaged over the batch.
    metrics
        ``{name: fn(outputs, targets) -> float}`` recorded on training and
        validation batches; default ``{"acc": accuracy}`` with the default
        cross-entropy loss, else none.
    val_loader
        Optional held-out batches evaluated after every epoch: a validation split
        of the training data, for model selection (keep the test set for the end,
        with :func:`evaluate`).
    val_data
        What ``val_loader`` holds, stored in the history for plot labels.
    scheduler
        Optional learning-rate scheduler stepped once per epoch.
    device
        Defaults to :func:`labkit.config.get_device`.
    checkpoint
        File written atomically after every epoch (model, optimiser, scheduler,
        history, random state). ``None`` disables checkpointing.
    resume
        Continue from ``checkpoint`` if it exists (a finished run returns at
        once with its history). Without ``resume``, an existing checkpoint is
        never overwritten: a ``FileExistsError`` says what to do.
    progress
        Show ``tqdm`` progress bars; defaults to off in static (book/CI) runs.

    Returns
    -------
    History
        Loss and metrics per epoch on the training and validation batches.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    metrics = _default_metrics(loss_fn, metrics)
    device = torch.device(device) if device else get_device()
    model.to(device)
    history, start = History(val_data=val_data), 0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists():
        if not resume:
            raise FileExistsError(
                f"Checkpoint {ckpt} already exists. Pass resume=True to continue it, "
                "or delete the file (or choose another path) to train from scratch."
            )
        state = load_checkpoint(ckpt, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        history = History(**state["history"])
        start = state["epoch"]
        set_rng_state(state["rng"])
    show = (not is_static()) if progress is None else progress
    epoch_bar = tqdm(range(start + 1, epochs + 1), desc="epochs", disable=not show,
                     initial=start, total=epochs)
    for epoch in epoch_bar:
        began = time.perf_counter()
        model.train()
        totals = _Totals(metrics)
        for inputs, targets in tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=not show):
            inputs, targets = _map(inputs, lambda t: t.to(device)), _map(targets, lambda t: t.to(device))
            optimizer.zero_grad(set_to_none=True)
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                totals.add(loss.detach(), _map(outputs, torch.Tensor.detach), targets, len(inputs))
        if scheduler is not None:
            scheduler.step()
        history.epoch.append(epoch)
        history._append(history.train, totals.means())
        if val_loader is not None:
            history._append(history.val, evaluate(model, val_loader, loss_fn, metrics, device))
        history.seconds.append(time.perf_counter() - began)
        shown = {"loss": f"{history.train['loss'][-1]:.3f}"}
        shown.update({f"val_{k}": f"{v[-1]:.3f}" for k, v in history.val.items()})
        epoch_bar.set_postfix(shown)
        if ckpt is not None:
            save_checkpoint(ckpt, {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "history": history.as_dict(),
                "epoch": epoch,
                "rng": rng_state(),
            })
    return history

