import math

import numpy as np
import pytest
import torch

from labkit.spiking import encoding, stimuli


def test_rate_probability_formula():
    x = torch.tensor([0.0, 0.25, 1.0])
    p = encoding.rate_probability(x, f_on=200.0, f_off=20.0, dt=2e-3)
    expected = 2e-3 * ((200.0 - 20.0) * x + 20.0)
    assert torch.allclose(p, expected)


@pytest.mark.parametrize("x_value,f_on,f_off,dt", [(0.5, 100.0, 10.0, 1e-3), (0.9, 400.0, 0.0, 1e-3), (0.0, 50.0, 30.0, 2e-3)])
def test_rate_counts_are_binomial(x_value, f_on, f_off, dt):
    """Counts over T steps have the Binomial(T, p) mean and variance (5 standard errors)."""
    T, n = 100, 20_000
    x = torch.full((n,), x_value)
    counts = encoding.rate(x, T, f_on=f_on, f_off=f_off, dt=dt).sum(0)
    p = dt * ((f_on - f_off) * x_value + f_off)
    mean, var = T * p, T * p * (1 - p)
    se_mean = math.sqrt(var / n)
    # standard error of the sample variance: sqrt((mu4 - var^2 (n-3)/(n-1)) / n); mu4 of a
    # Binomial is var * (1 + 3 (T - 2) var / T) (for large T), so use a generous bound
    se_var = var * math.sqrt(2 / n) * 2
    assert abs(counts.mean().item() - mean) < 5 * se_mean
    assert abs(counts.var().item() - var) < 5 * se_var


def test_rate_shape_and_values():
    spikes = encoding.rate(torch.rand(2, 1, 4, 4), 7)
    assert spikes.shape == (7, 2, 1, 4, 4)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("kwargs,name", [
    (dict(f_on=2000.0, dt=1e-3), "f_on"),
    (dict(f_on=10.0, f_off=1500.0, dt=1e-3), "f_off"),
])
def test_rate_probability_above_one_names_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"{name}=.*dt"):
        encoding.rate(torch.rand(3), 5, **kwargs)


@pytest.mark.parametrize("bad", [torch.tensor([1.5]), torch.tensor([-0.1]), torch.tensor([float("nan")])])
def test_inputs_outside_unit_range_are_rejected(bad):
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        encoding.rate(bad, 5)
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        encoding.latency(bad, 5)


def test_uint8_input_gives_clear_error():
    with pytest.raises(TypeError, match=r"/ 255"):
        encoding.rate(torch.tensor([3], dtype=torch.uint8), 5)


@pytest.mark.parametrize("bad_steps", [0, -3, 2.5])
def test_num_steps_validated(bad_steps):
    with pytest.raises(ValueError, match="num_steps"):
        encoding.rate(torch.rand(3), bad_steps)


@pytest.mark.parametrize("call", [
    lambda n: stimuli.step_current(n, 1.0),
    lambda n: stimuli.ramp_current(n, 1.0),
    lambda n: stimuli.noisy_current(n, 0.0, 1.0),
    lambda n: stimuli.saccade_path(n),
    lambda n: stimuli.saccade(torch.rand(1, 4, 4), n),
    lambda n: encoding.encode(torch.rand(1, 4, 4), "delta", n),
    lambda n: encoding.latency(torch.rand(3), n),
])
def test_non_integer_num_steps_is_refused_before_torch_fails(call):
    """2.5 (or 4.0) steps used to pass the check and fail inside torch.zeros/linspace/expand."""
    for bad in (2.5, 4.0, True):
        with pytest.raises(ValueError, match=r"num_steps must be an integer, got"):
            call(bad)
    assert len(call(np.int64(4))) == 4  # numpy integers are integers


def test_rate_refuses_an_inverted_code():
    with pytest.raises(ValueError, match=r"f_off=100.0 Hz exceeds f_on=10.0 Hz.*inverted"):
        encoding.rate(torch.rand(3), 5, f_on=10.0, f_off=100.0)
    with pytest.raises(ValueError, match="f_on and f_off"):
        encoding.rate_probability(torch.rand(3), f_on=float("nan"))


@pytest.mark.parametrize("threshold", [float("nan"), float("inf")])
def test_delta_threshold_must_be_finite_and_positive(threshold):
    frames = torch.linspace(0, 1, 5).view(5, 1)
    with pytest.raises(ValueError, match="threshold must be a finite number > 0"):
        encoding.delta(frames, threshold=threshold)
    with pytest.raises(ValueError, match="threshold must be a finite number > 0"):
        encoding.threshold_crossings(frames, threshold)


def test_empty_inputs_are_named():
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0,\)\)"):
        encoding.latency(torch.empty(0), 5)
    with pytest.raises(ValueError, match=r"frames is empty \(shape \(0, 3\)\)"):
        encoding.delta(torch.empty(0, 3))


def test_latency_known_vector():
    # linear code: step = round((T - 1) * (1 - x)); below threshold: silent
    x = torch.tensor([1.0, 0.5, 0.25, 0.6, 0.005])
    spikes = encoding.latency(x, num_steps=5, threshold=0.01)
    assert spikes.shape == (5, 5)
    assert spikes.sum(0).tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert spikes[:, :4].argmax(0).tolist() == [0, 2, 3, 2]


def test_latency_unclipped_silent_input_fires_last():
    spikes = encoding.latency(torch.tensor([0.0]), num_steps=6, clip=False)
    assert spikes[:, 0].tolist() == [0, 0, 0, 0, 0, 1]


def test_delta_known_vector():
    # reference 0.2 -> 0.3 -> 0.4 -> 0.3 -> 0.2: one spike per step while the gap exceeds 0.1
    frames = torch.tensor([[0.2], [0.5], [0.55], [0.1], [0.1]])
    assert encoding.delta(frames, threshold=0.1)[:, 0].tolist() == [0, 1, 1, -1, -1]
    assert encoding.delta(frames, threshold=0.1, off_spike=False)[:, 0].tolist() == [0, 1, 1, 0, 0]


def test_delta_transmits_slow_ramp_that_snntorch_delta_misses():
    from snntorch import spikegen

    ramp = torch.linspace(0, 1, 100).unsqueeze(1)
    assert spikegen.delta(ramp, threshold=0.1, padding=True).abs().sum() == 0
    spikes = encoding.delta(ramp, threshold=0.1)
    assert spikes.sum().item() == 10  # 1.0 / 0.1 crossings, all ON
    assert spikes.min().item() == 0


def test_threshold_crossings_counts_and_cap():
    signal = torch.tensor([0.0, 0.35, 0.35, 0.0])
    assert encoding.threshold_crossings(signal, 0.1).tolist() == [0, 3, 0, -3]
    assert encoding.threshold_crossings(signal, 0.1, max_per_step=1).tolist() == [0, 1, 1, -1]
    with pytest.raises(ValueError, match="threshold"):
        encoding.threshold_crossings(signal, 0.0)


@pytest.mark.parametrize("scheme", ["rate", "latency", "delta"])
def test_encode_schemes_spike_on_a_digit_like_image(scheme):
    img = torch.zeros(1, 12, 12)
    img[0, 3:9, 5:7] = 0.9
    spikes = encoding.encode(img, scheme, 40)
    assert spikes.shape == (40, 1, 12, 12)
    assert spikes.abs().sum() > 0


def test_encode_unknown_scheme():
    with pytest.raises(ValueError, match="scheme must be one of"):
        encoding.encode(torch.rand(1, 4, 4), "phase", 10)


def test_delta_of_still_image_is_silent():
    frames = torch.rand(1, 3, 3).expand(10, 3, 3).contiguous()
    assert encoding.delta(frames).abs().sum() == 0


def test_delta_needs_time_axis():
    with pytest.raises(ValueError, match="time-first"):
        encoding.delta(torch.rand(5))


def test_sparsity():
    assert encoding.sparsity(torch.zeros(4, 4)) == 1.0
    assert encoding.sparsity(torch.tensor([1.0, 0.0, -1.0, 0.0])) == 0.5


def test_rate_with_given_uniform_numbers_spikes_where_they_fall_below_p():
    x = torch.tensor([0.0, 0.5, 1.0])
    u = torch.rand(50, 3, generator=torch.Generator().manual_seed(0))
    spikes = encoding.rate(x, 50, f_on=200.0, f_off=10.0, dt=1e-3, uniform=u)
    p = encoding.rate_probability(x, 200.0, 10.0, 1e-3)
    assert torch.equal(spikes, (u < p).float())
    with pytest.raises(ValueError, match=r"uniform must have shape \[num_steps, \*x.shape\]"):
        encoding.rate(x, 49, uniform=u)


def test_rate_decode_inverts_the_rate_probability():
    x = torch.linspace(0, 1, 11)
    p = encoding.rate_probability(x, 150.0, 20.0, 2e-3)
    assert torch.allclose(encoding.rate_decode(p.expand(7, -1), 150.0, 20.0, 2e-3), x, atol=1e-6)
    with pytest.raises(ValueError, match="f_on must exceed f_off"):
        encoding.rate_decode(torch.ones(3, 2), f_on=10.0, f_off=10.0)


def test_rate_readout_error_follows_the_binomial_prediction():
    torch.manual_seed(0)
    x = torch.rand(1, 28, 28)
    windows = [10, 100, 1000]
    errors = encoding.rate_readout_rmse(x, windows, repeats=20, f_on=200.0, f_off=10.0, dt=1e-3)
    expected = encoding.rate_readout_rmse_expected(x, windows, f_on=200.0, f_off=10.0, dt=1e-3)
    assert errors.shape == (20, 3)
    assert torch.allclose(errors.mean(0), expected, rtol=0.05)
    slope = np.polyfit(np.log(windows), np.log(errors.mean(0).numpy()), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.03)


def test_rate_count_interval_covers_fresh_draws():
    torch.manual_seed(0)
    x = torch.rand(1, 28, 28)
    interval = encoding.rate_count_interval(x, 100, f_on=200.0, f_off=10.0, dt=1e-3)
    counts = encoding.rate(x.expand(400, -1, -1, -1), 100, f_on=200.0, f_off=10.0, dt=1e-3).sum(dim=(0, 2, 3, 4))
    inside = ((counts >= interval.low) & (counts <= interval.high)).float().mean().item()
    assert 0.92 <= inside <= 0.98
    assert interval.estimate == pytest.approx(counts.mean().item(), rel=0.01)
    with pytest.raises(ValueError, match="level"):
        encoding.rate_count_interval(x, 100, level=95)
