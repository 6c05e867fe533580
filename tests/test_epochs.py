"""Every epoch's weights: fit(keep_epochs=True), epoch_weights, resume, and zoo.at_epoch."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import labkit
from labkit import zoo
from labkit.train import CheckpointMismatchError, epoch_weights, fit, load_checkpoint
from labkit.zoo import catalogue, store

from conftest import install_toy_catalogue


def _setup():
    labkit.seed_everything(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 5, generator=g)
    model = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16, shuffle=True)
    return model, opt, loader


def _flat(state):
    return torch.cat([v.flatten() for v in state.values()])


def test_keep_epochs_stores_each_epochs_weights(tmp_path):
    model, opt, loader = _setup()
    ckpt = tmp_path / "run.pt"
    snapshots = []
    for epoch in (1, 2, 3):  # the weights after each epoch, from three resumed runs
        fit(model, loader, opt, epochs=epoch, device="cpu", checkpoint=ckpt, resume=True, keep_epochs=True)
        snapshots.append(_flat(model.state_dict()).clone())
    assert len(load_checkpoint(ckpt)["epoch_models"]) == 3
    for epoch, expected in enumerate(snapshots, start=1):
        assert torch.equal(_flat(epoch_weights(ckpt, epoch)), expected)
    assert not torch.equal(snapshots[0], snapshots[2])
    with pytest.raises(ValueError, match="epoch must be an integer from 1 to 3"):
        epoch_weights(ckpt, 4)


def test_resumed_run_keeps_the_same_epochs_as_an_uninterrupted_one(tmp_path):
    model, opt, loader = _setup()
    fit(model, loader, opt, epochs=3, device="cpu", checkpoint=tmp_path / "full.pt", keep_epochs=True)
    model, opt, loader = _setup()
    fit(model, loader, opt, epochs=1, device="cpu", checkpoint=tmp_path / "part.pt", keep_epochs=True)
    model, opt, loader = _setup()
    torch.manual_seed(99)
    fit(model, loader, opt, epochs=3, device="cpu", checkpoint=tmp_path / "part.pt", resume=True, keep_epochs=True)
    for epoch in (1, 2, 3):
        assert torch.equal(_flat(epoch_weights(tmp_path / "full.pt", epoch)),
                           _flat(epoch_weights(tmp_path / "part.pt", epoch)))


def test_off_by_default_the_checkpoint_is_as_before(tmp_path):
    model, opt, loader = _setup()
    fit(model, loader, opt, epochs=2, device="cpu", checkpoint=tmp_path / "run.pt")
    state = load_checkpoint(tmp_path / "run.pt")
    assert "epoch_models" not in state and "keep_epochs" not in state["fingerprint"]["recipe"]
    with pytest.raises(ValueError, match="keeps only its last epoch's weights: train with keep_epochs=True"):
        epoch_weights(tmp_path / "run.pt", 1)
    # a run that did not keep them cannot be resumed as one that does (it would miss epochs)
    model, opt, loader = _setup()
    with pytest.raises(CheckpointMismatchError, match="keep_epochs"):
        fit(model, loader, opt, epochs=3, device="cpu", checkpoint=tmp_path / "run.pt", resume=True, keep_epochs=True)


def test_keep_epochs_needs_a_checkpoint():
    model, opt, loader = _setup()
    with pytest.raises(ValueError, match="keep_epochs=True keeps every epoch's weights in the checkpoint file"):
        fit(model, loader, opt, epochs=1, device="cpu", keep_epochs=True)


@pytest.fixture
def epochs_zoo(monkeypatch, tmp_path):
    """A toy entry that keeps its epochs, and one that does not; checkpoints in a temporary folder."""
    def build(width=4):
        return nn.Sequential(nn.Flatten(), nn.Linear(16, width), nn.ReLU(), nn.Linear(width, 2))

    sizes = dict(n_train=30, n_val=10, n_test=20, epochs=3, lr=1e-2, batch_size=8, width=4)
    entries = {"toy-kept": catalogue.Entry("toy-kept", "toy", "toy", build, quick=sizes, full=sizes, keep_epochs=True),
               "toy-final": catalogue.Entry("toy-final", "toy", "toy", build, quick=sizes, full=sizes)}
    return install_toy_catalogue(monkeypatch, tmp_path, entries)


def test_zoo_at_epoch(epochs_zoo):
    first = zoo.at_epoch("toy-kept", 1, quick=True, device="cpu", progress=False)  # trains the run
    final = zoo.get("toy-kept", quick=True, device="cpu", progress=False)
    last = zoo.at_epoch("toy-kept", 3, quick=True, device="cpu")
    start = zoo.at_epoch("toy-kept", 0, quick=True, device="cpu")
    assert torch.equal(_flat(last.state_dict()), _flat(final.model.state_dict()))
    assert torch.equal(_flat(start.state_dict()), _flat(zoo.initial("toy-kept", quick=True).state_dict()))
    assert not torch.equal(_flat(first.state_dict()), _flat(last.state_dict()))
    assert not first.training
    with pytest.raises(ValueError, match="epoch must be an integer from 0 .* to 3"):
        zoo.at_epoch("toy-kept", 4, quick=True)
    with pytest.raises(ValueError, match="toy-final keeps only its final weights; the entries that keep every epoch's are \\['toy-kept'\\]"):
        zoo.at_epoch("toy-final", 1, quick=True)
    kept_path = store.checkpoint_path("toy-kept", 0, True, zoo.settings("toy-kept", True))
    store.ENTRIES["toy-kept"] = dataclasses.replace(store.ENTRIES["toy-kept"], keep_epochs=False)
    assert store.checkpoint_path("toy-kept", 0, True, zoo.settings("toy-kept", True)) != kept_path  # its own key
