"""Inputs for spiking experiments: step, ramp and noisy currents ``[T]``, and still images moved along saccades.

:func:`saccade` moves an image the way N-MNIST was recorded (Orchard et al. 2015):
the frames feed the delta code (:func:`labkit.spiking.encoding.delta`) and the event-camera
emulator (:func:`labkit.spiking.events.emulate_events`).

Examples
--------
>>> step_current(5, amplitude=0.3, onset=2).tolist()
[0.0, 0.0, 0.30000001192092896, 0.30000001192092896, 0.30000001192092896]
"""

from __future__ import annotations

import math

import torch

from ..checks import check_int, check_positive, check_unit_range

__all__ = ["saccade_path", "saccade", "step_current", "ramp_current", "noisy_current"]


def _check(num_steps: int, onset: int) -> tuple[int, int]:
    """``(num_steps, onset)`` as ints, or a ``ValueError`` naming the argument (2.5 steps fail here, not in torch)."""
    num_steps = check_int(num_steps, "num_steps")
    onset = check_int(onset, "onset", minimum=0)
    if not onset < num_steps:
        raise ValueError(f"onset must lie in [0, num_steps), got {onset}.")
    return num_steps, onset


def step_current(num_steps: int, amplitude: float, onset: int = 0) -> torch.Tensor:
    """A current switching from 0 to ``amplitude`` at step ``onset``."""
    num_steps, onset = _check(num_steps, onset)
    current = torch.zeros(num_steps)
    current[onset:] = amplitude
    return current


def ramp_current(num_steps: int, peak: float, onset: int = 0) -> torch.Tensor:
    """A current rising linearly from 0 at ``onset`` to ``peak`` at the last step."""
    num_steps, onset = _check(num_steps, onset)
    current = torch.zeros(num_steps)
    current[onset:] = torch.linspace(0, peak, num_steps - onset)
    return current


def noisy_current(num_steps: int, mean: float, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """White Gaussian current with the given mean and standard deviation per step."""
    num_steps, _ = _check(num_steps, 0)
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}.")
    return mean + std * torch.randn(num_steps, generator=generator)


def saccade_path(num_steps: int, amplitude: float = 2.0, n_saccades: int = 3) -> torch.Tensor:
    """Pixel offsets ``[num_steps, 2]`` (dx, dy) along a closed polygon of ``n_saccades`` legs.

    With ``n_saccades=3`` this is the triangle used to record N-MNIST. The path
    starts and ends at the origin; each leg has length ``amplitude`` pixels.
    """
    num_steps = check_int(num_steps, "num_steps", minimum=2)
    n_saccades = check_int(n_saccades, "n_saccades", minimum=2)
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


def _psf_matrix(size: int, shifts: torch.Tensor, blur: float) -> torch.Tensor:
    """``[T, size, size]`` weights: output pixel ``i`` of frame ``t`` sees input pixel ``j`` through a Gaussian at ``i - shift_t``.

    Each row is normalised by the Gaussian's sum over the whole integer lattice,
    so a uniform scene keeps its brightness at every sub-pixel shift.
    """
    grid = torch.arange(size, dtype=torch.float64)
    dist = grid[None, :, None] - shifts[:, None, None] - grid[None, None, :]
    weights = torch.exp(-0.5 * (dist / blur) ** 2)
    reach = int(math.ceil(6 * blur)) + 1
    lattice = torch.arange(-reach, reach + 1, dtype=torch.float64)
    phase = shifts - torch.floor(shifts)
    norm = torch.exp(-0.5 * ((lattice[None, :] - phase[:, None]) / blur) ** 2).sum(dim=1)
    return weights / norm[:, None, None]


def saccade(
    image: torch.Tensor, num_steps: int, amplitude: float = 2.0, n_saccades: int = 3, blur: float = 0.8
) -> torch.Tensor:
    """Frames of ``image`` moved along :func:`saccade_path` and seen through a lens with a Gaussian blur.

    The image is a scene of Gaussian blobs, one per pixel (a lens's point-spread
    function of standard deviation ``blur`` pixels), sampled on the sensor's grid
    at each offset of the path. The blur is then the same at every sub-pixel
    offset, so the frames change only because the scene moves. Bilinear
    interpolation (``grid_sample``) does not have this property: it is sharp at
    whole-pixel offsets and smeared at half pixels, and an event camera, which
    is most sensitive in the dark, fires for that change of sharpness. On the
    lab 01 digit it gave a burst of ON events when the digit left its start and
    of OFF events when it came back.

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
    blur
        Standard deviation of the point-spread function in pixels (> 0). At the
        default 0.8 px the sharpness (sum of squares) of one bright pixel varies
        by 1.4 % with the sub-pixel offset, at 0.6 px by 24 %, at 1 px by 0.04 %;
        with bilinear interpolation it varies by a factor of 4.

    Returns
    -------
    torch.Tensor
        ``[num_steps, C, H, W]`` frames in [0, 1] (zero outside the image), of the
        image's dtype. The first frame is the blurred image itself.

    Examples
    --------
    >>> img = torch.zeros(1, 9, 9); img[0, 4, 4] = 1.0
    >>> frames = saccade(img, num_steps=7, amplitude=1.5)
    >>> sharpness = frames.pow(2).sum(dim=(1, 2, 3))  # one bright pixel: the same at every offset
    >>> bool(sharpness.max() / sharpness.min() < 1.02), round(float(frames[3].sum()), 4)
    (True, 1.0)
    """
    check_unit_range(image, "image")
    if image.dim() == 2:
        image = image.unsqueeze(0)
    if image.dim() != 3:
        raise ValueError(f"image must be [C, H, W] or [H, W], got shape {tuple(image.shape)}.")
    blur = check_positive(blur, "blur")
    _, h, w = image.shape
    num_steps = check_int(num_steps, "num_steps", minimum=2)
    offsets = saccade_path(num_steps, amplitude, n_saccades).double()
    rows = _psf_matrix(h, offsets[:, 1], blur)  # [T, H, H]
    cols = _psf_matrix(w, offsets[:, 0], blur)  # [T, W, W]
    frames = torch.einsum("tij,cjl,tkl->tcik", rows, image.double(), cols)
    return frames.clamp(0, 1).to(image.dtype)
