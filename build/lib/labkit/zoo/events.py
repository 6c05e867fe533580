"""Event data of the catalogue: digits moved along saccades, seen by the emulated event camera, binned with tonic.

Offline there is no real event recording, so the event networks of the
catalogue learn from emulated ones, made the way N-MNIST was recorded (Orchard et
al. 2015): each digit is padded to 34 x 34 pixels (N-MNIST's sensor), moved along
three saccades (:func:`labkit.spiking.stimuli.saccade`), and watched by the ideal
event camera of :func:`labkit.spiking.events.emulate_events`. The events then go
through tonic as a real recording would (:mod:`labkit.data.events`):
``Downsample`` to 28 x 28 pixels and ``ToFrame`` in millisecond bins. The frames
are clipped to 0/1 (an event or none per pixel, polarity and millisecond), the
input of a spiking network.

Examples
--------
>>> import torch
>>> digit = torch.zeros(1, 1, 28, 28); digit[0, 0, 8:20, 12:16] = 1.0
>>> frames = moving_digit_events(digit, num_bins=6)
>>> frames.shape, frames.dtype, int(frames.max())
(torch.Size([1, 6, 2, 28, 28]), torch.uint8, 1)
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..checks import check_int
from ..config import is_static
from ..data import ImageSet
from ..data.events import bin_events, to_tonic_events
from ..data.pairs import Pairs
from ..spiking.events import emulate_events
from ..spiking.stimuli import saccade

__all__ = ["EVENT_BINS", "moving_digit_events", "event_autoencoder_data", "event_classifier_data"]

#: Millisecond bins per emulated recording (the catalogue's event networks run for this many steps).
EVENT_BINS = 10
_SENSOR = 34  # N-MNIST's sensor side: the 28 px digit with 3 px of room on each side


def moving_digit_events(images: torch.Tensor, num_bins: int = EVENT_BINS, substeps: int = 2, amplitude: float = 3.0,
                        threshold: float = 0.2, batch_size: int = 256, progress: bool | None = None) -> torch.Tensor:
    """Emulated event-camera recordings of still images moved along three saccades, as 0/1 frames ``[N, T, 2, 28, 28]``.

    Each image is padded to 34 x 34, moved along the N-MNIST triangle of
    saccades (``amplitude`` pixels per leg) over ``num_bins`` milliseconds
    sampled ``substeps`` times per millisecond, and turned into ON/OFF events
    (log-intensity ``threshold``); tonic downsamples them to 28 x 28 and bins them
    per millisecond (:func:`labkit.data.events.bin_events`).

    Parameters
    ----------
    images
        ``[N, 1, H, W]`` intensities in [0, 1] (MNIST digits: H = W = 28).
    num_bins
        Length of each recording in milliseconds (one frame per millisecond).
    substeps
        Emulator steps per millisecond.
    amplitude, threshold
        Saccade length in pixels and contrast threshold of the event camera.
    batch_size
        Images emulated at once.
    progress
        Progress bar (default: off in the book build).

    Returns
    -------
    torch.Tensor
        uint8 frames ``[N, num_bins, 2, 28, 28]``, channel 0 ON and 1 OFF, 1 where at least one event fell.
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be grey images [N, 1, H, W], got shape {tuple(images.shape)}.")
    num_bins, substeps = check_int(num_bins, "num_bins"), check_int(substeps, "substeps")
    batch_size = check_int(batch_size, "batch_size")
    h, w = images.shape[-2:]
    side = max(_SENSOR, h, w)
    pad = ((side - w) // 2, side - w - (side - w) // 2, (side - h) // 2, side - h - (side - h) // 2)
    steps = num_bins * substeps
    out = torch.zeros(len(images), num_bins, 2, 28, 28, dtype=torch.uint8)
    show = (not is_static()) if progress is None else progress
    for start in tqdm(range(0, len(images), batch_size), desc="emulating events", disable=not show, leave=False):
        chunk = F.pad(images[start:start + batch_size, 0], pad)                       # [B, side, side]
        b = len(chunk)
        moving = saccade(chunk, steps + 1, amplitude=amplitude)                          # [S+1, B, side, side]
        side_by_side = moving.permute(0, 2, 1, 3).reshape(steps + 1, side, b * side)  # pixels are independent
        counts = emulate_events(side_by_side, threshold=threshold)[1:]                 # [S, 2, side, B*side]
        counts = counts.reshape(steps, 2, side, b, side).permute(3, 0, 1, 2, 4)       # [B, S, 2, side, side]
        for i in range(b):
            events = to_tonic_events(counts[i], step_us=1000 / substeps)
            out[start + i] = bin_events(events, (side, side), size=28, bin_us=1000, n_bins=num_bins).clamp(max=1)
    return out


@lru_cache(maxsize=6)
def _frames(images: ImageSet) -> torch.Tensor:
    """The recordings of one split, made once per process (the autoencoder and the classifiers share them)."""
    return moving_digit_events(images.images)


def _title(images: ImageSet) -> str:
    return f"emulated events of moving digits from {images.title} (28x28 px, 1 ms bins)"


def event_autoencoder_data(images: ImageSet) -> Pairs:
    """Each split's recordings paired with themselves, for an event autoencoder (a catalogue ``prepare``)."""
    frames = _frames(images)
    return Pairs(frames, frames, images.labels, list(images.classes), _title(images))


def event_classifier_data(images: ImageSet) -> Pairs:
    """Each split's recordings with the digit's class, for an event classifier (a catalogue ``prepare``)."""
    return Pairs(_frames(images), images.labels, images.labels, list(images.classes), _title(images))
