"""labkit.maximise: exact budgets, monotone curves, optima of toy problems, seeds that reproduce, clear errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import labkit
from labkit.analysis.maximise import PROTES_SETTINGS, from_qtt, maximise, to_qtt

TARGET = np.array([3, 0, 2, 1, 3, 2])
HAS_PROTES = importlib.util.find_spec("protes") is not None
protes_only = pytest.mark.skipif(not HAS_PROTES, reason="protes is not installed (see the Makefile's venv recipe)")
METHODS = ["random", "es", pytest.param("protes", marks=protes_only)]


class Counted:
    """A separable toy objective (positions equal to TARGET) that records every batch it is shown."""

    def __init__(self, target=TARGET):
        self.target, self.batches = target, []

    def __call__(self, idx):
        assert idx.dtype.kind == "i" and idx.ndim == 2 and idx.shape[1] == len(self.target)
        assert idx.min() >= 0 and idx.max() < 4
        self.batches.append(idx.copy())
        return (idx == self.target).sum(axis=1) + 0.01 * idx[:, 0]  # a small tie-breaker: the optimum is unique

    @property
    def queries(self):
        return sum(len(b) for b in self.batches)


def test_exported_at_the_top():
    assert labkit.maximise is maximise and "maximise" in labkit.__all__


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("budget", [1, 37, 200])
def test_budget_is_exact_and_curve_is_the_running_best(method, budget):
    f = Counted()
    best, value, curve = maximise(f, d=6, n=4, budget=budget, method=method, seed=1)
    assert f.queries == budget and len(curve) == budget
    values = np.concatenate([f(b) for b in list(f.batches)])  # re-score the queries in order
    np.testing.assert_allclose(curve, np.maximum.accumulate(values))
    assert np.all(np.diff(curve) >= 0) and value == curve[-1]
    assert f(best[None])[0] == pytest.approx(value) and best.shape == (6,)


@pytest.mark.parametrize("method", ["es", pytest.param("protes", marks=protes_only)])
def test_finds_the_optimum_of_a_separable_toy(method):
    best, value, curve = maximise(Counted(), d=6, n=4, budget=1500, method=method, seed=0)
    assert best.tolist() == TARGET.tolist() and value == pytest.approx(6.03)
    assert curve[0] < value  # it had to search


def test_random_search_gets_close_but_finding_one_vector_in_4096_is_luck():
    _, value, _ = maximise(Counted(), d=6, n=4, budget=1500, method="random", seed=0)
    assert 4 <= value < 6.03


@pytest.mark.parametrize("method", METHODS)
def test_seeds_reproduce_and_differ(method):
    runs = [maximise(Counted(), d=6, n=4, budget=60, method=method, seed=s) for s in (5, 5, 6)]
    (a_idx, a_val, a_curve), (b_idx, b_val, b_curve), (_, _, c_curve) = runs
    assert a_idx.tolist() == b_idx.tolist() and a_val == b_val and np.array_equal(a_curve, b_curve)
    fa, fc = Counted(), Counted()
    maximise(fa, d=6, n=4, budget=60, method=method, seed=5)
    maximise(fc, d=6, n=4, budget=60, method=method, seed=6)
    assert not np.array_equal(np.concatenate(fa.batches), np.concatenate(fc.batches))


def test_stop_at_ends_the_search_early():
    f = Counted()
    _, value, curve = maximise(f, d=6, n=4, budget=5000, method="es", seed=0, stop_at=6.0)
    assert value >= 6.0 and len(curve) == f.queries < 5000


@protes_only
def test_protes_settings_and_options():
    f = Counted()
    _, _, curve = maximise(f, d=6, n=4, budget=55, method="protes", seed=0, setting="TT-b")
    assert {len(b) for b in f.batches[:-1]} == {PROTES_SETTINGS["TT-b"]["k"]} and len(f.batches[-1]) == 5
    f = Counted()
    maximise(f, d=6, n=4, budget=30, method="protes", seed=0, k=15, k_top=3)
    assert [len(b) for b in f.batches] == [15, 15]


def test_qtt_round_trip():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 32, size=(7, 49))
    bits = to_qtt(idx, 32)
    assert bits.shape == (7, 49 * 5) and set(np.unique(bits)) <= {0, 1}
    assert np.array_equal(from_qtt(bits, 32), idx)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="adam"), ValueError, "method='adam' is not one of 'protes', 'random', 'es'"),
    (dict(d=0), ValueError, "d must be >= 1, got 0"),
    (dict(n=1), ValueError, "n must be >= 2"),
    (dict(budget=0), ValueError, "budget must be >= 1, got 0"),
    (dict(budget=10.0), TypeError, "budget must be an integer, got float"),
    (dict(method="protes", n=6), ValueError, "n=6: PROTES runs in QTT format here, which needs n to be a power of 2"),
    (dict(method="es", batch=5), TypeError, "method='es' has no option \\['batch'\\]; its options are \\['lam', 'mutation'\\]"),
    (dict(method="es", mutation=0.0), ValueError, "mutation must be in \\(0, 1\\]"),
    (dict(method="protes", setting="TT-x"), ValueError, "PROTES settings are"),
])
def test_bad_arguments_get_clear_errors(kwargs, error, match):
    args = dict(f=Counted(), d=6, n=4, budget=20, method="random") | kwargs
    if args["method"] == "protes" and not HAS_PROTES and "n" not in kwargs:
        pytest.skip("protes is not installed")
    with pytest.raises(error, match=match):
        maximise(**args)


def test_a_bad_objective_is_named():
    with pytest.raises(ValueError, match="f returned 1 values for a batch of 10"):
        maximise(lambda idx: [0.0], d=3, n=4, budget=20, method="random", batch=10)
    with pytest.raises(ValueError, match="NaN or infinite"):
        maximise(lambda idx: np.full(len(idx), np.nan), d=3, n=4, budget=20, method="es")


@pytest.mark.skipif(importlib.util.find_spec("nevergrad") is None, reason="nevergrad is optional")
def test_nevergrad_when_installed():
    f = Counted()
    _, value, curve = maximise(f, d=6, n=4, budget=100, method="nevergrad", seed=0, optimizer="RandomSearch")
    assert f.queries == len(curve) == 100 and value == curve[-1]


def test_single_edits_cover_every_one_position_change():
    from labkit.analysis.maximise import single_edits

    weights = np.arange(12).reshape(3, 4)  # f = sum of a weight per (position, value): separable, known answer
    f = lambda idx: weights[np.arange(3), idx].sum(axis=1)  # noqa: E731
    index = np.array([1, 2, 0])
    values = single_edits(f, index, n=4)
    base = f(index[None])[0]
    assert values.shape == (3, 4)
    for i in range(3):
        for v in range(4):
            assert values[i, v] == base - weights[i, index[i]] + weights[i, v]
    with pytest.raises(ValueError, match="outside 0..3"):
        single_edits(f, np.array([1, 4, 0]), n=4)
    with pytest.raises(ValueError, match="one index vector"):
        single_edits(f, index[None], n=4)
    with pytest.raises(ValueError, match="one per row"):
        single_edits(lambda idx: f(idx)[:1], index, n=4)


def test_edit_summary_reads_single_edits():
    from labkit.analysis.maximise import edit_summary, single_edits

    f = lambda idx: 1.0 + (idx == 3).sum(axis=1)  # noqa: E731  value 1 + number of 3s
    index = np.array([3, 3, 0])
    summary = edit_summary(single_edits(f, index, n=4), index)
    # 9 edits: 6 move a 3 away (3 -> 2: -1/3), 2 keep position 2 off 3 (same), 1 sets it to 3 (+1/3)
    assert summary == {"value": 3.0, "edits": 9, "same": pytest.approx(200 / 9), "halved": 0.0,
                       "higher": pytest.approx(100 / 9), "best": 4.0}
    with pytest.raises(ValueError, match="values must be"):
        edit_summary(np.zeros((2, 4)), index)
    with pytest.raises(ValueError, match="positive value"):
        edit_summary(np.zeros((3, 4)), index)
