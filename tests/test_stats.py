"""labkit.stats: intervals cover what they should, verdict words follow the interval."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import stats
from labkit.stats import Interval, bootstrap, over_seeds, paired_bootstrap, verdict


def test_bootstrap_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    hits = sum(bootstrap(rng.normal(0.3, 1.0, 200), n_boot=400, seed=k).excludes(0.3) is False for k in range(200))
    assert 0.88 <= hits / 200 <= 0.99


def test_paired_bootstrap_is_narrower_than_separate_intervals():
    rng = np.random.default_rng(0)
    ease = rng.random(1000)                 # shared difficulty: both networks fail the same hard images
    a, b = ease > 0.10, ease > 0.15
    pair = paired_bootstrap(a, b, seed=0)
    sep = [bootstrap(x, seed=0) for x in (a, b)]
    assert pair.high - pair.low < min(i.high - i.low for i in sep)
    assert pair.estimate == pytest.approx(a.mean() - b.mean())


def test_over_seeds_mean_sd_and_t_interval():
    s = over_seeds([1.0, 2.0, 3.0])
    assert (s.mean, s.sd) == (2.0, 1.0)
    assert s.interval.high - 2.0 == pytest.approx(4.303 / np.sqrt(3), rel=1e-3)  # t(0.975, 2) = 4.303
    assert "2.000 ± 1.000 (3 seeds" in str(s)


def test_verdict_needs_the_interval_to_exclude_zero():
    assert verdict(Interval(0.1, 0.01, 0.2, 0.95, 10, "t")) == "more"
    assert verdict(Interval(-0.1, -0.2, -0.01, 0.95, 10, "t")) == "less"
    assert verdict(Interval(0.1, -0.01, 0.2, 0.95, 10, "t")) == "not resolved at this size"
    assert verdict(over_seeds([0.1, -0.1, 0.05])) == "not resolved at this size"


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="values needs at least 2"):
        bootstrap([1.0])
    with pytest.raises(ValueError, match="same units"):
        paired_bootstrap([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="NaN"):
        over_seeds([1.0, float("nan")])
    with pytest.raises(ValueError, match="level must be in"):
        bootstrap([1.0, 0.0], level=95)


def test_best_of_names_the_best_only_when_every_lead_is_resolved():
    rng = np.random.default_rng(1)
    strong = 0.95 + 0.002 * rng.standard_normal(5)
    ranking = stats.best_of({"strong": strong, "weak": strong - 0.05, "close": strong - 0.001 * rng.standard_normal(5)})
    assert ranking.best == "strong" and not ranking.resolved and ranking.within == ("strong", "close")
    assert ranking.name() == "not resolved at this size" and ranking.name("tie") == "tie"
    clear = stats.best_of({"strong": strong, "weak": strong - 0.05})
    assert clear.resolved and clear.name() == "strong" and clear.leads["weak"].interval.low > 0


def test_best_of_chooses_by_validation_and_judges_on_test():
    # chosen on validation, the candidate can be worse on test: then it is not resolved as the best
    test = {"a": [0.90, 0.91, 0.92], "b": [0.95, 0.96, 0.97]}
    ranking = stats.best_of(test, choose_by={"a": 0.99, "b": 0.98})
    assert ranking.best == "a" and not ranking.resolved
    assert stats.verdict(ranking.leads["b"]) == "less" and ranking.ahead == ("b",) and ranking.within == ("a",)
    assert ranking.summary("network") == "Against b, a is resolved behind; so this run cannot name a best network."


def test_best_of_summary_names_what_is_not_resolved():
    ranking = stats.best_of({"x": [0.95, 0.96, 0.955], "y": [0.94, 0.97, 0.95], "z": [0.90, 0.91, 0.905]})
    assert ranking.within == ("x", "y") and ranking.ahead == ()
    assert ranking.summary() == "Against y, the lead of x is not resolved at this size; so this run cannot name a best candidate."
    mixed = stats.best_of({"x": [0.95, 0.96, 0.955], "y": [0.94, 0.97, 0.95], "w": [0.97, 0.98, 0.975]},
                          choose_by={"x": 1.0, "y": 0.5, "w": 0.5})
    assert mixed.summary() == ("Against w, x is resolved behind; against y, its lead is not resolved at this size; "
                               "so this run cannot name a best candidate.")


def test_best_of_over_images_uses_a_paired_bootstrap():
    rng = np.random.default_rng(0)
    a = (rng.random(3000) < 0.95).astype(float)
    b = np.where(rng.random(3000) < 0.1, 0.0, a)  # b gets wrong 10% of the images a gets right
    ranking = stats.best_of({"a": a, "b": b}, unit="images")
    assert ranking.resolved and "paired bootstrap" in ranking.leads["b"].method


def test_best_of_refuses_unpaired_or_single_candidates():
    with pytest.raises(ValueError, match="paired"):
        stats.best_of({"a": [0.9, 0.91], "b": [0.9, 0.91, 0.92]})
    with pytest.raises(ValueError, match="at least two candidates"):
        stats.best_of({"a": [0.9, 0.91]})
    with pytest.raises(ValueError, match="unit"):
        stats.best_of({"a": [0.9, 0.91], "b": [0.9, 0.92]}, unit="epochs")
    with pytest.raises(ValueError, match="choose_by has no value"):
        stats.best_of({"a": [0.9, 0.91], "b": [0.9, 0.92]}, choose_by={"a": 1.0})
