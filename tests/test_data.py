"""Tests for labkit.data: offline packs, checksums, fallbacks, caches, subsets.

The offline packs are read from ``LABKIT_DATA`` (default ``<repo>/../shared/data``);
tests that need them are skipped with a clear reason when that folder is missing.
Nothing here touches the network: torchvision's dataset classes are monkeypatched.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import urllib.error
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets

import labkit.data.datasets as data
from labkit.data import (
    DataIntegrityError,
    DataUnavailableError,
    ImageSet,
    balanced_subset,
    load_cifar10,
    load_mnist,
    mnist_train_test,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LABKIT_DATA") or REPO.parent / "shared" / "data")
needs_packs = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"offline data packs not found at {SHARED} (set LABKIT_DATA to the folder)",
)
MNIST_LABELS = "MNIST/raw/t10k-labels-idx1-ubyte.gz"
MNIST_IMAGES = "MNIST/raw/t10k-images-idx3-ubyte.gz"


# -------------------------------------------------------------------- fixtures
def _no_network(*args, **kwargs):
    raise urllib.error.URLError("no network in tests")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No download possible and an empty cache; LABKIT_DATA unset."""
    monkeypatch.delenv("LABKIT_DATA", raising=False)
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(torchvision.datasets, "MNIST", _no_network)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", _no_network)
    return monkeypatch


@pytest.fixture
def packs(offline):
    """The real offline packs, no download possible."""
    if not SHARED.is_dir():
        pytest.skip(f"offline data packs not found at {SHARED} (set LABKIT_DATA)")
    offline.setenv("LABKIT_DATA", str(SHARED))
    return SHARED


@pytest.fixture(scope="session")
def cifar_cache(tmp_path_factory) -> Path:
    """One LABKIT_CACHE for the whole session, so CIFAR-10 is decoded only once."""
    return tmp_path_factory.mktemp("labkit-cache")


@pytest.fixture(scope="session")
def cifar(cifar_cache) -> dict[str, ImageSet]:
    """Both CIFAR-10 splits from the pack (first load decodes, ~10 s)."""
    if not SHARED.is_dir():
        pytest.skip(f"offline data packs not found at {SHARED} (set LABKIT_DATA)")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LABKIT_DATA", str(SHARED))
        mp.setenv("LABKIT_CACHE", str(cifar_cache))
        return {split: load_cifar10(split) for split in ("train", "test")}


def toy(counts: list[int]) -> ImageSet:
    """A tiny ImageSet whose image i is filled with the value i (to track identity)."""
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    images = torch.arange(len(labels), dtype=torch.float32).view(-1, 1, 1, 1)
    classes = [f"c{c}" for c in range(len(counts))]
    return ImageSet(images.expand(-1, 1, 2, 2).clone(), labels, classes, "Toy", "test",
                    "toy data")


def _image_keys(s: ImageSet) -> Counter:
    return Counter(hashlib.sha1(img.numpy().tobytes()).hexdigest() for img in s.images)


# -------------------------------------------------------------------- ImageSet
def test_imageset_basics():
    s = toy([3, 3])
    assert len(s) == 6
    assert s.title == "Toy (official test split)"
    assert "n=6" in repr(s) and "tensor" not in repr(s)
    sub = s.subset([5, 0])
    assert sub.labels.tolist() == [1, 0]
    assert (sub.name, sub.split, sub.source, sub.classes) == ("Toy", "test", "toy data",
                                                              ["c0", "c1"])
    x, y = next(iter(s.loader(batch_size=4, shuffle=False)))
    assert x.shape == (4, 1, 2, 2) and y.dtype == torch.int64


def test_loader_shuffle_reproducible():
    s = toy([5, 5])
    runs = [next(iter(s.loader(10, shuffle=True, generator=torch.Generator().manual_seed(3))))[1]
            for _ in range(2)]
    assert torch.equal(runs[0], runs[1])


@pytest.mark.parametrize("loader", [load_mnist, load_cifar10])
def test_bad_split_names_the_argument(loader):
    with pytest.raises(ValueError, match="split"):
        loader("validation")


# ----------------------------------------------------------------- MNIST packs
def test_mnist_test_from_pack(packs):
    s = load_mnist("test")
    assert s.images.shape == (10_000, 1, 28, 28) and s.images.dtype == torch.float32
    assert float(s.images.min()) == 0.0 and float(s.images.max()) == 1.0
    assert s.labels.dtype == torch.int64 and set(s.labels.tolist()) == set(range(10))
    assert "test split" in s.source and "offline" in s.source
    assert s.title == "MNIST (official test split)"


def _copy_mnist(root: Path, corrupt: str | None = None) -> Path:
    (root / "MNIST" / "raw").mkdir(parents=True)
    for rel in (MNIST_IMAGES, MNIST_LABELS):
        shutil.copyfile(SHARED / rel, root / rel)
    if corrupt:
        raw = bytearray((root / corrupt).read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        (root / corrupt).write_bytes(bytes(raw))
    return root


@needs_packs
@pytest.mark.parametrize("rel", [MNIST_LABELS, MNIST_IMAGES])
def test_corrupt_mnist_file_is_refused(offline, tmp_path, rel):
    offline.setenv("LABKIT_DATA", str(_copy_mnist(tmp_path / "root", corrupt=rel)))
    with pytest.raises(DataIntegrityError) as info:
        load_mnist("test")
    message = str(info.value)
    assert data.PACK_SHA256[rel] in message and Path(rel).name in message
    assert "re-copy" in message


def test_corrupt_cifar_pack_is_refused(offline, tmp_path):
    (tmp_path / "cifar10-jpeg.tar.gz").write_bytes(b"not the pack")
    offline.setenv("LABKIT_DATA", str(tmp_path))
    with pytest.raises(DataIntegrityError, match=data.PACK_SHA256["cifar10-jpeg.tar.gz"]):
        load_cifar10("test")


def test_wrong_mnist_train_files_are_refused(offline, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for kind in ("images-idx3", "labels-idx1"):
        (raw / f"train-{kind}-ubyte.gz").write_bytes(b"junk")
    offline.setenv("LABKIT_DATA", str(tmp_path))
    with pytest.raises(DataIntegrityError, match="md5"):
        load_mnist("train")


def test_idx_reader_checks_magic(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"\x00\x00\x0d\x01" + b"\x00\x00\x00\x01" + b"\x00" * 4)
    with pytest.raises(DataIntegrityError, match="magic"):
        data._read_idx(path)
    with gzip.open(path, "wb") as handle:
        handle.write(b"\x00\x00\x08\x02" + b"\x00\x00\x00\x02\x00\x00\x00\x03" + bytes(range(6)))
    assert data._read_idx(path).tolist() == [[0, 1, 2], [3, 4, 5]]


# ------------------------------------------------------- unavailable / fallbacks
@pytest.mark.parametrize("loader", [load_mnist, load_cifar10])
def test_no_root_and_no_network_explains_the_fix(offline, loader):
    with pytest.raises(DataUnavailableError) as info:
        loader("test")
    message = str(info.value)
    assert "LABKIT_DATA" in message and "no network in tests" in message
    assert "internet" in message


def test_root_without_the_file_says_so(offline, tmp_path):
    offline.setenv("LABKIT_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="has no cifar10-jpeg.tar.gz"):
        load_cifar10("train")


def test_download_disabled_is_reported(offline):
    with pytest.raises(DataUnavailableError, match="download=False"):
        load_mnist("test", download=False)


def test_data_root_not_a_folder(offline, tmp_path):
    offline.setenv("LABKIT_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="LABKIT_DATA"):
        load_mnist("test")


def test_torchvision_path_is_used_without_root(offline, tmp_path):
    calls = []

    class FakeMNIST:
        def __init__(self, root, train, download):
            calls.append((Path(root), train, download))
            self.data = torch.zeros(4, 28, 28, dtype=torch.uint8)
            self.targets = torch.tensor([0, 1, 2, 3])

    class FakeCIFAR:
        def __init__(self, root, train, download):
            self.data = np.full((2, 32, 32, 3), 255, dtype=np.uint8)
            self.targets = [9, 0]

    offline.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    offline.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR)
    s = load_mnist("train")
    assert calls == [(tmp_path / "cache" / "torchvision", True, True)]
    assert s.images.shape == (4, 1, 28, 28) and "torchvision download" in s.source
    c = load_cifar10("test")
    assert c.images.shape == (2, 3, 32, 32) and float(c.images.max()) == 1.0
    assert c.labels.tolist() == [9, 0] and c.classes[9] == "truck"


# ------------------------------------------------------------- mnist_train_test
def test_mnist_train_test_offline_split(packs, monkeypatch):
    monkeypatch.setattr(data, "_warned_offline_split", False)
    with pytest.warns(UserWarning, match="test split"):
        train, test = mnist_train_test()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        again, _ = mnist_train_test()
    assert (len(train), len(test)) == (8_000, 2_000)
    assert torch.equal(train.labels, again.labels) and torch.equal(train.images, again.images)
    assert np.bincount(test.labels.numpy()).tolist() == [200] * 10
    assert np.bincount(train.labels.numpy()).min() >= 690
    full = load_mnist("test")
    assert _image_keys(train) + _image_keys(test) == _image_keys(full)  # a partition
    for part, word in ((train, "training"), (test, "held-out")):
        assert part.split.startswith("test-")
        assert "official test split" in part.source and "official test split" in part.title
        assert word in part.title
    assert "8,000 digits of the official test split used for training" in train.source


def test_mnist_train_test_sizes_are_balanced(packs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, test = mnist_train_test(n_train=1_000, n_test=300, seed=1)
    assert np.bincount(train.labels.numpy()).tolist() == [100] * 10
    assert np.bincount(test.labels.numpy()).tolist() == [30] * 10
    assert train.split == "test-as-train" and "subset of 1,000" in train.source


def test_mnist_train_test_without_any_data(offline):
    with pytest.raises(DataUnavailableError, match="LABKIT_DATA"):
        mnist_train_test()


# -------------------------------------------------------------- balanced_subset
def test_balanced_subset_counts_and_shuffle():
    s = toy([10, 10, 10])
    sub = balanced_subset(s, 7)
    assert np.bincount(sub.labels.numpy()).tolist() == [3, 2, 2]
    assert sub.labels.tolist() != sorted(sub.labels.tolist())
    assert (sub.name, sub.split, sub.classes) == (s.name, s.split, s.classes)
    # images still match their labels
    values = sub.images[:, 0, 0, 0].long()
    assert torch.equal(s.labels[values], sub.labels)


def test_balanced_subset_is_deterministic():
    s = toy([50, 50, 50])
    a, b = balanced_subset(s, 30, seed=4), balanced_subset(s, 30, seed=4)
    c = balanced_subset(s, 30, seed=5)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_balanced_subset_rejects_bad_n(n):
    with pytest.raises(ValueError, match="n="):
        balanced_subset(toy([3, 3]), n)


def test_balanced_subset_too_few_images_names_n():
    with pytest.raises(ValueError, match=r"n=15 .*'c1'.*n <= 13"):
        balanced_subset(toy([10, 4, 10]), 15)


# --------------------------------------------------------------------- CIFAR-10
def test_cifar10_shapes(cifar):
    for split, n in (("train", 50_000), ("test", 10_000)):
        s = cifar[split]
        assert s.images.shape == (n, 3, 32, 32) and s.images.dtype == torch.float32
        assert 0.0 <= float(s.images.min()) and float(s.images.max()) <= 1.0
        assert np.bincount(s.labels.numpy()).tolist() == [n // 10] * 10
        assert s.classes == data.CIFAR10_CLASSES and s.split == split
        assert f"official {split} split" in s.source
        assert s.title == f"CIFAR-10 (official {split} split)"


def test_cifar10_second_load_uses_cache(cifar, cifar_cache, packs, monkeypatch):
    def no_decoding(_):
        raise AssertionError("JPEG decoder called although the cache is filled")

    monkeypatch.setenv("LABKIT_CACHE", str(cifar_cache))
    monkeypatch.setattr(data, "_decode_jpeg", no_decoding)
    again = load_cifar10("test")
    assert torch.equal(again.images, cifar["test"].images)
    assert torch.equal(again.labels, cifar["test"].labels)


def test_interrupted_decode_leaves_no_cache_file(packs, monkeypatch):
    def interrupted(_):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "_decode_jpeg", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_cifar10("test")
    assert not list(Path(os.environ["LABKIT_CACHE"]).rglob("*.npy*"))


def test_atomic_save_leaves_no_temp_file(tmp_path):
    target = tmp_path / "a.npy"
    data._atomic_save(target, np.arange(5))
    assert np.load(target).tolist() == list(range(5))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]


def test_tensor_loader_matches_plain_dataloader_order():
    from torch.utils.data import DataLoader, TensorDataset

    from labkit.data import tensor_loader

    x, y = torch.arange(23.0), torch.arange(23)
    torch.manual_seed(5)
    plain = [(a.tolist(), b.tolist()) for a, b in DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True)]
    torch.manual_seed(5)
    fast = [(a.tolist(), b.tolist()) for a, b in tensor_loader(x, y, batch_size=5, shuffle=True)]
    assert fast == plain
    assert [len(a) for a, _ in tensor_loader(x, y, batch_size=10)] == [10, 10, 3]
    with pytest.raises(ValueError, match="batch_size"):
        tensor_loader(x, batch_size=0)


def test_split_validation_is_disjoint_complete_balanced_and_labelled():
    from labkit.data import split_validation

    images = torch.arange(30, dtype=torch.float32).view(30, 1, 1, 1) / 30
    data = ImageSet(images, torch.arange(30) % 3, ["a", "b", "c"], "Toy", "train", "toy")
    train, val = split_validation(data, 6, seed=1)
    ids = lambda s: set((s.images.flatten() * 30).round().long().tolist())
    assert ids(train).isdisjoint(ids(val)) and ids(train) | ids(val) == set(range(30))
    assert sorted(val.labels.tolist()) == [0, 0, 1, 1, 2, 2]
    assert val.split == "validation" and "validation" in val.title and "validation" in train.source
    again, _ = split_validation(data, 6, seed=1)
    assert torch.equal(again.images, train.images)
    with pytest.raises(ValueError, match="n_val"):
        split_validation(data, 30)
    with pytest.raises(ValueError, match="n_val=9 needs 3 images of class 'b'"):
        split_validation(data.subset(list(range(0, 30, 3)) + [1, 2]), 9)  # ten a's, one b, one c
