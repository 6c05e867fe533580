"""Gradient-free maximisation of a black box over a discrete grid: PROTES, random search, a (1+λ) evolution strategy.

:func:`~labkit.maximise` searches ``{0, ..., n-1}^d`` for the index vector that a
black-box function ``f`` scores highest, with a fixed number of queries. ``f``
receives a batch of index vectors (an int array ``[k, d]``) and returns ``k``
values; it is never differentiated, so it may be a spiking neuron's firing rate
for the image that a generator decodes from the indices, as for a neuron
recorded in a brain. One query is one index vector, i.e. one image shown to the
network. The result holds the best index vector, its value, and the *curve*:
the best value so far after each query, one entry per query, never decreasing,
so methods compare at equal budgets.

The methods:

* ``"protes"``: PROTES (Batsheva et al., 2023), the ``protes`` package: a
  probability distribution in tensor-train (TT) format is sampled in batches of
  ``k``, and its log-likelihood of the ``k_top`` best samples is raised by
  Adam. As in MANGO (Pospelov et al., 2024) it runs in *quantised* TT (QTT)
  format: each of the ``d`` positions, with ``n = 2^q`` values, becomes ``q``
  binary digits, so ``n`` must be a power of 2. :data:`~labkit.analysis.maximise.PROTES_SETTINGS` holds
  MANGO's three settings (``setting="TT"``, ``"TT-b"``, ``"TT-exp"``).
* ``"random"``: uniform random index vectors in batches.
* ``"es"``: a (1+λ) evolution strategy: λ mutants of the best vector so far
  (each position redrawn with probability ``mutation``, at least one), and the
  best mutant replaces it when it is at least as good (ties move on, which
  lets the search drift across the plateaus of a firing rate).
* ``"nevergrad"``: any optimiser of the ``nevergrad`` package (``optimizer=``,
  default ``"Portfolio"``), when it is installed.

Examples
--------
A separable toy: the score counts the positions equal to 3.

>>> import numpy as np
>>> f = lambda idx: (idx == 3).sum(axis=1)
>>> best, value, curve = maximise(f, d=8, n=4, budget=300, method="es", seed=0)
>>> value, best.tolist(), len(curve), bool(np.all(np.diff(curve) >= 0))
(8.0, [3, 3, 3, 3, 3, 3, 3, 3], 300, True)
"""

from __future__ import annotations

import importlib.util
import inspect
import math
from typing import Any, Callable, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from ..config import cache_dir, is_static

__all__ = ["Maximum", "maximise", "single_edits", "edit_summary", "METHODS", "PROTES_SETTINGS", "to_qtt", "from_qtt"]

#: The methods :func:`~labkit.maximise` knows (``"nevergrad"`` needs the package).
METHODS = ("protes", "random", "es", "nevergrad")

#: MANGO's PROTES settings, by name; batch ``k``, ``k_top`` best samples per update, Adam ``lr``, TT rank ``r``,
#: ``k_gd`` gradient steps per batch.
PROTES_SETTINGS: dict[str, dict[str, float]] = {
    "TT": dict(k=10, k_top=1, lr=0.05, r=5, k_gd=1),
    "TT-b": dict(k=25, k_top=5, lr=0.05, r=5, k_gd=1),
    "TT-exp": dict(k=100, k_top=10, lr=0.1, r=5, k_gd=1),
}

class Maximum(NamedTuple):
    """What :func:`~labkit.maximise` returns; unpacks as ``best_index, best_value, curve``."""

    #: The best index vector found, an int array ``[d]``.
    best_index: np.ndarray
    #: Its value (the first of equal best values, in query order).
    best_value: float
    #: The best value so far after each query, a float array ``[queries]``; it never decreases and has
    #: ``budget`` entries unless ``stop_at`` ended the search early.
    curve: np.ndarray


class _Stop(Exception):
    """The budget is spent or ``stop_at`` is reached."""


class _Tracker:
    """Counts queries, keeps the best and the curve, and refuses to query beyond the budget."""

    def __init__(self, f: Callable[[np.ndarray], Any], d: int, budget: int, stop_at: float | None, bar: Any) -> None:
        self.f, self.d, self.budget, self.stop_at, self.bar = f, d, budget, stop_at, bar
        self.curve: list[float] = []
        self.best_value = -math.inf
        self.best_index: np.ndarray | None = None

    @property
    def left(self) -> int:
        return self.budget - len(self.curve)

    @property
    def done(self) -> bool:
        return self.left <= 0 or (self.stop_at is not None and self.best_value >= self.stop_at)

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        """Values of the first ``min(len(indices), left)`` rows (raises :class:`_Stop` when none are left)."""
        if self.done:
            raise _Stop
        indices = np.asarray(indices, dtype=np.int64)[: self.left]
        values = np.asarray(self.f(indices), dtype=float).reshape(-1)
        if values.shape != (len(indices),):
            raise ValueError(f"f returned {values.size} values for a batch of {len(indices)} index vectors; "
                             "it must return one value per row of its [k, d] input.")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"f returned NaN or infinite values ({values[~np.isfinite(values)][:3].tolist()}); "
                             "the objective must be finite for every index vector.")
        for row, value in zip(indices, values):
            if value > self.best_value:
                self.best_value, self.best_index = float(value), row.copy()
            self.curve.append(self.best_value)
        self.bar.update(len(values))
        self.bar.set_postfix(best=f"{self.best_value:.4g}", refresh=False)
        return values


def _check_int(value: Any, name: str, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}. {hint}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}. {hint}")
    return int(value)


def to_qtt(indices: np.ndarray, n: int) -> np.ndarray:
    """Index vectors ``[k, d]`` over ``n = 2^q`` values as binary digits ``[k, d*q]`` (most significant first).

    >>> to_qtt(np.array([[0, 5], [7, 2]]), 8).tolist()
    [[0, 0, 0, 1, 0, 1], [1, 1, 1, 0, 1, 0]]
    """
    q = _bits(n)
    indices = np.asarray(indices, dtype=np.int64)
    shifts = np.arange(q - 1, -1, -1)
    return ((indices[..., None] >> shifts) & 1).reshape(*indices.shape[:-1], indices.shape[-1] * q)


def from_qtt(bits: np.ndarray, n: int) -> np.ndarray:
    """The inverse of :func:`to_qtt`: binary digits ``[k, d*q]`` back to index vectors ``[k, d]``.

    >>> from_qtt(to_qtt(np.array([[0, 5], [7, 2]]), 8), 8).tolist()
    [[0, 5], [7, 2]]
    """
    q = _bits(n)
    bits = np.asarray(bits, dtype=np.int64)
    digits = bits.reshape(*bits.shape[:-1], bits.shape[-1] // q, q)
    return (digits << np.arange(q - 1, -1, -1)).sum(-1)


def _bits(n: int) -> int:
    q = int(n).bit_length() - 1
    if n < 2 or 2 ** q != n:
        raise ValueError(f"n={n}: PROTES runs in QTT format here, which needs n to be a power of 2 "
                         f"(e.g. {2 ** max(1, q)} or {2 ** (q + 1)}); use a codebook of that size.")
    return q


def _import_protes() -> Callable:
    """``protes.protes``, with jax's compilation cache in labkit's cache folder and matplotlib's settings kept."""
    if importlib.util.find_spec("protes") is None or importlib.util.find_spec("jax") is None:
        raise ImportError('method="protes" needs the protes package (and jax). Install them without touching numpy: '
                          'pip install "jax[cpu]>=0.4.13,<0.5" optax && pip install --no-deps protes==0.3.12 '
                          '(or pip install "labkit[lab05]" and the protes line).')
    import jax
    import matplotlib

    if not jax.config.jax_compilation_cache_dir:  # PROTES compiles its functions anew on every call: cache them
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    with matplotlib.rc_context():  # importing protes changes matplotlib's animation settings
        from protes import protes
    return protes


def _protes(track: _Tracker, d: int, n: int, seed: int, setting: str = "TT", **settings: Any) -> None:
    if setting not in PROTES_SETTINGS:
        raise ValueError(f"setting={setting!r}: PROTES settings are {sorted(PROTES_SETTINGS)}.")
    chosen = {**PROTES_SETTINGS[setting], **settings}
    protes = _import_protes()
    k = int(chosen["k"])

    def f(bits: Any) -> np.ndarray | None:
        if track.done:
            return None  # PROTES stops when its objective returns None
        values = track(from_qtt(np.asarray(bits), n))
        # a budget that is not a multiple of k: the rows beyond it are not shown to f and never win
        return np.concatenate([values, np.full(k - len(values), -np.inf)])

    # a fresh info dict on every call: protes' default dict is shared between calls
    protes(f, d * _bits(n), 2, m=track.budget, k=k, k_top=int(chosen["k_top"]), k_gd=int(chosen["k_gd"]),
           lr=float(chosen["lr"]), r=int(chosen["r"]), seed=seed, is_max=True, info={})


def _random(track: _Tracker, d: int, n: int, seed: int, batch: int = 100) -> None:
    batch = _check_int(batch, "batch", 1, "It is the number of random index vectors per call of f.")
    rng = np.random.default_rng(seed)
    while not track.done:
        track(rng.integers(0, n, size=(min(batch, track.left), d)))


def _es(track: _Tracker, d: int, n: int, seed: int, lam: int = 10, mutation: float | None = None) -> None:
    lam = _check_int(lam, "lam", 1, "It is λ, the number of mutants per generation (one call of f).")
    mutation = 1.0 / d if mutation is None else float(mutation)
    if not 0 < mutation <= 1:
        raise ValueError(f"mutation must be in (0, 1], the probability that a position mutates; got {mutation}.")
    rng = np.random.default_rng(seed)
    parent = rng.integers(0, n, size=(1, d))
    parent_value = track(parent)[0]
    while not track.done:
        children = np.repeat(parent, min(lam, track.left), axis=0)
        mutate = rng.random(children.shape) < mutation
        unchanged = ~mutate.any(axis=1)  # every mutant changes at least one position
        mutate[np.flatnonzero(unchanged), rng.integers(0, d, size=int(unchanged.sum()))] = True
        shift = rng.integers(1, n, size=children.shape)  # a different value at each mutated position
        children = np.where(mutate, (children + shift) % n, children)
        values = track(children)
        best = int(np.argmax(values))
        if values[best] >= parent_value:
            parent, parent_value = children[best:best + 1], values[best]


def _nevergrad(track: _Tracker, d: int, n: int, seed: int, optimizer: str = "Portfolio", batch: int = 10) -> None:
    if importlib.util.find_spec("nevergrad") is None:
        raise ImportError('method="nevergrad" needs the nevergrad package: pip install nevergrad.')
    import nevergrad as ng

    if optimizer not in ng.optimizers.registry:
        raise ValueError(f"optimizer={optimizer!r} is not a nevergrad optimiser (e.g. 'Portfolio', 'RandomSearch').")
    batch = _check_int(batch, "batch", 1, "It is the number of index vectors nevergrad asks for per call of f.")
    param = ng.p.Choice(list(range(n)), repetitions=d)
    param.random_state = np.random.RandomState(seed)
    opt = ng.optimizers.registry[optimizer](parametrization=param, budget=track.budget, num_workers=batch)
    while not track.done:
        asked = [opt.ask() for _ in range(min(batch, track.left))]
        values = track(np.array([a.value for a in asked], dtype=np.int64))
        for candidate, value in zip(asked, values):
            opt.tell(candidate, -float(value))  # nevergrad minimises


_RUNNERS = {"protes": _protes, "random": _random, "es": _es, "nevergrad": _nevergrad}


def maximise(
    f: Callable[[np.ndarray], Any],
    d: int,
    n: int,
    budget: int,
    method: str = "protes",
    seed: int = 0,
    *,
    stop_at: float | None = None,
    progress: bool | None = None,
    **options: Any,
) -> Maximum:
    """Maximise a black box ``f`` over index vectors in ``{0..n-1}^d`` with exactly ``budget`` queries.

    Parameters
    ----------
    f
        ``f(indices) -> values``: an int array ``[k, d]`` in, ``k`` finite values out
        (higher is better). Each row is one query.
    d
        Number of positions (e.g. 49 for a 7x7 grid of codes).
    n
        Number of values per position (e.g. a codebook of 32 codes); a power of 2
        for ``"protes"``.
    budget
        Number of queries; ``f`` never sees more rows than that in all.
    method
        ``"protes"``, ``"random"``, ``"es"`` or ``"nevergrad"`` (see the module's summary).
    seed
        Seed of the method's random choices: the same seed gives the same queries.
    stop_at
        Stop early once a value reaches it (e.g. a firing rate of 1, which no
        input can beat); the curve is then shorter than ``budget``.
    progress
        A ``tqdm`` bar over the queries; default off in static runs (book, CI).
    **options
        Per method: ``"protes"``: ``setting`` (a key of :data:`~labkit.analysis.maximise.PROTES_SETTINGS`,
        default ``"TT"``) or ``k``, ``k_top``, ``lr``, ``r``, ``k_gd``;
        ``"random"``: ``batch`` (100); ``"es"``: ``lam`` (λ, 10) and ``mutation``
        (the probability that a position mutates, ``1/d``); ``"nevergrad"``: ``optimizer`` (``"Portfolio"``) and ``batch`` (10).

    Returns
    -------
    Maximum
        ``(best_index, best_value, curve)``.

    Raises
    ------
    ValueError, TypeError
        For an unknown method or option, or a bad ``d``, ``n`` or ``budget``
        (and ``n`` not a power of 2 for ``"protes"``), or when ``f`` returns the
        wrong number of values or a NaN.
    ImportError
        When the method's package is not installed (the message says how).
    """
    if method not in _RUNNERS:
        raise ValueError(f"method={method!r} is not one of {', '.join(repr(m) for m in METHODS)}.")
    d = _check_int(d, "d", 1, "It is the number of positions of the index vector, e.g. 49 for a 7x7 latent grid.")
    n = _check_int(n, "n", 2, "It is the number of values per position, e.g. the codebook size.")
    budget = _check_int(budget, "budget", 1, "It is the number of queries (index vectors shown to f).")
    if method == "protes":
        q = _bits(n)
        if d * q < 2:
            raise ValueError(f"d={d}, n={n}: PROTES needs at least 2 binary digits (d * log2(n) >= 2).")
    if not callable(f):
        raise TypeError(f"f must be a function of an int array [k, d], got {type(f).__name__}.")
    runner = _RUNNERS[method]
    allowed = [p for p in inspect.signature(runner).parameters if p not in ("track", "d", "n", "seed")]
    if method == "protes":
        allowed += list(PROTES_SETTINGS["TT"])
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"method={method!r} has no option {unknown}; its options are {allowed}.")
    show = (not is_static()) if progress is None else progress
    with tqdm(total=budget, desc=f"maximise ({method})", disable=not show, leave=False) as bar:
        track = _Tracker(f, d, budget, stop_at, bar)
        try:
            runner(track, d, n, int(seed), **options)
        except _Stop:
            pass
    if track.best_index is None:  # pragma: no cover - every method queries at least once
        raise RuntimeError(f"method {method!r} made no query.")
    return Maximum(track.best_index, track.best_value, np.asarray(track.curve, dtype=float))


def single_edits(f: Callable[[np.ndarray], Any], index: np.ndarray, n: int) -> np.ndarray:
    """The value of every index vector one edit away from ``index``: ``values[i, v]`` with position ``i`` set to ``v``.

    The local landscape around a search's result, at the cost of ``d * n``
    queries in ``d`` batches of ``n``: how many single edits keep the value,
    lose it or (when the search stopped short of a local maximum) raise it.
    ``values[i, index[i]]`` is ``f(index)`` itself.

    >>> f = lambda idx: (idx == 3).sum(axis=1)
    >>> single_edits(f, np.array([3, 0]), n=4).tolist()
    [[0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 2.0]]
    """
    index = np.asarray(index)
    if index.ndim != 1:
        raise ValueError(f"index must be one index vector [d], got shape {tuple(index.shape)}.")
    n = _check_int(n, "n", 2, "It is the number of values per position, e.g. the codebook size.")
    if index.min() < 0 or index.max() >= n:
        raise ValueError(f"index has values outside 0..{n - 1} (n={n}): pass the codebook size as n.")
    rows = []
    for i in range(index.size):
        batch = np.repeat(index[None], n, axis=0)
        batch[:, i] = np.arange(n)
        values = np.asarray(f(batch), dtype=float)
        if values.size != n:
            raise ValueError(f"f returned {values.size} values for a batch of {n} index vectors; it must return one per row.")
        rows.append(values.reshape(n))
    return np.stack(rows)


def edit_summary(values: np.ndarray, index: np.ndarray, tolerance: float = 0.05) -> dict[str, float]:
    """Shares of the single edits (:func:`single_edits`) that keep, halve or raise the value of ``index``.

    Returns ``value`` (of ``index`` itself), ``edits`` (their number, ``d * (n - 1)``),
    ``same`` (the share, in %, whose value is within ``tolerance`` of it, relative),
    ``halved`` (the share at or below half of it), ``higher`` (the share above it) and
    ``best`` (the highest value of any edit).

    >>> values = np.array([[2.0, 4.0, 4.1], [1.0, 4.0, 5.0]])   # index [1, 1]: value 4
    >>> edit_summary(values, np.array([1, 1]))
    {'value': 4.0, 'edits': 4, 'same': 25.0, 'halved': 50.0, 'higher': 50.0, 'best': 5.0}
    """
    values, index = np.asarray(values, dtype=float), np.asarray(index)
    if values.ndim != 2 or values.shape[0] != index.size:
        raise ValueError(f"values must be [d, n] for an index of d={index.size} positions (single_edits' result), "
                         f"got shape {tuple(values.shape)}.")
    value = float(values[0, index[0]])
    if value <= 0:
        raise ValueError(f"the value of index is {value}; relative changes need a positive value.")
    edited = np.ones(values.shape, dtype=bool)
    edited[np.arange(index.size), index] = False
    change = (values[edited] - value) / value
    return {"value": value, "edits": int(edited.sum()), "same": 100 * float(np.mean(np.abs(change) < tolerance)),
            "halved": 100 * float(np.mean(change <= -0.5)), "higher": 100 * float(np.mean(change > 0)),
            "best": float(values.max())}
