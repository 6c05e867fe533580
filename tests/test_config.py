import os

import pytest
import torch

import labkit
from labkit.config import cache_dir, data_root, is_static, resolve_quick


@pytest.mark.parametrize("value,expected", [(True, True), (False, False), ("true", True), ("False", False), ("1", True), ("0", False), (1, True)])
def test_resolve_quick_values(value, expected):
    assert resolve_quick(value) is expected


@pytest.mark.parametrize("env,expected", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_resolve_quick_from_environment(monkeypatch, env, expected):
    monkeypatch.setenv("LABKIT_QUICK", env)
    assert resolve_quick(None) is expected
    assert resolve_quick(not expected) is (not expected)  # the parameter wins


def test_empty_quick_counts_as_unset(monkeypatch):
    """An empty value defers to the next level (it used to mean "full mode" and override LABKIT_QUICK)."""
    monkeypatch.setenv("LABKIT_QUICK", "1")
    assert resolve_quick("") is True and resolve_quick("  ") is True
    monkeypatch.setenv("LABKIT_QUICK", " ")
    assert resolve_quick("") is False and resolve_quick(True) is True


def test_empty_checkpoint_and_cache_variables_count_as_unset(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LABKIT_CACHE", "")
    monkeypatch.setenv("LABKIT_CHECKPOINTS", "")
    assert cache_dir() == tmp_path / ".cache" / "labkit"
    run = labkit.Run(quick=True, seed=0, device=torch.device("cpu"))
    assert run.checkpoint("x").parent == tmp_path / ".cache" / "labkit" / "checkpoints"


def test_unusable_cache_folder_names_labkit_cache(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "file" / "cache"))
    with pytest.raises(PermissionError, match="LABKIT_CACHE"):
        cache_dir()


def test_resolve_quick_defaults_to_full(monkeypatch):
    monkeypatch.delenv("LABKIT_QUICK", raising=False)
    assert resolve_quick() is False


def test_resolve_quick_rejects_garbage(monkeypatch):
    with pytest.raises(ValueError, match="QUICK='maybe'"):
        resolve_quick("maybe")
    monkeypatch.setenv("LABKIT_QUICK", "sometimes")
    with pytest.raises(ValueError, match="LABKIT_QUICK"):
        resolve_quick()


def test_seed_everything_reproduces():
    labkit.seed_everything(3)
    a = (torch.rand(3), torch.bernoulli(torch.full((5,), 0.5)))
    labkit.seed_everything(3)
    b = (torch.rand(3), torch.bernoulli(torch.full((5,), 0.5)))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_start_returns_run(monkeypatch):
    monkeypatch.setenv("LABKIT_DEVICE", "cpu")
    run = labkit.start("true", seed=5)
    assert run.quick and run.seed == 5 and run.device == torch.device("cpu")
    assert run.pick(1, 2) == 1
    assert "quick mode" in str(run)


def test_data_root(monkeypatch, tmp_path):
    monkeypatch.delenv("LABKIT_DATA", raising=False)
    assert data_root() is None
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="LABKIT_DATA"):
        data_root()


def test_cache_dir_is_created(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "c"))
    assert cache_dir().is_dir()


def test_is_static(monkeypatch):
    monkeypatch.setenv("LABKIT_STATIC", "0")
    assert is_static() is False
    monkeypatch.setenv("LABKIT_STATIC", "1")
    assert is_static() is True
    monkeypatch.delenv("LABKIT_STATIC")
    assert is_static() is True  # pytest is not a Jupyter kernel


def test_run_checkpoint_path_is_keyed_by_config(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_CHECKPOINTS", str(tmp_path))
    run = labkit.Run(quick=True, seed=0, device=torch.device("cpu"))
    a = run.checkpoint("lab02-atan", epochs=2, lr=1e-3)
    assert a.parent == tmp_path and a.name.startswith("lab02-atan-quick-") and a.suffix == ".pt"
    assert a == run.checkpoint("lab02-atan", lr=1e-3, epochs=2)  # order does not matter
    assert a != run.checkpoint("lab02-atan", epochs=3, lr=1e-3)
    assert a != labkit.Run(quick=True, seed=1, device=torch.device("cpu")).checkpoint("lab02-atan", epochs=2, lr=1e-3)
    assert "-full-" in labkit.Run(quick=False, seed=0, device=torch.device("cpu")).checkpoint("x").name
    with pytest.raises(ValueError, match="name"):
        run.checkpoint("bad name/with slash")


def test_start_records_the_mode_for_the_catalogue(monkeypatch):
    from labkit.zoo import settings

    monkeypatch.setenv("LABKIT_QUICK", "1")
    labkit.start(False)  # the notebook's QUICK wins and is recorded
    assert os.environ["LABKIT_QUICK"] == "0" and labkit.resolve_quick(None) is False
    assert settings("cifar-snn", labkit.resolve_quick(None)) == settings("cifar-snn", False)
    labkit.start(True)
    assert os.environ["LABKIT_QUICK"] == "1"


def test_keep_freed_memory_applies_on_glibc_and_can_be_turned_off(monkeypatch):
    import platform
    import sys

    import labkit.config as config

    monkeypatch.setattr(config, "_kept_memory", False)
    monkeypatch.setenv("LABKIT_KEEP_FREED_MEMORY", "0")
    assert config.keep_freed_memory() is False
    monkeypatch.setenv("LABKIT_KEEP_FREED_MEMORY", "maybe")
    with pytest.raises(ValueError, match="LABKIT_KEEP_FREED_MEMORY"):
        config.keep_freed_memory()
    monkeypatch.delenv("LABKIT_KEEP_FREED_MEMORY")
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert config.keep_freed_memory() is glibc
