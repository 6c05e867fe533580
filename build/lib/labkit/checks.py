"""Argument checks shared by every layer of labkit, with errors that name the argument and the fix."""

from __future__ import annotations

import math
import numbers
import operator

import torch

__all__ = ["check_unit_range", "check_int", "check_positive", "check_not_empty"]


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


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """``value`` as a Python ``int``, or a ``ValueError`` naming ``name``.

    Integers of any kind are accepted (``int``, ``numpy.int64``, a 0-d integer
    tensor); floats (even ``4.0``) and booleans raise a ``ValueError``, other
    types a ``TypeError``, because a count of time steps that is not a whole
    number is a bug upstream (torch would fail later, in ``expand`` or ``zeros``).

    Parameters
    ----------
    value
        The value to check.
    name
        The argument name reported in the error.
    minimum
        Smallest allowed value.

    Examples
    --------
    >>> import numpy as np
    >>> check_int(np.int64(5), "num_steps")
    5
    >>> check_int(2.5, "num_steps")
    Traceback (most recent call last):
    ...
    ValueError: num_steps must be an integer, got 2.5 (float); use int(...) or round(...) first.
    """
    fractional = isinstance(value, (numbers.Real, complex)) and not isinstance(value, numbers.Integral)
    flag_or_float_tensor = torch.is_tensor(value) and (value.is_floating_point() or value.dtype == torch.bool)
    if isinstance(value, bool) or fractional or flag_or_float_tensor:
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__}); "
                         "use int(...) or round(...) first.")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).") from None
    if number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {number}.")
    return number


def check_positive(value: object, name: str) -> float:
    """``value`` as a float, or a ``ValueError`` naming ``name`` unless it is finite and > 0.

    NaN is refused too (``nan <= 0`` is false, so a plain ``<= 0`` test lets it through).

    Examples
    --------
    >>> check_positive(0.1, "threshold")
    0.1
    >>> check_positive(float("nan"), "threshold")
    Traceback (most recent call last):
    ...
    ValueError: threshold must be a finite number > 0, got nan.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, torch.Tensor)) or (
            torch.is_tensor(value) and value.numel() != 1):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {number}.")
    return number


def check_not_empty(x: torch.Tensor, name: str = "x") -> None:
    """Raise a ``ValueError`` naming ``name`` when ``x`` has no elements (some dimension is 0)."""
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); pass at least one value "
                         "along every dimension.")
