"""labkit.fv: parameterisation, transforms, objectives and the render loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from labkit import fv
from labkit.fv import objectives, param, transform


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------- param
@pytest.mark.parametrize("size", [8, 9, (6, 11), (7, 4)])
@pytest.mark.parametrize("fft", [True, False])
def test_image_shape_and_range(size, fft):
    p = param.image(size, batch=3, fft=fft, sd=2.0, generator=_gen())
    x = p()
    h, w = (size, size) if isinstance(size, int) else size
    assert x.shape == (3, 3, h, w)
    assert x.min() > 0 and x.max() < 1
    assert all(q.requires_grad for q in p.parameters())


def test_fourier_start_is_near_grey_and_seeded():
    a, b = param.image(16, generator=_gen(1))(), param.image(16, generator=_gen(1))()
    assert torch.equal(a, b)
    assert (a - 0.5).abs().max() < 0.05  # sd=0.01: Lucid's almost uniform grey start
    assert not torch.equal(a, param.image(16, generator=_gen(2))())


def test_fourier_is_smoother_than_pixels():
    def roughness(x):  # mean squared difference of neighbouring pixels relative to the variance
        return ((x[..., 1:] - x[..., :-1]) ** 2).mean() / x.var()
    fourier = param.image(32, sd=1.0, decorrelate=False, generator=_gen())()
    pixels = param.image(32, fft=False, sd=1.0, decorrelate=False, generator=_gen())()
    assert roughness(fourier) < 0.5 * roughness(pixels)


def test_rfft_freqs_and_spectrum_shape():
    f = param.rfft2d_freqs(6, 5)
    assert f.shape == (6, 3)
    assert f[0, 0] == 0 and math.isclose(f[3, 0], 0.5)
    p = param.FourierImage(2, 6, 5)
    assert p.spectrum.shape == (2, 3, 6, 3, 2)


def test_colour_decorrelation_matrix():
    m = param.color_correlation_normalized()
    assert torch.allclose(m.norm(dim=0).max(), torch.tensor(1.0))
    # the first decorrelated channel is (nearly) luminance: equal positive weights on R, G, B
    assert (m[:, 0] > 0.5).all() and (m[:, 0].max() - m[:, 0].min()) < 0.05
    x = torch.randn(2, 3, 4, 5)
    y = param.decorrelate_color(x)
    assert torch.allclose(y[0, :, 1, 2], m @ x[0, :, 1, 2], atol=1e-6)
    with pytest.raises(ValueError):
        param.decorrelate_color(torch.zeros(1, 4, 2, 2))


def test_decorrelate_flag_changes_colours_only():
    a = param.image(8, decorrelate=True, sd=1.0, generator=_gen())
    b = param.image(8, decorrelate=False, sd=1.0, generator=_gen())
    assert torch.equal(a.spectrum, b.spectrum)
    assert not torch.allclose(a(), b())


# ------------------------------------------------------------- transforms
def test_transforms_deterministic_under_seed():
    t = transform.standard_transforms(32)
    x = torch.rand(2, 3, 32, 32)
    a, b = t(x, _gen(5)), t(x, _gen(5))
    assert torch.equal(a, b)
    outs = {tuple(t(x, _gen(s)).flatten()[:50].tolist()) for s in range(6)}
    assert len(outs) > 1  # different seeds give different draws


def test_transform_sizes_and_gradients():
    t = transform.standard_transforms(32)
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    y = t(x, _gen())
    assert tuple(y.shape[-2:]) == t.out_size(32, 32)
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_pad_and_jitter():
    x = torch.zeros(1, 1, 4, 4)
    y = transform.Pad(2, value=0.5)(x)
    assert y.shape == (1, 1, 8, 8) and y[0, 0, 0, 0] == 0.5 and y[0, 0, 3, 3] == 0
    assert transform.Pad(1, mode="reflect")(torch.arange(4.0).view(1, 1, 2, 2)).shape == (1, 1, 4, 4)
    x = torch.arange(36.0).view(1, 1, 6, 6)
    crops = {transform.Jitter(3)(x, _gen(s))[0, 0, 0, 0].item() for s in range(30)}
    assert crops <= {0.0, 1, 2, 6, 7, 8, 12, 13, 14} and len(crops) > 1
    with pytest.raises(ValueError):
        transform.Jitter(6)(x)


def test_scale_and_rotate_geometry():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 6] = 1.0  # two pixels right of the centre
    up = transform.RandomRotate([-90])(x)  # the other direction: above the centre
    assert divmod(int(up.flatten().argmax()), 9) == (2, 4)
    assert torch.allclose(transform.RandomRotate([360])(x), x, atol=1e-5)
    zoom = transform.RandomScale([2.0])(x)  # magnify: the dot moves away from the centre
    assert divmod(int(zoom.flatten().argmax()), 9)[1] > 6
    # a non-square image keeps pixel geometry: rotating by 180 degrees flips both axes
    y = torch.rand(1, 1, 6, 10)
    assert torch.allclose(transform.RandomRotate([180])(y), y.flip(-1).flip(-2), atol=1e-5)


def test_mean_shift():
    t = transform.Compose([transform.Pad(4), transform.Jitter(3), transform.RandomRotate([0]), transform.Jitter(2)])
    assert t.mean_shift() == 4 - 1 - 0.5


# ------------------------------------------------------------- objectives
def _acts():
    act = torch.zeros(2, 3, 4, 5)
    act[0, 1] = 2.0
    act[1, 1, 3, 4] = 10.0
    act[:, 2] = -1.0
    return {"x": act}


def test_channel_objective_target_and_sign():
    acts = _acts()
    assert objectives.channel("x", 1)(acts).tolist() == [2.0, 0.5]
    assert objectives.channel("x", 2)(acts).tolist() == [-1.0, -1.0]  # sign kept: maximise, not |a|
    with pytest.raises(IndexError):
        objectives.channel("x", 3)(acts)


def test_neuron_objective_target_and_sign():
    acts = _acts()
    assert objectives.neuron("x", 1, (3, 4))(acts).tolist() == [2.0, 10.0]
    assert objectives.neuron("x", 2, (0, 0))(acts).tolist() == [-1.0, -1.0]
    assert objectives.neuron("x", 1)(acts).tolist() == [2.0, 0.0]  # centre (2, 2)
    with pytest.raises(IndexError):
        objectives.neuron("x", 1, (4, 0))(acts)


def test_layer_objective_is_mean_square_of_the_rectified_activation():
    acts = _acts()
    expected = acts["x"].clamp_min(0).pow(2).flatten(1).mean(1)
    assert torch.allclose(objectives.layer("x")(acts), expected)
    assert (objectives.layer("x")(acts) >= 0).all()


def test_layer_objective_does_not_reward_negative_responses():
    """DeepDream on a convolution read before its ReLU equals DeepDream on the ReLU's output.

    Squaring the raw output would reward a unit pushed far below zero (silent after
    the ReLU) as much as one driven far above it, and gradient ascent would then
    deepen negative responses.
    """
    assert objectives.layer("x")({"x": torch.full((2, 3, 4, 4), -5.0)}).tolist() == [0.0, 0.0]
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    acts = objectives.activations(net, x, ["0", "1"])
    pre, post = objectives.layer("0")(acts), objectives.layer("1")(acts)
    torch.testing.assert_close(pre, post)
    assert (acts["0"] < 0).any()  # some responses are negative, so the two objectives could differ
    # an input that drives every unit below zero gets no gradient to push it further down
    with torch.no_grad():
        net[0].bias.fill_(-100.0)
    y = torch.rand(1, 3, 8, 8, requires_grad=True)
    objectives.layer("0")(objectives.activations(net, y, ["0"])).sum().backward()
    assert y.grad.abs().max() == 0


def test_objective_algebra():
    acts = {"a": torch.ones(1, 2, 2, 2), "b": 3 * torch.ones(1, 2, 2, 2)}
    ca, cb = objectives.channel("a", 0), objectives.channel("b", 1)
    combo = ca + 0.5 * cb - 2 * ca
    assert combo.layers == {"a", "b"}
    assert combo(acts).tolist() == [1 + 1.5 - 2]
    assert (-ca)(acts).tolist() == [-1.0]
    assert (ca / 4)(acts).tolist() == [0.25]
    assert sum([ca, cb])(acts).tolist() == [4.0]
    with pytest.raises(KeyError):
        cb({"a": acts["a"]})


def test_activations_by_name_early_stop_and_gradients():
    calls = []

    class Tail(nn.Module):
        def forward(self, x):
            calls.append(1)
            return x

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.ReLU(), nn.Conv2d(4, 2, 1)), Tail())
    x = torch.rand(1, 3, 6, 6, requires_grad=True)
    acts = objectives.activations(net, x, ["1.1", "0"])
    assert set(acts) == {"0", "1.1"} and acts["1.1"].shape == (1, 2, 4, 4)  # own shape, not flattened
    assert not calls  # the forward pass stopped after the last recorded layer
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())  # hooks removed
    acts["1.1"].sum().backward()  # not detached: the gradient reaches the input
    y = x.detach().requires_grad_()
    net[1](net[0](y)).sum().backward()
    torch.testing.assert_close(x.grad, y.grad)
    with pytest.raises(ValueError, match="no submodule 'nope'"):
        objectives.activations(net, torch.rand(1, 3, 6, 6), ["nope"])


# ----------------------------------------------------------------- render
def _net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, padding=1))
    for m in net:
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=0.5)  # strong, pattern-selective filters
    return net


def test_render_increases_objective_and_leaves_model_alone():
    net = _net()
    before = [p.detach().clone() for p in net.parameters()]
    obj = objectives.channel("2", 1)
    out = fv.render(net, obj, param.image(16, generator=_gen()), transform.standard_transforms(16),
                    steps=30, lr=0.1, record_every=10, generator=0, progress=False)
    assert out.steps == [0, 10, 20, 30] and len(out.images) == 4 and len(out.curve) == 30
    assert out.image.shape == (1, 3, 16, 16) and torch.equal(out.image, out.images[-1])
    start, end = fv.score(net, obj, out.start), fv.score(net, obj, out.image)
    assert end > start + 0.5 and out.curve[-1] > out.curve[0]
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert all(p.requires_grad for p in net.parameters()) and net.training


def test_render_reproducible():
    net = _net()
    runs = [fv.render(net, objectives.neuron("2", 0, (3, 3)), param.image(12, generator=_gen()),
                      transform.standard_transforms(12), steps=5, generator=3, progress=False) for _ in range(2)]
    assert torch.equal(runs[0].image, runs[1].image) and runs[0].curve == runs[1].curve


def test_score_and_random_crops():
    net = _net()
    crops = fv.random_crops(torch.rand(5, 3, 10, 10), n=7, size=12, generator=_gen())
    assert crops.shape == (7, 3, 12, 12) and crops.min() >= 0 and crops.max() <= 1
    scores = fv.score(net, objectives.channel("0", 2), crops, batch_size=3)
    assert scores.shape == (7,)
    a = fv.random_crops(torch.rand(5, 3, 10, 10, generator=_gen(1)), n=3, size=8, generator=_gen(2))
    b = fv.random_crops(torch.rand(5, 3, 10, 10, generator=_gen(1)), n=3, size=8, generator=_gen(2))
    assert torch.equal(a, b)


# ----------------------------------------------------------------- evidence
def test_evidence_compares_with_the_most_exciting_natural_crop():
    net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU())
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.fill_(-2.5)  # nearly silent: only very bright crops excite channel 0
    obj = objectives.channel("1", 0)
    crops = torch.rand(200, 3, 4, 4, generator=_gen(0))
    ev = fv.evidence(net, obj, torch.full((1, 3, 4, 4), 0.5), torch.ones(1, 3, 4, 4), crops)
    assert ev.start == 0.0 and ev.optimised == pytest.approx(0.5)
    assert 0 < ev.natural_mean < ev.natural_max < ev.optimised and ev.exceeds_all
    assert ev.active_fraction < 0.5  # few crops excite it at all ...
    assert ev.optimised / ev.natural_mean > 10 * ev.over_max  # ... so a ratio to the mean would exaggerate
    silent = fv.Evidence(0.0, 0.3, np.zeros(5))
    assert silent.over_max == float("inf") and silent.over_max_text().startswith("∞")
    assert fv.Evidence(0.0, 0.0, np.zeros(5)).over_max_text() == "– (silent)"
    with pytest.raises(ValueError, match="random_crops"):
        fv.evidence(net, obj, torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), torch.rand(5, 3, 8, 8))
