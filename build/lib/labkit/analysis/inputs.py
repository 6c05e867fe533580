"""Show trained networks other inputs than the still images they learned from: rate-coded spikes, an event camera.

An :class:`InputView` holds, for ``N`` images, what an ANN sees (``still``,
``[N, C, H, W]``) and what an SNN sees (``sequence``, ``[T, N, C, H, W]``, or
``None`` for the still image shown at every step, as in training):

* :func:`still_view`: the images themselves (or adversarial versions of them);
* :func:`rate_view`: each pixel spikes at every step with probability equal to its
  intensity (:func:`labkit.spiking.encoding.rate`); the ANN sees the spikes'
  time average, the noisy image the spike train codes;
* :func:`event_view`: an emulated event camera (the DVS emulator of lab 01,
  :func:`labkit.spiking.events.emulate_events`) watches each image move along
  N-MNIST's saccades (:func:`labkit.spiking.stimuli.saccade`); its events are
  binned into ``T`` frames with :mod:`tonic` (``tonic.transforms.ToFrame``), the
  way recorded DVS data is prepared. Each frame is drawn as the brightness change
  its events signal, starting from mid-grey (brighter for ON, darker for OFF,
  grey where nothing happened), so the input stays in the range the networks
  learned from; a DVS sees no colour, so all three channels are the same. The
  ANN sees the frames' time average.

:func:`compare_on` then feeds one view to an ANN and an SNN and returns their
layer-by-layer CKA (with per-batch terms, for :func:`~labkit.analysis.similarity.cka_interval`)
and which images each network classifies correctly (for
:func:`labkit.stats.bootstrap`).

Examples
--------
>>> import torch
>>> images = torch.rand(4, 3, 16, 16)
>>> view = event_view(images, num_steps=3)
>>> view.still.shape, view.sequence.shape
(torch.Size([4, 3, 16, 16]), torch.Size([3, 4, 3, 16, 16]))
>>> rate_view(images, num_steps=5).sequence.unique().tolist()
[0.0, 1.0]
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_int, check_unit_range
from ..data import tensor_loader
from ..spiking import SpikingSequential, encoding
from ..spiking.events import emulate_events
from ..spiking.stimuli import saccade
from .cka import MinibatchCKA
from .similarity import Net, layer_cka_batches

__all__ = ["InputView", "still_view", "rate_view", "event_view", "events_to_frames", "shown_for", "compare_on",
           "Comparison"]


@dataclass
class InputView:
    """One input per image for each kind of network.

    Attributes
    ----------
    name
        What the input is, for tables and figures.
    still
        ``[N, C, H, W]``: what an ANN sees.
    sequence
        ``[T, N, C, H, W]``: what an SNN sees step by step; ``None``: ``still``
        shown at every step, as the SNN was trained.
    """

    name: str
    still: torch.Tensor
    sequence: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.still.dim() != 4:
            raise ValueError(f"still must be [N, C, H, W], got shape {tuple(self.still.shape)}.")
        if self.sequence is not None and (self.sequence.dim() != 5 or self.sequence.shape[1:] != self.still.shape):
            raise ValueError(f"sequence must be [T, N, C, H, W] with the shape of still after T, got "
                             f"{tuple(self.sequence.shape)} and still {tuple(self.still.shape)}.")

    def __len__(self) -> int:
        return len(self.still)


def _images(images: torch.Tensor) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a tensor [N, C, H, W], got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}.")
    check_unit_range(images, "images")
    return images.float()


def still_view(images: torch.Tensor, name: str = "still images") -> InputView:
    """The images themselves for both networks (the SNN sees each one at every step)."""
    images = images.float()
    if images.dim() != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {tuple(images.shape)}.")
    return InputView(name, images)


def rate_view(images: torch.Tensor, num_steps: int, seed: int = 0, name: str = "rate-coded spikes") -> InputView:
    """Bernoulli spikes with probability = intensity at each of ``num_steps`` steps; the ANN sees their mean."""
    images = _images(images)
    num_steps = check_int(num_steps, "num_steps")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        spikes = encoding.rate(images, num_steps, f_on=1000.0, dt=1e-3)  # p = intensity per 1 ms step
    return InputView(name, spikes.mean(0), spikes)


def events_to_frames(counts: torch.Tensor, num_steps: int) -> torch.Tensor:
    """Bin dense event counts ``[F, 2, H, W]`` (ON, OFF) of ``F`` fine frames into ``num_steps`` frames with tonic.

    The counts become a list of events ``(x, y, t, p)`` (``p = 1`` ON, ``0`` OFF, as
    a DVS reports them), one per event, time-stamped at their fine frame (1 ms
    apart); ``tonic.transforms.ToFrame`` accumulates them into frames of equal
    duration, ``F / num_steps`` fine frames each. Returns ``[num_steps, 2, H, W]``,
    channel 0 ON and 1 OFF, like :func:`labkit.spiking.events.emulate_events`.

    Examples
    --------
    >>> counts = torch.zeros(4, 2, 3, 3); counts[0, 0, 1, 1] = 2; counts[3, 1, 0, 2] = 1
    >>> frames = events_to_frames(counts, num_steps=2)
    >>> frames.shape, frames[0, 0, 1, 1].item(), frames[1, 1, 0, 2].item()
    (torch.Size([2, 2, 3, 3]), 2.0, 1.0)
    """
    import tonic

    if counts.dim() != 4 or counts.shape[1] != 2:
        raise ValueError(f"counts must be [F, 2 (ON, OFF), H, W], got shape {tuple(counts.shape)}.")
    fine, _, h, w = counts.shape
    num_steps = check_int(num_steps, "num_steps")
    if fine % num_steps:
        raise ValueError(f"the {fine} fine frames must split evenly into num_steps={num_steps} frames.")
    c = counts.round().long().numpy()
    f, pol, y, x = np.nonzero(c)
    n = c[f, pol, y, x]
    dt_us = 1000
    events = np.zeros(int(n.sum()), dtype=tonic.io.events_struct)
    events["x"], events["y"] = np.repeat(x, n), np.repeat(y, n)
    events["t"] = np.repeat(f * dt_us + dt_us // 2, n)  # the middle of its fine frame
    events["p"] = np.repeat(1 - pol, n)  # counts channel 0 is ON: tonic's polarity 1
    events = events[np.argsort(events["t"], kind="stable")]
    to_frame = tonic.transforms.ToFrame(sensor_size=(w, h, 2), time_window=fine // num_steps * dt_us,
                                        start_time=0, end_time=fine * dt_us)
    frames = torch.as_tensor(to_frame(events), dtype=torch.float32)  # [T, P (OFF, ON), H, W]
    if frames.shape[0] != num_steps:  # tonic drops empty recordings' windows: pad to a fixed length
        frames = torch.cat([frames, torch.zeros(num_steps - frames.shape[0], 2, h, w)]) if len(events) else \
            torch.zeros(num_steps, 2, h, w)
    return frames.flip(1)


def event_view(images: torch.Tensor, num_steps: int, substeps: int = 2, amplitude: float = 2.0,
               threshold: float = 0.2, eps: float = 0.05, background: float = 0.5,
               name: str = "event camera (emulated)") -> InputView:
    """What an event camera reports while each image moves along N-MNIST's three saccades.

    The image is extended by repeating its edge pixels before it moves, so the
    camera sees a scene that goes on beyond the image rather than a black border.

    Parameters
    ----------
    images
        ``[N, C, H, W]`` in [0, 1].
    num_steps
        Frames ``T`` the SNN gets (time bins of the events).
    substeps
        Fine frames of the emulation per time bin (the saccades are rendered at
        ``num_steps * substeps + 1`` positions; the first only sets the pixels'
        reference brightness).
    amplitude
        Length of one saccade in pixels.
    threshold, eps
        Contrast threshold ``C`` and log offset of :func:`labkit.spiking.events.emulate_events`.
    background
        Grey level of a pixel without events.
    name
        For tables and figures.

    Returns
    -------
    InputView
        ``sequence`` ``[T, N, C, H, W]``: each bin drawn as
        ``background * exp(C * (ON - OFF))`` clipped to [0, 1] (an event signals a
        change of ``C`` in log brightness), the same in every colour channel;
        ``still``: its time average.
    """
    images = _images(images)
    num_steps = check_int(num_steps, "num_steps")
    substeps = check_int(substeps, "substeps")
    if not 0 < background < 1:
        raise ValueError(f"background must be a grey level in (0, 1), got {background}.")
    n, c, h, w = images.shape
    fine = num_steps * substeps + 1
    pad = int(math.ceil(amplitude)) + 1  # the scene goes on beyond the image: no black border moves into view
    scene = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    moving = saccade(scene.reshape(n * c, h + 2 * pad, w + 2 * pad), fine, amplitude)  # all images at once
    moving = moving[..., pad:pad + h, pad:pad + w]
    luminance = moving.reshape(fine, n, c, h, w).mean(2)  # a DVS sees brightness, not colour
    counts = emulate_events(luminance.reshape(fine, n * h, w), threshold, eps)[1:]  # pixels are independent
    frames = events_to_frames(counts, num_steps).reshape(num_steps, 2, n, h, w)  # all images as one tall sensor
    signed = frames[:, 0] - frames[:, 1]  # [T, N, H, W]
    drawn = (background * torch.exp(threshold * signed)).clamp(0, 1)  # the brightness change the events signal
    sequence = drawn.unsqueeze(2).expand(num_steps, n, c, h, w).contiguous()
    return InputView(name, sequence.mean(0), sequence)


@contextmanager
def shown_for(model: nn.Module, num_steps: int) -> Iterator[nn.Module]:
    """Show a still input for ``num_steps`` steps inside the block (e.g. longer than the SNN was trained for).

    Sets ``num_steps`` of every :class:`~labkit.spiking.SpikingSequential` of
    ``model`` that takes a still input, and restores it afterwards.
    """
    num_steps = check_int(num_steps, "num_steps")
    stems = [m for m in model.modules() if isinstance(m, SpikingSequential) and m.static_input]
    if not stems:
        raise TypeError("shown_for needs a spiking network whose input layers take a still image (static_input=True).")
    before = [m.num_steps for m in stems]
    for m in stems:
        m.num_steps = num_steps
    try:
        yield model
    finally:
        for m, steps in zip(stems, before):
            m.num_steps = steps


@contextmanager
def _sequence_input(model: nn.Module, on: bool) -> Iterator[None]:
    """Switch the SNN's input layers to sequences ``[T, B, ...]`` inside the block when ``on``."""
    stems = [m for m in model.modules() if isinstance(m, SpikingSequential) and m.static_input] if on else []
    for m in stems:
        m.static_input = False
    try:
        yield
    finally:
        for m in stems:
            m.static_input = True


@dataclass
class Comparison:
    """An ANN and an SNN shown one :class:`InputView`.

    Attributes
    ----------
    view
        The view's name.
    cka
        Layer x layer CKA (ANN rows, SNN columns) with per-batch terms:
        ``cka.compute()``, and :func:`~labkit.analysis.similarity.cka_interval`.
    ann_correct, snn_correct
        ``[N]`` 1.0 where the network classifies the image correctly, else 0.0
        (for :func:`labkit.stats.bootstrap`).
    """

    view: str
    cka: MinibatchCKA
    ann_correct: torch.Tensor
    snn_correct: torch.Tensor


def _correct(model: nn.Module, inputs, loader, labels: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    out = []
    with torch.no_grad():
        for (index,) in loader:
            out.append((model(inputs(index)).argmax(1).cpu() == labels[index]).float())
    return torch.cat(out)


def compare_on(ann: Net, snn: Net, view: InputView, labels: torch.Tensor, batch_size: int = 100,
               device: torch.device | str = "cpu") -> Comparison:
    """CKA between every layer of ``ann`` and of ``snn``, and their accuracies, when both are shown ``view``.

    Parameters
    ----------
    ann, snn
        The networks and the layers to compare (``snn.spiking`` must be ``True``;
        their own ``inputs`` are ignored: the view says what each one sees).
    view
        What to show them.
    labels
        ``[N]`` class of each image.
    batch_size
        Images per batch; the batches are the units of the CKA's bootstrap, so
        keep several of them (e.g. 10 batches of 50).
    device
        Where to run.
    """
    if not snn.spiking or ann.spiking:
        raise ValueError("compare_on takes the ANN first (spiking=False) and the SNN second (spiking=True).")
    labels = torch.as_tensor(labels).long().cpu()
    if len(labels) != len(view):
        raise ValueError(f"labels has {len(labels)} entries for a view of {len(view)} images.")
    device = torch.device(device)
    loader = tensor_loader(torch.arange(len(view)), batch_size=batch_size)

    def still(index: torch.Tensor) -> torch.Tensor:
        return view.still[index.cpu()].to(device)

    def seen_by_snn(index: torch.Tensor) -> torch.Tensor:
        return still(index) if view.sequence is None else view.sequence[:, index.cpu()].to(device)

    a = Net(ann.model, ann.layers, spiking=False, inputs=still)
    s = Net(snn.model, snn.layers, spiking=True, inputs=seen_by_snn)
    with _sequence_input(snn.model, view.sequence is not None):
        cka = layer_cka_batches(a, s, loader, device)
        ann_correct = _correct(ann.model, still, loader, labels, device)
        snn_correct = _correct(snn.model, seen_by_snn, loader, labels, device)
    return Comparison(view.name, cka, ann_correct, snn_correct)
