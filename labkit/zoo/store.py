"""Get a trained network of the catalogue: load its checkpoint, or train it now, resumably.

The checkpoint of a network is stored under a key that hashes everything that
changes the result: the entry's name, its settings in the mode (data sizes,
recipe, architecture), the seed, and the version of the code that builds and
trains it (the source of the model, spiking and training modules, with
comments and docstrings left out so that editing prose does not retrain).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import checkpoint_dir, config_key, get_device, resolve_quick, seed_everything
from ..data import ImageSet, balanced_subset, load_cifar10, mnist_train_test, split_validation
from ..train import History, Recipe, evaluate, train_classifier
from .catalogue import ENTRIES, RECIPE_KEYS, SIZE_KEYS, Entry

__all__ = ["Trained", "get", "data", "initial", "entry", "settings", "checkpoint_path", "code_version"]

_PACKAGE = Path(__file__).resolve().parents[1]
#: Source files whose code changes a trained network (models, neurons, engine, training, augmentation).
_CODE = ("models", "spiking", "train/loop.py", "train/recipes.py", "data/augment.py")


@dataclass
class Trained:
    """A trained network of the catalogue and what it was trained and tested on.

    Attributes
    ----------
    name, seed
        Catalogue name and seed.
    model
        The network, in eval mode, on the device it was asked for.
    history
        Its training :class:`~labkit.train.History` (validation curves on ``val_title``).
    test
        ``{"loss": ..., "acc": ...}`` on the held-out test images.
    settings
        Everything that defined the run (sizes, recipe, architecture).
    train_title, val_title, test_title
        What the training, validation and test images are.
    n_train, n_val, n_test
        Their numbers.
    checkpoint
        The checkpoint file.
    """

    name: str
    seed: int
    model: nn.Module
    history: History
    test: dict[str, float]
    settings: dict[str, Any]
    train_title: str
    val_title: str
    test_title: str
    n_train: int
    n_val: int
    n_test: int
    checkpoint: Path = field(repr=False)

    @property
    def test_acc(self) -> float:
        """Accuracy on the test images, in [0, 1]."""
        return self.test["acc"]


def entry(name: str) -> Entry:
    """The catalogue entry ``name``; an unknown name gets an error that lists the catalogue."""
    if name not in ENTRIES:
        listing = "; ".join(f"{n} ({e.summary})" for n, e in ENTRIES.items())
        raise ValueError(f"no network {name!r} in the catalogue. Available: {listing}.")
    return ENTRIES[name]


def settings(name: str, quick: bool, **overrides: Any) -> dict[str, Any]:
    """The settings of ``name`` in quick or full mode with ``overrides`` applied (unknown keys are refused)."""
    base = dict(entry(name).quick if quick else entry(name).full)
    unknown = sorted(set(overrides) - set(base) - set(RECIPE_KEYS))
    if unknown:
        raise TypeError(f"{name} has no setting {unknown}; its settings are {sorted(base)} "
                        f"(and the recipe's {list(RECIPE_KEYS)}).")
    return {**base, **overrides}


def _normalised(code: str) -> str:
    """Code without comments and docstrings, as an AST dump (an edit of prose does not change it)."""
    tree = ast.parse(textwrap.dedent(code))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _normalised_source(path: Path) -> str:
    """The module's code without comments and docstrings."""
    return _normalised(path.read_text())


@lru_cache(maxsize=None)
def code_version() -> str:
    """A short hash of the code that builds and trains the catalogue's networks."""
    digest = hashlib.sha256()
    for part in _CODE:
        files = sorted((_PACKAGE / part).rglob("*.py")) if (_PACKAGE / part).is_dir() else [_PACKAGE / part]
        for file in (f for f in files if f.name != "__init__.py"):  # package files only re-export names
            digest.update(file.relative_to(_PACKAGE).as_posix().encode())
            digest.update(_normalised_source(file).encode())
    return digest.hexdigest()[:12]


def _builder_version(build: Any) -> str:
    """A short hash of the builder function alone: editing another catalogue entry does not retrain this one."""
    return hashlib.sha256(_normalised(inspect.getsource(build)).encode()).hexdigest()[:12]


def _torch_seed(name: str, seed: int) -> int:
    """The generator seed of ``(name, seed)``: two entries with the same seed never share initial weights."""
    return zlib.crc32(f"{name}:{seed}".encode())


def checkpoint_path(name: str, seed: int, quick: bool, config: dict[str, Any]) -> Path:
    """Where the checkpoint of this run lives: ``<checkpoints>/zoo/<name>-<mode>-s<seed>-<key>.pt``.

    The folder is ``LABKIT_CHECKPOINTS`` (default ``cache_dir()/"checkpoints"``).
    """
    digest = config_key({"name": name, "seed": seed, "settings": config, "code": code_version(),
                         "builder": _builder_version(entry(name).build)})
    return checkpoint_dir() / "zoo" / f"{name}-{'quick' if quick else 'full'}-s{seed}-{digest}.pt"


@lru_cache(maxsize=2)
def _cifar10(split: str) -> ImageSet:
    """CIFAR-10, loaded once per process (every entry takes its subset from it)."""
    return load_cifar10(split)


@lru_cache(maxsize=4)
def _data(dataset: str, n_train: int | None, n_val: int, n_test: int | None) -> tuple[ImageSet, ImageSet, ImageSet]:
    """Training, validation and test images; the same for every seed, so compared networks see the same data.

    Cached: a lab that takes several variants of one entry (lab 07 takes eight
    residual networks) draws the subsets once, not once per network.
    """
    if dataset == "mnist":
        train, test = mnist_train_test(n_train=None if n_train is None else n_train + n_val, n_test=n_test)
    else:
        train, test = _cifar10("train"), _cifar10("test")
        if n_train is not None:
            train = balanced_subset(train, n_train + n_val, seed=0)
        if n_test is not None:
            test = balanced_subset(test, n_test, seed=0)
    train, val = split_validation(train, n_val, seed=0)
    return train, val, test


def data(name: str, quick: bool | str | None = None, **overrides: Any) -> tuple[ImageSet, ImageSet, ImageSet]:
    """The ``(train, val, test)`` images that ``name`` learns from and is tested on, for analyses in a lab.

    The same for every seed. ``quick`` and ``overrides`` as in :func:`get`.
    """
    config = settings(name, resolve_quick(quick), **overrides)
    return _data(entry(name).dataset, **{k: config[k] for k in SIZE_KEYS})


def _arch(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in SIZE_KEYS and k not in RECIPE_KEYS}


def initial(name: str, seed: int = 0, quick: bool | str | None = None, **overrides: Any) -> nn.Module:
    """The untrained network that :func:`get` starts from: the same initial weights, bit for bit.

    Compare it with the trained one to see what training changed. ``seed``,
    ``quick`` and ``overrides`` as in :func:`get`.
    """
    config = settings(name, resolve_quick(quick), **overrides)
    seed_everything(_torch_seed(name, seed))
    return entry(name).build(**_arch(config))


def get(
    name: str,
    seed: int = 0,
    quick: bool | str | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    **overrides: Any,
) -> Trained:
    """A trained network of the catalogue: loaded from its checkpoint, or trained now (resumably).

    Parameters
    ----------
    name
        Catalogue name (``labkit.zoo.ENTRIES``), e.g. ``"cifar-snn"``.
    seed
        Seed of the initial weights and the data order. The generator seed also
        depends on ``name``, so different networks never share initial weights;
        variants of one entry (``overrides``) with the same seed do, on purpose
        (e.g. the same network trained with different surrogates).
    quick
        Quick or full sizes; ``None`` follows ``LABKIT_QUICK`` (as :func:`labkit.start`).
    device
        Where to train and return the model (default :func:`labkit.config.get_device`).
    progress
        Progress bars while training (default: on in Jupyter, off in the book build).
    **overrides
        Settings to change, e.g. ``num_steps=2`` or ``surrogate="fast_sigmoid:5"``;
        each change is its own checkpoint.

    Returns
    -------
    Trained
        The network in eval mode, its history and its test accuracy.

    Raises
    ------
    ValueError
        For an unknown name, listing the catalogue.
    """
    quick = resolve_quick(quick)
    device = torch.device(device) if device is not None else get_device()
    config = settings(name, quick, **overrides)
    spec = entry(name)
    sizes = {k: config[k] for k in SIZE_KEYS}
    recipe = Recipe(**{k: config[k] for k in RECIPE_KEYS if k in config})
    arch = _arch(config)
    train, val, test = _data(spec.dataset, **sizes)
    path = checkpoint_path(name, seed, quick, config)
    model, history = train_classifier(lambda: spec.build(**arch), train, val, recipe,
                                      seed=_torch_seed(name, seed), device=device, checkpoint=path,
                                      progress=progress)
    model.eval()
    result = evaluate(model, test.loader(batch_size=500), device=device)
    return Trained(name, seed, model, history, result, config, train.title, val.title, test.title,
                   len(train), len(val), len(test), path)
