"""labkit.zoo: names, keys that change with every setting, train once then reload, no shared initial weights."""

from __future__ import annotations

import torch
from torch import nn

import pytest

from labkit import zoo
from labkit.zoo import catalogue, store

from conftest import install_toy_catalogue


def _tiny(width: int = 4) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(16, width), nn.ReLU(), nn.Linear(width, 2))


@pytest.fixture
def tiny_zoo(monkeypatch, tmp_path):
    """Two tiny entries on a toy data set; checkpoints in a temporary folder."""
    sizes = dict(n_train=30, n_val=10, n_test=20, epochs=2, lr=1e-2, batch_size=8, width=4)
    entries = {name: catalogue.Entry(name, f"toy {name}", "toy", _tiny, quick=sizes, full=sizes)
               for name in ("toy-a", "toy-b")}
    return install_toy_catalogue(monkeypatch, tmp_path, entries)


def test_unknown_name_lists_the_catalogue():
    with pytest.raises(ValueError, match="no network 'cifar-snm'.*cifar-snn.*resnet-ann"):
        zoo.get("cifar-snm")


def test_unknown_setting_is_refused():
    with pytest.raises(TypeError, match="no setting \\['num_step'\\]"):
        zoo.settings("cifar-snn", True, num_step=2)


def test_course_variants_are_valid_settings():
    for quick in (True, False):
        for name, seed, overrides in zoo.course(quick):
            assert zoo.settings(name, quick, **overrides)
            assert isinstance(seed, int)


def test_get_trains_once_then_reloads(tiny_zoo):
    first = zoo.get("toy-a", seed=0, quick=True, device="cpu", progress=False)
    assert first.checkpoint.exists() and first.checkpoint.parent == tiny_zoo / "zoo"
    assert len(first.history.epoch) == 2 and 0 <= first.test_acc <= 1 and first.n_test == 20
    assert "validation" in first.val_title and not first.model.training
    stamp = first.checkpoint.stat().st_mtime_ns
    again = zoo.get("toy-a", seed=0, quick=True, device="cpu", progress=False)
    assert again.checkpoint.stat().st_mtime_ns == stamp  # loaded, not retrained
    assert again.history.train == first.history.train
    for a, b in zip(first.model.parameters(), again.model.parameters()):
        assert torch.equal(a, b)
    start = zoo.initial("toy-a", seed=0, quick=True)  # what training started from, bit for bit
    torch.manual_seed(store._torch_seed("toy-a", 0))
    assert all(torch.equal(a, b) for a, b in zip(start.parameters(), _tiny().parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(start.parameters(), first.model.parameters()))


def test_every_setting_and_the_seed_change_the_key(tiny_zoo):
    path = lambda seed=0, **kw: store.checkpoint_path("toy-a", seed, True, zoo.settings("toy-a", True, **kw))
    base = path()
    assert base == path()
    assert len({base, path(seed=1), path(width=8), path(epochs=3), path(lr=2e-2), path(n_val=11)}) == 6
    assert store.checkpoint_path("toy-a", 0, False, zoo.settings("toy-a", False)) != base  # mode


def _tiny_wider(width: int = 4) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 2 * width), nn.ReLU(), nn.Linear(2 * width, 2))


def test_key_follows_the_builder_not_the_rest_of_the_catalogue(tiny_zoo, monkeypatch):
    config = zoo.settings("toy-a", True)
    before = store.checkpoint_path("toy-a", 0, True, config)
    entries = dict(catalogue.ENTRIES)
    entries["toy-b"] = catalogue.Entry("toy-b", "retuned", "toy", _tiny, quick={**config, "epochs": 9}, full=config)
    monkeypatch.setattr(store, "ENTRIES", entries)
    assert store.checkpoint_path("toy-a", 0, True, config) == before  # another entry changed: no retrain
    entries["toy-a"] = catalogue.Entry("toy-a", "new builder", "toy", _tiny_wider, quick=config, full=config)
    assert store.checkpoint_path("toy-a", 0, True, config) != before  # its own builder changed


def test_entries_with_the_same_seed_never_share_initial_weights(tiny_zoo):
    weights = {}
    for name in ("toy-a", "toy-b"):
        torch.manual_seed(store._torch_seed(name, 0))
        weights[name] = torch.cat([p.flatten() for p in _tiny().parameters()])
    assert not torch.equal(weights["toy-a"], weights["toy-b"])
    assert store._torch_seed("toy-a", 0) == store._torch_seed("toy-a", 0) != store._torch_seed("toy-a", 1)


def test_a_network_that_does_not_classify(tiny_zoo, monkeypatch):
    """An entry with its own data preparation, loss and metrics: an autoencoder of the toy images."""
    import torch.nn.functional as F

    class Pairs:
        def __init__(self, images):
            self.images, self.title = images, f"{images.title} as pairs"

        def __len__(self):
            return len(self.images)

        def loader(self, batch_size=128, shuffle=False):
            data = torch.utils.data.TensorDataset(self.images.images, self.images.images)
            return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=shuffle)

    def build(width=4):
        return nn.Sequential(nn.Flatten(), nn.Linear(16, width), nn.ReLU(), nn.Linear(width, 16), nn.Unflatten(1, (1, 4, 4)))

    sizes = dict(zoo.settings("toy-a", True))
    entries = {**catalogue.ENTRIES, "toy-ae": catalogue.Entry(
        "toy-ae", "toy autoencoder", "toy", build, quick=sizes, full=sizes, prepare=Pairs, loss=F.mse_loss,
        metrics={"mae": lambda out, target: (out - target).abs().mean().item()})}
    monkeypatch.setattr(store, "ENTRIES", entries)
    net = zoo.get("toy-ae", quick=True, device="cpu", progress=False)
    assert sorted(net.test) == ["loss", "mae"] and sorted(net.history.val) == ["loss", "mae"]
    assert net.val_title.endswith("as pairs")
    with pytest.raises(AttributeError, match="toy-ae reports no accuracy; its test metrics are \\['loss', 'mae'\\]"):
        net.test_acc
    train, _, _ = zoo.data("toy-ae", quick=True)
    assert isinstance(train, Pairs)


def test_code_version_follows_the_files_a_network_is_made_of():
    ann = zoo.code_version("cifar-cnn", store._arch(zoo.settings("cifar-cnn", True)))
    assert ann != zoo.code_version("alexnet-cifar", store._arch(zoo.settings("alexnet-cifar", True)))
    files = store._code_closure(store._module_files("labkit.models.alexnet"))
    names = {f.relative_to(store._PACKAGE).as_posix() for f in files}
    assert "models/alexnet.py" in names and "models/resnet.py" not in names


def test_code_version_ignores_prose_but_not_code(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text('"""Doc."""\n\ndef f(x):\n    """Say."""\n    return x + 1  # note\n')
    b.write_text('"""Other doc."""\n\ndef f(x):\n    """Say more."""\n    # moved note\n    return x + 1\n')
    c.write_text('"""Doc."""\n\ndef f(x):\n    """Say."""\n    return x + 2\n')
    norm = store._normalised_source
    assert norm(a) == norm(b) != norm(c)
    assert len(zoo.code_version()) == 12


def test_cli_lists_the_catalogue(capsys):
    from labkit.zoo.__main__ import main

    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in zoo.ENTRIES)


def test_a_second_process_waits_for_the_first_to_train(tmp_path):
    """The lock around training: the second holder gets it only after the first lets go."""
    import threading
    import time

    path, order = tmp_path / "net.pt", []

    def hold(tag, seconds):
        with store._exclusive(path):
            order.append(f"{tag} in")
            time.sleep(seconds)
            order.append(f"{tag} out")

    first = threading.Thread(target=hold, args=("a", 0.3))
    first.start()
    time.sleep(0.1)
    hold("b", 0)
    first.join()
    assert order == ["a in", "a out", "b in", "b out"]


def test_code_version_leaves_out_spiking_modules_a_network_does_not_use():
    # classifiers.py imports LIF & co from the spiking package: the key covers the files that define them,
    # not the encoders, stimuli or event-camera emulator of lab 01, which no network is made of
    model = zoo.initial("mnist-snn", quick=True)
    files = store._code_closure(set().union(*(store._module_files(type(m).__module__) for m in model.modules())))
    names = {f.relative_to(store._PACKAGE).as_posix() for f in files}
    assert {"spiking/neurons.py", "spiking/surrogate.py", "spiking/functional.py", "spiking/sequential.py"} <= names
    assert not names & {"spiking/stimuli.py", "spiking/events.py", "spiking/encoding.py"}


def test_course_lists_each_variant_once_and_lab07_study_is_deep():
    from labkit.zoo.catalogue import RESIDUAL_STUDY
    for quick in (True, False):
        variants = [(n, s, tuple(sorted(zoo.settings(n, quick, **o).items()))) for n, s, o in zoo.course(quick)]
        assert len(variants) == len(set(variants))
        assert RESIDUAL_STUDY[quick]["depth"] >= 3  # deep enough to look for the periodic pattern
        listed = {(n, s, v) for n, s, v in variants}
        for residual in (True, False):
            for name in ("resnet-ann", "resnet-snn"):
                key = tuple(sorted(zoo.settings(name, quick, **RESIDUAL_STUDY[quick], residual=residual).items()))
                assert (name, 0, key) in listed
        assert {s for n, s, _ in variants if n == "resnet-snn"} >= {0, 1, 2}  # lab 07: three ANN/SNN pairs


def test_code_version_covers_the_data_code_of_an_entrys_task(monkeypatch):
    # event-snn's data come from labkit.zoo.events, which bins events with labkit.data.events
    arch = store._arch(zoo.settings("event-snn", True))
    before = {n: zoo.code_version(n, store._arch(zoo.settings(n, True))) for n in ("event-snn", "cifar-cnn")}
    real = store._normalised_source
    monkeypatch.setattr(store, "_normalised_source",
                        lambda path: real(path) + ("edited" if path.name == "events.py" and path.parent.name == "data" else ""))
    assert zoo.code_version("event-snn", arch) != before["event-snn"]
    assert zoo.code_version("cifar-cnn", store._arch(zoo.settings("cifar-cnn", True))) == before["cifar-cnn"]


def test_catalogue_functions_are_read_once_at_import(monkeypatch):
    """Editing catalogue.py during a build must not change (or break) the keys of the networks still to train."""
    arch = store._arch(zoo.settings("mnist-snn", True))
    key = zoo.code_version("mnist-snn", arch)

    def no_reading(fn):
        raise AssertionError("the catalogue's source was read again")

    monkeypatch.setattr(store.inspect, "getsource", no_reading)
    assert zoo.code_version("mnist-snn", arch) == key


def test_a_rewritten_file_is_parsed_again(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    first = store._normalised_source(module)
    module.write_text("x = 12\n")
    assert store._normalised_source(module) != first
