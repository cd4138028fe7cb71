"""Vertex-ray enumeration: independent small-dimension checks, closed forms, witnesses, errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import degenerate_instances, gaussian_base, kstar_closed_form, random_instances

from reluinj.empirical.certificate import check_witness
from reluinj.empirical.enumeration import (
    enumerate_kstar,
    kstar_enumeration,
    kstar_open_enumeration,
    solve_enumeration,
)
from reluinj.empirical.errors import ReluInjError
from reluinj.empirical.solve import solve


def _counts_at(A: np.ndarray, U: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """#{i : <a_i,u> > tol ||a_i|| ||u||} for each row u of U."""
    An = A / np.linalg.norm(A, axis=1, keepdims=True)
    Un = U / np.linalg.norm(U, axis=1, keepdims=True)
    return np.count_nonzero(Un @ An.T > tol, axis=1)


def _kstar_2d_sweep(A: np.ndarray) -> tuple[int, int]:
    """n = 2 by an angular sweep (independent of the SVD code): closed minimum over the
    critical angles (where some row vanishes), open minimum over the midpoints between them."""
    phi = np.arctan2(A[:, 1], A[:, 0])
    crit = np.sort(np.mod(np.concatenate([phi + np.pi / 2, phi - np.pi / 2]), 2 * np.pi))
    nxt = np.roll(crit, -1)
    nxt[-1] += 2 * np.pi
    mids = (crit + nxt) / 2
    closed = _counts_at(A, np.column_stack([np.cos(crit), np.sin(crit)]))
    M = np.column_stack([np.cos(mids), np.sin(mids)])
    cos = M @ (A / np.linalg.norm(A, axis=1, keepdims=True)).T
    M = M[np.min(np.abs(cos), axis=1) > 1e-9]  # drop "midpoints" of coinciding critical angles
    opened = _counts_at(A, M, tol=0.0)
    return int(min(closed.min(), opened.min())), int(opened.min())


def test_n1_closed_form() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        A = rng.standard_normal((int(rng.integers(1, 12)), 1))
        k, u = kstar_enumeration(A)
        npos = int(np.sum(A[:, 0] > 0))
        assert k == min(npos, A.shape[0] - npos)
        chk = check_witness(A, u)
        assert chk.strict and chk.positives == k


@pytest.mark.parametrize("seed", range(4))
def test_n2_matches_angular_sweep(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(15):
        m = int(rng.integers(2, 25))
        A = rng.standard_normal((m, 2))
        closed, opened = _kstar_2d_sweep(A)
        out = enumerate_kstar(A)
        assert out.kstar == closed == opened == out.kstar_open


def test_n2_degenerate_matches_angular_sweep() -> None:
    """Integer rows in the plane with many parallel / antiparallel coincidences."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        A = rng.integers(-2, 3, size=(int(rng.integers(2, 12)), 2)).astype(float)
        A = A[np.any(A != 0, axis=1)]
        if A.shape[0] == 0 or np.linalg.matrix_rank(A) < 2:
            continue
        closed, opened = _kstar_2d_sweep(A)
        out = enumerate_kstar(A)
        assert (out.kstar, out.kstar_open) == (closed, opened)


def test_random_directions_never_beat_enumeration() -> None:
    """Sampling gives upper bounds on k*_open; for small m it finds the minimum in most cases."""
    rng = np.random.default_rng(3)
    hits = total = 0
    for inst in random_instances(40, (3, 4), (2.0, 4.0), seed=3):
        out = enumerate_kstar(inst.A)
        U = rng.standard_normal((20000, inst.n))
        sampled = int(np.count_nonzero(U @ inst.A.T > 0, axis=1).min())
        assert sampled >= out.kstar_open >= out.kstar
        hits += sampled == out.kstar_open
        total += 1
    assert hits >= 0.8 * total


def test_open_minimum_of_degenerate_inputs_against_sampling() -> None:
    """Random directions lie in open cells (a.s.): their counts bound k*_open from above, and for
    these small instances the sampled minimum hits it in most cases."""
    rng = np.random.default_rng(17)
    hits = total = 0
    for seed in range(3):
        for inst in degenerate_instances(seed=seed, reps=2):
            out = enumerate_kstar(inst.A)
            if out.kstar_open is None:
                continue
            U = rng.standard_normal((30000, inst.n))
            sampled = int(np.count_nonzero(U @ inst.A.T > 0, axis=1).min())
            assert sampled >= out.kstar_open >= out.kstar, inst.label
            chk = check_witness(inst.A[np.any(inst.A != 0, axis=1)], out.witness_open)
            assert chk.strict and chk.positives == out.kstar_open, inst.label
            hits += sampled == out.kstar_open
            total += 1
    assert hits >= 0.8 * total


def test_witnesses_are_strict_in_general_position() -> None:
    for inst in random_instances(60, (1, 5), (2.0, 8.0), seed=21, max_subsets=20000):
        res = solve_enumeration(inst.A)
        chk = check_witness(inst.A, res.witness)
        assert res.info["witness_strict"] and chk.strict
        assert chk.positives == res.upper_bound == res.kstar
        assert res.injective == (res.kstar >= inst.n)
        assert "kstar_open" not in res.info


@pytest.mark.parametrize("n,m_base,seed", [(2, 7, 1), (3, 8, 2), (3, 11, 3), (4, 10, 4)])
def test_closed_forms_of_degenerate_families(n: int, m_base: int, seed: int) -> None:
    B = gaussian_base(seed, n, m_base)
    kb = kstar_enumeration(B)[0]
    rng = np.random.default_rng(seed)
    # positive duplicates / scalings: closed = open = 2 k*(B), strict witness
    for kind, A in (
        ("double", np.vstack([B, B])),
        ("double_scaled", np.vstack([B, B * rng.uniform(0.1, 10.0, (m_base, 1))])),
        ("zero_rows", np.vstack([B, np.zeros((3, n))])),
    ):
        out = enumerate_kstar(A)
        assert out.kstar == out.kstar_open == kstar_closed_form(kind, kb, n, m_base)
        assert out.witness_strict
        chk = check_witness(A[np.any(A != 0, axis=1)], out.witness)
        assert chk.strict and chk.positives == out.kstar
    # antiparallel pairs: closed minimum on n-1 common hyperplanes, open cells count every pair
    out = enumerate_kstar(np.vstack([B, -B]))
    assert out.kstar == kstar_closed_form("plus_minus", kb, n, m_base) == m_base - (n - 1)
    assert out.kstar_open == m_base
    assert not out.witness_strict
    s = np.vstack([B, -B]) @ out.witness / np.linalg.norm(np.vstack([B, -B]), axis=1)
    assert np.count_nonzero(s > 1e-9) == out.kstar
    assert np.count_nonzero(np.abs(s) <= 1e-9) >= 2 * (n - 1)
    chk = check_witness(np.vstack([B, -B]), out.witness_open)
    assert chk.strict and chk.positives == m_base


def test_rank_deficient_open_minimum_is_that_of_the_row_space() -> None:
    """A = [B 0]: closed k* = 0 (u = e_n), open cells are those of B in one dimension less."""
    for seed in range(5):
        B = gaussian_base(seed, 3, 9)
        A = np.hstack([B, np.zeros((9, 1))])
        res = solve_enumeration(A)
        assert res.kstar == 0 and not res.injective
        assert res.info["trivial"] == "rank_deficient" and not res.info["witness_strict"]
        assert np.max(np.abs(A @ res.witness)) <= 1e-12
        kb = kstar_enumeration(B)[0]
        if kb > 0:
            assert res.info["kstar_open"] == kb
            chk = check_witness(A, np.array(res.info["witness_open"]))
            assert chk.strict and chk.positives == kb


def test_m_less_than_n_is_trivial() -> None:
    res = solve(np.ones((2, 3)), "enum")
    assert res.kstar == 0 and res.injective is False
    assert "m < n" in res.info["message"]


def test_subset_limit_is_a_clear_error() -> None:
    A = np.random.default_rng(0).standard_normal((40, 7))
    with pytest.raises(ReluInjError, match=r"C\(40, 6\) = 3838380 .*max_subsets"):
        solve_enumeration(A)
    k, _ = kstar_open_enumeration(A[:12])
    assert 0 <= k <= 6


def test_time_limit_gives_valid_bounds() -> None:
    A = np.random.default_rng(1).standard_normal((24, 6))
    res = solve_enumeration(A, time_limit=1e-4)
    exact = solve_enumeration(A).kstar
    assert res.status == "time_limit"
    assert res.lower_bound <= exact <= res.upper_bound
    chk = check_witness(A, res.witness)
    assert chk.strict and chk.positives == res.upper_bound


def test_registry_and_decision_mode() -> None:
    A = np.random.default_rng(2).standard_normal((15, 3))
    a = solve(A, "enum")
    b = solve(A, "enum", decision=True)
    assert a.kstar == b.kstar and a.injective == b.injective == (a.kstar >= 3)
    assert b.decision and b.status == "optimal"
