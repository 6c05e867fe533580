"""labkit.models.alexnet: the AlexNet-style CIFAR network and the honest ImageNet/fallback loader."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from labkit.data import CIFAR10_CLASSES, ImageSet
from labkit.models.alexnet import CONV_LAYERS, LAYER_LABELS, RELU_AFTER, alexnet_cifar
from labkit.zoo import load_alexnet, store


def test_alexnet_cifar_shapes_and_names():
    net = alexnet_cifar(width=0.125)
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert net(torch.rand(1, 3, 48, 48)).shape == (1, 10)  # adaptive pooling: any size for FV
    convs = [net.get_submodule(n) for n in CONV_LAYERS.values()]
    assert all(isinstance(c, nn.Conv2d) for c in convs)
    assert [c.out_channels for c in convs] == [8, 24, 48, 32, 32]
    assert [c.kernel_size[0] for c in convs] == [5, 5, 3, 3, 3]
    assert all(isinstance(net.get_submodule(r), nn.ReLU) for r in RELU_AFTER.values())
    assert not any(m.inplace for m in net.modules() if isinstance(m, nn.ReLU))
    assert set(LAYER_LABELS) == {n for n, m in net.features.named_modules(prefix="features")
                                 if isinstance(m, (nn.Conv2d, nn.MaxPool2d))}


def test_alexnet_cifar_conv1_starts_small():
    net = alexnet_cifar(width=0.125)
    assert net.features[0].weight.std() < 0.01 < net.features[3].weight.std()
    assert alexnet_cifar(width=0.125, conv1_std=None).features[0].weight.std() > 0.05


def _fake_cifar(split: str = "train", **_) -> ImageSet:
    g = torch.Generator().manual_seed(0 if split == "train" else 1)
    n = 100 if split == "train" else 50
    return ImageSet(torch.rand(n, 3, 32, 32, generator=g), torch.arange(n) % 10, list(CIFAR10_CLASSES),
                    "CIFAR-10", split, "synthetic test data")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    def no_download(*args, **kwargs):
        raise RuntimeError("offline: no weights")

    monkeypatch.setattr(torchvision.models, "alexnet", no_download)
    monkeypatch.setattr(store, "_cifar10", _fake_cifar)
    store._data.cache_clear()  # subsets drawn from the real data in this process must not be reused
    monkeypatch.setenv("LABKIT_CHECKPOINTS", str(tmp_path))
    return tmp_path


def test_fallback_trains_and_says_so(offline):
    loaded = load_alexnet(True, device="cpu", n_train=40, n_val=10, n_test=20, epochs=1, width=0.05, progress=False)
    assert not loaded.imagenet and loaded.input_size == 32
    assert loaded.description.startswith("AlexNet-style network trained in this course on 40 CIFAR-10 images")
    assert "validation" in loaded.history.val_data and loaded.config["n_val"] == 10
    assert f"test accuracy {100 * loaded.test_accuracy:.1f}%" in loaded.description
    assert "ImageNet weights unavailable" in loaded.description
    assert "CIFAR-10" in loaded.title and "lab-trained" in loaded.title
    assert "offline: no weights" in loaded.reason
    assert len(loaded.history.epoch) == 1
    assert not loaded.model.training
    assert len(list((offline / "zoo").glob("alexnet-cifar-quick-s0-*.pt"))) == 1
    # a second call reloads the finished checkpoint instead of training again
    again = load_alexnet(True, device="cpu", n_train=40, n_val=10, n_test=20, epochs=1, width=0.05, progress=False)
    for a, b in zip(loaded.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)


def test_imagenet_weights_used_when_available(monkeypatch):
    real = torchvision.models.alexnet
    seen = {}

    def fake_download(weights=None, progress=True):
        seen["weights"] = weights
        return real(weights=None)  # same architecture; no download in tests

    monkeypatch.setattr(torchvision.models, "alexnet", fake_download)
    monkeypatch.setattr(store, "_cifar10", lambda *a, **k: pytest.fail("must not train"))
    loaded = load_alexnet(True)
    assert seen["weights"] == torchvision.models.AlexNet_Weights.IMAGENET1K_V1
    assert loaded.imagenet and loaded.input_size == 224
    assert loaded.test_accuracy == pytest.approx(0.56522)  # torchvision's reported ImageNet top-1
    assert "ImageNet" in loaded.description and "trained in this lab" not in loaded.description
    assert loaded.model(torch.rand(1, 3, 224, 224)).shape == (1, 1000)
    assert [loaded.model.get_submodule(n).kernel_size[0] for n in CONV_LAYERS.values()] == [11, 5, 3, 3, 3]
