"""labkit.analysis.record: hooks give the same features as running the layers by hand, for ANNs and SNNs."""

import pytest
import torch
from torch import nn

from labkit.analysis import record_features
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
    with pytest.raises(RuntimeError, match="outside a forward pass"):
        with record_features(ann, ["0"]):
            ann[0](torch.rand(1, 2))
