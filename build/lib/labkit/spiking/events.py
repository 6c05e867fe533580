"""Event-camera emulation: move a still image and turn brightness changes into ON/OFF events.

A dynamic vision sensor (DVS) pixel emits an ON event when its log intensity has
risen by a contrast threshold ``C`` since its last event and an OFF event when it
has fallen by ``C`` (Lichtsteiner et al. 2008). N-MNIST was recorded by moving
such a sensor along three saccades in front of MNIST digits (Orchard et al.
2015); :func:`~labkit.spiking.stimuli.saccade` reproduces that motion and :func:`emulate_events` the
pixel model, in the spirit of v2e/ESIM but without their noise and bandwidth
models.

Examples
--------
>>> import torch
>>> from labkit.spiking.stimuli import saccade
>>> img = torch.zeros(1, 8, 8); img[:, 2:6, 3:5] = 1.0
>>> frames = saccade(img, num_steps=12, amplitude=2.0)
>>> events = emulate_events(frames, threshold=0.2)
>>> events.shape  # [T, 2 polarities, H, W]
torch.Size([12, 2, 8, 8])
"""

from __future__ import annotations

import torch

from ..config import cache_dir
from ..data import DataUnavailableError

from ..checks import check_unit_range
from .encoding import threshold_crossings

__all__ = ["emulate_events", "load_nmnist_sample"]


def emulate_events(
    frames: torch.Tensor, threshold: float = 0.2, eps: float = 0.05
) -> torch.Tensor:
    """ON/OFF event counts of an ideal DVS watching ``frames``.

    Each pixel keeps a reference log intensity ``L_ref = log(I + eps)`` from its
    last event. At every step, ``n = floor(|L - L_ref| / threshold)`` events of the
    sign of the change are emitted and the reference moves by ``n * threshold``
    towards ``L``. The first frame only sets the references.

    Parameters
    ----------
    frames
        Time-first frames ``[T, H, W]`` or ``[T, C, H, W]`` in [0, 1]; colour
        frames are converted to luminance by averaging channels.
    threshold
        Contrast threshold ``C`` in log-intensity units (> 0), typically 0.1-0.5.
    eps
        Offset inside the logarithm so that black pixels have a finite log
        intensity (it also sets how sensitive dark pixels are).

    Returns
    -------
    torch.Tensor
        Event counts ``[T, 2, H, W]``: channel 0 ON, channel 1 OFF (float, >= 0).
    """
    check_unit_range(frames, "frames")
    if eps <= 0:
        raise ValueError(f"eps must be > 0, got {eps}.")
    if frames.dim() == 4:
        frames = frames.mean(dim=1)
    if frames.dim() != 3:
        raise ValueError(f"frames must be [T, H, W] or [T, C, H, W], got shape {tuple(frames.shape)}.")
    log_i = torch.log(frames.double() + eps)
    crossings = threshold_crossings(log_i, threshold)
    events = torch.stack([crossings.clamp(min=0), (-crossings).clamp(min=0)], dim=1)
    return events.float()


def load_nmnist_sample(index: int = 0, num_steps: int = 60, train: bool = False) -> tuple[torch.Tensor, int]:
    """One real N-MNIST recording (Orchard et al. 2015) binned like :func:`emulate_events`.

    Downloads the N-MNIST test set with :mod:`tonic` into
    ``labkit.cache_dir()/"tonic"`` on first use (about 170 MB for the test
    split), then bins the events of recording ``index`` into ``num_steps`` frames.

    Parameters
    ----------
    index
        Which recording of the split.
    num_steps
        Number of time bins over the whole 300 ms recording.
    train
        Use the training split instead of the test split.

    Returns
    -------
    tuple
        ``(events, label)`` with ``events`` of shape ``[num_steps, 2, 34, 34]``
        (channel 0 ON, channel 1 OFF, event counts) and the digit label.

    Raises
    ------
    labkit.data.DataUnavailableError
        When tonic is missing or the recording cannot be downloaded (offline);
        no offline copy of any DVS recording exists.
    """

    try:
        import tonic
    except ImportError as exc:
        raise DataUnavailableError("N-MNIST needs the tonic package: pip install tonic.") from exc
    sensor = tonic.datasets.NMNIST.sensor_size
    try:
        dataset = tonic.datasets.NMNIST(
            save_to=str(cache_dir() / "tonic"), train=train,
            transform=tonic.transforms.ToFrame(sensor_size=sensor, n_time_bins=num_steps),
        )
        frames, label = dataset[index]
    except Exception as exc:  # network errors surface as many different types
        raise DataUnavailableError(
            f"Could not download N-MNIST with tonic ({type(exc).__name__}: {exc}). "
            "Real DVS recordings need an internet connection; there is no offline copy."
        ) from exc
    frames = torch.as_tensor(frames, dtype=torch.float32)  # [T, polarity (OFF, ON), H, W]
    return frames.flip(1), int(label)
