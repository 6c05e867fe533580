"""The start of every lab: :func:`start` returns a :class:`Run` with the resolved settings."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .config import get_device, resolve_quick, seed_everything

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

    def __str__(self) -> str:
        mode = "quick" if self.quick else "full"
        root = os.environ.get("LABKIT_DATA") or "unset (downloads)"
        return f"{mode} mode | seed {self.seed} | device {self.device} | data root {root}"


def start(quick: bool | str | None = None, seed: int = 0) -> Run:
    """Resolve the mode, seed everything, choose the device and apply the plot style.

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
    >>> run.pick(quick=100, full=10_000)
    100
    """
    from .plot import use_style

    run = Run(quick=resolve_quick(quick), seed=seed, device=get_device())
    seed_everything(seed)
    use_style()
    return run
