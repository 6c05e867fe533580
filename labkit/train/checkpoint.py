"""Checkpoints: one atomic writer, one reader, and the random state a resumed run needs.

:func:`save_checkpoint` writes with :func:`labkit.io.atomic_write` (a temporary
file, ``fsync``, then a rename), so a crash or a Colab disconnect never leaves a
half-written file and never loses the previous checkpoint.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state"]


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` with :func:`torch.save` atomically (temp file, fsync, rename).

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
    """Load a checkpoint written by :func:`save_checkpoint` (or by :func:`labkit.train.fit`).

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


def rng_state() -> dict[str, Any]:
    """The state of Python's, numpy's and torch's (CPU and CUDA) global generators."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generators saved by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
