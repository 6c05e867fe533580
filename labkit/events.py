"""Event-camera emulation: move a still image and turn brightness changes into ON/OFF events.

A dynamic vision sensor (DVS) pixel emits an ON event when its log intensity has
risen by a contrast threshold ``C`` since its last event and an OFF event when it
has fallen by ``C`` (Lichtsteiner et al. 2008). N-MNIST was recorded by moving
such a sensor along three saccades in front of MNIST digits (Orchard et al.
2015); :func:`saccade` reproduces that motion and :func:`emulate_events` the
pixel model, in the spirit of v2e/ESIM but without their noise and bandwidth
models.

Examples
--------
>>> import torch
>>> img = torch.zeros(1, 8, 8); img[:, 2:6, 3:5] = 1.0
>>> frames = saccade(img, num_steps=12, amplitude=2.0)
>>> events = emulate_events(frames, threshold=0.2)
>>> events.shape  # [T, 2 polarities, H, W]
torch.Size([12, 2, 8, 8])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .encoding import check_unit_range, threshold_crossings

__all__ = ["saccade_path", "saccade", "emulate_events", "load_nmnist_sample"]


def saccade_path(num_steps: int, amplitude: float = 2.0, n_saccades: int = 3) -> torch.Tensor:
    """Pixel offsets ``[num_steps, 2]`` (dx, dy) along a closed polygon of ``n_saccades`` legs.

    With ``n_saccades=3`` this is the triangle used to record N-MNIST. The path
    starts and ends at the origin; each leg has length ``amplitude`` pixels.
    """
    if num_steps < 2:
        raise ValueError(f"num_steps must be >= 2, got {num_steps}.")
    if n_saccades < 2:
        raise ValueError(f"n_saccades must be >= 2, got {n_saccades}.")
    angles = torch.arange(n_saccades + 1, dtype=torch.float64) * (2 * math.pi / n_saccades)
    # vertices of a regular polygon with side `amplitude`, first vertex at the origin
    radius = amplitude / (2 * math.sin(math.pi / n_saccades))
    vx = radius * (torch.cos(angles - math.pi / 2) - math.cos(-math.pi / 2))
    vy = radius * (torch.sin(angles - math.pi / 2) - math.sin(-math.pi / 2))
    s = torch.linspace(0, n_saccades, num_steps, dtype=torch.float64)
    leg = s.floor().clamp(max=n_saccades - 1).long()
    frac = s - leg
    dx = vx[leg] + frac * (vx[leg + 1] - vx[leg])
    dy = vy[leg] + frac * (vy[leg + 1] - vy[leg])
    return torch.stack([dx, dy], dim=1).float()


def saccade(
    image: torch.Tensor, num_steps: int, amplitude: float = 2.0, n_saccades: int = 3
) -> torch.Tensor:
    """Frames of ``image`` translated with sub-pixel precision along :func:`saccade_path`.

    Parameters
    ----------
    image
        ``[C, H, W]`` or ``[H, W]`` intensities in [0, 1].
    num_steps
        Number of frames.
    amplitude
        Length of one saccade in pixels.
    n_saccades
        Number of straight legs (3 for the N-MNIST triangle).

    Returns
    -------
    torch.Tensor
        ``[num_steps, C, H, W]`` frames (bilinear interpolation, zero outside).
    """
    check_unit_range(image, "image")
    if image.dim() == 2:
        image = image.unsqueeze(0)
    if image.dim() != 3:
        raise ValueError(f"image must be [C, H, W] or [H, W], got shape {tuple(image.shape)}.")
    _, h, w = image.shape
    offsets = saccade_path(num_steps, amplitude, n_saccades)
    theta = torch.zeros(num_steps, 2, 3)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    # affine_grid works in [-1, 1] coordinates: a shift of d pixels is 2 d / size
    theta[:, 0, 2] = -2 * offsets[:, 0] / w
    theta[:, 1, 2] = -2 * offsets[:, 1] / h
    batch = image.unsqueeze(0).expand(num_steps, -1, -1, -1)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    frames = F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return frames.clamp(0, 1)


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
    from .config import cache_dir
    from .data import DataUnavailableError

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
