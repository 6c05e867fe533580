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
import torch.nn.functional as F

from ..checks import check_int, check_unit_range

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
    num_steps = check_int(num_steps, "num_steps", minimum=2)
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
