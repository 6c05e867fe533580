"""Shared test set-up: deterministic seeds, no interactive backends, static outputs."""

import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("LABKIT_STATIC", "1")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import labkit  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_close_figures():
    labkit.seed_everything(0)
    yield
    plt.close("all")


def install_toy_catalogue(monkeypatch, tmp_path, entries):
    """Replace the model catalogue by ``entries`` on a 60-image toy data set; checkpoints in ``tmp_path``.

    The toy images are 1x4x4, labelled by whether their mean is above 0.5; every
    entry trains on 40 of them (with ``n_val`` held out) and is tested on the other 20.
    """
    import torch

    from labkit.data import ImageSet, split_validation
    from labkit.zoo import catalogue, store

    g = torch.Generator().manual_seed(0)
    images = torch.rand(60, 1, 4, 4, generator=g)
    data = ImageSet(images, (images.mean((1, 2, 3)) > 0.5).long(), ["lo", "hi"], "Toy", "train", "toy")

    def fake_data(dataset, n_train, n_val, n_test):
        train, val = split_validation(data.subset(range(40)), n_val)
        return train, val, data.subset(range(40, 60))

    monkeypatch.setattr(catalogue, "ENTRIES", entries)
    monkeypatch.setattr(store, "ENTRIES", entries)
    monkeypatch.setattr(store, "_data", fake_data)
    monkeypatch.setenv("LABKIT_CHECKPOINTS", str(tmp_path))
    return tmp_path
