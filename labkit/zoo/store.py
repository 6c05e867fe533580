"""Get a trained network of the catalogue: load its checkpoint, or train it now, resumably.

The checkpoint of a network is stored under a key that hashes everything that
changes the result: the entry's name, its settings in the mode (data sizes,
recipe, architecture), the seed, and the version of the code that builds and
trains it (:func:`~labkit.zoo.code_version`: the source of the files the network is made
of and of the training modules, with comments and docstrings left out so that
editing prose does not retrain, and a new model file retrains nothing else).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from ..config import checkpoint_dir, config_key, get_device, resolve_quick, seed_everything
from ..data import ImageSet, balanced_subset, load_cifar10, mnist_train_test, split_validation
from ..train import History, Recipe, epoch_weights, evaluate, load_checkpoint, train_model
from .catalogue import ENTRIES, RECIPE_KEYS, SIZE_KEYS, Entry

__all__ = ["Trained", "get", "data", "initial", "at_epoch", "entry", "settings", "checkpoint_path", "code_version"]

_PACKAGE = Path(__file__).resolve().parents[1]
#: Packages whose files make up networks (models, neurons, engine); a network's key covers those it uses.
_CODE_DIRS = ("models", "spiking")
#: Files that train every network (loop, recipe, augmentation).
_TRAINING = ("train/loop.py", "train/recipes.py", "data/augment.py")
_CATALOGUE = "labkit.zoo.catalogue"


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
        ``{"loss": ..., "acc": ...}`` on the held-out test images (the entry's
        own metrics for networks that do not classify).
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
        """Accuracy on the test images, in [0, 1]; classifiers only (others report their metrics in ``test``)."""
        if "acc" not in self.test:
            raise AttributeError(f"{self.name} reports no accuracy; its test metrics are {sorted(self.test)}.")
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


def _stamp(path: Path) -> tuple[Path, int, int]:
    """``path`` with its modification time and size: the key of the per-file caches below."""
    stat = path.stat()
    return path, stat.st_mtime_ns, stat.st_size


def _normalised_source(path: Path) -> str:
    """The module's code without comments and docstrings."""
    return _normalised_file(*_stamp(path))


@lru_cache(maxsize=None)
def _normalised_file(path: Path, mtime_ns: int, size: int) -> str:
    """:func:`_normalised_source`, parsed once per version of the file (a course asks ~50 times per file)."""
    return _normalised(path.read_text())


def _module_files(module: str) -> set[Path]:
    """The source files of a ``labkit`` module or package (all its modules for a package); none for others."""
    if module != "labkit" and not module.startswith("labkit."):
        return set()
    path = _PACKAGE.joinpath(*module.split(".")[1:])
    if path.is_dir():
        return set(path.rglob("*.py"))
    return {path.with_suffix(".py")} if path.with_suffix(".py").exists() else set()


def _package_exports(package: Path) -> dict[str, Path]:
    """The names a package's ``__init__`` imports from its own modules, each with the file it comes from."""
    init = package / "__init__.py"
    exports: dict[str, Path] = {}
    if not init.exists():
        return exports
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                target = package.joinpath(*(node.module.split(".") if node.module else [alias.name]))
                if target.with_suffix(".py").exists():
                    exports[alias.asname or alias.name] = target.with_suffix(".py")
    return exports


def _imported_files(file: Path) -> set[Path]:
    """The ``labkit`` files that ``file`` imports (relative or absolute imports).

    ``from ..spiking import LIF`` counts the file that defines ``LIF`` (through
    the package's ``__init__``), not the whole package, so that editing the
    event-camera emulator does not change the key of every spiking network.
    """
    return set(_imported_files_of(*_stamp(file)))


@lru_cache(maxsize=None)
def _imported_files_of(file: Path, mtime_ns: int, size: int) -> frozenset[Path]:
    """:func:`_imported_files`, worked out once per version of the file."""
    parts = ("labkit", *file.relative_to(_PACKAGE).with_suffix("").parts)
    found: set[Path] = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _module_files(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(parts[:len(parts) - node.level]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            package = _PACKAGE.joinpath(*module.split(".")[1:]) if module.startswith("labkit") else None
            exports = _package_exports(package) if package is not None and package.is_dir() else {}
            names = [alias.name for alias in node.names]
            if exports and all(name in exports or (package / f"{name}.py").exists() for name in names):
                found |= {exports.get(name, package / f"{name}.py") for name in names}
                continue
            found |= _module_files(module)
            for alias in node.names:  # ``from . import functional`` names a module
                found |= _module_files(f"{module}.{alias.name}") if (_PACKAGE.joinpath(
                    *f"{module}.{alias.name}".split(".")[1:]).with_suffix(".py")).exists() else set()
    return frozenset(found)


def _code_closure(files: set[Path], dirs: tuple[str, ...] = _CODE_DIRS) -> set[Path]:
    """``files`` and every file of ``dirs`` (default: model, neuron or engine files) they import, directly or not."""
    inside = tuple(_PACKAGE / part for part in dirs)
    todo, seen = list(files), set(files)
    while todo:
        for dep in _imported_files(todo.pop()):
            if dep not in seen and any(dep.is_relative_to(folder) for folder in inside):
                seen.add(dep)
                todo.append(dep)
    return seen


@lru_cache(maxsize=None)
def _function_code(fn: Any) -> str:
    """A function's code without prose; a lambda inside a longer line keeps its line as written.

    Read once per process: the catalogue's functions are read when ``labkit.zoo``
    is imported (:func:`_snapshot_catalogue`), so that editing ``catalogue.py``
    while a build runs neither changes the keys of the networks still to train
    nor makes ``inspect`` read a function's lines at their new, shifted place.
    """
    source = inspect.getsource(fn)
    try:
        return _normalised(source)
    except SyntaxError:
        return source.strip()


def _callables(spec: Entry) -> list[Any]:
    fns = [spec.build, spec.prepare, spec.loss, *(spec.metrics or {}).values()]
    return [getattr(fn, "func", fn) for fn in fns if fn is not None]


def code_version(name: str | None = None, arch: dict[str, Any] | None = None) -> str:
    """A short hash of the code that builds and trains a network of the catalogue.

    It covers the source (without comments and docstrings) of the files the
    network is made of: the modules of its layers and every model, neuron or
    engine file they import, the training loop and recipe, the augmentation,
    and the entry's own functions (builder, data preparation, loss, metrics);
    for those defined in a ``labkit`` module, that module and the model, neuron
    and data files it imports (e.g. the event binning behind ``event-snn``).
    Adding a new model file, or editing one that another network does not use,
    therefore retrains nothing else. Without ``name``: every such file.
    """
    if name is None:
        files = _code_closure(set().union(*(_module_files(f"labkit.{part}") for part in _CODE_DIRS)))
        own: list[str] = []
    else:
        spec = entry(name)
        with torch.random.fork_rng(devices=[]):
            model = spec.build(**(arch or {}))
        files = set().union(*(_module_files(type(m).__module__) for m in model.modules()))
        own, task_files = [], set()
        for fn in _callables(spec):
            module = getattr(fn, "__module__", "") or ""
            if module.startswith("labkit.") and module != _CATALOGUE:
                task_files |= _module_files(module)
            else:  # the catalogue's (or a user's) own function: its code only, so editing another entry retrains nothing
                own.append(_function_code(fn))
        files = _code_closure(files) | _code_closure(task_files, (*_CODE_DIRS, "data"))
    files |= {_PACKAGE / part for part in _TRAINING}
    digest = hashlib.sha256()
    for file in sorted(f for f in files if f.name != "__init__.py"):  # package files only re-export names
        digest.update(file.relative_to(_PACKAGE).as_posix().encode())
        digest.update(_normalised_source(file).encode())
    for code in own:
        digest.update(code.encode())
    return digest.hexdigest()[:12]


def _snapshot_catalogue() -> None:
    """Read the code of the catalogue's own functions now (see :func:`_function_code`)."""
    for spec in ENTRIES.values():
        for fn in _callables(spec):
            if getattr(fn, "__module__", None) == _CATALOGUE:
                _function_code(fn)


_snapshot_catalogue()


def _torch_seed(name: str, seed: int) -> int:
    """The generator seed of ``(name, seed)``: two entries with the same seed never share initial weights."""
    return zlib.crc32(f"{name}:{seed}".encode())


def checkpoint_path(name: str, seed: int, quick: bool, config: dict[str, Any]) -> Path:
    """Where the checkpoint of this run lives: ``<checkpoints>/zoo/<name>-<mode>-s<seed>-<key>.pt``.

    The folder is ``LABKIT_CHECKPOINTS`` (default ``cache_dir()/"checkpoints"``).
    """
    key = {"name": name, "seed": seed, "settings": config, "code": code_version(name, _arch(config))}
    if entry(name).keep_epochs:  # its checkpoint also holds every epoch's weights
        key["keep_epochs"] = True
    digest = config_key(key)
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
    """The ``(train, val, test)`` data that ``name`` learns from and is tested on, for analyses in a lab.

    Images with class labels, or what the entry's ``prepare`` makes of them.

    The same for every seed. ``quick`` and ``overrides`` as in :func:`get`.
    """
    config = settings(name, resolve_quick(quick), **overrides)
    return _prepared(name, **{k: config[k] for k in SIZE_KEYS})


@lru_cache(maxsize=4)
def _prepared(name: str, n_train: int | None, n_val: int, n_test: int | None) -> tuple[Any, Any, Any]:
    """The entry's data: its images, or what its ``prepare`` makes of each split (made once per process)."""
    spec = entry(name)
    splits = _data(spec.dataset, n_train, n_val, n_test)
    return splits if spec.prepare is None else tuple(spec.prepare(split) for split in splits)


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


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (POSIX): a second process waits, then loads the checkpoint."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock, at worst the network trains twice
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    train, val, test = _prepared(name, **sizes)
    path = checkpoint_path(name, seed, quick, config)
    with _exclusive(path):  # two processes asking for the same network train it once
        model, history = train_model(lambda: spec.build(**arch), train, val, recipe, loss_fn=spec.loss,
                                     metrics=spec.metrics, seed=_torch_seed(name, seed), device=device,
                                     checkpoint=path, progress=progress, keep_epochs=spec.keep_epochs)
    model.eval()
    if spec.loss is None:
        result = evaluate(model, test.loader(batch_size=500), device=device)
    else:
        result = evaluate(model, test.loader(batch_size=500), spec.loss, spec.metrics or {}, device=device)
    return Trained(name, seed, model, history, result, config, train.title, val.title, test.title,
                   len(train), len(val), len(test), path)


def at_epoch(
    name: str,
    epoch: int,
    seed: int = 0,
    quick: bool | str | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    **overrides: Any,
) -> nn.Module:
    """The network ``name`` as it was after ``epoch`` epochs of training (0: its initial weights), in eval mode.

    Only for entries that keep every epoch's weights (``keep_epochs=True`` in
    the catalogue, e.g. ``"mnist-snn"``). The run is the one :func:`get`
    returns, trained now if it is not in the checkpoints yet; ``seed``,
    ``quick``, ``device``, ``progress`` and ``overrides`` as there.

    Raises
    ------
    ValueError
        For an entry that keeps only its final weights, or an epoch outside ``0..epochs``.

    Examples
    --------
    >>> from labkit import zoo
    >>> zoo.at_epoch("cifar-cnn", 1)
    Traceback (most recent call last):
    ...
    ValueError: cifar-cnn keeps only its final weights; the entries that keep every epoch's are ['mnist-snn'].
    """
    spec = entry(name)
    if not spec.keep_epochs:
        keeping = [n for n, e in ENTRIES.items() if e.keep_epochs]
        raise ValueError(f"{name} keeps only its final weights; the entries that keep every epoch's are {keeping}.")
    quick = resolve_quick(quick)
    config = settings(name, quick, **overrides)
    epochs = config["epochs"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= epochs:
        raise ValueError(f"epoch must be an integer from 0 (the initial weights) to {epochs} (the last), got {epoch!r}.")
    device = torch.device(device) if device is not None else get_device()
    if epoch == 0:
        model = initial(name, seed, quick, **overrides)
    else:
        path = checkpoint_path(name, seed, quick, config)
        if not path.exists() or load_checkpoint(path).get("epoch", 0) < epochs:  # not trained, or interrupted
            get(name, seed, quick, device, progress, **overrides)
        with torch.random.fork_rng(devices=[]):  # building draws initial weights: leave the caller's generator alone
            model = spec.build(**_arch(config))
        model.load_state_dict(epoch_weights(path, epoch))
    return model.to(device).eval()

