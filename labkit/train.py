"""One training loop for every lab: :func:`fit`, with history, evaluation and resumable checkpoints.

``fit`` trains any ``torch.nn.Module`` whose forward returns class scores
``[batch, classes]`` (an ANN's logits, or an SNN's spike counts or output
membrane). After every epoch it can write a checkpoint atomically (a temporary
file renamed over the old one, so a crash or a Colab disconnect never leaves a
half-written file); ``resume=True`` restores model, optimiser, scheduler, history
and random-number state and continues where the run stopped, giving the same
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
>>> len(history.train_loss)
2
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .config import get_device, is_static
from .io import atomic_write

__all__ = ["History", "evaluate", "fit", "train_classifier", "save_checkpoint", "load_checkpoint"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Per-epoch record of a training run (lists indexed by epoch, starting at 1)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        """The history as a plain dict (for pandas, JSON or checkpoints)."""
        return asdict(self)

    @property
    def best_val_acc(self) -> float:
        """Highest validation accuracy seen (NaN when there was no validation set)."""
        return max(self.val_acc) if self.val_acc else float("nan")


def _accuracy_count(scores: torch.Tensor, target: torch.Tensor) -> int:
    """Correct predictions for class targets; 0 for regression (float) targets."""
    if torch.is_floating_point(target):
        return 0
    return int((scores.argmax(dim=-1) == target).sum().item())


def _accuracy(correct: int, count: int, target: torch.Tensor) -> float:
    """Accuracy in [0, 1], or NaN when the targets are not class labels (regression)."""
    return float("nan") if torch.is_floating_point(target) else correct / max(count, 1)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    loader: Iterable,
    loss_fn: LossFn = F.cross_entropy,
    device: torch.device | str | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``.

    Parameters
    ----------
    model
        Module returning class scores ``[batch, classes]``.
    loader
        Iterable of ``(inputs, targets)`` batches.
    loss_fn
        Loss on ``(scores, targets)``, averaged over the batch.
    device
        Where to run; defaults to the model's device.

    Returns
    -------
    tuple of float
        ``(mean loss, accuracy in [0, 1])``; the accuracy is NaN for regression
        (floating-point) targets.
    """
    device = torch.device(device) if device else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        scores = model(inputs)
        total_loss += loss_fn(scores, targets).item() * len(targets)
        correct += _accuracy_count(scores, targets)
        count += len(targets)
    model.train(was_training)
    if count == 0:
        raise ValueError("loader is empty: nothing to evaluate.")
    return total_loss / count, _accuracy(correct, count, targets)


def _rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` with :func:`torch.save` atomically (temp file + rename).

    Parameters
    ----------
    path
        Destination file; its folder is created if needed.
    state
        Anything :func:`torch.save` accepts.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    with atomic_write(path) as handle:
        torch.save(state, handle)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (or by :func:`fit`).

    Raises
    ------
    RuntimeError
        If the file cannot be read, with the path and the fix (delete it to start over).
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # a corrupt or foreign file
        raise RuntimeError(
            f"Could not read checkpoint {path}: {exc}. Delete the file to train from scratch."
        ) from exc


def fit(
    model: torch.nn.Module,
    train_loader: Iterable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    loss_fn: LossFn = F.cross_entropy,
    val_loader: Iterable | None = None,
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
        Module returning class scores ``[batch, classes]`` (or any prediction, for
        regression with float targets: accuracies are then NaN); moved to ``device``.
    train_loader
        Iterable of ``(inputs, targets)`` batches. With a shuffling
        ``DataLoader`` and no explicit generator the order follows torch's global
        seed, which checkpoints save and restore.
    optimizer
        Optimiser over ``model``'s parameters.
    epochs
        Total number of epochs (including those already done when resuming).
    loss_fn
        Loss on ``(scores, targets)``.
    val_loader
        Optional held-out batches evaluated after every epoch.
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
        Losses and accuracies per epoch.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    device = torch.device(device) if device else get_device()
    model.to(device)
    history, start = History(), 0
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
        _set_rng_state(state["rng"])
    show = (not is_static()) if progress is None else progress
    epoch_bar = tqdm(range(start + 1, epochs + 1), desc="epochs", disable=not show,
                     initial=start, total=epochs)
    for epoch in epoch_bar:
        began = time.perf_counter()
        model.train()
        total_loss, correct, count = 0.0, 0, 0
        for inputs, targets in tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=not show):
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad(set_to_none=True)
            scores = model(inputs)
            loss = loss_fn(scores, targets)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(targets)
            correct += _accuracy_count(scores.detach(), targets)
            count += len(targets)
        if scheduler is not None:
            scheduler.step()
        history.epoch.append(epoch)
        history.train_loss.append(total_loss / max(count, 1))
        history.train_acc.append(_accuracy(correct, count, targets))
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
        history.seconds.append(time.perf_counter() - began)
        epoch_bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}",
                              val_acc=f"{history.val_acc[-1]:.3f}" if history.val_acc else "-")
        if ckpt is not None:
            save_checkpoint(ckpt, {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "history": history.as_dict(),
                "epoch": epoch,
                "rng": _rng_state(),
            })
    return history


def train_classifier(
    model: torch.nn.Module,
    train_set: Any,
    test_set: Any,
    run: Any,
    name: str,
    epochs: int,
    lr: float = 2e-3,
    batch_size: int = 128,
    seed: int | None = None,
    **config: Any,
) -> History:
    """The labs' standard recipe: Adam, cosine learning-rate decay, resumable checkpoint.

    Seeds every generator with ``seed`` (default ``run.seed``) so that the data
    order is the same for every model trained this way, then calls :func:`fit`
    with ``checkpoint=run.checkpoint(name, ...)`` and ``resume=True``: re-running
    the cell reloads the finished run, an interrupted one continues.

    Parameters
    ----------
    model
        Classifier returning class scores.
    train_set, test_set
        :class:`labkit.data.ImageSet` (anything with ``loader(batch_size, shuffle)`` and ``len``).
    run
        The :class:`labkit.Run` of the lab (device and checkpoint folder).
    name
        Checkpoint name, e.g. ``"lab03-cnn"``.
    epochs, lr, batch_size
        Training settings.
    seed
        Seed for initial weights and data order; ``run.seed`` if omitted. The
        model's weights are drawn before this call, so seed before building it too.
    **config
        Anything else that defines the run (sizes, time steps ...), for the checkpoint key.

    Returns
    -------
    History
        With the test accuracy per epoch in ``val_acc``.
    """
    from .config import seed_everything

    seed = run.seed if seed is None else seed
    seed_everything(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    checkpoint = run.checkpoint(name, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                                n_train=len(train_set), **config)
    return fit(model, train_set.loader(batch_size=batch_size, shuffle=True), optimizer, epochs=epochs,
               val_loader=test_set.loader(batch_size=500), scheduler=scheduler, device=run.device,
               checkpoint=checkpoint, resume=True)
