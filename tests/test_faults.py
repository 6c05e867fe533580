"""Faults injected on purpose: hostile and corrupt checkpoints, NaN batches, stale checkpoints, corrupt caches,
killed saves, unwritable folders, empty loaders and bad inputs. Each must give a clear error (or be handled)
before work is lost, and never leave a bad file in place of a good one.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from snntorch import surrogate
from torch.utils.data import DataLoader, TensorDataset

import labkit
import labkit.config
import labkit.data.datasets as data
from labkit.io import TMP_SUFFIX, atomic_write, check_writable_dir
from labkit.spiking import LIF, MeanOverTime, SpikingSequential, lif_multistep, lif_reference
from labkit.spiking.surrogate import describe_surrogate, stable_sigmoid
from labkit.train import (CheckpointError, CheckpointMismatchError, NonFiniteError, fit, load_checkpoint,
                          save_checkpoint)
from labkit.train.checkpoint import FORMAT, rng_state, set_rng_state

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ helpers
def _data(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 4, generator=g)
    return x, (x[:, 0] > 0.5).long()


def _loader(x, y, batch_size=8):
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


def _snn(beta=0.9, spike_grad=None, hidden=8):
    labkit.seed_everything(0)
    return SpikingSequential(torch.nn.Linear(4, hidden), LIF(beta=beta, spike_grad=spike_grad),
                             torch.nn.Linear(hidden, 2), LIF(beta=beta, spike_grad=spike_grad, output="membrane"),
                             MeanOverTime(), num_steps=4)


def _fit(model, loader, path, epochs=1, lr=0.1, **kw):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return fit(model, loader, optimizer, epochs=epochs, device="cpu", checkpoint=path, **kw)


def _finite_state(path):
    return all(torch.isfinite(v).all() for v in load_checkpoint(path)["model"].values() if v.is_floating_point())


class _Hostile:
    """Unpickling this object creates ``path``: a stand-in for any code a crafted checkpoint could run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


# ------------------------------------------------------------------ 1. a checkpoint never runs code
def test_hostile_checkpoint_is_refused_and_its_payload_never_runs(tmp_path):
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Hostile(proof))).close()  # the payload is live: a plain unpickle runs it
    assert proof.exists()

    ckpt, marker = tmp_path / "run.pt", tmp_path / "PWNED"
    _fit(_snn(), _loader(*_data()), ckpt)
    torch.save({"format": FORMAT, "sha256": "0" * 64, "state": {"model": _Hostile(marker)}}, ckpt)
    with pytest.raises(CheckpointError, match=r"Refused to load checkpoint .*run\.pt.*io\.open.*Delete the file"):
        _fit(_snn(), _loader(*_data()), ckpt, resume=True)
    with pytest.raises(CheckpointError, match="Refused"):
        load_checkpoint(ckpt)
    assert not marker.exists()


def test_flipped_byte_in_a_weight_is_detected(tmp_path):
    ckpt = tmp_path / "run.pt"
    model = _snn()
    _fit(model, _loader(*_data()), ckpt)
    weight = load_checkpoint(ckpt)["model"]["layers.0.weight"]
    raw = bytearray(ckpt.read_bytes())
    at = raw.find(weight.numpy().tobytes())
    assert at > 0  # torch stores tensor bytes as they are
    raw[at + 5] ^= 0x01  # one bit of one weight: still a valid zip, still a valid float
    ckpt.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"run\.pt is corrupt: the sha256 .*Delete the file"):
        load_checkpoint(ckpt)
    with pytest.raises(CheckpointError, match="corrupt"):
        _fit(_snn(), _loader(*_data()), ckpt, resume=True)


def test_truncated_checkpoint_names_the_file_and_the_fix(tmp_path):
    ckpt = save_checkpoint(tmp_path / "c.pt", {"w": torch.ones(1000)})
    ckpt.write_bytes(ckpt.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match=r"Could not read checkpoint .*c\.pt.*Delete the file"):
        load_checkpoint(ckpt)


def test_save_refuses_what_a_safe_load_could_not_rebuild(tmp_path):
    with pytest.raises(TypeError, match=r"state\['rng'\]\['numpy'\] is a numpy.ndarray.*torch.from_numpy"):
        save_checkpoint(tmp_path / "c.pt", {"rng": {"numpy": np.zeros(3)}})
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_random_state_round_trips_through_a_safe_load(tmp_path):
    random.gauss(0, 1)  # leaves a cached Gaussian in Python's and numpy's state
    np.random.randn(1)
    torch.save(rng_state(), tmp_path / "rng.pt")
    expected = (random.random(), random.gauss(0, 1), np.random.rand(), np.random.randn(), torch.rand(1).item())
    random.seed(123), np.random.seed(123), torch.manual_seed(123)
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))  # tensors and plain values only
    assert (random.random(), random.gauss(0, 1), np.random.rand(), np.random.randn(), torch.rand(1).item()) == expected


# ------------------------------------------------------------------ 2. a NaN never replaces good weights
def test_nan_batch_hidden_by_spiking_layers_stops_fit_and_keeps_the_good_checkpoint(tmp_path):
    ckpt = tmp_path / "run.pt"
    x, y = _data()
    _fit(_snn(), _loader(x, y), ckpt, epochs=1)
    good = ckpt.read_bytes()
    poisoned = x.clone()
    poisoned[16:24] = float("nan")  # batch 3
    model = _snn()
    with torch.no_grad():  # a NaN membrane never spikes: the output, hence the loss, stays finite
        assert torch.isfinite(model(poisoned[16:24])).all()
    with pytest.raises(NonFiniteError, match=r"epoch 2, batch 3 of train_loader: the inputs.*still holds epoch 1"):
        _fit(model, _loader(poisoned, y), ckpt, epochs=2, resume=True)
    assert ckpt.read_bytes() == good
    assert load_checkpoint(ckpt)["epoch"] == 1 and _finite_state(ckpt)


def test_nan_gradient_inside_a_spiking_network_is_caught(tmp_path):
    """No NaN input, no NaN loss: a NaN weight's gradient shows it (NaN times anything is NaN)."""
    model = _snn()
    with torch.no_grad():
        model.layers[0].weight[0, 0] = float("nan")
    x, y = _data()
    with torch.no_grad():
        assert torch.isfinite(torch.nn.functional.cross_entropy(model(x[:8]), y[:8]))
    with pytest.raises(NonFiniteError, match=r"epoch 1, batch 1 .*gradients of layers\.0\.weight"):
        _fit(model, _loader(x, y), tmp_path / "run.pt", epochs=1)
    assert not (tmp_path / "run.pt").exists()


def test_nan_loss_names_epoch_and_batch(tmp_path):
    calls = {"n": 0}

    def loss_fn(out, target):
        calls["n"] += 1
        loss = torch.nn.functional.cross_entropy(out, target)
        return loss * float("nan") if calls["n"] == 4 + 2 else loss  # epoch 2, batch 2

    ckpt = tmp_path / "run.pt"
    model = torch.nn.Linear(4, 2)
    with pytest.raises(FloatingPointError, match=r"epoch 2, batch 2 of train_loader: the loss \(nan\)"):
        _fit(model, _loader(*_data()), ckpt, epochs=3, loss_fn=loss_fn)
    assert load_checkpoint(ckpt)["epoch"] == 1 and _finite_state(ckpt)


class _Poisoning(torch.optim.SGD):
    """SGD whose ``at``-th step leaves a NaN in the first weight (an overflowing update, say)."""

    def __init__(self, params, lr, at):
        super().__init__(params, lr=lr)
        self.at, self.steps = at, 0

    def step(self, closure=None):
        loss = super().step(closure)
        self.steps += 1
        if self.steps == self.at:
            with torch.no_grad():
                self.param_groups[0]["params"][0].view(-1)[0] = float("nan")
        return loss


@pytest.mark.parametrize("at,where", [(6, r"epoch 2, batch 2 of train_loader"),
                                      (8, r"epoch 2, batch 4 of train_loader")])
def test_weights_made_nan_by_a_step_never_reach_the_checkpoint(tmp_path, at, where):
    ckpt = tmp_path / "run.pt"
    model = torch.nn.Linear(4, 2)
    optimizer = _Poisoning(model.parameters(), lr=0.1, at=at)  # 4 batches per epoch: step 6 = batch 2, 8 = last
    with pytest.raises(NonFiniteError, match=where + r": the weights weight, after that batch's optimiser step, "
                                                     r"are NaN.*still holds epoch 1"):
        fit(model, _loader(*_data()), optimizer, epochs=3, device="cpu", checkpoint=ckpt)
    assert load_checkpoint(ckpt)["epoch"] == 1 and _finite_state(ckpt)


# ------------------------------------------------------------------ 3. a stale checkpoint is never reused silently
@pytest.mark.parametrize("change,expected", [
    (dict(beta=0.5), r"LIF\(beta=0\.5"),
    (dict(spike_grad=surrogate.atan(alpha=7.0)), r"atan\(alpha=2\.0\).*atan\(alpha=7\.0\)"),
    (dict(hidden=16), r"Linear\(in_features=4, out_features=16"),
])
def test_changed_setting_is_not_resumed_silently(tmp_path, change, expected):
    ckpt = tmp_path / "run.pt"
    _fit(_snn(), _loader(*_data()), ckpt)
    with pytest.raises(CheckpointMismatchError, match=expected) as info:
        _fit(_snn(**change), _loader(*_data()), ckpt, resume=True)
    message = str(info.value)
    assert "run.pt" in message and "delete" in message and "restart_if_changed=True" in message
    assert "size mismatch" not in message


def test_changed_per_neuron_beta_is_seen_in_the_buffer(tmp_path):
    """A tensor beta prints as 'tensor' in the repr; its values are fingerprinted."""
    def build(beta):
        labkit.seed_everything(0)
        return SpikingSequential(torch.nn.Linear(4, 8), LIF(beta=beta), torch.nn.Linear(8, 2),
                                 LIF(output="membrane"), MeanOverTime(), num_steps=4)

    ckpt = tmp_path / "run.pt"
    _fit(build(torch.full((8,), 0.9)), _loader(*_data()), ckpt)
    with pytest.raises(CheckpointMismatchError, match=r"buffer 'layers\.1\.beta' holds other values"):
        _fit(build(torch.linspace(0.5, 0.9, 8)), _loader(*_data()), ckpt, resume=True)


def test_changed_recipe_is_reported(tmp_path):
    ckpt = tmp_path / "run.pt"
    _fit(_snn(), _loader(*_data()), ckpt, epochs=2)
    with pytest.raises(CheckpointMismatchError, match=r"optimizer lr: checkpoint 0\.1, now 0\.5"):
        _fit(_snn(), _loader(*_data()), ckpt, epochs=2, lr=0.5, resume=True)
    with pytest.raises(CheckpointMismatchError, match=r"loss_fn: checkpoint .*cross_entropy', now .*<lambda>"):
        _fit(_snn(), _loader(*_data()), ckpt, epochs=2, resume=True,
             loss_fn=lambda out, y: torch.nn.functional.mse_loss(out, torch.nn.functional.one_hot(y, 2).float()),
             metrics={})
    with pytest.raises(CheckpointMismatchError, match=r"batches per epoch: checkpoint 4, now 2"):
        _fit(_snn(), _loader(*_data(), batch_size=16), ckpt, epochs=2, resume=True)
    with pytest.raises(CheckpointMismatchError, match=r"epochs=1, but the checkpoint has 2 epochs done"):
        _fit(_snn(), _loader(*_data()), ckpt, epochs=1, resume=True)
    more = _fit(_snn(), _loader(*_data()), ckpt, epochs=3, resume=True)  # growing a run is continuing it
    assert more.epoch == [1, 2, 3]


def test_restart_if_changed_trains_afresh_and_replaces_the_checkpoint(tmp_path):
    ckpt = tmp_path / "run.pt"
    _fit(_snn(), _loader(*_data()), ckpt, epochs=2)
    with pytest.warns(UserWarning, match=r"does not match.*LIF\(beta=0\.5.*training from scratch"):
        fresh = _fit(_snn(beta=0.5), _loader(*_data()), ckpt, epochs=2, resume=True, restart_if_changed=True)
    reference = _fit(_snn(beta=0.5), _loader(*_data()), None, epochs=2)
    assert fresh.train["loss"] == reference.train["loss"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = _fit(_snn(beta=0.5), _loader(*_data()), ckpt, epochs=2, resume=True)  # the new run now
    assert again.train["loss"] == fresh.train["loss"]


def test_same_model_object_trained_and_resumed_is_not_a_mismatch(tmp_path):
    """Batch-norm statistics change with training: a fresh model or the trained object both match."""
    def build():
        labkit.seed_everything(0)
        return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                   torch.nn.Linear(8, 2))

    ckpt = tmp_path / "run.pt"
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    fit(model, _loader(*_data()), optimizer, epochs=1, device="cpu", checkpoint=ckpt)
    fit(model, _loader(*_data()), optimizer, epochs=2, device="cpu", checkpoint=ckpt, resume=True)
    fresh = build()
    fit(fresh, _loader(*_data()), torch.optim.Adam(fresh.parameters(), 1e-2), epochs=2, device="cpu",
        checkpoint=ckpt, resume=True)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))


def test_lif_repr_names_the_surrogate_and_its_slope():
    assert "spike_grad=atan(alpha=2.0)" in repr(LIF())
    assert "spike_grad=fast_sigmoid(slope=5.0)" in repr(LIF(spike_grad=surrogate.fast_sigmoid(slope=5)))
    assert describe_surrogate(surrogate.fast_sigmoid(5)) == describe_surrogate(surrogate.fast_sigmoid(5.0))
    assert describe_surrogate(stable_sigmoid(3.0)) == "stable_sigmoid(slope=3.0)"
    assert " at 0x" not in describe_surrogate(lambda u: u)


# ------------------------------------------------------------------ 4. caches are verified
@pytest.fixture
def fake_pack(monkeypatch, tmp_path):
    """A decoder that counts its calls and returns small arrays; LABKIT_CACHE in tmp_path."""
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    calls = []

    def decode(pack):
        calls.append(pack)
        return {s: (np.full((n, 32, 32, 3), 7, np.uint8), np.arange(n) % 10) for s, n in (("train", 20), ("test", 10))}

    monkeypatch.setattr(data, "_decode_cifar_pack", decode)
    folder = tmp_path / "cache" / ("cifar10-jpeg-" + "0" * 12)
    return calls, folder


def _cifar(split="test"):
    return data._cifar_arrays(Path("pack"), "0" * 64, split)


def test_cache_is_recorded_and_read_back_without_decoding(fake_pack):
    calls, folder = fake_pack
    _cifar()
    record = json.loads((folder / data.CACHE_RECORD).read_text())["files"]
    assert record["test_images.npy"]["shape"] == [10, 32, 32, 3] and len(record["test_images.npy"]["sha256"]) == 64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images, labels = _cifar()
    assert len(calls) == 1 and images.shape == (10, 32, 32, 3) and (images == 7).all()


@pytest.mark.parametrize("damage,why", [
    ("flip", "sha256 is"),
    ("truncate", "unreadable test_images.npy"),
    ("reshape", "shape is"),
    ("no record", "no readable record"),
])
def test_damaged_cache_is_decoded_again_with_a_warning(fake_pack, damage, why):
    calls, folder = fake_pack
    _cifar()
    target = folder / "test_images.npy"
    if damage == "flip":
        raw = bytearray(target.read_bytes())
        raw[-7] ^= 0xFF
        target.write_bytes(bytes(raw))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:-100])
    elif damage == "reshape":
        np.save(target, np.full((9, 32, 32, 3), 7, np.uint8))
    else:
        (folder / data.CACHE_RECORD).unlink()
    with pytest.warns(UserWarning, match=rf"cache .* {why}.*decoding the pack again"):
        images, _ = _cifar()
    assert len(calls) == 2 and images.shape == (10, 32, 32, 3) and (images == 7).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _cifar()  # rewritten: good again
    assert len(calls) == 2


def test_unwritable_cache_folder_is_reported_before_decoding(fake_pack, monkeypatch, tmp_path):
    calls, _ = fake_pack
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "blocked" / "cache"))
    decode = data._decode_cifar_pack
    seen = []

    def decode_after_warning(pack):
        seen.append(len(record))  # how many warnings had been issued when decoding began
        return decode(pack)

    monkeypatch.setattr(data, "_decode_cifar_pack", decode_after_warning)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        images, _ = _cifar()
    assert seen == [1] and "LABKIT_CACHE" in str(record[0].message) and "in memory only" in str(record[0].message)
    assert images.shape == (10, 32, 32, 3)


def test_cache_files_are_readable_by_others(fake_pack):
    _, folder = fake_pack
    old = os.umask(0o022)
    try:
        _cifar()
    finally:
        os.umask(old)
    assert {oct(p.stat().st_mode & 0o777) for p in folder.iterdir()} == {"0o644"}


def test_atomic_write_mode_follows_umask_and_keeps_an_existing_mode(tmp_path):
    old = os.umask(0o077)
    try:
        with atomic_write(tmp_path / "private") as handle:
            handle.write(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o600
    (tmp_path / "shared").write_bytes(b"old")
    os.chmod(tmp_path / "shared", 0o664)
    with atomic_write(tmp_path / "shared") as handle:
        handle.write(b"new")
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o664


def test_orphaned_temporary_files_are_removed_when_the_folder_is_written(tmp_path):
    old, fresh = tmp_path / f"run.pt.abc123{TMP_SUFFIX}", tmp_path / f"other.pt.def456{TMP_SUFFIX}"
    legacy, foreign = tmp_path / "run.ptk2j4h5g6.tmp", tmp_path / "notes.tmp"
    for path in (old, fresh, legacy, foreign):
        path.write_bytes(b"half a file")
    for path in (old, legacy, foreign):
        os.utime(path, (time.time() - 3600,) * 2)
    with atomic_write(tmp_path / "run.pt") as handle:
        handle.write(b"x")
    assert not old.exists() and not legacy.exists()  # ours, an hour old: a killed save
    assert fresh.exists() and foreign.exists()  # a write in progress, and a file that is not ours


def test_a_save_killed_midway_keeps_the_old_checkpoint(tmp_path):
    ckpt = save_checkpoint(tmp_path / "run.pt", {"epoch": 1, "w": torch.ones(3)})
    script = (
        "import os, signal, sys\n"
        "from labkit.io import atomic_write\n"
        "with atomic_write(sys.argv[1]) as handle:\n"
        "    handle.write(b'half of a new checkpoint'); handle.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(ckpt)], cwd=REPO, timeout=120)
    assert done.returncode == -signal.SIGKILL
    assert load_checkpoint(ckpt)["epoch"] == 1  # the old checkpoint, whole
    orphans = list(tmp_path.glob(f"*{TMP_SUFFIX}"))
    assert len(orphans) == 1
    os.utime(orphans[0], (time.time() - 3600,) * 2)
    save_checkpoint(ckpt, {"epoch": 2, "w": torch.ones(3)})
    assert not list(tmp_path.glob(f"*{TMP_SUFFIX}")) and load_checkpoint(ckpt)["epoch"] == 2


# ------------------------------------------------------------------ 5. fail before the work, not after it
def test_unwritable_checkpoint_folder_fails_before_epoch_one(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    batches = []

    def loss_fn(out, y):
        batches.append(1)
        return torch.nn.functional.cross_entropy(out, y)

    with pytest.raises(PermissionError, match=r"checkpoint folder .*afile cannot be written.*nothing was trained"):
        _fit(_snn(), _loader(*_data()), tmp_path / "afile" / "run.pt", loss_fn=loss_fn)
    assert batches == []
    with pytest.raises(IsADirectoryError, match="is a folder"):
        _fit(_snn(), _loader(*_data()), tmp_path)


def test_check_writable_dir_reports_a_read_only_folder(tmp_path, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(PermissionError, match=r"The cache folder .* cannot be written.*Permission denied.*Use another"):
        check_writable_dir(tmp_path, "cache folder", "Use another.")


@pytest.mark.parametrize("loader,name,error", [
    (DataLoader(TensorDataset(torch.zeros(0, 4), torch.zeros(0).long()), batch_size=4), "train_loader is empty",
     ValueError),
    (DataLoader(TensorDataset(torch.zeros(3, 4), torch.zeros(3).long()), batch_size=4, drop_last=True),
     "train_loader is empty", ValueError),
    ([], "train_loader is empty", ValueError),
    (iter([(torch.zeros(2, 4), torch.zeros(2).long())]), "train_loader is an iterator", TypeError),
])
def test_empty_or_one_shot_train_loader_fails_before_epoch_one(tmp_path, loader, name, error):
    with pytest.raises(error, match=name):
        _fit(torch.nn.Linear(4, 2), loader, tmp_path / "run.pt", epochs=2)
    assert not (tmp_path / "run.pt").exists()


def test_empty_val_loader_and_lengthless_empty_loader_name_the_argument():
    model = torch.nn.Linear(4, 2)
    with pytest.raises(ValueError, match="val_loader is empty"):
        _fit(model, _loader(*_data()), None, val_loader=[])

    class NoLength:
        def __iter__(self):
            return iter(())

    with pytest.raises(ValueError, match="train_loader gave no batches in epoch 1"):
        _fit(model, NoLength(), None)


# ------------------------------------------------------------------ 6. input checks
def test_lif_refuses_integer_input_that_would_truncate_beta_and_threshold():
    x = torch.full((3, 1, 2), 3, dtype=torch.long)
    with pytest.raises(TypeError, match=r"LIF: x has dtype torch.int64.*beta 0.9 -> 0.*x.float\(\)"):
        LIF(beta=0.9, threshold=2.5)(x)
    for fn in (lif_multistep, lif_reference):
        with pytest.raises(TypeError, match="floating-point"):
            fn(x, torch.tensor(0.9), torch.tensor(2.5), surrogate.atan())
    assert LIF(beta=torch.tensor(0.9), threshold=2.5)(x.float()).sum() == 6  # as floats: 3 > 2.5 at every step


def test_lif_refuses_an_empty_time_axis():
    x = torch.zeros(0, 2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"no time steps \(shape \(0, 2, 3\)\).*T >= 1"):
        LIF()(x)
    with pytest.raises(ValueError, match="no time steps"):
        lif_multistep(x, torch.tensor(0.9), torch.tensor(1.0), surrogate.atan())


@pytest.mark.parametrize("threshold", [0.0, -1.0, float("nan"), float("inf"), torch.tensor([1.0, 0.0])])
def test_lif_refuses_a_threshold_that_is_not_positive(threshold):
    with pytest.raises(ValueError, match="threshold must be finite and > 0"):
        LIF(threshold=threshold)


def test_lif_refuses_nan_beta():
    with pytest.raises(ValueError, match="beta"):
        LIF(beta=float("nan"))


# ------------------------------------------------------------------ 7. Colab keeps the user's work
def test_persistent_checkpoints_outside_colab_sets_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_CHECKPOINTS", "")  # empty counts as unset; restored after the test
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "google.colab", None)  # importing it fails, as outside Colab
    folder = labkit.persistent_checkpoints(tmp_path / "keep")
    assert folder == (tmp_path / "keep").resolve() and folder.is_dir()
    assert os.environ["LABKIT_CHECKPOINTS"] == str(folder)
    run = labkit.Run(quick=True, seed=0, device=torch.device("cpu"))
    assert run.checkpoint("demo", epochs=1).parent == folder
    assert labkit.persistent_checkpoints() == tmp_path / "cache" / "checkpoints"
    (tmp_path / "file").write_text("x")
    with pytest.raises(PermissionError, match="checkpoint folder"):
        labkit.persistent_checkpoints(tmp_path / "file" / "sub")


def test_persistent_checkpoints_on_colab_mounts_drive_only_when_called(monkeypatch, tmp_path):
    mounts = []
    drive = types.SimpleNamespace(mount=lambda where, **kw: (mounts.append(where),
                                                              (Path(where) / "MyDrive").mkdir(parents=True,
                                                                                              exist_ok=True)))
    colab = types.ModuleType("google.colab")
    colab.drive = drive
    if "google" not in sys.modules:
        google = types.ModuleType("google")
        google.__path__ = []
        monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(labkit.config, "COLAB_DRIVE", tmp_path / "drive")
    monkeypatch.setenv("LABKIT_CHECKPOINTS", "")  # empty counts as unset; restored after the test

    labkit.start(True)  # starting a lab never mounts anything
    labkit.Run(quick=True, seed=0, device=torch.device("cpu")).checkpoint("demo")
    assert mounts == []
    folder = labkit.persistent_checkpoints()
    assert mounts == [str(tmp_path / "drive")]
    assert folder == tmp_path / "drive" / "MyDrive" / "labkit-checkpoints" and folder.is_dir()
    assert os.environ["LABKIT_CHECKPOINTS"] == str(folder)
    assert labkit.persistent_checkpoints("course/ckpts") == tmp_path / "drive" / "MyDrive" / "course" / "ckpts"
    assert labkit.persistent_checkpoints(tmp_path / "elsewhere") == tmp_path / "elsewhere"


def test_still_batch_into_a_sequence_network_is_refused_and_the_reverse():
    from labkit.spiking import LIF, SpikingSequential

    seq = SpikingSequential(torch.nn.Conv2d(1, 2, 3), LIF(), num_steps=4, static_input=False)
    with pytest.raises(ValueError, match=r"static_input=False.*5-D input \[T, B, C, ...\]"):
        seq(torch.rand(3, 1, 8, 8))  # a still batch: its 3 images would be read as 3 time steps
    assert seq(torch.rand(4, 3, 1, 8, 8)).shape == (4, 3, 2, 6, 6)
    still = SpikingSequential(torch.nn.Conv2d(1, 2, 3), LIF(), num_steps=4)
    with pytest.raises(ValueError, match="static_input=True.*4-D input"):
        still(torch.rand(4, 3, 1, 8, 8))
