"""Event streams as frames: events in tonic's format, downsampled and binned in time with tonic, and DVS Gesture.

An event camera reports ``(x, y, t, p)`` tuples: a pixel, a time in
microseconds and a polarity (ON: brighter, OFF: darker). :mod:`tonic` holds them
as numpy structured arrays and turns them into frames. This module converts the
dense event counts of :func:`labkit.spiking.events.emulate_events` into that
format (:func:`to_tonic_events`), bins any stream into frames of a chosen size and
time bin with tonic's ``Downsample`` and ``ToFrame`` (:func:`bin_events`), and
loads DVS Gesture (Amir et al. 2017) through tonic, binned the same way
(:func:`load_dvs_gesture`); offline, that raises
:class:`~labkit.data.DataUnavailableError`, which a lab reports as a skipped step.

Frames are ``[T, 2, H, W]`` with channel 0 ON and channel 1 OFF, the order of
:func:`~labkit.spiking.events.emulate_events`.

Examples
--------
>>> import torch
>>> counts = torch.zeros(3, 2, 34, 34); counts[1, 0, 33, 5] = 2; counts[2, 1, 0, 0] = 1
>>> events = to_tonic_events(counts, step_us=500)
>>> events["t"].tolist(), events["p"].tolist()  # two ON events at 0.5 ms, one OFF at 1 ms
([500, 500, 1000], [1, 1, 0])
>>> frames = bin_events(events, sensor_size=(34, 34), size=28, bin_us=1000, n_bins=2)
>>> frames.shape, frames[0, 0, 27, 4].item(), frames[1, 1, 0, 0].item()
(torch.Size([2, 2, 28, 28]), 2, 1)
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..checks import check_int, check_positive
from ..config import cache_dir
from .datasets import DataUnavailableError
from .pairs import Pairs

__all__ = ["EVENT_DTYPE", "to_tonic_events", "bin_events", "load_dvs_gesture", "DVS_GESTURE_CLASSES"]

#: The event layout of tonic's DVS datasets, used for every event here; pixel, time in microseconds, polarity (1 ON, 0 OFF).
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int16)])

DVS_GESTURE_CLASSES: list[str] = [
    "hand clap", "right hand wave", "left hand wave", "right arm cw", "right arm ccw", "left arm cw",
    "left arm ccw", "arm roll", "air drums", "air guitar", "other",
]


def to_tonic_events(counts: torch.Tensor, step_us: float) -> np.ndarray:
    """Dense event counts ``[T, 2, H, W]`` (channel 0 ON, 1 OFF) to tonic's structured array, in time order.

    A count of ``n`` at step ``s`` becomes ``n`` events at ``t = s * step_us`` microseconds.

    Parameters
    ----------
    counts
        Non-negative integer-valued event counts, e.g. from
        :func:`labkit.spiking.events.emulate_events`.
    step_us
        Duration of one step in microseconds (> 0).

    Returns
    -------
    numpy.ndarray
        Events with fields ``x``, ``y``, ``t`` (µs), ``p`` (1 ON, 0 OFF), dtype :data:`EVENT_DTYPE`.
    """
    if counts.dim() != 4 or counts.shape[1] != 2:
        raise ValueError(f"counts must be [T, 2, H, W] (ON, OFF), got shape {tuple(counts.shape)}.")
    step_us = check_positive(step_us, "step_us")
    c = counts.detach().cpu().round().long()
    if bool((c < 0).any()):
        raise ValueError("counts must be >= 0 (event counts per polarity).")
    t, pol, y, x = c.nonzero(as_tuple=True)
    repeat = c[t, pol, y, x]
    events = np.zeros(int(repeat.sum()), dtype=EVENT_DTYPE)
    events["x"] = np.repeat(x.numpy(), repeat.numpy())
    events["y"] = np.repeat(y.numpy(), repeat.numpy())
    events["t"] = np.repeat(np.round(t.numpy() * step_us).astype(np.int64), repeat.numpy())
    events["p"] = np.repeat((pol == 0).numpy().astype(np.int16), repeat.numpy())
    return events[np.argsort(events["t"], kind="stable")]


def bin_events(events: np.ndarray, sensor_size: Sequence[int], size: int = 28, bin_us: float = 1000.0,
               n_bins: int = 20, start_us: float = 0.0) -> torch.Tensor:
    """Events to frames with tonic: ``Downsample`` to ``size`` x ``size`` pixels, then ``ToFrame`` with ``bin_us`` bins.

    Parameters
    ----------
    events
        tonic events (fields ``x``, ``y``, ``t`` in µs, ``p``).
    sensor_size
        ``(width, height)`` of the sensor that recorded them.
    size
        Side of the frames after downsampling.
    bin_us
        Time bin in microseconds (1000: millisecond bins).
    n_bins
        Number of bins, from ``start_us``; later events are dropped.
    start_us
        Start of the first bin.

    Returns
    -------
    torch.Tensor
        Event counts ``[n_bins, 2, size, size]`` (int16), channel 0 ON, 1 OFF.
    """
    import tonic.transforms as tt

    width, height = (check_int(s, "sensor_size") for s in tuple(sensor_size)[:2])
    size, n_bins = check_int(size, "size"), check_int(n_bins, "n_bins")
    bin_us, end = check_positive(bin_us, "bin_us"), start_us + n_bins * bin_us
    frames = np.zeros((n_bins, 2, size, size), dtype=np.int16)
    picked = events[(events["t"] >= start_us) & (events["t"] < end)]
    inside = np.zeros(len(picked), dtype=EVENT_DTYPE)  # tonic indexes channels by p: make it an integer
    for field in EVENT_DTYPE.names:
        inside[field] = picked[field]
    if len(inside):
        small = tt.Downsample(sensor_size=(width, height, 2), target_size=(size, size))(inside)
        frames = tt.ToFrame(sensor_size=(size, size, 2), time_window=bin_us, start_time=start_us,
                            end_time=end)(small)[:n_bins]
    return torch.from_numpy(np.ascontiguousarray(frames)).flip(1)  # tonic: channel = p (0 OFF, 1 ON)


def load_dvs_gesture(n: int, train: bool = False, size: int = 28, bin_us: float = 1000.0, n_bins: int = 20,
                     start_us: float = 0.0, download: bool = True, root: Path | None = None) -> Pairs:
    """The first ``n`` DVS Gesture recordings (Amir et al. 2017) via tonic, as binary frames like the emulated events.

    Each recording (128 x 128 pixels) is downsampled to ``size`` x ``size`` and
    binned into ``n_bins`` bins of ``bin_us`` µs from ``start_us``
    (:func:`bin_events`); frames are clipped to 0/1 (an event or none per pixel
    and bin), as spiking inputs.

    Parameters
    ----------
    n
        Number of recordings.
    train
        Training split (about 1,100 recordings) instead of the test split (about 260).
    size, bin_us, n_bins, start_us
        As in :func:`bin_events`.
    download
        Let tonic download the split (a large archive) into ``cache_dir()/"tonic"``
        when it is not there yet; ``False`` uses a copy already there only.
    root
        Folder for tonic (default ``cache_dir()/"tonic"``).

    Returns
    -------
    Pairs
        ``inputs`` frames ``[n, n_bins, 2, size, size]`` (uint8, 0/1), ``targets``
        and ``labels`` the gesture classes (``DVS_GESTURE_CLASSES``).

    Raises
    ------
    labkit.data.DataUnavailableError
        When tonic cannot provide the recordings (offline, or ``download=False``
        with no copy): nothing is wrong with the caller; report the step as skipped.
    """
    n = check_int(n, "n")
    folder = Path(root) if root is not None else cache_dir() / "tonic"
    split = "ibmGestureTrain" if train else "ibmGestureTest"
    if not download and not (folder / "DVSGesture" / split).is_dir():
        raise DataUnavailableError(f"DVS Gesture ({split}) is not in {folder} and download=False.")
    try:
        import tonic

        dataset = tonic.datasets.DVSGesture(save_to=str(folder), train=train)
        recordings = [dataset[i] for i in range(min(n, len(dataset)))]
    except Exception as exc:  # network errors surface as many different types
        raise DataUnavailableError(
            f"DVS Gesture could not be loaded with tonic ({type(exc).__name__}: {exc}). Real DVS recordings need an "
            "internet connection (or a copy in the tonic folder); there is no offline copy.") from exc
    sensor = tonic.datasets.DVSGesture.sensor_size
    frames = torch.stack([bin_events(ev, sensor[:2], size, bin_us, n_bins, start_us + (int(ev["t"].min()) if len(ev) else 0))
                          for ev, _ in recordings])
    labels = torch.tensor([int(label) for _, label in recordings])
    title = f"DVS Gesture ({'train' if train else 'test'} split, {size}x{size} px, {bin_us / 1000:g} ms bins)"
    return Pairs(frames.clamp(max=1).to(torch.uint8), labels, labels, list(DVS_GESTURE_CLASSES), title)
