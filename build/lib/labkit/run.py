"""The start of every lab: :func:`~labkit.start` returns a :class:`Run` with the resolved settings."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import checkpoint_dir, config_key, get_device, keep_freed_memory, resolve_quick, seed_everything

__all__ = ["Run", "start"]


@dataclass(frozen=True)
class Run:
    """Settings of one lab run.

    Attributes
    ----------
    quick
        Quick mode (small sizes, same code path) or full mode.
    seed
        Seed given to :func:`labkit.config.seed_everything`.
    device
        Where models train.
    """

    quick: bool
    seed: int
    device: torch.device

    def pick(self, quick: object, full: object) -> object:
        """Return ``quick`` in quick mode and ``full`` otherwise (sizes, epochs, steps)."""
        return quick if self.quick else full

    def checkpoint(self, name: str, **config: object) -> Path:
        """Checkpoint file for a training run, keyed by its configuration.

        The path is ``LABKIT_CHECKPOINTS`` (default ``cache_dir()/"checkpoints"``;
        on Colab call :func:`labkit.persistent_checkpoints` first to keep
        them on Google Drive) ``/<name>-<quick|full>-<hash of config and seed>.pt``:
        re-running a cell resumes or reloads the same run (pass it to
        :func:`labkit.train.fit` with ``resume=True``), while any change of
        ``config`` starts a fresh file. A setting left out of ``config`` (a
        surrogate's slope, a neuron's ``beta``) is still caught: ``fit`` compares
        the model and recipe it is given with the checkpoint's fingerprint.

        Parameters
        ----------
        name
            Short identifier, e.g. ``"lab02-atan"``.
        **config
            Everything that defines the run (sizes, epochs, learning rate, ...);
            values must be JSON-serialisable or have a stable ``repr``.

        Examples
        --------
        >>> run = Run(quick=True, seed=0, device=torch.device("cpu"))
        >>> run.checkpoint("demo", epochs=2).name.startswith("demo-quick-")
        True
        """
        if not re.fullmatch(r"[\w.-]+", name):
            raise ValueError(f"name must be letters, digits, '.', '-' or '_', got {name!r}.")
        digest = config_key({"seed": self.seed, **config})
        return checkpoint_dir() / f"{name}-{'quick' if self.quick else 'full'}-{digest}.pt"

    def __str__(self) -> str:
        mode = "quick" if self.quick else "full (set QUICK = True for the few-minute version)"
        root = os.environ.get("LABKIT_DATA") or "unset (downloads)"
        return f"{mode} mode | seed {self.seed} | device {self.device} | data root {root}"


def start(quick: bool | str | None = None, seed: int = 0) -> Run:
    """Resolve the mode, seed everything, choose the device, keep freed memory and apply the plot style.

    The resolved mode is also written to ``LABKIT_QUICK``, so that what the lab
    calls afterwards (the model catalogue, :func:`labkit.zoo.get`) follows it
    without being told.

    Parameters
    ----------
    quick
        The notebook's ``QUICK`` parameter (see :func:`labkit.config.resolve_quick`).
    seed
        Seed for Python, NumPy and torch.

    Returns
    -------
    Run
        The run settings; ``print(run)`` gives a one-line summary.

    Examples
    --------
    >>> run = start(True, seed=1)
    >>> run.pick(quick=100, full=10_000), os.environ["LABKIT_QUICK"]
    (100, '1')
    """
    from .viz.plot import use_style

    run = Run(quick=resolve_quick(quick), seed=seed, device=get_device())
    os.environ["LABKIT_QUICK"] = "1" if run.quick else "0"
    seed_everything(seed)
    keep_freed_memory()
    use_style()
    return run
