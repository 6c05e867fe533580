"""Run configuration shared by every lab: quick/full mode, seeding, device, folders.

Every notebook starts with a ``parameters`` cell holding ``QUICK = None`` and then
calls :func:`resolve_quick`. The value is resolved in this order:

1. the notebook parameter (papermill ``-p QUICK True``), when it is not ``None``;
2. the environment variable ``LABKIT_QUICK`` (``1``/``true``/``yes`` or ``0``/``false``/``no``);
3. full mode (``False``).

Examples
--------
>>> import labkit
>>> labkit.resolve_quick(True)
True
>>> labkit.resolve_quick("false")  # what ``papermill -p QUICK false`` injects
False
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "resolve_quick",
    "seed_everything",
    "get_device",
    "data_root",
    "cache_dir",
    "is_static",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_flag(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(
        f"{name}={value!r} is not a yes/no value; use True/False (or 1/0)."
    )


def resolve_quick(quick: bool | str | int | None = None) -> bool:
    """Decide whether a lab runs in quick mode.

    Parameters
    ----------
    quick
        The notebook's ``QUICK`` parameter. ``None`` defers to the
        ``LABKIT_QUICK`` environment variable, then to full mode. Strings such as
        ``"true"`` (what ``papermill -p QUICK true`` injects) are accepted.

    Returns
    -------
    bool
        ``True`` for quick mode (small sizes, same code path), ``False`` for full mode.

    Raises
    ------
    ValueError
        If ``quick`` or ``LABKIT_QUICK`` is not a recognisable yes/no value.
    """
    if quick is None:
        return _parse_flag(os.environ.get("LABKIT_QUICK", ""), "LABKIT_QUICK")
    if isinstance(quick, bool):
        return quick
    if isinstance(quick, int):
        return bool(quick)
    if isinstance(quick, str):
        return _parse_flag(quick, "QUICK")
    raise TypeError(f"QUICK must be True, False or None, got {type(quick).__name__}.")


def seed_everything(seed: int = 0, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) so runs reproduce.

    Parameters
    ----------
    seed
        The seed used for every generator.
    deterministic
        Also ask torch for deterministic kernels (cuDNN and friends). Ops with no
        deterministic implementation only warn instead of failing.

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``, handy for ``DataLoader(generator=...)``.

    Examples
    --------
    >>> g = seed_everything(1)
    >>> a = torch.rand(2); _ = seed_everything(1); b = torch.rand(2)
    >>> bool((a == b).all())
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def get_device(prefer: str | None = None) -> torch.device:
    """Pick the compute device: CUDA when there is a GPU (Colab), else CPU.

    Parameters
    ----------
    prefer
        Force a device (``"cpu"``, ``"cuda"``, ``"mps"``); also read from the
        ``LABKIT_DEVICE`` environment variable.

    Returns
    -------
    torch.device
    """
    choice = prefer or os.environ.get("LABKIT_DEVICE")
    if choice:
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def data_root() -> Path | None:
    """The offline data root from ``LABKIT_DATA``, or ``None`` when unset.

    Raises
    ------
    FileNotFoundError
        If ``LABKIT_DATA`` is set but is not a folder.
    """
    value = os.environ.get("LABKIT_DATA")
    if not value:
        return None
    root = Path(value).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"LABKIT_DATA={value!r} is not a folder. Point it at the offline data "
            "packs (e.g. export LABKIT_DATA=../shared/data) or unset it to download."
        )
    return root


def cache_dir() -> Path:
    """Folder for downloads and decoded arrays: ``LABKIT_CACHE`` or ``~/.cache/labkit``."""
    path = Path(os.environ.get("LABKIT_CACHE", Path.home() / ".cache" / "labkit"))
    path = path.expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_static() -> bool:
    """Whether outputs must be static (the book build, CI) rather than interactive.

    ``True`` when ``LABKIT_STATIC`` is set to a yes value, or when the code does not
    run inside a Jupyter kernel (a plain script has no widget front end).
    """
    flag = os.environ.get("LABKIT_STATIC")
    if flag is not None and flag.strip():
        return _parse_flag(flag, "LABKIT_STATIC")
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        return True
    shell = get_ipython()
    return shell is None or not hasattr(shell, "kernel")
