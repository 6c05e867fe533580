"""Argument checks shared by every layer of labkit, with errors that name the argument and the fix."""

from __future__ import annotations

import torch

__all__ = ["check_unit_range"]


def check_unit_range(x: torch.Tensor, name: str = "x") -> None:
    """Raise a ``ValueError`` naming ``name`` unless every value of ``x`` is in [0, 1].

    Parameters
    ----------
    x
        Input intensities.
    name
        The argument name reported in the error.
    """
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}.")
    if not torch.is_floating_point(x):
        raise TypeError(
            f"{name} has dtype {x.dtype}; encoders take floats in [0, 1]. "
            f"Use {name}.float() / 255 for uint8 images."
        )
    if x.numel() and (torch.isnan(x).any() or x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{name} must lie in [0, 1] (got min {x.min().item():.4g}, "
            f"max {x.max().item():.4g}); rescale it, e.g. (x - x.min()) / (x.max() - x.min())."
        )
