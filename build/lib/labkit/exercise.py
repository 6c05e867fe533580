"""Checks for the exercises in which students write code: :func:`~labkit.check` compares an answer with a reference.

Every lab has exercises in which the student writes the core idea (a rate
encoder, one LIF step, linear CKA ...). Each has three cells:

1. a stub the student completes, a function whose body is ``...``;
2. the solution, hidden in the book (tag ``remove-cell``) and collapsed in
   Jupyter, which replaces the stub only when :func:`solutions_on` (the book
   build and CI, where ``LABKIT_STATIC=1``);
3. a check cell, ``labkit.check(answer, reference, cases)``.

For a student, an untouched stub gets a reminder and the lab runs on; a wrong
answer gets an error that says which case failed and how. In the book build and
CI the check runs against the written solution, so a wrong solution fails the
tests, and so does a stub that no solution replaced.

Examples
--------
>>> import torch
>>> def double(x):
...     return 2 * x
>>> check(double, lambda x: x + x, [(torch.ones(3),), (torch.arange(4.0),)], name="double")
double: correct on 2 cases.
True
>>> def stub(x):
...     ...
>>> check(stub, lambda x: x + x, [(torch.ones(3),)], name="double", _static=False)
double: not written yet. Replace the `...` in its cell, run it, then run this check again.
False
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from .config import is_static

__all__ = ["check", "solutions_on", "ExerciseError"]


class ExerciseError(AssertionError):
    """An exercise answer that differs from the reference; the message says where and how."""


def solutions_on() -> bool:
    """Whether hidden solutions replace the stubs: in the book build and CI (``LABKIT_STATIC=1``)."""
    return is_static()


def _as_array(value: Any) -> np.ndarray | None:
    if torch.is_tensor(value):
        return value.detach().cpu().double().numpy()
    if isinstance(value, (np.ndarray, float, int, np.floating, np.integer, bool)):
        return np.asarray(value, dtype=float)
    return None


def _difference(got: Any, want: Any, atol: float, rtol: float, where: str) -> str | None:
    """Why ``got`` differs from ``want``, or ``None`` when they agree."""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"{where}: expected a sequence of {len(want)} values, got {type(got).__name__}" + (
                f" of {len(got)}" if isinstance(got, (tuple, list)) else "")
        for i, (g, w) in enumerate(zip(got, want)):
            reason = _difference(g, w, atol, rtol, f"{where}[{i}]")
            if reason:
                return reason
        return None
    expected, actual = _as_array(want), _as_array(got)
    if expected is None:
        return None if got == want else f"{where}: expected {want!r}, got {got!r}"
    if actual is None:
        return f"{where}: expected a number or tensor, got {type(got).__name__}"
    if actual.shape != expected.shape:
        return f"{where}: expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
    if not np.all(np.isfinite(actual)):
        return f"{where}: the answer has NaN or infinite values"
    if not np.allclose(actual, expected, atol=atol, rtol=rtol):
        gap = np.abs(actual - expected)
        at = np.unravel_index(int(np.argmax(gap)), gap.shape) if gap.ndim else ()
        return (f"{where}: largest difference {gap.max():.3g} at index {tuple(int(i) for i in at)} "
                f"(expected {expected[at]:.6g}, got {actual[at]:.6g})")
    return None


def _unwritten(value: Any) -> bool:
    return value is None or value is Ellipsis


def check(
    answer: Callable[..., Any] | Any,
    reference: Callable[..., Any] | Any,
    cases: Iterable[Sequence[Any]] = ((),),
    *,
    name: str = "answer",
    hint: str = "",
    atol: float = 1e-5,
    rtol: float = 1e-4,
    _static: bool | None = None,
) -> bool:
    """Compare a student's answer with the reference on each case; print the verdict.

    Parameters
    ----------
    answer
        The student's function (called as ``answer(*case)``) or value.
    reference
        The reference function or value (usually a ``labkit`` function).
    cases
        Argument tuples to call both functions with (ignored for values).
    name
        What the exercise asks for, used in the messages.
    hint
        Added to the error: what students most often get wrong.
    atol, rtol
        Tolerances for numbers, arrays and tensors (``numpy.allclose``).

    Returns
    -------
    bool
        ``True`` when the answer agrees on every case; ``False`` when it is
        not written yet (outside the book build and CI).

    Raises
    ------
    ExerciseError
        When the answer differs from the reference, or raises, or is still a
        stub in the book build or CI.
    """
    static = solutions_on() if _static is None else _static
    cases = [tuple(case) for case in cases] if callable(answer) else [()]
    for number, case in enumerate(cases, start=1):
        where = f"{name}, case {number} of {len(cases)}"
        try:
            got = answer(*case) if callable(answer) else answer
        except NotImplementedError:
            got = None
        except Exception as error:  # noqa: BLE001 - a student's bug is reported, not hidden
            raise ExerciseError(f"{where}: the answer raised {type(error).__name__}: {error}. {hint}".strip()) from error
        if _unwritten(got):
            if static:
                raise ExerciseError(f"{name}: the answer is still the stub (it returned {got!r}); "
                                    "the hidden solution cell must define it.")
            print(f"{name}: not written yet. Replace the `...` in its cell, run it, then run this check again.")
            return False
        want = reference(*case) if callable(reference) else reference
        reason = _difference(got, want, atol, rtol, where)
        if reason:
            raise ExerciseError(f"{reason}. {hint}".strip())
    print(f"{name}: correct on {len(cases)} case{'s' if len(cases) != 1 else ''}.")
    return True
