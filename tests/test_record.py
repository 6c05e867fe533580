"""labkit.analysis.record: hooks give the same features as running the layers by hand, for ANNs and SNNs."""

import pytest
import torch
from torch import nn

from labkit.analysis import record_features, spiking_layers
from labkit.models import cifar_snn, resnet_snn
from labkit.models.resnet import SpikingBlock
from labkit.spiking import LIF, MeanOverTime, SpikingSequential

T = 4


def _snn(fold, static_input=True):
    torch.manual_seed(0)
    return SpikingSequential(
        nn.Conv2d(1, 3, 3, padding=1), LIF(beta=0.8, threshold=0.3), nn.Flatten(), nn.Linear(3 * 4 * 4, 5),
        LIF(beta=0.8, threshold=0.3), nn.Linear(5, 2), LIF(output="membrane"), MeanOverTime(),
        num_steps=T, static_input=static_input, fold=fold,
    ).double()


def _by_hand(net, x):
    """Every layer's output [T, B, ...] (or [B, ...] before the time axis), computed step by step."""
    conv = net.layers[0](x)  # static input: once, [B, 3, 4, 4]
    spk1 = net.layers[1](conv.unsqueeze(0).expand(T, *conv.shape))
    flat = spk1.flatten(2)
    lin = torch.stack([net.layers[3](f) for f in flat])
    spk2 = net.layers[4](lin)
    return {"layers.0": conv, "layers.1": spk1, "layers.2": flat, "layers.3": lin, "layers.4": spk2}


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "per-step"])
def test_snn_rate_and_steps_match_manual_run(fold):
    net = _snn(fold)
    x1, x2 = torch.rand(3, 1, 4, 4, dtype=torch.float64), torch.rand(2, 1, 4, 4, dtype=torch.float64)
    names = ["layers.0", "layers.1", "layers.2", "layers.3", "layers.4"]
    with torch.no_grad(), record_features(net, names, time="rate") as rate, \
            record_features(net, names, time="steps") as steps:
        net(x1)
        net(x2)
    with torch.no_grad():
        ref = [_by_hand(net, x) for x in (x1, x2)]
    for name in names:
        static = name == "layers.0"  # before the first LIF: computed once, the same at every step
        per_step = [r[name].unsqueeze(0).expand(T, *r[name].shape) if static else r[name] for r in ref]
        expected_steps = torch.cat([p.flatten(2) for p in per_step], dim=1)
        assert steps[name].shape == (T, 5, expected_steps.shape[2])
        torch.testing.assert_close(steps[name], expected_steps, atol=1e-12, rtol=0)
        torch.testing.assert_close(rate[name], expected_steps.mean(0), atol=1e-12, rtol=0)
    for name in ("layers.1", "layers.4"):  # firing rates of layers that do fire
        assert rate[name].min() >= 0 and 0 < rate[name].max() <= 1
    assert set(steps["layers.1"].unique().tolist()) <= {0.0, 1.0}  # spikes per step


def test_sequence_input_and_readout_after_mean_over_time():
    net = _snn(fold=False, static_input=False)
    x = torch.rand(T, 2, 1, 4, 4, dtype=torch.float64)
    with torch.no_grad(), record_features(net, ["layers.0", "layers.7"], time="rate") as rec:
        out = net(x)
    conv = torch.stack([net.layers[0](xt) for xt in x])
    torch.testing.assert_close(rec["layers.0"], conv.mean(0).flatten(1))
    torch.testing.assert_close(rec["layers.7"], out)  # already time-averaged: recorded as is
    with pytest.raises(ValueError, match="removed the time axis"), record_features(net, ["layers.7"], time="steps"):
        net(x)


def test_ann_features_are_flattened_and_concatenated():
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    xs = [torch.rand(4, 1, 4, 4), torch.rand(6, 1, 4, 4)]
    with torch.no_grad(), record_features(ann, ["1", "3"]) as rec:
        outs = [ann(x) for x in xs]
    assert rec["1"].shape == (10, 8) and rec["3"].shape == (10, 3)
    torch.testing.assert_close(rec["3"], torch.cat(outs))
    torch.testing.assert_close(rec["1"], torch.cat([ann[1](ann[0](x)).flatten(1) for x in xs]))
    assert not rec["3"].requires_grad
    with record_features(ann, ["3"], time="rate") as same:  # one call for ANNs and SNNs alike
        ann(xs[0])
    assert same["3"].shape == (4, 3)


def test_take_streams_batches_and_hooks_are_removed():
    net = _snn(fold=False)
    with torch.no_grad(), record_features(net, ["layers.4"], time="rate") as rec:
        net(torch.rand(3, 1, 4, 4, dtype=torch.float64))
        first = rec.take()
        net(torch.rand(2, 1, 4, 4, dtype=torch.float64))
        second = rec.take()
    assert first["layers.4"].shape == (3, 5) and second["layers.4"].shape == (2, 5)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())
    with pytest.raises(KeyError, match="nothing recorded"):
        rec["layers.4"]


def test_generic_time_first_model_and_per_step_loop():
    class Loop(nn.Module):  # an snnTorch-style loop: the layer runs once per step on [B, ...]
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):  # x: [T, B, 3]
            return torch.stack([self.fc(xt) for xt in x]).mean(0)

    loop = Loop()
    x = torch.rand(T, 5, 3)
    with torch.no_grad(), record_features(loop, ["fc"], time="steps", time_axis=True) as rec:
        loop(x)
    torch.testing.assert_close(rec["fc"], loop.fc(x).detach())
    with pytest.raises(RuntimeError, match="ran 4 times"), record_features(loop, ["fc"]):
        loop(x)


def test_explicit_time_choice_and_validation():
    net = _snn(fold=False)
    with pytest.raises(ValueError, match="choose time='rate'"):
        with record_features(net, ["layers.1"]):
            pass
    with pytest.raises(ValueError, match="no submodule 'layers.99'"):
        with record_features(net, ["layers.99"], time="rate"):
            pass
    with pytest.raises(ValueError, match="time must be"):
        with record_features(net, ["layers.1"], time="mean"):
            pass
    with pytest.raises(ValueError, match="non-empty list"):
        with record_features(net, "layers.1", time="rate"):
            pass
    with pytest.raises(ValueError, match="duplicates"):
        with record_features(net, ["layers.1", "layers.1"], time="rate"):
            pass
    ann = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="time='steps' needs"):
        with record_features(ann, ["0"], time="steps"):
            pass
    with pytest.raises(ValueError, match="ModuleList, which is never called"):
        with record_features(net, ["layers"], time="rate"):
            pass
    with pytest.raises(RuntimeError, match="outside a forward pass"):
        with record_features(ann, ["0"]):
            ann[0](torch.rand(1, 2))


def test_spiking_rate_is_the_mean_of_the_spikes():
    net = _snn(fold=False)
    x = torch.rand(5, 1, 4, 4, dtype=torch.float64)
    names = spiking_layers(net)
    assert names == ["layers.1", "layers.4"]
    with torch.no_grad(), record_features(net, names, time="rate") as rate, \
            record_features(net, names, time="steps") as steps:
        net(x)
    for name in names:
        assert set(steps[name].unique().tolist()) <= {0.0, 1.0}
        torch.testing.assert_close(rate[name], steps[name].mean(0), atol=0, rtol=0)
        counts = steps[name].sum(0)
        torch.testing.assert_close(rate[name] * T, counts)  # spikes per step: counts / T


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "per-step"])
def test_unflattened_undetached_features_carry_gradients(fold):
    net = _snn(fold)
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    with record_features(net, ["layers.0", "layers.3"], time="rate", flatten=False, detach=False) as rec:
        net(x)
    conv, lin = rec["layers.0"], rec["layers.3"]
    assert conv.shape == (3, 3, 4, 4) and lin.shape == (3, 5)  # the layers' own shapes, time-averaged
    assert conv.requires_grad and lin.requires_grad
    (conv.sum() + lin.sum()).backward()
    y = x.detach().requires_grad_()
    ref = _by_hand(net, y)
    (ref["layers.0"].sum() + ref["layers.3"].mean(0).sum()).backward()
    torch.testing.assert_close(x.grad, y.grad, atol=1e-12, rtol=0)
    with torch.no_grad(), record_features(net, ["layers.0", "layers.1"], time="steps", flatten=False) as rec:
        net(x)
    assert rec["layers.0"].shape == (T, 3, 3, 4, 4) and rec["layers.1"].shape == (T, 3, 3, 4, 4)
    assert not rec["layers.1"].requires_grad


class _Count(nn.Module):
    """A temporal layer that counts its calls."""

    temporal = True

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x


@pytest.mark.parametrize("fold", [True, False], ids=["folded", "per-step"])
def test_stop_early_skips_later_layers_and_gives_the_same_features(fold):
    torch.manual_seed(0)
    count = _Count()
    net = SpikingSequential(nn.Linear(4, 6), LIF(threshold=0.2), nn.Linear(6, 3), count, nn.Linear(3, 2),
                            num_steps=T, fold=fold)
    x = torch.rand(5, 4)
    with torch.no_grad(), record_features(net, ["layers.0", "layers.2"], time="steps") as full:
        net(x)
    assert count.calls == 1
    with torch.no_grad(), record_features(net, ["layers.2", "layers.0"], time="steps", stop_early=True) as rec:
        early = rec.run(x)
        with pytest.raises(RuntimeError, match=r"call recording.run\(x\)"):
            net(x)
    assert count.calls == 1  # the pass stopped once layers.2 had run on all T steps
    assert list(early) == ["layers.2", "layers.0"]
    for name in ("layers.0", "layers.2"):
        torch.testing.assert_close(early[name], full[name], atol=0, rtol=0)
    with pytest.raises(KeyError, match="nothing recorded"):  # run() returns the features, keeps none
        rec["layers.0"]
    with pytest.raises(RuntimeError, match="inside the `with"):
        rec.run(x)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())


def test_names_nested_in_the_blocks_of_a_residual_snn():
    torch.manual_seed(0)
    net = resnet_snn(num_steps=T, width=4, depth=1).eval()
    x = torch.rand(2, 3, 32, 32)
    names = ["body.0.layers.0", "body.1.path.layers.1", "body.1.path.layers.2", "body.1.act", "body.1"]
    with torch.no_grad(), record_features(net, names, time="steps", time_axis=True, flatten=False) as rec:
        net(x)
    with torch.no_grad():  # by hand, folding time into the batch
        conv = net.body[0].layers[0](x)
        stem = net.body[0](x)
        block = net.body[1]
        bn = block.path.layers[1](block.path.layers[0](stem.flatten(0, 1))).unflatten(0, (T, 2))
        spikes = block.path.layers[2](bn)
        out = block(stem)
    torch.testing.assert_close(rec["body.0.layers.0"], conv.expand(T, *conv.shape))  # static: once, every step
    torch.testing.assert_close(rec["body.1.path.layers.1"], bn)
    torch.testing.assert_close(rec["body.1.path.layers.2"], spikes)
    torch.testing.assert_close(rec["body.1.act"], out)
    torch.testing.assert_close(rec["body.1"], out)
    # a name inside a SpikingSequential needs no time_axis; one outside (the LIF of a block) does
    with torch.no_grad(), record_features(net, ["body.1.path.layers.2"], time="rate") as rate:
        net(x)
    torch.testing.assert_close(rate["body.1.path.layers.2"], spikes.mean(0).flatten(1))


def test_block_inside_a_spiking_sequential_and_a_body_inside_a_classifier():
    torch.manual_seed(0)
    net = SpikingSequential(nn.Conv2d(1, 2, 3, padding=1), LIF(threshold=0.2), SpikingBlock(2, 2, T),
                            MeanOverTime(), num_steps=T).eval()
    x = torch.rand(3, 1, 6, 6)
    with torch.no_grad(), record_features(net, ["layers.2.path.layers.2", "layers.2.act", "layers.3"],
                                          time="rate") as rec:
        out = net(x)
    with torch.no_grad():
        lif = net.layers[1](net.layers[0](x).expand(T, 3, 2, 6, 6))
        path = net.layers[2].path
        inner = path.layers[2](path.layers[1](path.layers[0](lif.flatten(0, 1))).unflatten(0, (T, 3)))
    torch.testing.assert_close(rec["layers.2.path.layers.2"], inner.mean(0).flatten(1))
    torch.testing.assert_close(rec["layers.2.act"], out.flatten(1))
    torch.testing.assert_close(rec["layers.3"], out.flatten(1))

    snn = cifar_snn(T, channels=(2, 4), hidden=8, augment=False).eval()  # FeatureClassifier: body + head
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad(), record_features(snn, ["body", "body.layers.10", "head"], time="rate") as rec:
        scores = snn(x)
    with torch.no_grad():
        features = snn.features(x)
    torch.testing.assert_close(rec["body"], features)  # the body ends with MeanOverTime: no time axis
    torch.testing.assert_close(rec["body.layers.10"], features)  # its last LIF, read as firing rates
    torch.testing.assert_close(rec["head"], scores)


def test_nested_layer_that_does_not_fit_the_time_axis_is_a_clear_error():
    class Odd(nn.Module):  # a temporal layer that runs its inner layer once on [B, ...]
        temporal = True

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return x + self.fc(x.mean(0))

    net = SpikingSequential(nn.Linear(4, 3), LIF(), Odd(), num_steps=T)
    with pytest.raises(RuntimeError, match=r"inside 'layers.2'.*record the layer that contains it"):
        with torch.no_grad(), record_features(net, ["layers.2.fc"], time="rate"):
            net(torch.rand(2, 4))
