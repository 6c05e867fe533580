"""Run configuration shared by every lab: quick/full mode, seeding, device, folders.

Every notebook starts with a ``parameters`` cell holding ``QUICK = None`` and then
calls :func:`resolve_quick`. The value is resolved in this order:

1. the notebook parameter (papermill ``-p QUICK True``), when it is not ``None``
   or an empty string;
2. the environment variable ``LABKIT_QUICK`` (``1``/``true``/``yes`` or
   ``0``/``false``/``no``), when it is set and not empty;
3. full mode (``False``).

An empty value counts as unset at both levels (``LABKIT_QUICK=`` in a shell, or
``-p QUICK ""``), so it defers to the next level instead of forcing full mode.

Examples
--------
>>> import labkit
>>> labkit.resolve_quick(True)
True
>>> labkit.resolve_quick("false")  # what ``papermill -p QUICK false`` injects
False
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "config_key",
    "checkpoint_dir",
    "resolve_quick",
    "seed_everything",
    "get_device",
    "data_root",
    "cache_dir",
    "is_static",
    "persistent_checkpoints",
    "keep_freed_memory",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


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
        The notebook's ``QUICK`` parameter. ``None`` (or an empty string) defers
        to the ``LABKIT_QUICK`` environment variable, then to full mode; an empty
        ``LABKIT_QUICK`` counts as unset. Strings such as ``"true"`` (what
        ``papermill -p QUICK true`` injects) are accepted.

    Returns
    -------
    bool
        ``True`` for quick mode (small sizes, same code path), ``False`` for full mode.

    Raises
    ------
    ValueError
        If ``quick`` or ``LABKIT_QUICK`` is not a recognisable yes/no value.
    """
    if quick is None or (isinstance(quick, str) and not quick.strip()):
        env = os.environ.get("LABKIT_QUICK", "")
        return _parse_flag(env, "LABKIT_QUICK") if env.strip() else False
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
    """Folder for downloads and decoded arrays: ``LABKIT_CACHE`` or ``~/.cache/labkit``.

    Raises
    ------
    PermissionError
        If the folder cannot be created (the message names it and ``LABKIT_CACHE``).
    """
    path = Path(os.environ.get("LABKIT_CACHE") or Path.home() / ".cache" / "labkit").expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PermissionError(
            f"The cache folder {path} cannot be created ({type(error).__name__}: {error}). "
            "Fix: export LABKIT_CACHE=/a/folder/you/can/write."
        ) from error
    return path


def config_key(config: dict) -> str:
    """A short, stable hash of a run's settings: the part of a checkpoint's file name that changes with them.

    >>> config_key({"epochs": 2, "seed": 0}) == config_key({"seed": 0, "epochs": 2})
    True
    """
    key = json.dumps(config, sort_keys=True, default=repr)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def checkpoint_dir() -> Path:
    """Folder for training checkpoints: ``LABKIT_CHECKPOINTS`` (an empty value counts as unset) or ``cache_dir()/"checkpoints"``.

    In Colab, :func:`~labkit.persistent_checkpoints` points it at Google Drive so that a
    recycled runtime keeps them.
    """
    return Path(os.environ.get("LABKIT_CHECKPOINTS") or cache_dir() / "checkpoints").expanduser()


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


#: Where :func:`~labkit.persistent_checkpoints` puts checkpoints on Colab, inside the mounted Google Drive.
COLAB_DRIVE = Path("/content/drive")


def persistent_checkpoints(path: str | Path | None = None) -> Path:
    """Send every checkpoint to a folder that outlives the runtime: Google Drive on Colab.

    Colab deletes the runtime's disk (``~/.cache`` included) when it recycles the
    machine, and with it every checkpoint. Calling this function (your consent)
    mounts Google Drive on Colab (``google.colab.drive.mount``, which asks you to
    authorise access) and points ``LABKIT_CHECKPOINTS`` at a folder there, so the
    model catalogue (:func:`labkit.zoo.get`), :meth:`labkit.Run.checkpoint` and
    every ``fit(..., resume=True)`` after it write and resume from Drive. Elsewhere nothing is mounted: the folder you
    pass (or the usual ``cache_dir()/"checkpoints"``) is used.

    What a disconnect then loses: :func:`labkit.train.fit` writes a checkpoint
    at the end of every epoch, so at most the epoch in progress; re-run the cell
    and it resumes from the last finished epoch. There is no mid-epoch
    checkpoint (resuming inside an epoch would need the data loader's position
    and could not stay bit-identical to an uninterrupted run), so keep epochs
    short on Colab if that matters.

    Parameters
    ----------
    path
        The checkpoint folder. On Colab a relative path (or the default
        ``"labkit-checkpoints"``) is taken inside ``My Drive``; an absolute path
        is used as is. Elsewhere the default is ``cache_dir()/"checkpoints"``.

    Returns
    -------
    pathlib.Path
        The folder now in ``LABKIT_CHECKPOINTS``, created and checked writable.

    Raises
    ------
    PermissionError
        If the folder cannot be written.

    Examples
    --------
    In the first cell of a Colab notebook, before training:

    >>> import labkit
    >>> labkit.config.persistent_checkpoints()  # doctest: +SKIP
    Mounted at /content/drive
    PosixPath('/content/drive/MyDrive/labkit-checkpoints')
    """
    from .io import check_writable_dir

    try:
        from google.colab import drive  # only present on Colab
    except ImportError:
        drive = None
    if drive is not None:
        drive.mount(str(COLAB_DRIVE))
        folder = Path(path if path is not None else "labkit-checkpoints").expanduser()
        if not folder.is_absolute():
            folder = COLAB_DRIVE / "MyDrive" / folder
        fix = "Check that Google Drive is mounted and has space, or pass another path."
    else:
        folder = Path(path).expanduser().resolve() if path is not None else cache_dir() / "checkpoints"
        fix = "Pass a folder you can write to."
    folder = check_writable_dir(folder, "checkpoint folder", fix)
    os.environ["LABKIT_CHECKPOINTS"] = str(folder)
    return folder


_MMAP_THRESHOLD, _TRIM_THRESHOLD = 256 << 20, 512 << 20  # bytes
_kept_memory = False


def keep_freed_memory() -> bool:
    """Keep freed memory in the process for the next training step, instead of handing it back to the OS.

    glibc's ``malloc`` returns large freed blocks to the operating system (``munmap``
    for blocks above its mmap threshold, trimming the heap above its trim threshold),
    so the activations of every training step, tens to hundreds of MB, are faulted
    in again page by page at the next step. This sets glibc's ``M_MMAP_THRESHOLD`` to
    256 MB and ``M_TRIM_THRESHOLD`` to 512 MB: blocks up to 256 MB come from the heap,
    and up to 512 MB of free heap are kept for reuse. The price is that the process
    keeps the memory of its peak (as PyTorch's caching allocator does on GPUs). It is
    what the PyTorch CPU tuning guides reach for jemalloc or tcmalloc to get.

    Measured on 2 CPU cores (1 thread, CPU time per training step of the residual SNN of
    ``benchmarks/snn_engine.py``, 2026-11-29): 26-42 thousand page faults and
    0.46-0.51 s per step by default, 0.4-3 thousand and 0.40-0.41 s with this setting;
    its ANN floor 0.37-0.41 s and 0.37 s.

    :func:`labkit.start` calls it; ``LABKIT_KEEP_FREED_MEMORY=0`` turns it off. It is
    applied once per process and cannot be undone.

    Returns
    -------
    bool
        Whether the setting is in effect: ``False`` when turned off, and off Linux with glibc
        (macOS, Windows, musl), where nothing is changed.

    Examples
    --------
    >>> keep_freed_memory() in (True, False)
    True
    """
    global _kept_memory
    flag = os.environ.get("LABKIT_KEEP_FREED_MEMORY")
    if flag is not None and flag.strip() and not _parse_flag(flag, "LABKIT_KEEP_FREED_MEMORY"):
        return _kept_memory
    if _kept_memory:
        return True
    import platform
    import sys

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # pragma: no cover - glibc always has it
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    _kept_memory = bool(mallopt(m_mmap_threshold, _MMAP_THRESHOLD)) and bool(mallopt(m_trim_threshold,
                                                                                        _TRIM_THRESHOLD))
    return _kept_memory
