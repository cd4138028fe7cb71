"""The report's account of the extrapolation ansätze: kept ones, dropped ones with the reason the
acceptance rule of ``extrapolation.extrapolate`` gives, and the all-ansätze union."""

import numpy as np

from reluinj.experiments.extrapolation import extrapolate
from reluinj.experiments.report import ansatz_text


def test_ansatz_text_names_the_dropped_ansatz_and_the_union_of_all():
    # data from y = 6.7 - 8/n + 6/n^2 with small errors: the pure 1/n ansatz is far off in AIC
    n = np.arange(4, 17, dtype=float)
    se = np.full(n.size, 0.002)
    y = 6.7 - 8 / n + 6 / n**2 + np.random.default_rng(0).normal(0, 0.002, n.size)
    d = extrapolate(n, y, se).to_dict()
    txt = ansatz_text(d)
    kept = [f["ansatz"] for f in d["ansatze"] if f["acceptable"]]
    dropped = [f for f in d["ansatze"] if not f["acceptable"]]
    assert "1/n+1/n^2" in kept
    assert any(f["ansatz"] == "1/n" for f in dropped)
    # the reason is recorded where the rule is applied (extrapolate), not re-derived
    assert all(f["dropped_by"] for f in dropped) and all(not f["dropped_by"] for f in d["ansatze"]
                                                         if f["acceptable"])
    assert "1/n (ΔAIC" in txt and "> 2" in txt
    lo = min(f["ci"][0] for f in d["ansatze"])
    hi = max(f["ci"][1] for f in d["ansatze"])
    assert f"[{lo:.3f}, {hi:.3f}]" in txt


def test_ansatz_text_with_every_ansatz_kept_has_no_comparison_union():
    d = {"ansatze": [{"ansatz": "1/n", "acceptable": True, "dof": 3, "aic": 5.0,
                      "ci": [6.0, 6.2]}]}
    assert ansatz_text(d) == "acceptable: 1/n"
    assert ansatz_text({}) == ""


def test_slopes_all_above_theory_are_named_with_the_gap():
    from reluinj.experiments.report import _slopes_off_theory

    th = {"1": 0.25, "2": 0.31, "3": 0.32}
    es = [{"alpha": 4.0, "estimate": 0.35, "ci": [0.34, 0.36], "n": [4, 16], "theory": th},
          {"alpha": 5.0, "estimate": 0.40, "ci": [0.30, 0.47], "n": [4, 12], "theory": th}]
    assert _slopes_off_theory(es) == ""  # the second interval contains level 3
    es[1]["ci"] = [0.38, 0.42]
    txt = _slopes_off_theory(es)
    assert "above every fl RDT level" in txt and "0.030–0.080" in txt and "n ≤ 16" in txt
    assert _slopes_off_theory([]) == ""
