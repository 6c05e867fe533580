"""Input currents for single-neuron experiments: step, ramp and noisy currents ``[T]``.

Examples
--------
>>> step_current(5, amplitude=0.3, onset=2).tolist()
[0.0, 0.0, 0.30000001192092896, 0.30000001192092896, 0.30000001192092896]
"""

from __future__ import annotations

import torch

__all__ = ["step_current", "ramp_current", "noisy_current"]


def _check(num_steps: int, onset: int) -> None:
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}.")
    if not 0 <= onset < num_steps:
        raise ValueError(f"onset must lie in [0, num_steps), got {onset}.")


def step_current(num_steps: int, amplitude: float, onset: int = 0) -> torch.Tensor:
    """A current switching from 0 to ``amplitude`` at step ``onset``."""
    _check(num_steps, onset)
    current = torch.zeros(num_steps)
    current[onset:] = amplitude
    return current


def ramp_current(num_steps: int, peak: float, onset: int = 0) -> torch.Tensor:
    """A current rising linearly from 0 at ``onset`` to ``peak`` at the last step."""
    _check(num_steps, onset)
    current = torch.zeros(num_steps)
    current[onset:] = torch.linspace(0, peak, num_steps - onset)
    return current


def noisy_current(num_steps: int, mean: float, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """White Gaussian current with the given mean and standard deviation per step."""
    _check(num_steps, 0)
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}.")
    return mean + std * torch.randn(num_steps, generator=generator)
