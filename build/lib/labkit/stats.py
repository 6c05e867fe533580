"""Findings that hold: confidence intervals over images or seeds, and the honest words for them.

A lab that says one network is "more" accurate, or one direction "easier",
must rest the word on an interval. This module gives three kinds and one rule:

* :func:`bootstrap` resamples images (or any units) to put a percentile
  interval around a statistic; :func:`paired_bootstrap` does it for the
  difference of two statistics on the same images, which is much narrower
  than comparing two separate intervals;
* :func:`over_seeds` summarises one number measured for several seeds (mean,
  standard deviation, and a Student-t interval for the mean);
* :func:`verdict` turns an interval of a difference into a word: "more" or
  "less" only when the interval excludes zero, else "not resolved at this
  size";
* :func:`best_of` names the best of several candidates only when its lead over
  every other one is resolved.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a = (rng.random(2000) < 0.90).astype(float)     # right/wrong per image, network A
>>> b = (rng.random(2000) < 0.80).astype(float)     # network B on the same images
>>> diff = paired_bootstrap(a, b, seed=0)
>>> verdict(diff), diff.low > 0
('more', True)
>>> verdict(paired_bootstrap(a[:20], b[:20], seed=0))
'not resolved at this size'
>>> print(over_seeds([0.78, 0.80, 0.79]))
0.790 ± 0.010 (3 seeds; 95% interval 0.765 to 0.815)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import stats as _scipy_stats

__all__ = ["Interval", "SeedSummary", "bootstrap", "paired_bootstrap", "over_seeds", "verdict", "Ranking", "best_of"]

Statistic = Callable[..., float]


@dataclass(frozen=True)
class Interval:
    """An estimate with a confidence interval.

    Attributes
    ----------
    estimate
        The statistic on all the data.
    low, high
        The interval's ends.
    level
        Its confidence level, e.g. 0.95.
    n
        How many units (images, seeds) it rests on.
    method
        How it was made, e.g. ``"bootstrap over 2,000 images"``.
    """

    estimate: float
    low: float
    high: float
    level: float
    n: int
    method: str

    def excludes(self, value: float = 0.0) -> bool:
        """Whether ``value`` lies outside the interval."""
        return value < self.low or value > self.high

    def format(self, digits: int = 3, scale: float = 1.0, unit: str = "") -> str:
        """``"0.064 (95% CI 0.031 to 0.097)"``, values times ``scale`` with ``digits`` decimals."""
        f = lambda v: f"{v * scale:.{digits}f}{unit}"  # noqa: E731
        return f"{f(self.estimate)} ({100 * self.level:.0f}% CI {f(self.low)} to {f(self.high)})"

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class SeedSummary:
    """One number measured for several seeds: ``values``, their mean and s.d., and an interval for the mean."""

    values: tuple[float, ...]
    mean: float
    sd: float
    interval: Interval

    def format(self, digits: int = 3, scale: float = 1.0, unit: str = "") -> str:
        """``"0.790 ± 0.010 (3 seeds; 95% interval 0.765 to 0.815)"``."""
        f = lambda v: f"{v * scale:.{digits}f}{unit}"  # noqa: E731
        i = self.interval
        return (f"{f(self.mean)} ± {f(self.sd)} ({len(self.values)} seeds; "
                f"{100 * i.level:.0f}% interval {f(i.low)} to {f(i.high)})")

    def __str__(self) -> str:
        return self.format()


def _check(values: np.ndarray, name: str, minimum: int) -> None:
    if values.ndim != 1:
        raise ValueError(f"{name} must be one value per unit (1-D), got shape {values.shape}.")
    if len(values) < minimum:
        raise ValueError(f"{name} needs at least {minimum} values, got {len(values)}.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} has NaN or infinite values; drop or fix them first.")


def _level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level}.")
    return level


def bootstrap(values: Sequence[float] | np.ndarray, statistic: Statistic = np.mean, *, n_boot: int = 2000,
              level: float = 0.95, seed: int = 0, unit: str = "images") -> Interval:
    """Percentile bootstrap interval of ``statistic`` over units (images, trials ...).

    Parameters
    ----------
    values
        One value per unit, e.g. 1/0 for right/wrong per test image.
    statistic
        ``statistic(sample) -> float``; the mean by default.
    n_boot
        Resamples.
    level
        Confidence level.
    seed
        Seed of the resampling, so the interval reproduces.
    unit
        What one value is, for the description.
    """
    x = np.asarray(values, dtype=float)
    _check(x, "values", 2)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    boots = np.array([statistic(x[i]) for i in idx])
    alpha = (1 - _level(level)) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return Interval(float(statistic(x)), float(low), float(high), level, len(x),
                    f"bootstrap over {len(x):,} {unit}")


def paired_bootstrap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                     statistic: Statistic = np.mean, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0,
                     unit: str = "images") -> Interval:
    """Interval of ``statistic(a) - statistic(b)`` when ``a`` and ``b`` are measured on the same units.

    Each resample draws the same units for both, so what the two share (easy
    and hard images) cancels: the interval is narrower than two separate ones.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    _check(x, "a", 2)
    _check(y, "b", 2)
    if x.shape != y.shape:
        raise ValueError(f"a and b must hold the same units: shapes {x.shape} and {y.shape}.")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    boots = np.array([statistic(x[i]) - statistic(y[i]) for i in idx])
    alpha = (1 - _level(level)) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return Interval(float(statistic(x) - statistic(y)), float(low), float(high), level, len(x),
                    f"paired bootstrap over {len(x):,} {unit}")


def over_seeds(values: Sequence[float] | np.ndarray, level: float = 0.95) -> SeedSummary:
    """Mean and s.d. of a number measured for several seeds, with a Student-t interval for the mean.

    With few seeds the interval is wide on purpose (t with n - 1 degrees of
    freedom): two seeds rarely resolve a small difference.
    """
    x = np.asarray(values, dtype=float)
    _check(x, "values", 2)
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    half = float(_scipy_stats.t.ppf((1 + _level(level)) / 2, len(x) - 1)) * sd / math.sqrt(len(x))
    interval = Interval(mean, mean - half, mean + half, level, len(x), f"t interval over {len(x)} seeds")
    return SeedSummary(tuple(float(v) for v in x), mean, sd, interval)


def verdict(interval: Interval | SeedSummary, more: str = "more", less: str = "less",
            unresolved: str = "not resolved at this size") -> str:
    """The word an interval of a difference allows: ``more`` or ``less`` only when it excludes zero.

    >>> verdict(Interval(0.02, -0.01, 0.05, 0.95, 100, "toy"))
    'not resolved at this size'
    >>> verdict(Interval(-0.06, -0.09, -0.03, 0.95, 100, "toy"), more="easier", less="harder")
    'harder'
    """
    i = interval.interval if isinstance(interval, SeedSummary) else interval
    if i.low > 0:
        return more
    if i.high < 0:
        return less
    return unresolved


@dataclass(frozen=True)
class Ranking:
    """The best of several candidates, and whether its lead over each of the others is resolved.

    Attributes
    ----------
    best
        The candidate chosen (highest ``choose_by`` value).
    leads
        For every other candidate, the interval of ``best`` minus it.
    resolved
        Whether every lead's interval lies above zero.
    within
        The candidates that ``best`` is not resolved from (its lead's interval
        contains zero), ``best`` first.
    ahead
        The candidates resolved *ahead* of ``best`` (its lead's interval lies
        below zero): possible when ``best`` was chosen on other data, e.g. on
        validation images and judged on test images.
    """

    best: str
    leads: dict[str, Interval | SeedSummary]
    resolved: bool
    within: tuple[str, ...]
    ahead: tuple[str, ...] = ()

    def name(self, unresolved: str = "not resolved at this size") -> str:
        """``best`` when resolved, else ``unresolved``: the word a lab may glue."""
        return self.best if self.resolved else unresolved

    def summary(self, noun: str = "candidate") -> str:
        """One sentence on what the intervals allow, e.g. for a lab to glue.

        >>> best_of({"a": [0.95, 0.96, 0.955], "b": [0.90, 0.91, 0.905]}).summary("surrogate")
        'The lead of a over every other surrogate is resolved.'
        >>> best_of({"a": [0.95, 0.96, 0.955], "b": [0.94, 0.97, 0.95]}).summary()
        'Against b, the lead of a is not resolved at this size; so this run cannot name a best candidate.'
        """
        if self.resolved:
            return f"The lead of {self.best} over every other {noun} is resolved."
        parts = []
        if self.ahead:
            parts.append(f"against {', '.join(self.ahead)}, {self.best} is resolved behind")
        if len(self.within) > 1:
            others = ", ".join(self.within[1:])
            parts.append(f"against {others}, its lead is not resolved at this size" if self.ahead
                         else f"against {others}, the lead of {self.best} is not resolved at this size")
        sentence = "; ".join(parts)
        return f"A{sentence[1:]}; so this run cannot name a best {noun}."


def best_of(scores: dict[str, Sequence[float] | np.ndarray], choose_by: dict[str, float] | None = None, *,
            unit: str = "seeds", level: float = 0.95, seed: int = 0) -> Ranking:
    """Pick the best candidate and say whether it is resolved from every other one.

    Parameters
    ----------
    scores
        Per candidate, one score per unit, paired across candidates: with
        ``unit="seeds"``, the k-th value of every candidate comes from seed k
        (e.g. test accuracy per seed); with ``unit="images"``, the k-th value is
        image k (e.g. 1/0 for right/wrong).
    choose_by
        The value to choose by, per candidate (e.g. validation accuracy, so that
        the test images only judge the choice); default: the mean score.
    unit
        ``"seeds"``: each lead's interval is a Student-t interval over the
        per-seed differences (:func:`over_seeds`); ``"images"``: a paired
        bootstrap over the images (:func:`paired_bootstrap`).
    level, seed
        Confidence level; seed of the bootstrap.

    Returns
    -------
    Ranking

    Examples
    --------
    >>> r = best_of({"a": [0.95, 0.96, 0.955], "b": [0.90, 0.91, 0.905], "c": [0.94, 0.965, 0.95]})
    >>> r.best, r.resolved, r.within, r.name()
    ('a', False, ('a', 'c'), 'not resolved at this size')
    >>> best_of({"a": [0.95, 0.96, 0.955], "b": [0.90, 0.91, 0.905]}).name()
    'a'
    """
    if unit not in ("seeds", "images"):
        raise ValueError(f"unit must be 'seeds' or 'images', got {unit!r}.")
    if len(scores) < 2:
        raise ValueError(f"scores needs at least two candidates to compare, got {len(scores)}.")
    values = {name: np.asarray(v, dtype=float) for name, v in scores.items()}
    lengths = {name: v.shape for name, v in values.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"every candidate needs one score per {unit[:-1]}, paired: got shapes {lengths}.")
    chooser = {name: float(v.mean()) for name, v in values.items()} if choose_by is None else dict(choose_by)
    missing = sorted(set(values) - set(chooser))
    if missing:
        raise ValueError(f"choose_by has no value for {missing}.")
    best = max(values, key=lambda name: chooser[name])
    leads: dict[str, Interval | SeedSummary] = {}
    for name, v in values.items():
        if name != best:
            leads[name] = (over_seeds(values[best] - v, level) if unit == "seeds"
                           else paired_bootstrap(values[best], v, level=level, seed=seed))
    words = {name: verdict(lead) for name, lead in leads.items()}
    within = (best, *[name for name, word in words.items() if word not in ("more", "less")])
    ahead = tuple(name for name, word in words.items() if word == "less")
    return Ranking(best, leads, len(within) == 1 and not ahead, within, ahead)
