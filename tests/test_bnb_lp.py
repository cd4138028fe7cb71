"""Sign-pattern branch-and-bound against the vertex-ray enumeration (independent methods)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from conftest import degenerate_instances, random_instances

from reluinj.empirical.bnb_lp import solve_bnb_lp
from reluinj.empirical.certificate import check_witness
from reluinj.empirical.enumeration import enumerate_kstar
from reluinj.empirical.errors import DegenerateInputError
from reluinj.empirical.solve import solve


def _assert_witness(A: np.ndarray, res) -> None:
    """Strict witnesses pass check_witness with positives == upper bound; non-strict ones
    (degenerate inputs) pass the residual check: rows within 1e-9 (cosine) of zero are not
    counted, the others are counted by sign."""
    A = A[np.any(A != 0, axis=1)]
    u = res.witness
    assert u is not None
    if res.info.get("witness_strict", True):
        chk = check_witness(A, u)
        assert chk.strict and chk.positives == res.upper_bound
    else:
        cos = (A / np.linalg.norm(A, axis=1, keepdims=True)) @ (u / np.linalg.norm(u))
        assert int(np.count_nonzero(cos > 1e-9)) == res.upper_bound


@pytest.mark.parametrize("block", range(3))
def test_bnb_equals_enumeration_on_random_instances(block: int) -> None:
    """3 x 100 Gaussian instances, n <= 6, α ∈ [2, 10] (α capped where C(m, n-1) > 10^4)."""
    insts = random_instances(100, (1, 6), (2.0, 10.0), seed=700 + block, max_subsets=10_000)
    for inst in insts:
        exact = enumerate_kstar(inst.A).kstar
        opt = solve_bnb_lp(inst.A)
        assert opt.status == "optimal" and opt.kstar == exact, inst.label
        assert opt.lower_bound == opt.upper_bound == exact
        _assert_witness(inst.A, opt)
        dec = solve_bnb_lp(inst.A, decision=True)
        assert dec.status in ("decided", "optimal"), inst.label
        assert dec.injective == (exact >= inst.n), inst.label
        assert dec.lower_bound <= exact <= dec.upper_bound
        _assert_witness(inst.A, dec)


@pytest.mark.slow
def test_bnb_equals_enumeration_larger() -> None:
    for inst in random_instances(60, (5, 6), (4.0, 10.0), seed=77, max_subsets=400_000):
        assert solve_bnb_lp(inst.A).kstar == enumerate_kstar(inst.A).kstar, inst.label


def test_degenerate_inputs_answer_exactly_or_raise() -> None:
    """Closed k* (enumeration) or DegenerateInputError; never a different number.  Positive
    duplicates / scalings / zero rows / m < n must be answered."""
    outcomes: Counter[tuple[str, str]] = Counter()
    for seed in range(4):
        for inst in degenerate_instances(seed=seed, reps=3):
            exact = enumerate_kstar(inst.A).kstar
            for decision in (False, True):
                try:
                    res = solve_bnb_lp(inst.A, decision=decision)
                except DegenerateInputError:
                    assert not inst.must_answer, inst.label
                    outcomes[(inst.kind, "raised")] += 1
                    continue
                if decision:
                    assert res.injective == (exact >= inst.n), inst.label
                    assert res.lower_bound <= exact <= res.upper_bound
                else:
                    assert res.kstar == exact, (inst.label, res, exact)
                _assert_witness(inst.A, res)
                outcomes[(inst.kind, "answered")] += 1
    print("\n".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    for kind in ("duplicate", "pos_scaling", "zero_rows", "m_lt_n"):
        assert outcomes[(kind, "raised")] == 0 and outcomes[(kind, "answered")] > 0


def test_facial_reduction_reaches_closed_minimum() -> None:
    """[B; -B]: the closed minimum m - (n-1) lies on n-1 common hyperplanes, below every open
    cell (value m); the B&B must find it through subspace nodes."""
    rng = np.random.default_rng(9)
    for n, m in ((2, 5), (3, 7), (4, 9)):
        B = rng.standard_normal((m, n))
        res = solve_bnb_lp(np.vstack([B, -B]))
        assert res.kstar == m - (n - 1)
        assert res.info["facial_reductions"] > 0 and not res.info["witness_strict"]
        _assert_witness(np.vstack([B, -B]), res)


def test_time_and_node_limits_give_proven_bounds() -> None:
    A = np.random.default_rng(4).standard_normal((40, 5))
    exact = enumerate_kstar(A).kstar
    for kwargs in ({"time_limit": 1e-3}, {"node_limit": 3}):
        res = solve_bnb_lp(A, **kwargs)
        assert res.status == ("time_limit" if "time_limit" in kwargs else "node_limit")
        assert res.lower_bound <= exact <= res.upper_bound
        assert res.lower_bound < res.upper_bound or res.kstar == exact
        _assert_witness(A, res)
        if res.injective is not None:
            assert res.injective == (exact >= 5)


def test_registry_and_search_statistics() -> None:
    A = np.random.default_rng(5).standard_normal((20, 4))
    a = solve(A, "bnb-lp")
    b = solve(A, "exact")
    assert a.kstar == b.kstar == enumerate_kstar(A).kstar
    assert a.nodes > 0 and a.lps >= a.nodes - a.info["infeasible"] - 1
    with pytest.raises(TypeError, match="unknown options"):
        solve_bnb_lp(A, bogus=1)


def test_without_forced_rows_same_answer() -> None:
    for inst in random_instances(15, (2, 4), (3.0, 8.0), seed=31):
        a = solve_bnb_lp(inst.A, forced=False)
        b = solve_bnb_lp(inst.A)
        assert a.kstar == b.kstar, inst.label


def test_preprocess_screen_and_trivial_cases() -> None:
    rng = np.random.default_rng(12)
    B = rng.standard_normal((9, 3))
    res = solve_bnb_lp(np.vstack([B, 3.0 * B[:4], -B[4:6], np.zeros((2, 3))]))
    assert res.info["parallel_pairs"] == 4 and res.info["antiparallel_pairs"] == 2
    assert res.info["zero_rows"] == 2 and res.m == 17
    assert res.kstar == enumerate_kstar(np.vstack([B, 3.0 * B[:4], -B[4:6]])).kstar
    short = solve_bnb_lp(rng.standard_normal((2, 4)))
    assert short.kstar == 0 and short.injective is False and short.info["trivial"] == "m_lt_n"
    assert "m < n" in short.info["message"]
    flat = solve_bnb_lp(np.hstack([B, B[:, :1]]))  # 4 columns of rank 3
    assert flat.kstar == 0 and flat.info["trivial"] == "rank_deficient"
    assert np.max(np.abs(np.hstack([B, B[:, :1]]) @ flat.witness)) <= 1e-12
