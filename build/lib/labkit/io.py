"""Atomic file writes: a reader never sees half a file, and a crash never loses the old one.

:func:`atomic_write` is the only writer labkit uses for anything it keeps on disk
(checkpoints, decoded data caches): it writes a temporary file in the destination's
folder, flushes and ``fsync``s it, then renames it over the destination with
:func:`os.replace`, which is atomic on POSIX and Windows. The file gets the mode
an ordinary ``open`` would give it (``0o666`` less the umask, e.g. ``0o644``), so
a shared cache stays readable by other users, and temporary files orphaned by a
killed process are removed the next time that folder is written.
:func:`check_writable_dir` tells, before any work, whether a folder can take a file.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_write(folder / "note.txt") as handle:
...     _ = handle.write(b"kept")
>>> (folder / "note.txt").read_bytes()
b'kept'
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["atomic_write", "check_writable_dir", "TMP_SUFFIX", "STALE_TMP_S"]

#: Suffix of the temporary files :func:`atomic_write` writes (``<name>.<random>.labkit.tmp``).
TMP_SUFFIX = ".labkit.tmp"
#: A temporary file untouched for this long (seconds) belongs to a killed write and is removed.
STALE_TMP_S = 600.0
# temporary names of older labkit versions: <name><8 random characters>.tmp
_LEGACY_TMP = re.compile(r"[a-z0-9_]{8}\.tmp")


def _umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


def _remove_stale_tmp(folder: Path, name: str, older_than_s: float) -> list[Path]:
    """Delete temporary files of killed writes in ``folder``; return what was removed.

    Only labkit's own temporary files are touched: ``*.labkit.tmp`` for any
    destination, and ``<name>XXXXXXXX.tmp`` (the old naming) for ``name``; and
    only when their last change is older than ``older_than_s``, so a write in
    progress in another process is never disturbed.
    """
    removed, now = [], time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            ours = entry.name.endswith(TMP_SUFFIX) or (
                entry.name.startswith(name) and _LEGACY_TMP.fullmatch(entry.name[len(name):]) is not None)
            if not ours or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime > older_than_s:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def check_writable_dir(folder: str | Path, what: str = "folder", fix: str = "") -> Path:
    """Create ``folder`` if needed and prove that a file can be written there, or raise at once.

    Call it before long work whose result goes to ``folder`` (training, decoding),
    so that a read-only or mistyped path fails in a second, not after an epoch.

    Parameters
    ----------
    folder
        The folder.
    what
        What the folder is for, e.g. ``"checkpoint folder"``, for the message.
    fix
        A sentence telling the user what to do instead.

    Returns
    -------
    pathlib.Path
        ``folder``, created.

    Raises
    ------
    PermissionError
        If the folder cannot be created or written (the message names it, the
        cause and ``fix``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_writable_dir(pathlib.Path(tempfile.mkdtemp()) / "new").is_dir()
    True
    """
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe.", suffix=TMP_SUFFIX)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise PermissionError(
            f"The {what} {folder} cannot be written ({type(error).__name__}: {error}). "
            f"{fix or 'Choose a folder you can write to.'}"
        ) from error
    return folder


@contextlib.contextmanager
def atomic_write(path: str | Path, stale_tmp_s: float = STALE_TMP_S) -> Iterator[BinaryIO]:
    """Open a binary handle whose content replaces ``path`` only when the block ends without error.

    Parameters
    ----------
    path
        Destination file; its folder is created if needed.
    stale_tmp_s
        Temporary files of earlier, killed writes in the same folder that are
        older than this (seconds) are removed first.

    Yields
    ------
    BinaryIO
        A handle to a temporary file beside ``path``. On an exception (or Ctrl-C)
        the temporary file is removed and ``path`` keeps its old content; if the
        process is killed outright, the temporary file stays until the next
        write to that folder, ``stale_tmp_s`` later, removes it.

    Notes
    -----
    The new file keeps the mode of the file it replaces, or else gets
    ``0o666`` less the umask (``0o644`` with the usual umask ``022``), as
    ``open`` would give it; ``tempfile.mkstemp`` alone would leave it
    readable by its owner only (``0o600``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(path.parent, path.name, stale_tmp_s)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
