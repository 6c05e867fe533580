"""Firing rates of spiking channels, the black-box objective, spiking feature visualisation and the search figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import labkit
from labkit import fv
from labkit.analysis import RateObjective, channel_rate, channel_rates, record_features
from labkit.models import mnist_snn
from labkit.spiking import LIF, SpikingSequential
from labkit.viz import search


@pytest.fixture(scope="module")
def net():
    labkit.seed_everything(0)
    return mnist_snn(num_steps=4, channels=(4, 8)).eval()


def test_channel_rates_are_spike_means_over_steps_and_positions(net):
    x = torch.rand(6, 1, 28, 28) * 3
    with torch.no_grad(), record_features(net, ["body.layers.2"], time="steps", flatten=False) as rec:
        net(x)
    spikes = rec["body.layers.2"]  # [T, N, C, H, W]
    expected = spikes.mean(dim=(0, 3, 4))
    assert torch.allclose(channel_rates(net, "body.layers.2", x, batch_size=4), expected)
    assert torch.allclose(channel_rate(net, "body.layers.2", 3, x), expected[:, 3])
    assert set((expected * 4 * 12 * 12).round().tolist()[0]) <= set(range(4 * 12 * 12 + 1))  # multiples of 1/(TP)
    with pytest.raises(IndexError, match="has 4 channels; channel 9 does not exist"):
        channel_rate(net, "body.layers.2", 9, x)


def test_rate_objective_counts_queries_and_decodes(net):
    seen = []

    def decode(idx):
        seen.append(idx)
        return idx.float().mean(1).view(-1, 1, 1, 1).expand(-1, 1, 28, 28) / 3

    f = RateObjective(net, "body.layers.5", 2, decode)
    values = f(np.array([[0, 1], [3, 3], [2, 2]]))
    assert values.shape == (3,) and values.dtype == np.float64 and f.queries == 3
    assert seen[0].dtype == torch.long
    f(np.zeros((2, 2), dtype=int))
    assert f.queries == 5
    images = f.images(np.array([[3, 3]]))
    assert images.shape == (1, 1, 28, 28) and f.queries == 5  # looking at an image is not a query
    assert "queries=5" in repr(f)


def test_maximise_through_the_black_box(net):
    decode = lambda idx: idx.float().view(-1, 1, 7, 7).repeat_interleave(4, 2).repeat_interleave(4, 3) / 3
    f = RateObjective(net, "body.layers.2", 0, decode)
    best, value, curve = labkit.maximise(f, 49, 4, 120, "es", seed=0)
    assert f.queries == 120 == len(curve)
    assert value == pytest.approx(channel_rate(net, "body.layers.2", 0, decode(torch.as_tensor(best[None]))).item())


def test_grey_image_parameterisation():
    p = fv.param.image(28, batch=2, channels=1, generator=torch.Generator().manual_seed(0))
    assert p().shape == (2, 1, 28, 28) and not p.decorrelate
    assert fv.param.image(8, fft=False, channels=1)().shape == (1, 1, 8, 8)
    assert fv.param.image(8).decorrelate  # colour images keep Lucid's decorrelation by default
    with pytest.raises(ValueError, match="decorrelate=True maps three colour channels"):
        fv.param.image(8, channels=1, decorrelate=True)
    with pytest.raises(ValueError, match="channels must be 3 \\(colour\\) or 1 \\(grey\\)"):
        fv.param.image(8, channels=2)


def test_render_raises_a_firing_rate_through_surrogate_gradients():
    labkit.seed_everything(0)
    snn = SpikingSequential(nn.Conv2d(1, 3, 3), LIF(), nn.Flatten(), num_steps=4).eval()
    with torch.no_grad():
        snn.layers[0].weight.fill_(0.3)  # a channel that sums its input: bright images make it fire
        snn.layers[0].bias.fill_(-1.0)
    objective = fv.objectives.channel("layers.1", 1)
    param = fv.param.image(10, channels=1, generator=torch.Generator().manual_seed(0))
    start = fv.score(snn, objective, param().detach(), time="rate")
    result = fv.render(snn, objective, param, steps=60, lr=0.1, progress=False, time="rate")
    end = fv.score(snn, objective, result.image, time="rate")
    assert end.item() > start.item() and 0 <= end.item() <= 1
    assert torch.allclose(end, channel_rates(snn, "layers.1", result.image)[:, 1])
    with pytest.raises(ValueError, match="time axis: choose time='rate'"):
        fv.score(snn, objective, result.image)


def test_search_figures():
    rng = np.random.default_rng(0)
    curves = {"PROTES": np.maximum.accumulate(rng.random((3, 40)), axis=1),
              "random search": np.maximum.accumulate(rng.random((3, 40)), axis=1)}
    fig = search.best_so_far({"a": curves, "b": curves}, title="t", ylabel="rate (spikes per step)",
                             references={"a": {"best test digit": 0.9}})
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel().startswith("queries")
    images = {"n1": {0: torch.rand(1, 8, 8), 1: torch.rand(1, 8, 8)}, "n2": {0: torch.rand(1, 8, 8)}}
    fig = search.preferred_inputs(images, {0: 10.0, 1: 90.0}, title="t", values={"n1": {0: 0.1}},
                                  captions={"n1": {1: "reads 3"}})
    assert len(fig.axes) == 5  # 2 x 2 panels (one empty) and the accuracy
