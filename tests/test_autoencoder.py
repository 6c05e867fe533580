"""Spiking autoencoders: nRMSE, the rate encoder module, the SAE and AE twins, recurrence, event frames, figures."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import snntorch as snn
import torch
from torch import nn

matplotlib.use("Agg")

import labkit
from labkit.analysis import embeddings, noise_floor, sample_nrmse
from labkit.data import DataUnavailableError, ImageSet, Pairs, autoencoder_pairs
from labkit.data.events import bin_events, load_dvs_gesture, to_tonic_events
from labkit.metrics import nrmse
from labkit.models import ConvAutoencoder, RateEncoder, RecurrentLIF, conv_ae, conv_sae, event_snn, reconstruction_loss
from labkit.spiking import SpikingSequential
from labkit.stats import Interval
from labkit.viz import reconstruction as rviz
from labkit.zoo import events as zoo_events
from labkit.zoo import settings
from labkit.zoo.catalogue import AUTOENCODER_SWEEPS, autoencoder_course


# ----------------------------------------------------------------------------- nrmse
def test_nrmse_by_hand():
    shown = torch.tensor([0.0, 2.0, 4.0, 2.0])     # mean 2, population variance (4 + 0 + 4 + 0) / 4 = 2
    emitted = torch.tensor([1.0, 2.0, 3.0, 2.0])   # squared errors 1, 0, 1, 0: mean 1/2
    assert nrmse(emitted, shown).item() == pytest.approx(math.sqrt(0.5) / math.sqrt(2.0))  # = 0.5
    assert labkit.nrmse is nrmse and "nrmse" in labkit.__all__


def test_nrmse_is_per_sample_then_averaged():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 6, (5, 1, 4, 4), generator=g).float()
    y = x + torch.randn(x.shape, generator=g)
    per = nrmse(y, x, reduction="none")
    manual = [((y[i] - x[i]) ** 2).mean().sqrt() / x[i].std(correction=0) for i in range(5)]
    assert torch.allclose(per, torch.stack(manual))
    assert nrmse(y, x).item() == pytest.approx(per.mean().item())
    assert nrmse(x, x).item() == 0.0
    # a constant guess of each sample's mean scores exactly 1
    guess = x.mean(dim=(1, 2, 3), keepdim=True).expand_as(x)
    assert torch.allclose(nrmse(guess, x, reduction="none"), torch.ones(5))


def test_nrmse_takes_integer_counts_and_gives_gradients():
    x = torch.tensor([[0, 1, 3, 2]])
    y = torch.tensor([[0.5, 1.0, 2.0, 2.0]], requires_grad=True)
    nrmse(y, x).backward()
    assert y.grad is not None and torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0


def test_nrmse_errors():
    with pytest.raises(ValueError, match=r"output_counts has shape \(2, 3\) but input_counts has shape \(2, 4\)"):
        nrmse(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="sample 1 are all equal .*zero spread"):
        nrmse(torch.zeros(2, 3), torch.tensor([[0.0, 1.0, 2.0], [3.0, 3.0, 3.0]]))
    with pytest.raises(ValueError, match="reduction"):
        nrmse(torch.zeros(3), torch.arange(3.0), reduction="sum")
    with pytest.raises(ValueError, match="empty"):
        nrmse(torch.zeros(0, 3), torch.zeros(0, 3))
    with pytest.raises(TypeError, match="input_counts must be a torch.Tensor"):
        nrmse(torch.zeros(3), [0.0, 1.0, 2.0])


# ----------------------------------------------------------------------------- rate encoder
def test_rate_encoder_errors_are_those_of_the_rate_code():
    with pytest.raises(ValueError, match=r"f_on=300.0 Hz with dt=0.005 s .*\(> 1\)"):
        RateEncoder(10, f_on=300.0, dt=5e-3)
    with pytest.raises(ValueError, match="f_off=50.0 Hz exceeds f_on=20.0 Hz"):
        RateEncoder(10, f_on=20.0, f_off=50.0)
    with pytest.raises(ValueError, match="num_steps"):
        RateEncoder(2.5)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        RateEncoder(4)(torch.full((1, 1, 2, 2), 2.0))


def test_rate_encoder_probability_and_eval_determinism():
    coder = RateEncoder(400, f_on=100.0, f_off=20.0, dt=5e-3)
    x = torch.tensor([[[[0.0, 1.0]]]])
    labkit.seed_everything(0)
    rates = coder(x).mean(0).flatten()
    assert rates[0].item() == pytest.approx(0.1, abs=0.05) and rates[1].item() == pytest.approx(0.5, abs=0.08)
    coder.eval()
    assert torch.equal(coder(x), coder(x))  # eval mode: the same spikes every call
    coder.train()
    assert not torch.equal(coder(x.repeat(1, 1, 8, 4)), coder(x.repeat(1, 1, 8, 4)))  # training: fresh draws


# ----------------------------------------------------------------------------- models
@pytest.mark.parametrize("kernel_size", [3, 5, 7, 9])
def test_sae_and_ae_shapes_for_every_kernel(kernel_size):
    x = torch.rand(3, 1, 28, 28)
    sae = conv_sae(kernel_size=kernel_size, embedding=6, channels=(2, 4), num_steps=5)
    ae = conv_ae(kernel_size=kernel_size, embedding=6, channels=(2, 4), num_steps=5)
    out, shown = sae(x)
    assert out.shape == shown.shape == x.shape
    assert torch.equal(out, out.round()) and 0 <= out.min() and out.max() <= 5  # spike counts over 5 steps
    parts = sae.run(x)
    assert parts["input"].shape == (5, 3, 1, 28, 28) and parts["embedding"].shape == (5, 3, 6)
    assert parts["output"].shape == (5, 3, 1, 28, 28)
    a_out, a_shown = ae(x)
    assert a_out.shape == x.shape and 0 <= a_out.min() and a_out.max() <= 5
    assert ae.embed(x).shape == (3, 6) and not ae.spiking and sae.spiking


def test_twins_have_the_same_layers():
    sae, ae = conv_sae(channels=(2, 4), num_steps=3), conv_ae(channels=(2, 4), num_steps=3)
    shapes = lambda m: [tuple(p.shape) for p in m.parameters()]  # noqa: E731
    assert shapes(sae) == shapes(ae)
    assert sum(isinstance(m, nn.ReLU) for m in ae.modules()) == sum(type(m).__name__ == "LIF" for m in sae.modules()) - 1


def test_sae_learns_through_the_surrogate():
    sae = conv_sae(kernel_size=3, embedding=4, channels=(2, 4), num_steps=4, f_on=150.0)
    labkit.seed_everything(0)
    loss = reconstruction_loss(sae(torch.rand(4, 1, 28, 28)))
    loss.backward()
    first = sae.encoder.layers[0].weight.grad
    assert first is not None and first.abs().sum() > 0


def test_embedding_size_that_does_not_fit_names_both_sizes():
    sae = conv_sae(embedding=8, channels=(2, 4), num_steps=3)
    other = conv_sae(embedding=16, channels=(2, 4), num_steps=3)
    with pytest.raises(ValueError, match="encoder makes embeddings of size 8 and the decoder reads embeddings of size 16"):
        ConvAutoencoder(sae.encoder, other.decoder, embedding_size=8, num_steps=3)
    with pytest.raises(ValueError, match="embedding has size 16 but this decoder reads embeddings of size 8"):
        sae.decode(torch.zeros(3, 2, 16))


def test_bad_settings():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        conv_sae(kernel_size=4)
    with pytest.raises(ValueError, match="recurrent .* 0, 1 or 2"):
        conv_sae(recurrent=3)
    with pytest.raises(ValueError, match="multiple of 4"):
        conv_ae(image_size=30)
    with pytest.raises(ValueError, match=r"x must be images \[B, C, H, W\]"):
        conv_sae(channels=(2, 4), num_steps=3)(torch.rand(2, 3, 1, 28, 28))
    with pytest.raises(ValueError, match=r"spike trains \[B, T=3, C, H, W\]"):
        conv_sae(channels=(2, 4), num_steps=3, in_channels=2, rate_coded=False)(torch.rand(2, 2, 28, 28))


def test_recurrent_lif_is_snntorch_rleaky_over_time_and_keeps_no_state():
    layer = RecurrentLIF(5, beta=0.8)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    x = torch.randn(6, 3, 5, dtype=torch.float32)
    out = layer(x)
    reference = snn.RLeaky(beta=0.8, linear_features=5, all_to_all=True)
    reference.load_state_dict({k.removeprefix("cell."): v for k, v in before.items()})
    spk, mem = torch.zeros(3, 5), torch.zeros(3, 5)
    expected = []
    for t in range(6):
        spk, mem = reference(x[t], spk, mem)
        expected.append(spk)
    assert torch.equal(out, torch.stack(expected))
    after = layer.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # no state left behind for checkpoints
    assert sum(isinstance(m, RecurrentLIF) for m in conv_sae(channels=(2, 4), num_steps=2, recurrent=2).modules()) == 2


def test_event_models_take_batch_first_frames():
    frames = torch.randint(0, 2, (2, 6, 2, 28, 28), dtype=torch.uint8)
    sae = conv_sae(channels=(2, 4), embedding=4, num_steps=6, in_channels=2, rate_coded=False)
    out, shown = sae(frames)
    assert shown.shape == (2, 2, 28, 28) and torch.equal(shown, frames.float().sum(1))
    assert out.shape == shown.shape
    assert event_snn(kernel_size=3, channels=(2, 4))(frames).shape == (2, 10)
    assert isinstance(sae.encoder, SpikingSequential)


# ----------------------------------------------------------------------------- data
def _digits(n: int = 6) -> ImageSet:
    g = torch.Generator().manual_seed(0)
    images = torch.zeros(n, 1, 28, 28)
    for i in range(n):
        r, c = torch.randint(6, 16, (2,), generator=g).tolist()
        images[i, 0, r:r + 8, c:c + 4] = 1.0
    return ImageSet(images, torch.arange(n) % 10, [str(d) for d in range(10)], "Toy", "test", "bars")


def test_autoencoder_pairs():
    digits = _digits()
    pairs = autoencoder_pairs(digits)
    x, y = next(iter(pairs.loader(batch_size=4)))
    assert torch.equal(x, y) and len(pairs) == 6 and pairs.title == digits.title
    with pytest.raises(ValueError, match="same samples"):
        Pairs(torch.zeros(3), torch.zeros(2), torch.zeros(3), [], "bad")


def test_events_through_tonic_keep_every_event_and_the_polarity():
    g = torch.Generator().manual_seed(1)
    counts = torch.randint(0, 3, (5, 2, 34, 34), generator=g).float()
    events = to_tonic_events(counts, step_us=500)
    assert len(events) == int(counts.sum()) and np.all(np.diff(events["t"]) >= 0)
    assert int((events["p"] == 1).sum()) == int(counts[:, 0].sum())  # channel 0 is ON, tonic's p = 1
    frames = bin_events(events, (34, 34), size=28, bin_us=1000, n_bins=3)
    assert frames.shape == (3, 2, 28, 28)
    assert int(frames.sum()) == int(counts.sum())  # 5 half-ms steps fall in 3 ms bins, none lost
    assert int(frames[:, 0].sum()) == int(counts[:, 0].sum())
    assert int(frames[0].sum()) == int(counts[:2].sum())  # steps 0 and 1 (0 and 0.5 ms) in the first bin
    with pytest.raises(ValueError, match=r"\[T, 2, H, W\]"):
        to_tonic_events(torch.zeros(3, 34, 34), 500)


def test_dvs_gesture_offline_is_a_data_unavailable_error(tmp_path):
    with pytest.raises(DataUnavailableError, match="download=False"):
        load_dvs_gesture(2, download=False, root=tmp_path)


def test_moving_digits_make_on_and_off_events_and_still_black_makes_none():
    digits = _digits(3).images
    frames = zoo_events.moving_digit_events(torch.cat([digits, torch.zeros(1, 1, 28, 28)]), num_bins=8,
                                            progress=False)
    assert frames.shape == (4, 8, 2, 28, 28) and frames.dtype == torch.uint8 and int(frames.max()) == 1
    assert frames[:3, :, 0].sum() > 0 and frames[:3, :, 1].sum() > 0
    assert frames[3].sum() == 0


# ----------------------------------------------------------------------------- analysis
def test_sample_nrmse_noise_floor_and_embeddings_are_paired():
    digits = autoencoder_pairs(_digits(6))
    sae = conv_sae(kernel_size=3, embedding=4, channels=(2, 4), num_steps=8, f_on=150.0)
    per = sample_nrmse(sae, digits, "cpu", batch_size=6)
    sae.eval()
    with torch.no_grad():
        assert per.mean() == pytest.approx(reconstruction_loss(sae(digits.inputs)).item(), rel=1e-5)
    floor = noise_floor(sae, digits, "cpu", batch_size=6)
    assert floor.shape == (6,) and np.all(floor < 1) and np.all(floor > 0)
    assert embeddings(sae, digits, "cpu").shape == (6, 4) and not sae.training
    with pytest.raises(ValueError, match="rate-codes"):
        noise_floor(conv_sae(channels=(2, 4), num_steps=2, in_channels=2, rate_coded=False), digits, "cpu")


@pytest.mark.slow
def test_umap_is_reproducible():
    pytest.importorskip("umap")
    from labkit.analysis import umap_2d

    points = np.random.default_rng(0).normal(size=(60, 5))
    a, b = umap_2d(points, seed=0), umap_2d(points, seed=0)
    assert a.shape == (60, 2) and np.allclose(a, b)
    with pytest.raises(ValueError, match="all the same"):
        umap_2d(np.zeros((10, 3)))


# ----------------------------------------------------------------------------- catalogue and figures
def test_autoencoder_course_is_valid_and_sweeps_every_setting():
    for quick in (True, False):
        variants = autoencoder_course(quick)
        for name, _, overrides in variants:
            assert settings(name, quick, **overrides)
        sweeps = AUTOENCODER_SWEEPS["quick" if quick else "full"]
        kernels = {settings(n, quick, **o)["kernel_size"] for n, _, o in variants if n == "mnist-sae"}
        assert kernels == set(sweeps["kernel_size"])
        assert len(variants) == len({(n, s, tuple(sorted(o.items()))) for n, s, o in variants})


def test_a_new_model_file_retrains_nothing_else():
    from labkit.zoo import store

    def files(name):
        spec = store.entry(name)
        model = spec.build(**store._arch(settings(name, True)))
        found = set().union(*(store._module_files(type(m).__module__) for m in model.modules()))
        return {f.name for f in store._code_closure(found)}

    assert "autoencoder.py" in files("mnist-sae") and "autoencoder.py" not in files("mnist-snn")
    assert "events.py" in files("event-snn")


def test_figures_have_titles_and_labels():
    spikes = (torch.rand(6, 2, 1, 28, 28) < 0.3).float()
    fig = rviz.reconstruction_grid(torch.rand(2, 1, 28, 28), spikes, [0, 3], "Toy", baseline=torch.rand(2, 1, 28, 28))
    assert fig._suptitle.get_text() == "Toy" and len(fig.axes) == 2 * 5  # input, 2 steps, mean, baseline
    with pytest.raises(ValueError, match="outside"):
        rviz.reconstruction_grid(torch.rand(2, 1, 28, 28), spikes, [6], "Toy")
    fig = rviz.embedding_maps({"SAE": np.zeros((4, 2)), "AE": np.ones((4, 2))}, np.array([0, 1, 0, 1]), ["a", "b"], "T")
    assert fig.axes[0].get_xlabel() == "UMAP 1 (a.u.)"
    fig = rviz.value_heatmap(np.array([[0.5, np.nan], [0.4, 0.3]]), ["0", "25"], ["50", "100"], "Grid",
                             "f_off (Hz)", "f_on (Hz)", "nRMSE")
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.500", "0.400", "0.300"]  # the NaN cell stays blank
    interval = Interval(0.5, 0.4, 0.6, 0.95, 10, "toy")
    with pytest.raises(ValueError, match="2 intervals for 3 x values"):
        rviz.sweep([1, 2, 3], {"SAE": [interval, interval]}, "T", "x", "y")
