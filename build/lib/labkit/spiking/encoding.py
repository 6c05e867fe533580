"""Spike encoding of static inputs: rate, latency and delta codes.

The rate and latency generators are those of :mod:`snntorch.spikegen`; the delta
code is a send-on-delta modulator (see :func:`delta` for why). This module adds the
physical parametrisation used in the book (firing rates in Hz and a step size in
seconds), input validation with errors that name the offending argument, and
summary statistics.

All encoders return a float tensor with time first: ``[num_steps, *x.shape]``.

Examples
--------
>>> import torch
>>> from labkit.spiking import encoding
>>> x = torch.tensor([0.0, 0.5, 1.0])
>>> encoding.rate_probability(x, f_on=100.0, f_off=10.0, dt=1e-3)
tensor([0.0100, 0.0550, 0.1000])
>>> encoding.latency(x, num_steps=5)[:, 2]  # the brightest input spikes first
tensor([1., 0., 0., 0., 0.])
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Sequence

import torch
from snntorch import spikegen

from ..checks import check_int, check_not_empty, check_positive, check_unit_range
from ..stats import Interval
from .stimuli import saccade

__all__ = [
    "rate_probability",
    "rate",
    "rate_decode",
    "rate_count_interval",
    "rate_readout_rmse",
    "rate_readout_rmse_expected",
    "latency",
    "threshold_crossings",
    "delta",
    "sparsity",
    "SCHEMES",
    "encode",
]

SCHEMES = ("rate", "latency", "delta")


def _check_steps(num_steps: int, minimum: int = 1) -> int:
    """``num_steps`` as an int (numpy and tensor integers too), or a ``ValueError`` naming it."""
    return check_int(num_steps, "num_steps", minimum)


def rate_probability(
    x: torch.Tensor, f_on: float = 100.0, f_off: float = 0.0, dt: float = 1e-3
) -> torch.Tensor:
    r"""Per-step spike probability of the rate code, :math:`p = dt\,((f_{on}-f_{off})x + f_{off})`.

    A pixel of intensity 1 fires at ``f_on`` Hz on average and a pixel of
    intensity 0 at ``f_off`` Hz.

    Parameters
    ----------
    x
        Intensities in [0, 1], any shape.
    f_on, f_off
        Firing rates in Hz for intensity 1 and 0 (both >= 0, ``f_off <= f_on``).
    dt
        Simulation step in seconds (> 0).

    Returns
    -------
    torch.Tensor
        Probabilities, same shape as ``x``.

    Raises
    ------
    ValueError
        If ``x`` leaves [0, 1], a rate is negative or NaN, ``f_off > f_on`` (an
        inverted code: bright pixels would fire less than dark ones), ``dt`` is
        not positive, or a probability would exceed 1 (the message names
        ``f_on``/``f_off`` and ``dt``).
    """
    check_unit_range(x)
    if not (f_on >= 0 and f_off >= 0):  # also refuses NaN
        raise ValueError(f"f_on and f_off are rates in Hz and must be >= 0 (got {f_on}, {f_off}).")
    if not dt > 0:
        raise ValueError(f"dt is the step in seconds and must be > 0 (got {dt}).")
    worst = max(f_on, f_off)
    if worst * dt > 1:
        culprit = "f_on" if f_on >= f_off else "f_off"
        raise ValueError(
            f"{culprit}={worst} Hz with dt={dt} s gives a spike probability of "
            f"{worst * dt:.3g} per step (> 1). Lower {culprit} or use dt <= {1 / worst:.3g} s."
        )
    if f_off > f_on:
        raise ValueError(
            f"f_off={f_off} Hz exceeds f_on={f_on} Hz: the code would be inverted (intensity 1 would "
            "fire less than intensity 0). Swap them, or pass 1 - x to code darkness on purpose."
        )
    return dt * ((f_on - f_off) * x + f_off)


def rate(
    x: torch.Tensor,
    num_steps: int,
    f_on: float = 100.0,
    f_off: float = 0.0,
    dt: float = 1e-3,
    uniform: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rate (Poisson-like Bernoulli) code: independent spikes with probability :func:`rate_probability`.

    The spike count of a pixel over ``num_steps`` steps is Binomial(num_steps, p).
    Spikes are drawn by :func:`snntorch.spikegen.rate`, so seed with
    :func:`labkit.config.seed_everything` for reproducible trains.

    Parameters
    ----------
    x
        Intensities in [0, 1], any shape (e.g. ``[B, 1, 28, 28]``).
    num_steps
        Number of time steps ``T``.
    f_on, f_off, dt
        See :func:`rate_probability`.
    uniform
        Optional random numbers in [0, 1) of shape ``[num_steps, *x.shape]``
        to use instead of drawing: a spike wherever ``uniform < p`` (a
        Bernoulli(p) draw). The same numbers give the same trains, e.g. to
        compare two rates with common randomness.

    Returns
    -------
    torch.Tensor
        Spikes (0/1 floats) of shape ``[num_steps, *x.shape]``.

    Examples
    --------
    >>> u = torch.tensor([[0.05], [0.5], [0.09]])
    >>> rate(torch.tensor([1.0]), 3, f_on=100.0, uniform=u)[:, 0].tolist()  # p = 0.1
    [1.0, 0.0, 1.0]
    """
    num_steps = _check_steps(num_steps)
    p = rate_probability(x, f_on=f_on, f_off=f_off, dt=dt)
    if uniform is None:
        return spikegen.rate(p, num_steps=num_steps)
    if tuple(uniform.shape) != (num_steps, *p.shape):
        raise ValueError(f"uniform must have shape [num_steps, *x.shape] = {[num_steps, *p.shape]}, "
                         f"got {list(uniform.shape)}.")
    return (uniform < p).to(p.dtype)


def rate_decode(spikes: torch.Tensor, f_on: float = 100.0, f_off: float = 0.0, dt: float = 1e-3) -> torch.Tensor:
    r"""The intensities a rate code stands for, read from its time average: :math:`(\bar s - f_{off}dt) / ((f_{on} - f_{off})dt)`.

    The inverse of :func:`rate_probability` applied to the spike rate; unbiased,
    so it can leave [0, 1] for short trains (clamp it to show it as an image).

    Parameters
    ----------
    spikes
        Time-first spikes ``[T, ...]`` of :func:`rate`.
    f_on, f_off, dt
        The code's parameters (``f_on > f_off``).

    Examples
    --------
    >>> rate_decode(torch.tensor([[1.0], [0.0], [0.0], [0.0]]), f_on=250.0, dt=1e-3).tolist()  # rate 1/4 per step
    [1.0]
    """
    if not f_on > f_off:
        raise ValueError(f"f_on must exceed f_off to decode the intensities, got f_on={f_on}, f_off={f_off}.")
    check_not_empty(spikes, "spikes")
    return (spikes.float().mean(0) - f_off * dt) / ((f_on - f_off) * dt)


def rate_count_interval(
    x: torch.Tensor, num_steps: int, f_on: float = 100.0, f_off: float = 0.0, dt: float = 1e-3, level: float = 0.95
) -> Interval:
    """Where the total spike count of a rate-coded ``x`` falls, over fresh draws, with probability ``level``.

    Each pixel's count is Binomial(``num_steps``, p), independent of the
    others, so the total has mean ``T sum p`` and variance ``T sum p(1 - p)``;
    the interval is the normal approximation (the sum of many pixels).

    Examples
    --------
    >>> i = rate_count_interval(torch.full((100,), 0.5), 100, f_on=200.0, dt=1e-3)
    >>> round(i.estimate), round(i.low), round(i.high)
    (1000, 941, 1059)
    """
    num_steps = _check_steps(num_steps)
    p = rate_probability(x, f_on=f_on, f_off=f_off, dt=dt).double()
    mean, sd = num_steps * p.sum().item(), math.sqrt(num_steps * (p * (1 - p)).sum().item())
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level}.")
    z = NormalDist().inv_cdf((1 + level) / 2)
    return Interval(mean, mean - z * sd, mean + z * sd, level, x.numel(),
                    f"Binomial spike counts of {x.numel():,} pixels over {num_steps} steps (normal approximation)")


def _windows(windows: Sequence[int]) -> list[int]:
    out = [check_int(t, "windows") for t in windows]
    if not out:
        raise ValueError("windows must list at least one window length T (in steps).")
    return out


def rate_readout_rmse(
    x: torch.Tensor, windows: Sequence[int], repeats: int = 1, f_on: float = 100.0, f_off: float = 0.0,
    dt: float = 1e-3,
) -> torch.Tensor:
    """Error of the intensities read back from the first ``T`` steps of a rate code, for each window ``T``.

    ``repeats`` independent spike trains of ``max(windows)`` steps are drawn;
    each window's error is the root-mean-square over pixels of
    :func:`rate_decode` of the train's first ``T`` steps minus ``x`` (a
    fraction of full scale).

    Returns
    -------
    torch.Tensor
        ``[repeats, len(windows)]`` errors.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> rate_readout_rmse(torch.full((400,), 0.5), [10, 1000], f_on=200.0, dt=1e-3).shape
    torch.Size([1, 2])
    """
    windows = _windows(windows)
    repeats = check_int(repeats, "repeats")
    spikes = rate(x.unsqueeze(0).expand(repeats, *x.shape), max(windows), f_on=f_on, f_off=f_off, dt=dt)
    cumulative = spikes.cumsum(0)
    errors = []
    for t in windows:
        decoded = (cumulative[t - 1] / t - f_off * dt) / ((f_on - f_off) * dt)
        errors.append((decoded - x).pow(2).flatten(1).mean(1).sqrt())
    return torch.stack(errors, dim=1)


def rate_readout_rmse_expected(
    x: torch.Tensor, windows: Sequence[int], f_on: float = 100.0, f_off: float = 0.0, dt: float = 1e-3
) -> torch.Tensor:
    r"""The error :func:`rate_readout_rmse` expects from the Binomial counts: :math:`\sqrt{\overline{p(1-p)}/T} / ((f_{on} - f_{off})dt)`.

    A pixel's rate over ``T`` steps has variance ``p(1 - p) / T``, so the error
    falls like ``1/sqrt(T)``: a straight line of slope -1/2 on log-log axes.

    Examples
    --------
    >>> [round(v, 4) for v in rate_readout_rmse_expected(torch.full((4,), 0.5), [1, 100], f_on=200.0, dt=1e-3).tolist()]
    [1.5, 0.15]
    """
    windows = _windows(windows)
    p = rate_probability(x, f_on=f_on, f_off=f_off, dt=dt)
    spread = (p * (1 - p)).mean()
    return torch.tensor([math.sqrt(spread.item() / t) / ((f_on - f_off) * dt) for t in windows])


def latency(
    x: torch.Tensor,
    num_steps: int,
    threshold: float = 0.01,
    linear: bool = True,
    clip: bool = True,
) -> torch.Tensor:
    """Latency (time-to-first-spike) code: each input fires once, brighter inputs earlier.

    With ``linear=True`` the spike time is ``round((num_steps - 1) * (1 - x))``:
    intensity 1 fires at step 0 and intensity ``threshold`` near the last step.
    With ``linear=False`` snnTorch's RC (logarithmic) code is used instead.
    Inputs below ``threshold`` never fire when ``clip=True`` (otherwise they fire
    at the last step). Wraps :func:`snntorch.spikegen.latency` with ``normalize=True``.

    Parameters
    ----------
    x
        Intensities in [0, 1], any shape, not empty.
    num_steps
        Number of time steps (an integer >= 2).
    threshold
        Intensities below it are treated as silent.
    linear
        Linear instead of logarithmic mapping from intensity to time.
    clip
        Silence inputs below ``threshold``.

    Returns
    -------
    torch.Tensor
        Spikes of shape ``[num_steps, *x.shape]``, at most one per input.
    """
    num_steps = _check_steps(num_steps, minimum=2)  # a latency code needs two steps
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}.")
    check_unit_range(x)
    check_not_empty(x)
    return spikegen.latency(
        x, num_steps=num_steps, threshold=threshold, tau=1, normalize=True,
        linear=linear, clip=clip,
    )


def threshold_crossings(
    signal: torch.Tensor, threshold: float, max_per_step: int | None = None
) -> torch.Tensor:
    """Signed counts of threshold crossings of a time-first signal (send-on-delta).

    Each element keeps a reference level, initialised to ``signal[0]``. At every
    step, ``n = floor(|signal - ref| / threshold)`` crossings (capped at
    ``max_per_step``) are counted with the sign of the change, and the reference
    moves by ``n * threshold`` towards the signal. Small, slow changes therefore
    accumulate until they cross the threshold. Shared by :func:`delta` and
    :func:`labkit.spiking.events.emulate_events`.

    Parameters
    ----------
    signal
        ``[T, ...]`` values.
    threshold
        Crossing size (finite, > 0), in the units of ``signal``.
    max_per_step
        Cap on crossings per step (``1`` gives a one-bit delta modulator).

    Returns
    -------
    torch.Tensor
        Signed counts, same shape and dtype as ``signal``; step 0 is always 0.

    Raises
    ------
    ValueError
        If ``threshold`` is not a finite number > 0 (a NaN threshold would
        silently give NaN counts) or ``signal`` is empty.
    """
    threshold = check_positive(threshold, "threshold")
    check_not_empty(signal, "signal")
    if max_per_step is not None:
        max_per_step = check_int(max_per_step, "max_per_step")
    ref = signal[0].clone()
    out = torch.zeros_like(signal)
    for t in range(1, signal.shape[0]):
        diff = signal[t] - ref
        n = torch.floor(diff.abs() / threshold + 1e-6)  # tolerate round-off in ref
        if max_per_step is not None:
            n = n.clamp(max=max_per_step)
        out[t] = torch.sign(diff) * n
        ref = ref + out[t] * threshold
    return out


def delta(frames: torch.Tensor, threshold: float = 0.1, off_spike: bool = True) -> torch.Tensor:
    """Delta (change) code: a spike each time the input has changed by ``threshold`` since the last spike.

    ON spikes (+1) for increases and, with ``off_spike=True``, OFF spikes (-1)
    for decreases; at most one spike per step (a one-bit delta modulator). The
    first frame only sets the reference, so a still image produces no spikes:
    only change is transmitted.

    This is send-on-delta coding rather than :func:`snntorch.spikegen.delta`,
    which compares each step with the previous one only: a change spread over
    several steps never crosses its threshold and is lost (a ramp from 0 to 1
    over 100 steps gives 0 spikes there and 10 here with ``threshold=0.1``).

    Parameters
    ----------
    frames
        Time-first sequence ``[num_steps, ...]`` of values in [0, 1], not empty.
    threshold
        Change that emits a spike (finite, > 0).
    off_spike
        Emit -1 spikes for decreases (otherwise decreases are silent).

    Returns
    -------
    torch.Tensor
        Spikes in {-1, 0, 1} (or {0, 1}), same shape as ``frames``.
    """
    check_unit_range(frames, "frames")
    if frames.dim() < 2:
        raise ValueError(
            f"frames must be time-first with at least 2 dimensions [num_steps, ...], got shape {tuple(frames.shape)}."
        )
    check_not_empty(frames, "frames")
    threshold = check_positive(threshold, "threshold")
    spikes = threshold_crossings(frames, threshold, max_per_step=1)
    return spikes if off_spike else spikes.clamp(min=0)


def sparsity(spikes: torch.Tensor) -> float:
    """Fraction of (time step, input) entries that carry no spike.

    Parameters
    ----------
    spikes
        Spike tensor of any shape (ON/OFF spikes count as spikes).

    Returns
    -------
    float
        ``1 - (#nonzero entries / #entries)``; 1.0 means silent.

    Examples
    --------
    >>> sparsity(torch.tensor([[0., 1.], [0., -1.]]))
    0.5
    """
    if spikes.numel() == 0:
        raise ValueError("spikes is empty.")
    return 1.0 - torch.count_nonzero(spikes).item() / spikes.numel()


def encode(
    image: torch.Tensor,
    scheme: str,
    num_steps: int,
    f_on: float = 100.0,
    f_off: float = 0.0,
    dt: float = 1e-3,
    threshold: float = 0.1,
) -> torch.Tensor:
    """Encode one still image ``[C, H, W]`` with a named scheme, for side-by-side comparisons.

    ``"rate"`` and ``"latency"`` encode the still image. A still image has no
    change to transmit, so ``"delta"`` encodes the image moving along three
    saccades (:func:`labkit.spiking.stimuli.saccade`, 2 pixels each), like an N-MNIST
    recording.

    Parameters
    ----------
    image
        ``[C, H, W]`` intensities in [0, 1].
    scheme
        One of ``SCHEMES``: "rate", "latency" or "delta".
    num_steps
        Number of time steps.
    f_on, f_off, dt
        Rate-code parameters (ignored by the other schemes).
    threshold
        Latency silence threshold or delta change threshold.

    Returns
    -------
    torch.Tensor
        Spikes ``[num_steps, C, H, W]``.
    """
    num_steps = _check_steps(num_steps)
    if scheme == "rate":
        return rate(image, num_steps, f_on=f_on, f_off=f_off, dt=dt)
    if scheme == "latency":
        return latency(image, num_steps, threshold=min(threshold, 0.5))
    if scheme == "delta":
        return delta(saccade(image, num_steps, amplitude=2.0), threshold=threshold)
    raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}.")
