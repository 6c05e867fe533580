"""Datasets for the labs: MNIST and CIFAR-10 as tensors, online or offline.

Every loader returns an :class:`ImageSet`: float32 images ``[N, C, H, W]`` in
``[0, 1]``, int64 labels and a human-readable ``source`` / ``title`` that says which
split is really used (figure titles must not pretend to show data they do not).

Where the data come from, in order:

1. the offline data packs in the folder named by ``LABKIT_DATA``
   (:func:`labkit.config.data_root`), checked against known checksums first;
2. torchvision's download into ``cache_dir() / "torchvision"`` (online users);
3. otherwise a :class:`DataUnavailableError` that says how to fix it.

The offline packs hold only the MNIST *test* split. :func:`~labkit.data.mnist_train_test` then
splits those 10,000 digits into a training part (8,000) and a held-out part
(2,000, 200 per class) and says so in every title.

Examples
--------
>>> train, test = mnist_train_test(n_train=1000, n_test=500)  # doctest: +SKIP
>>> train.title  # doctest: +SKIP
'MNIST (official train split)'
>>> for images, labels in train.loader(batch_size=64, shuffle=True):  # doctest: +SKIP
...     break
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
import tarfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from ..config import cache_dir, data_root
from ..io import atomic_write, check_writable_dir

__all__ = [
    "tensor_loader",
    "ImageSet",
    "DataUnavailableError",
    "DataIntegrityError",
    "load_mnist",
    "load_cifar10",
    "mnist_train_test",
    "balanced_subset",
    "split_validation",
    "PACK_SHA256",
    "MNIST_CLASSES",
    "CIFAR10_CLASSES",
]

#: sha256 of every offline pack file, relative to the data root (shared/data/README.md).
PACK_SHA256: dict[str, str] = {
    "MNIST/raw/t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "MNIST/raw/t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "cifar10-jpeg.tar.gz": "d34c68f61cca57aa9144c8f25bda427abb9921bd642d5857a2fc1a6b4416f965",
}
# The packs have no MNIST training split; a data root that has one (e.g. a folder
# torchvision filled) is checked against the md5s torchvision publishes.
_MNIST_TRAIN_MD5: dict[str, str] = {
    "MNIST/raw/train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "MNIST/raw/train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
}

MNIST_CLASSES: list[str] = [str(d) for d in range(10)]
CIFAR10_CLASSES: list[str] = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]
_CIFAR_PACK = "cifar10-jpeg.tar.gz"
_CIFAR_SIZES = {"train": 50_000, "test": 10_000}
_SPLITS = ("train", "test")
# Splits made offline from the MNIST test split, and what titles call them.
_SPLIT_TITLES = {
    "train": "official train split",
    "test": "official test split",
    "test-as-train": "training part of the official test split",
    "test-held-out": "held-out part of the official test split",
    "validation": "validation images held out of the training data",
}
_OFFLINE_TRAIN, _OFFLINE_HELD_OUT = 8_000, 2_000
_warned_offline_split = False


class DataUnavailableError(RuntimeError):
    """No offline pack and no download: the data cannot be had."""


class DataIntegrityError(RuntimeError):
    """An offline pack file does not match its known checksum."""


@dataclass(eq=False, repr=False)
class ImageSet:
    """Images, labels and where they come from.

    Attributes
    ----------
    images
        float32 tensor ``[N, C, H, W]`` with values in ``[0, 1]``.
    labels
        int64 tensor ``[N]`` of class indices into ``classes``.
    classes
        Class names, e.g. ``["0", ..., "9"]`` for MNIST.
    name
        Dataset name: ``"MNIST"`` or ``"CIFAR-10"``.
    split
        ``"train"`` / ``"test"`` for official splits; ``"test-as-train"`` /
        ``"test-held-out"`` for the offline split of the MNIST test digits.
    source
        Human-readable provenance, fit for a figure caption.

    Examples
    --------
    >>> s = ImageSet(torch.zeros(4, 1, 2, 2), torch.tensor([0, 1, 0, 1]), ["a", "b"],
    ...              "Toy", "test", "made up")
    >>> len(s), s.title, len(s.subset([0, 2]))
    (4, 'Toy (official test split)', 2)
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str
    split: str
    source: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        shape = tuple(self.images.shape[1:])
        return (f"ImageSet(name={self.name!r}, split={self.split!r}, n={len(self)}, "
                f"image_shape={shape}, classes={len(self.classes)}, source={self.source!r})")

    @property
    def title(self) -> str:
        """Short text for figure titles that names the split really used."""
        return f"{self.name} ({_SPLIT_TITLES.get(self.split, self.split)})"

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor) -> ImageSet:
        """The images at ``indices`` (in that order), with the same metadata."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return ImageSet(self.images[idx], self.labels[idx], list(self.classes),
                        self.name, self.split, self.source)

    def loader(self, batch_size: int = 128, shuffle: bool = False,
               generator: torch.Generator | None = None) -> DataLoader:
        """Batches of ``(images, labels)``; see :func:`tensor_loader`.

        Without a ``generator`` the shuffling follows torch's global seed, which
        :func:`labkit.config.seed_everything` sets and :func:`labkit.train.fit`
        checkpoints restore.
        """
        return tensor_loader(self.images, self.labels, batch_size=batch_size, shuffle=shuffle,
                             generator=generator)


def tensor_loader(*tensors: torch.Tensor, batch_size: int, shuffle: bool = False,
                  generator: torch.Generator | None = None) -> DataLoader:
    """A :class:`~torch.utils.data.DataLoader` over in-memory tensors that indexes whole batches.

    A plain ``DataLoader(TensorDataset(...))`` fetches every sample separately and
    then collates them; here each batch is one tensor index (``x[indices]``), which
    makes small models several times faster to train. Same batches and order as
    the plain loader with the same generator state.

    Examples
    --------
    >>> x = torch.arange(10.0)
    >>> [b[0].tolist() for b in tensor_loader(x, batch_size=4)]
    [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    dataset = TensorDataset(*tensors)
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, batch_size=None, sampler=BatchSampler(order, batch_size, drop_last=False))


# --------------------------------------------------------------------- helpers
def _check_split(split: str) -> None:
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got split={split!r}.")


def _file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, expected: str, algorithm: str = "sha256") -> None:
    """Raise :class:`DataIntegrityError` unless ``path`` has the expected digest."""
    actual = _file_digest(path, algorithm)
    if actual != expected:
        raise DataIntegrityError(
            f"Offline data file {path} is corrupt or not the expected file:\n"
            f"  expected {algorithm} {expected}\n  actual   {algorithm} {actual}\n"
            "Fix: re-copy the data pack from its source (see shared/data/README.md), "
            "or delete the corrupt file and unset LABKIT_DATA to download instead."
        )


def _to_imageset(images: np.ndarray, labels: np.ndarray, classes: list[str],
                 name: str, split: str, source: str) -> ImageSet:
    """uint8 ``[N, H, W]`` or ``[N, H, W, C]`` arrays -> float ImageSet."""
    src = torch.from_numpy(np.ascontiguousarray(images))
    src = src.unsqueeze(1) if src.ndim == 3 else src.permute(0, 3, 1, 2)
    x = torch.empty(src.shape, dtype=torch.float32)  # copy_ is ~5x faster than .to()
    x.copy_(src).div_(255.0)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    return ImageSet(x, y, list(classes), name, split, source)


def _unavailable(what: str, root: Path | None, rel: str, error: BaseException | None,
                 download: bool) -> DataUnavailableError:
    if root is None:
        where = "LABKIT_DATA is not set (no offline data root)"
    else:
        where = f"the data root LABKIT_DATA={str(root)!r} has no {rel}"
    if download:
        how = f"the download failed ({type(error).__name__}: {error})"
    else:
        how = "downloading is disabled (download=False)"
    return DataUnavailableError(
        f"{what} is not available: {where}, and {how}.\n"
        "Fix: export LABKIT_DATA=/path/to/shared/data (the offline data packs), "
        "or connect to the internet so torchvision can download it into "
        f"{cache_dir() / 'torchvision'}."
    )


def _torchvision(factory: Callable, train: bool, download: bool):
    """Build a torchvision dataset in the cache; its chatter is only shown on success."""
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter):
        dataset = factory(root=str(cache_dir() / "torchvision"), train=train,
                          download=download)
    print(chatter.getvalue(), end="")
    return dataset


def _atomic_save(path: Path, array: np.ndarray) -> None:
    """``np.save`` through :func:`labkit.io.atomic_write`, so no half file is ever seen."""
    with atomic_write(path) as handle:
        np.save(handle, array)


# ----------------------------------------------------------------------- MNIST
def _read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes (the MNIST format) into numpy."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataIntegrityError(f"{path} is not a uint8 IDX file (bad magic number "
                                 f"{raw[:4].hex()}; expected 000008xx).")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DataIntegrityError(f"{path}: IDX header says shape {shape} but holds "
                                 f"{len(raw) - offset} bytes.")
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(shape).copy()


def _mnist_from_root(root: Path, split: str) -> ImageSet | None:
    prefix = "train" if split == "train" else "t10k"
    rels = [f"MNIST/raw/{prefix}-{kind}-ubyte.gz" for kind in ("images-idx3", "labels-idx1")]
    paths = [root / rel for rel in rels]
    if not all(p.is_file() for p in paths):
        return None
    for rel, path in zip(rels, paths):
        if rel in PACK_SHA256:
            _verify(path, PACK_SHA256[rel])
        else:
            _verify(path, _MNIST_TRAIN_MD5[rel], "md5")
    images, labels = (_read_idx(p) for p in paths)
    if images.shape[0] != labels.shape[0]:
        raise DataIntegrityError(f"{paths[0]} has {images.shape[0]} images but "
                                 f"{paths[1]} has {labels.shape[0]} labels.")
    source = f"MNIST official {split} split (offline data pack)"
    return _to_imageset(images, labels, MNIST_CLASSES, "MNIST", split, source)


def load_mnist(split: str = "test", *, download: bool = True) -> ImageSet:
    """Load an official MNIST split: 28x28 grey digits, 10 classes.

    Parameters
    ----------
    split
        ``"train"`` (60,000 digits) or ``"test"`` (10,000). The offline packs only
        hold the test split; see :func:`~labkit.data.mnist_train_test` for a training set offline.
    download
        Let torchvision download the data when no offline pack has it.

    Returns
    -------
    ImageSet
        Images ``[N, 1, 28, 28]`` in ``[0, 1]``.

    Raises
    ------
    DataUnavailableError
        Neither an offline pack nor a download could provide the split.
    DataIntegrityError
        An offline pack file fails its checksum.
    """
    _check_split(split)
    root = data_root()
    if root is not None:
        found = _mnist_from_root(root, split)
        if found is not None:
            return found
    import torchvision.datasets

    try:
        ds = _torchvision(torchvision.datasets.MNIST, split == "train", download)
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        prefix = "train" if split == "train" else "t10k"
        raise _unavailable(f"MNIST ({split} split)", root,
                           f"MNIST/raw/{prefix}-images-idx3-ubyte.gz", error,
                           download) from error
    source = f"MNIST official {split} split (torchvision download)"
    return _to_imageset(ds.data.numpy(), ds.targets.numpy(), MNIST_CLASSES, "MNIST",
                        split, source)


# -------------------------------------------------------------------- CIFAR-10
_CIFAR_MEMBER = re.compile(r"^(?:\./)?(train|test)/([a-z]+)/[^/]+\.jpe?g$")


def _decode_jpeg(data: bytes) -> np.ndarray:
    """Decode one JPEG into a uint8 ``[H, W, 3]`` array."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _decode_cifar_pack(pack: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Decode every JPEG of the pack: ``{split: (uint8 [N,32,32,3], int64 [N])}``.

    Files are taken in sorted path order (the order ``ImageFolder`` uses).
    """
    members: list[tuple[str, str, str, bytes]] = []
    with tarfile.open(pack, "r:gz") as archive:
        for member in archive:
            match = _CIFAR_MEMBER.match(member.name) if member.isfile() else None
            if match and match.group(2) in CIFAR10_CLASSES:
                data = archive.extractfile(member).read()
                members.append((match.group(1), match.group(2), member.name, data))
    members.sort(key=lambda m: (m[0], m[1], m[2]))
    out = {}
    for split in _SPLITS:
        chosen = [m for m in members if m[0] == split]
        if len(chosen) != _CIFAR_SIZES[split]:
            raise DataIntegrityError(f"{pack}: expected {_CIFAR_SIZES[split]} {split} "
                                     f"images, found {len(chosen)}.")
        images = np.stack([_decode_jpeg(m[3]) for m in chosen])
        labels = np.array([CIFAR10_CLASSES.index(m[1]) for m in chosen], dtype=np.int64)
        out[split] = (images, labels)
    return out


#: The record of a decoded cache folder: shape, dtype and sha256 of every array in it.
CACHE_RECORD = "cache-record.json"


def _array_record(array: np.ndarray) -> dict:
    """Shape, dtype and sha256 of the array's bytes (what :data:`CACHE_RECORD` keeps per file)."""
    data = np.ascontiguousarray(array)
    return {"shape": list(data.shape), "dtype": str(data.dtype),
            "sha256": hashlib.sha256(memoryview(data).cast("B")).hexdigest()}


def _cache_names(folder: Path, split: str) -> tuple[Path, Path]:
    return folder / f"{split}_images.npy", folder / f"{split}_labels.npy"


def _read_cifar_cache(folder: Path, split: str) -> tuple[tuple[np.ndarray, np.ndarray] | None, str | None]:
    """``(arrays, None)`` from a verified cache, or ``(None, why not)``; ``why`` is ``None`` when there is no cache."""
    paths = _cache_names(folder, split)
    record_path = folder / CACHE_RECORD
    if not record_path.exists() and not any(p.exists() for p in paths):
        return None, None  # nothing cached yet: a first decode, nothing to report
    try:
        files = json.loads(record_path.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"has no readable record of its arrays ({CACHE_RECORD}: {type(error).__name__})"
    arrays = []
    for path in paths:
        expected = files.get(path.name) if isinstance(files, dict) else None
        if expected is None:
            return None, f"has no record of {path.name}"
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            return None, f"has an unreadable {path.name} ({type(error).__name__}: {error})"
        actual = _array_record(array)
        for key in ("shape", "dtype", "sha256"):
            if actual[key] != expected.get(key):
                return None, f"has a {path.name} whose {key} is {actual[key]}, not the recorded {expected.get(key)}"
        arrays.append(array)
    return (arrays[0], arrays[1]), None


def _cifar_arrays(pack: Path, sha: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The decoded split, from the verified ``.npy`` cache or by decoding the pack once.

    The cache folder holds ``<split>_images.npy`` / ``<split>_labels.npy`` and
    :data:`CACHE_RECORD`, written last, with the shape, dtype and sha256 of each
    array. A cache that fails the record (a flipped byte, a truncated or
    replaced file, a missing record) is decoded again, with a warning. A folder
    that cannot be written is reported before the decode, which then runs in
    memory only.
    """
    fix = "Fix: export LABKIT_CACHE=/a/folder/you/can/write to keep the decoded arrays."
    try:
        folder = cache_dir() / f"cifar10-jpeg-{sha[:12]}"
    except PermissionError as error:
        folder, unusable = None, error
    else:
        found, problem = _read_cifar_cache(folder, split)
        if found is not None:
            return found
        if problem is not None:
            warnings.warn(f"The decoded CIFAR-10 cache {folder} {problem}; decoding the pack again "
                          "(about 10 s) and rewriting the cache.", UserWarning, stacklevel=3)
        try:
            check_writable_dir(folder, "CIFAR-10 cache folder", fix)
            unusable = None
        except PermissionError as error:
            unusable = error
    if unusable is not None:
        warnings.warn(f"{unusable} Decoding CIFAR-10 in memory only (about 10 s, on every load).",
                      UserWarning, stacklevel=3)
    decoded = _decode_cifar_pack(pack)
    if unusable is None:
        files = {}
        for s, arrays in decoded.items():
            for path, array in zip(_cache_names(folder, s), arrays):
                _atomic_save(path, array)
                files[path.name] = _array_record(array)
        with atomic_write(folder / CACHE_RECORD) as handle:  # last: the record vouches for complete files
            handle.write(json.dumps({"pack_sha256": sha, "files": files}, indent=1).encode())
    return decoded[split]


def load_cifar10(split: str = "train", *, download: bool = True) -> ImageSet:
    """Load a CIFAR-10 split: 32x32 colour images, 10 classes.

    Offline, the JPEG pack ``<LABKIT_DATA>/cifar10-jpeg.tar.gz`` is checked (sha256),
    decoded once (about 10 s for all 60,000 images) and cached as ``.npy`` arrays in
    ``cache_dir()/cifar10-jpeg-<sha>/`` with a record of their shapes and sha256;
    later loads read the cache and check it against the record (0.1 s for the
    training split), and decode again, with a warning, when it does not match.
    An unwritable cache folder is reported (a warning) before decoding, which
    then runs in memory.

    Parameters
    ----------
    split
        ``"train"`` (50,000 images) or ``"test"`` (10,000).
    download
        Let torchvision download the data when no offline pack is available.

    Returns
    -------
    ImageSet
        Images ``[N, 3, 32, 32]`` in ``[0, 1]``.

    Raises
    ------
    DataUnavailableError
        Neither the offline pack nor a download could provide the data.
    DataIntegrityError
        The offline pack fails its checksum.
    """
    _check_split(split)
    root = data_root()
    pack = root / _CIFAR_PACK if root is not None else None
    if pack is not None and pack.is_file():
        sha = PACK_SHA256[_CIFAR_PACK]
        _verify(pack, sha)
        images, labels = _cifar_arrays(pack, sha, split)
        source = (f"CIFAR-10 official {split} split (offline data pack, JPEG "
                  "re-encoded: accuracies differ slightly from the original)")
        return _to_imageset(images, labels, CIFAR10_CLASSES, "CIFAR-10", split, source)
    import torchvision.datasets

    try:
        ds = _torchvision(torchvision.datasets.CIFAR10, split == "train", download)
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        raise _unavailable(f"CIFAR-10 ({split} split)", root, _CIFAR_PACK, error,
                           download) from error
    source = f"CIFAR-10 official {split} split (torchvision download)"
    return _to_imageset(ds.data, np.asarray(ds.targets), CIFAR10_CLASSES, "CIFAR-10",
                        split, source)


# ---------------------------------------------------------------- subsets/splits
def _per_class_counts(n: int, n_classes: int) -> list[int]:
    base, extra = divmod(n, n_classes)
    return [base + (1 if c < extra else 0) for c in range(n_classes)]


def _largest_balanced(have: np.ndarray) -> int:
    """The largest ``n`` for which a balanced subset exists, given class counts."""
    low, lead = int(have.min()), 0
    while lead < len(have) and have[lead] > low:
        lead += 1
    return len(have) * low + lead


def _balanced_indices(labels: np.ndarray, n_classes: int, n: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Indices of a class-balanced draw of ``n`` (class order, unshuffled)."""
    want = _per_class_counts(n, n_classes)
    return np.concatenate([rng.permutation(np.flatnonzero(labels == c))[: want[c]]
                           for c in range(n_classes)])


def _checked_balanced_indices(data: ImageSet, n: int, rng: np.random.Generator, caller: str,
                              arg: str) -> np.ndarray:
    """:func:`_balanced_indices`, with an error naming ``caller``'s argument when a class is short."""
    n_classes, labels = len(data.classes), data.labels.numpy()
    have = np.bincount(labels, minlength=n_classes)
    want = _per_class_counts(n, n_classes)
    short = [c for c in range(n_classes) if have[c] < want[c]]
    if short:
        c = short[0]
        raise ValueError(
            f"{caller}: {arg}={n} needs {want[c]} images of class "
            f"{data.classes[c]!r} but {data.title} has only {have[c]}; choose "
            f"{arg} <= {_largest_balanced(have)}."
        )
    return _balanced_indices(labels, n_classes, n, rng)


def balanced_subset(data: ImageSet, n: int, seed: int = 0) -> ImageSet:
    """A deterministic, class-balanced subset of ``n`` images.

    Each class gets ``n // n_classes`` images, the remainder going one each to the
    first classes; images are drawn at random (``seed``) and returned in a shuffled,
    reproducible order. Metadata are kept; ``source`` notes the subset.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer or some class has too few images.

    Examples
    --------
    >>> s = ImageSet(torch.zeros(6, 1, 1, 1), torch.tensor([0, 0, 0, 1, 1, 1]),
    ...              ["a", "b"], "Toy", "test", "made up")
    >>> sorted(balanced_subset(s, 3).labels.tolist())
    [0, 0, 1]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"balanced_subset: n must be a positive integer, got n={n!r}.")
    rng = np.random.default_rng(seed)
    subset = data.subset(rng.permutation(_checked_balanced_indices(data, int(n), rng, "balanced_subset", "n")))
    subset.source = f"{data.source}; class-balanced subset of {n:,}"
    return subset


def split_validation(data: ImageSet, n_val: int, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """Hold ``n_val`` class-balanced images of a training set out for validation (model selection).

    The test set stays untouched until the end; choosing epochs, widths or
    surrogates on it would report an optimistic number. The validation part gets
    ``split="validation"``, so its ``title`` (and every figure title built from it)
    says what it is; the rest keeps the training metadata, and both ``source``
    strings record the split.

    Parameters
    ----------
    data
        The training images.
    n_val
        Number of validation images, class-balanced (see :func:`balanced_subset`).
    seed
        Seed of the draw; the same seed gives the same split.

    Returns
    -------
    tuple of ImageSet
        ``(train, val)``, disjoint, together all of ``data``.

    Examples
    --------
    >>> s = ImageSet(torch.zeros(8, 1, 1, 1), torch.tensor([0, 1] * 4), ["a", "b"], "Toy", "train", "made up")
    >>> train, val = split_validation(s, 2)
    >>> len(train), len(val), sorted(val.labels.tolist()), val.title
    (6, 2, [0, 1], 'Toy (validation images held out of the training data)')
    """
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or not 0 < n_val < len(data):
        raise ValueError(f"split_validation: n_val must be an integer in [1, {len(data) - 1}] "
                         f"(the training set has {len(data):,} images), got n_val={n_val!r}.")
    rng = np.random.default_rng(seed)
    held = _checked_balanced_indices(data, int(n_val), rng, "split_validation", "n_val")
    val = data.subset(rng.permutation(held))
    train = data.subset(rng.permutation(np.setdiff1d(np.arange(len(data)), held)))
    val.split = "validation"
    val.source = f"{data.source}; {len(val):,} class-balanced images held out for validation"
    train.source = f"{data.source}; without the {len(val):,} validation images"
    return train, val


def _offline_mnist_split(test: ImageSet, seed: int) -> tuple[ImageSet, ImageSet]:
    """Split the 10,000 MNIST test digits: 2,000 held out (200 per class), 8,000 train.

    The held-out part is exactly balanced; the training part keeps the remaining
    digits (class counts 692 to 935: the test split has only 892 fives).
    """
    rng = np.random.default_rng(seed)
    held = _balanced_indices(test.labels.numpy(), len(test.classes), _OFFLINE_HELD_OUT, rng)
    rest = np.setdiff1d(np.arange(len(test)), held)
    train, held_out = test.subset(rng.permutation(rest)), test.subset(rng.permutation(held))
    note = "(offline: no training split)"
    train.split, held_out.split = "test-as-train", "test-held-out"
    train.source = (f"MNIST: {len(train):,} digits of the official test split used "
                    f"for training {note}")
    held_out.source = (f"MNIST: {len(held_out):,} digits of the official test split "
                       f"held out for testing, disjoint from the training digits {note}")
    return train, held_out


def mnist_train_test(n_train: int | None = None, n_test: int | None = None,
                     seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """MNIST training and test sets, with an honest fallback offline.

    Uses the official train (60,000) and test (10,000) splits when available. When
    the training split is unavailable (offline packs hold only the test split and
    the download fails), the 10,000 test digits are split deterministically into
    8,000 for training and 2,000 held out (200 per class); ``split``, ``source`` and
    ``title`` say so, and a warning is issued once per process.

    Parameters
    ----------
    n_train, n_test
        Optional sizes: class-balanced subsets (:func:`balanced_subset`) of each part.
    seed
        Seed for the offline split and the subsets.

    Returns
    -------
    tuple of ImageSet
        ``(train, test)``.

    Examples
    --------
    >>> train, test = mnist_train_test(n_train=600, n_test=200)  # doctest: +SKIP
    >>> print(train.title)  # doctest: +SKIP
    MNIST (training part of the official test split)
    """
    global _warned_offline_split
    try:
        train = load_mnist("train")
        test = load_mnist("test")
    except DataUnavailableError as error:
        test = load_mnist("test")  # no test split either: let that error through
        train, test = _offline_mnist_split(test, seed)
        if not _warned_offline_split:
            _warned_offline_split = True
            warnings.warn(
                "MNIST training split unavailable offline; using 8,000 digits of the "
                "official test split for training and the other 2,000 (200 per class) "
                f"as the held-out test set. Cause: {str(error).splitlines()[0]}",
                UserWarning, stacklevel=2)
    if n_train is not None:
        train = balanced_subset(train, n_train, seed=seed)
    if n_test is not None:
        test = balanced_subset(test, n_test, seed=seed)
    return train, test
