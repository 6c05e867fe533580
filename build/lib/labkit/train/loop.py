"""The one training loop: :func:`~labkit.train.fit`, its :class:`History` and :func:`~labkit.train.evaluate`.

``fit`` trains any ``torch.nn.Module`` on batches ``(inputs, targets)`` with any
loss ``loss_fn(outputs, targets)`` and a dict of metrics ``{name: fn(outputs,
targets) -> float}``: class scores with cross-entropy and accuracy (the
default), a reconstruction with its error, boxes with their losses. After every
epoch it evaluates the validation batches, if given, and can write a checkpoint
atomically; ``resume=True`` restores model, optimiser, scheduler, history and
random-number state and continues where the run stopped, giving the same
weights as an uninterrupted run.

Faults stop it early and loudly rather than late or silently: an unwritable
checkpoint folder or an empty loader fails before epoch 1; the first NaN or
infinity in a batch's inputs, loss or gradients, or in the weights after an
optimiser step, raises :class:`NonFiniteError` naming the epoch and batch and
never reaches the checkpoint; a checkpoint written for another model or recipe
raises :class:`~labkit.train.checkpoint.CheckpointMismatchError` instead of
being returned as if it were this run.

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

import collections.abc
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..config import get_device, is_static
from ..io import check_writable_dir
from .checkpoint import (
    CheckpointMismatchError,
    fingerprint_changes,
    load_checkpoint,
    model_fingerprint,
    recipe_fingerprint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)

__all__ = ["History", "NonFiniteError", "accuracy", "evaluate", "fit"]


class NonFiniteError(FloatingPointError):
    """:func:`~labkit.train.fit` met a NaN or infinity (inputs, loss, gradients or weights) and stopped before saving it."""

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
            split.setdefault(name, []).append(float(value))  # plain floats: a checkpoint stores no numpy scalars


def _map(batch: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply ``fn`` to a tensor, or to every tensor in a tuple/list/dict (e.g. class and box targets)."""
    if isinstance(batch, torch.Tensor):
        return fn(batch)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_map(b, fn) for b in batch)
    if isinstance(batch, dict):
        return {k: _map(v, fn) for k, v in batch.items()}
    return batch


def _tensors(batch: Any) -> list[torch.Tensor]:
    """Every tensor in a tensor, tuple/list or dict batch."""
    if type(batch) is torch.Tensor or isinstance(batch, torch.Tensor):
        return [batch]
    if isinstance(batch, (tuple, list)):
        return [t for b in batch for t in _tensors(b)]
    if isinstance(batch, dict):
        return [t for b in batch.values() for t in _tensors(b)]
    return []


@torch.no_grad()
def _finite(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """A 0-d bool tensor, computed without a host sync: are all values of the floating-point ``tensors`` finite?

    Extremes only, which NaN and inf propagate through and which cannot
    overflow: on a GPU one fused ``torch._foreach_norm`` (max-abs) over all
    tensors; on the CPU one ``aminmax`` per tensor (measured 4x faster there
    than the max-abs norm, whose CPU kernel is not vectorised).
    """
    floats = [t for t in tensors if t.is_floating_point() and t.numel()]
    if not floats:
        return torch.tensor(True)
    if floats[0].device.type == "cpu":
        extremes = [v for t in floats for v in torch.aminmax(t)]
    else:
        extremes = list(torch._foreach_norm(floats, math.inf))
    try:
        return torch.isfinite(torch.stack(extremes)).all()  # stack promotes mixed dtypes
    except RuntimeError:  # tensors on several devices
        return torch.stack([torch.isfinite(v).to(extremes[0].device) for v in extremes]).all()


def _nonfinite_names(named: Iterable[tuple[str, torch.Tensor | None]]) -> list[str]:
    return [name for name, t in named if t is not None and t.is_floating_point() and not bool(torch.isfinite(t).all())]


def _check_loader(loader: Iterable, name: str) -> int | None:
    """The number of batches of ``loader`` when it has a length; an empty one fails here, before any training."""
    try:
        n = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None
    if n == 0:
        raise ValueError(
            f"{name} is empty (0 batches): there is nothing to {'train on' if name == 'train_loader' else 'evaluate'}. "
            "Check the dataset's size and the batch size (a DataLoader with drop_last=True and fewer "
            "samples than batch_size has no batch)."
        )
    return n


def _check_reiterable(loader: Iterable, name: str, passes: int) -> None:
    if passes > 1 and isinstance(loader, collections.abc.Iterator):
        raise TypeError(
            f"{name} is an iterator ({type(loader).__name__}), used up after one pass, but fit needs {passes} "
            "passes (one per epoch). Pass a DataLoader, a list of batches or another re-iterable object."
        )


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
    scheduler_step: str = "epoch",
    device: torch.device | str | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    restart_if_changed: bool = False,
    progress: bool | None = None,
    keep_epochs: bool = False,
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
        with :func:`~labkit.train.evaluate`).
    val_data
        What ``val_loader`` holds, stored in the history for plot labels.
    scheduler
        Optional learning-rate scheduler.
    scheduler_step
        ``"epoch"``: step the scheduler after every epoch (e.g. cosine over
        epochs); ``"batch"``: after every optimiser step (e.g. one-cycle, whose
        ``total_steps`` is then ``epochs * len(train_loader)``).
    device
        Defaults to :func:`labkit.config.get_device`.
    checkpoint
        File written atomically after every epoch (model, optimiser, scheduler,
        history, random state, and a fingerprint of the model and the recipe).
        ``None`` disables checkpointing. Its folder is checked writable before
        training starts. A disconnect loses at most the epoch in progress:
        there is no mid-epoch checkpoint, because resuming inside an epoch
        would need the loader's position and would not stay bit-identical.
    resume
        Continue from ``checkpoint`` if it exists (a finished run returns at
        once with its history). The checkpoint is loaded safely (it never runs
        code) and checked (sha256), and its fingerprint must match what is given
        now: the model's ``repr`` (for :class:`~labkit.spiking.LIF`: ``beta``,
        threshold, surrogate and slope), parameter names and shapes, buffer
        values, the optimiser class and ``defaults``, the scheduler and its
        settings, ``loss_fn`` and the number of batches per epoch; ``epochs``
        may grow (train on) but not fall below the epochs done. On a mismatch a
        :class:`~labkit.train.checkpoint.CheckpointMismatchError` says what
        differs and how to start over. Without ``resume``, an existing
        checkpoint is never overwritten: a ``FileExistsError`` says what to do.
    restart_if_changed
        With ``resume=True``: on a fingerprint mismatch, warn (saying what
        differs) and train from scratch, replacing the stale checkpoint at the
        end of the first epoch, instead of raising. An unreadable, refused or
        corrupt checkpoint still raises.
    progress
        Show ``tqdm`` progress bars; defaults to off in static (book/CI) runs.
    keep_epochs
        Also keep the model's weights after every epoch in the checkpoint
        (``"epoch_models"``, a list; read one with
        :func:`~labkit.train.epoch_weights`), to study how a network
        changes while it learns. Needs ``checkpoint``; a resumed run must keep
        them too. Off: the checkpoint holds the last epoch only, as before.

    Returns
    -------
    History
        Loss and metrics per epoch on the training and validation batches.

    Raises
    ------
    NonFiniteError
        At the first batch whose inputs, loss or gradients hold a NaN or an
        infinity, or after an optimiser step that made a weight non-finite
        (named by epoch and batch). The checkpoint on disk keeps the last good
        epoch. The check is one reduction to extremes per batch over the
        inputs, loss and gradients with a single host sync (a weight made
        non-finite by a step shows in the next batch's gradients), and one over
        the weights and buffers before every save. Measured inside ``fit`` on
        one CPU thread (``benchmarks/nan_check.py``): 0.45 % of the training
        time of ``labkit.models.cifar_cnn()`` and 0.16 % of
        ``mnist_snn(num_steps=8)`` (batch 128), 0.6 % of a one-conv SNN, but
        10 % of a toy 4-64-64-2 MLP whose batch of 64 takes 0.7 ms (the check
        costs a fixed ~80 us there).
        Spiking layers hide NaN inputs (a NaN membrane never crosses the
        threshold, so the loss stays finite); the input and gradient checks
        catch them.
    ValueError, TypeError
        Before epoch 1: an empty ``train_loader``/``val_loader``, or a one-shot
        iterator where several epochs need several passes.
    PermissionError
        Before epoch 1, when the checkpoint folder cannot be written.
    labkit.train.checkpoint.CheckpointError
        When the checkpoint cannot be used (see ``resume``).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    if scheduler_step not in ("epoch", "batch"):
        raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}.")
    if keep_epochs and checkpoint is None:
        raise ValueError("keep_epochs=True keeps every epoch's weights in the checkpoint file: pass checkpoint=a path.")
    metrics = _default_metrics(loss_fn, metrics)
    batches = _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    device = torch.device(device) if device else get_device()
    model.to(device)
    history, start, epoch_models = History(val_data=val_data), 0, []
    kept = {"keep_epochs": True} if keep_epochs else {}  # in the fingerprint only when on: old checkpoints still match
    ckpt = Path(checkpoint).expanduser() if checkpoint is not None else None
    fingerprint = None
    if ckpt is not None:
        if ckpt.is_dir():
            raise IsADirectoryError(f"checkpoint={str(ckpt)!r} is a folder; pass a file path such as "
                                    f"{str(ckpt / 'run.pt')!r}.")
        if ckpt.exists() and not resume:
            raise FileExistsError(
                f"Checkpoint {ckpt} already exists. Pass resume=True to continue it, "
                "or delete the file (or choose another path) to train from scratch."
            )
        check_writable_dir(ckpt.parent, "checkpoint folder",
                           "Fix: pass checkpoint= a path in a folder you can write to (or set LABKIT_CHECKPOINTS); "
                           "nothing was trained.")
        fingerprint = {"model": model_fingerprint(model),
                       "recipe": recipe_fingerprint(optimizer, scheduler, loss_fn, epochs, batches,
                                                    scheduler_step=scheduler_step if scheduler is not None else None,
                                                    **kept)}
        if ckpt.exists():
            state = load_checkpoint(ckpt)  # on the CPU: load_state_dict copies to the model's device
            if "fingerprint" in state:
                changes = fingerprint_changes(state["fingerprint"], model, fingerprint["recipe"], state["model"],
                                              state["epoch"])
            else:
                changes = ["the checkpoint has no fingerprint of its model and recipe (it was not written by fit)"]
            how = (f"To start over, delete {ckpt} or pass another checkpoint path (with Run.checkpoint, add the "
                   "changed setting to its config), or pass restart_if_changed=True to train afresh and replace it.")
            if changes and not restart_if_changed:
                raise CheckpointMismatchError(
                    f"Checkpoint {ckpt} was written for another model or recipe, so resuming would return the old "
                    "run:\n  - " + "\n  - ".join(changes) + "\n" + how)
            if changes:
                warnings.warn(f"Checkpoint {ckpt} does not match this model or recipe ({'; '.join(changes)}); "
                              "training from scratch (restart_if_changed=True); it is replaced after epoch 1.",
                              UserWarning, stacklevel=2)
            else:
                try:
                    model.load_state_dict(state["model"])
                    optimizer.load_state_dict(state["optimizer"])
                except (RuntimeError, ValueError, KeyError) as exc:
                    raise CheckpointMismatchError(
                        f"Checkpoint {ckpt} does not fit this model or optimiser: {str(exc).splitlines()[0]}. {how}"
                    ) from exc
                if scheduler is not None and state.get("scheduler") is not None:
                    scheduler.load_state_dict(state["scheduler"])
                history = History(**state["history"])
                start = state["epoch"]
                epoch_models = list(state.get("epoch_models", []))
                set_rng_state(state["rng"])
                fingerprint = {"model": state["fingerprint"]["model"], "recipe": fingerprint["recipe"]}
    _check_reiterable(train_loader, "train_loader", epochs - start)
    if val_loader is not None:
        _check_reiterable(val_loader, "val_loader", epochs - start)
    params = dict(model.named_parameters())
    trained = [p for p in params.values() if p.requires_grad]
    def nonfinite(epoch: int, batch: int | None, what: str, note: str = "") -> NonFiniteError:
        where = f"epoch {epoch}, batch {batch} of train_loader" if batch else f"the end of epoch {epoch}"
        if ckpt is None:
            saved = "No checkpoint was being written (checkpoint=None)."
        elif epoch > 1:  # this run saved epoch - 1, or resumed from it
            saved = f"Checkpoint {ckpt} still holds epoch {epoch - 1}, the last good one."
        elif ckpt.exists():
            saved = f"Checkpoint {ckpt} was left as it was."
        else:
            saved = "No checkpoint had been written yet."
        return NonFiniteError(
            f"fit stopped at {where}: {what} NaN or infinite{note}. Nothing from epoch {epoch} was saved. "
            + saved + " Likely causes: a NaN/inf in that batch's inputs, a learning rate "
            "too high, a loss that divides by zero or takes log(0), or a surrogate that overflows "
            "(labkit.spiking.stable_sigmoid does not). Fix the cause and run again"
            + (" with resume=True to continue from the last good epoch." if ckpt is not None else ".")
        )

    def weights_after_step(epoch: int, batch: int) -> NonFiniteError:
        names = ", ".join(_nonfinite_names(params.items())[:5])
        return nonfinite(epoch, batch, f"the weights {names}, after that batch's optimiser step, are",
                         " (the model in memory holds them)")

    show = (not is_static()) if progress is None else progress
    epoch_bar = tqdm(range(start + 1, epochs + 1), desc="epochs", disable=not show,
                     initial=start, total=epochs)
    for epoch in epoch_bar:
        began = time.perf_counter()
        model.train()
        totals = _Totals(metrics)
        batch = 0
        for batch, (inputs, targets) in enumerate(
                tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=not show), start=1):
            inputs, targets = _map(inputs, lambda t: t.to(device)), _map(targets, lambda t: t.to(device))
            optimizer.zero_grad(set_to_none=True)
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            loss.backward()
            # one fused check, one host sync: this batch's loss, inputs and gradients. A weight made
            # non-finite by the previous step shows here as a non-finite gradient (NaN * anything is NaN,
            # even behind a spiking layer), and the weights themselves are checked before every save.
            if not bool(_finite([loss, *_tensors(inputs), *(p.grad for p in trained if p.grad is not None)])):
                if batch > 1 and not bool(_finite(trained)):
                    raise weights_after_step(epoch, batch - 1)
                if not bool(_finite([loss])):
                    raise nonfinite(epoch, batch, f"the loss ({loss.detach().flatten()[0].item()}) is")
                if not bool(_finite(_tensors(inputs))):
                    raise nonfinite(epoch, batch, "the inputs of this batch are")
                bad = _nonfinite_names((n, p.grad) for n, p in params.items()) or _nonfinite_names(params.items())
                raise nonfinite(epoch, batch, f"the gradients of {', '.join(bad[:5])} are")
            with torch.no_grad():
                totals.add(loss.detach(), _map(outputs, torch.Tensor.detach), targets, len(inputs))
            optimizer.step()
            if scheduler is not None and scheduler_step == "batch":
                scheduler.step()
        if batch == 0:
            raise ValueError(f"train_loader gave no batches in epoch {epoch}: there is nothing to train on. "
                             "Check the dataset's size and the batch size.")
        if not bool(_finite([*trained, *model.buffers()])):  # after the last step; batch-norm statistics too
            if not bool(_finite(trained)):
                raise weights_after_step(epoch, batch)
            bad = _nonfinite_names(model.named_buffers())
            raise nonfinite(epoch, None, f"the buffers {', '.join(bad[:5])} (e.g. batch-norm statistics) are")
        if scheduler is not None and scheduler_step == "epoch":
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
            if keep_epochs:
                epoch_models.append({k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
            save_checkpoint(ckpt, {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "history": history.as_dict(),
                "epoch": epoch,
                "rng": rng_state(),
                "fingerprint": fingerprint,
                **({"epoch_models": epoch_models} if keep_epochs else {}),
            })
    return history

