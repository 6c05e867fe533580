"""labkit: the small library behind the lab book on spiking vs artificial neural networks.

Every lab starts with::

    import labkit
    run = labkit.start(QUICK, seed=0)

which resolves quick/full mode, seeds every generator, picks the device and applies
the plotting style.

The map, in layers; a module imports only from layers below its own (a test,
``tests/test_layout.py``, enforces it):

=====  ===========================  ==================================================
layer  package or module            what it is for
=====  ===========================  ==================================================
top    :mod:`labkit.run`            :func:`start` and :class:`Run`: mode, seed, device, checkpoints
top    :mod:`labkit.zoo`            trained networks by name, loaded or trained here
top    :mod:`labkit.book`           glue numbers into the prose, Markdown tables
top    :mod:`labkit.exercise`       :func:`check`: exercise answers against a reference, hidden solutions
top    :func:`labkit.maximise`      gradient-free search of a black box over a discrete grid (:mod:`labkit.analysis.maximise`)
7      :mod:`labkit.viz`            plot style, figures, widgets
6      :mod:`labkit.fv`             feature visualisation: param, transform, objectives, render
5      :mod:`labkit.analysis`       the recorder, regression between feature spaces, CKA, receptive fields, attacks, black-box maximisation
4      :mod:`labkit.train`          :func:`~labkit.train.fit`, the one training loop, and its recipes
3      :mod:`labkit.models`         every network: MNIST SNN, CNN/SNN twins, residual twins, AlexNet
2      :mod:`labkit.spiking`        stimuli, spike codes, event cameras, surrogates, LIF, the engine
1      :mod:`labkit.data`           MNIST / CIFAR-10 loaders, offline packs, subsets, augmentation
0      :mod:`labkit.config`         seeding, device, data and cache folders, static (book) runs, Drive checkpoints on Colab
0      :mod:`labkit.io`             the atomic file writer, writable-folder checks
0      :mod:`labkit.checks`         argument checks shared by all layers
0      :mod:`labkit.stats`          bootstrap and seed intervals, and the verdict words they allow
0      :mod:`labkit.metrics`        :func:`nrmse`, the normalised RMSE of reconstructed spike counts
=====  ===========================  ==================================================

The subpackages are imported on first use, so ``import labkit`` stays light and
``labkit.spiking.LIF`` works after it.
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import cache_dir, data_root, get_device, is_static, persistent_checkpoints, resolve_quick, seed_everything
from .exercise import check
from .metrics import nrmse
from .run import Run, start

__version__ = "0.2.0"

_SUBMODULES = ("analysis", "book", "checks", "data", "exercise", "fv", "io", "metrics", "models", "spiking", "stats", "train", "viz",
               "zoo")

__all__ = [
    "Run",
    "start",
    "check",
    "nrmse",
    "resolve_quick",
    "seed_everything",
    "get_device",
    "data_root",
    "cache_dir",
    "is_static",
    "persistent_checkpoints",
    "maximise",
    "__version__",
    *_SUBMODULES,
]


def __getattr__(name: str) -> Any:
    """Import a subpackage on first access (``labkit.spiking``, ``labkit.viz`` ...)."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "maximise":  # labkit.maximise: imported on first use, like the subpackages
        return importlib.import_module(".analysis.maximise", __name__).maximise
    raise AttributeError(f"module 'labkit' has no attribute {name!r}; its parts are {', '.join(_SUBMODULES)}.")


def __dir__() -> list[str]:
    """The public names, the lazy ones included (so ``dir(labkit)``, tab completion and autodoc see them)."""
    return sorted(set(globals()) | set(__all__))
