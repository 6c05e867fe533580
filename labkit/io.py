"""Atomic file writes: a reader never sees half a file, and a crash never loses the old one.

:func:`atomic_write` is the only writer labkit uses for anything it keeps on disk
(checkpoints, decoded data caches): it writes a temporary file in the destination's
folder, flushes and ``fsync``s it, then renames it over the destination with
:func:`os.replace`, which is atomic on POSIX and Windows.

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
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Open a binary handle whose content replaces ``path`` only when the block ends without error.

    Parameters
    ----------
    path
        Destination file; its folder is created if needed.

    Yields
    ------
    BinaryIO
        A handle to a temporary file beside ``path``. On an exception (or Ctrl-C)
        the temporary file is removed and ``path`` keeps its old content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
