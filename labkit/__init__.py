"""labkit: the small library behind the lab book on spiking vs artificial neural networks.

Every lab starts with::

    import labkit
    run = labkit.start(QUICK, seed=0)

which resolves quick/full mode, seeds every generator, picks the device and applies
the plotting style. The topical modules are :mod:`labkit.data`,
:mod:`labkit.encoding`, :mod:`labkit.events`, :mod:`labkit.train`,
:mod:`labkit.plot`, :mod:`labkit.widgets` and :mod:`labkit.book`.
"""

from __future__ import annotations

from .config import cache_dir, data_root, get_device, is_static, resolve_quick, seed_everything
from .run import Run, start

__version__ = "0.1.0"

__all__ = [
    "Run",
    "start",
    "resolve_quick",
    "seed_everything",
    "get_device",
    "data_root",
    "cache_dir",
    "is_static",
    "__version__",
]
