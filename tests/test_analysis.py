"""Analysis: Wilson intervals (textbook values, an independent implementation, coverage) and the
per-point aggregation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from reluinj.experiments.analysis import summarize, summary_records, wilson_interval

# Newcombe, "Two-sided confidence intervals for the single proportion: comparison of seven
# methods", Statistics in Medicine 17:857-872 (1998), Table II, method 3 (Wilson score, no CC).
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("k", "n", "lo", "hi"), NEWCOMBE)
def test_wilson_newcombe_table(k, n, lo, hi):
    l, h = wilson_interval(k, n)
    assert round(float(l), 4) == lo and round(float(h), 4) == hi


def test_wilson_matches_statsmodels():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    rng = np.random.default_rng(3)
    N = rng.integers(1, 400, size=50)
    k = rng.integers(0, N + 1)
    lo, hi = wilson_interval(k, N)
    slo, shi = proportion.proportion_confint(k, N, alpha=0.05, method="wilson")
    np.testing.assert_allclose(lo, slo, atol=1e-12)
    np.testing.assert_allclose(hi, shi, atol=1e-12)


def test_wilson_coverage_close_to_95_percent():
    # exact coverage: sum of Binomial(N, p) probabilities of the k whose interval contains p
    N = 100
    k = np.arange(N + 1)
    lo, hi = wilson_interval(k, np.full_like(k, N))
    for p in (0.1, 0.3, 0.5, 0.8):
        cover = binom.pmf(k, N, p)[(lo <= p) & (p <= hi)].sum()
        assert 0.92 < cover < 0.98, (p, cover)


def test_wilson_edge_cases():
    lo, hi = wilson_interval(0, 0)
    assert math.isnan(lo) and math.isnan(hi)
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and 0.6 < lo < 0.75
    lo, hi = wilson_interval(np.array([0, 5]), np.array([10, 10]))
    assert lo[0] == 0.0 and lo[1] < 0.5 < hi[1]


def _rows():
    rows = []
    # point (4, 16): injective True x3, False x1, undecided x1 ; kstar known for 4 of them
    for i, (inj, k) in enumerate([(True, 5), (True, 4), (True, 6), (False, 3), (None, None)]):
        rows.append(dict(n=4, m=16, index=i, injective=inj, kstar=k, time_s=0.1))
    for i in range(3):  # point (3, 9): all non-injective
        rows.append(dict(n=3, m=9, index=i, injective=False, kstar=1 + i, time_s=0.2))
    return pd.DataFrame(rows)


def test_summarize_counts_and_excludes_unresolved():
    s = summarize(_rows())
    assert list(zip(s["n"], s["m"], strict=True)) == [(3, 9), (4, 16)]
    r = s.iloc[1]
    assert r["instances"] == 5 and r["unresolved"] == 1 and r["resolved"] == 4
    assert r["injective"] == 3 and r["p_injective"] == 0.75
    lo, hi = wilson_interval(3, 4)
    assert r["ci_low"] == pytest.approx(float(lo)) and r["ci_high"] == pytest.approx(float(hi))
    assert r["mean_kstar"] == pytest.approx(4.5) and r["n_kstar"] == 4
    assert r["mean_kstar_over_n"] == pytest.approx(4.5 / 4)
    assert r["alpha"] == 4.0
    assert s.iloc[0]["p_injective"] == 0.0 and s.iloc[0]["mean_kstar"] == pytest.approx(2.0)


def test_summary_records_are_json_clean():
    import json

    df = pd.DataFrame([dict(n=3, m=9, index=0, injective=None, kstar=None, time_s=0.1)])
    recs = summary_records(summarize(df))
    assert recs[0]["p_injective"] is None and recs[0]["mean_kstar"] is None
    json.dumps(recs, allow_nan=False)
