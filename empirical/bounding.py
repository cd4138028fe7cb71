"""Shared plumbing of the *bounding* methods (``hinge``, ``irl1``, ``local``, ``root-lb``, ``auto``).

A bounding method proves ``lower_bound <= k*(A) <= upper_bound`` without closing the gap in
general (math.md §1; ``k*(A) = min_{u≠0} #{i : <a_i,u> > 0}``):

* **upper bounds** come from a witness ``u``: ``k* <= #{i : <a_i,u> > 0}``.  Every witness is
  certified by :func:`reluinj.empirical.certificate.check_witness` (strict, counted rigorously in
  floating point) before it is returned; the heuristics that found it are not trusted.
* **lower bounds** come from verified infeasible subsystems (:mod:`reluinj.empirical.lower_bounds`)
  or from an exhausted / partial exact search; the trivial bound is 0.

This module holds what they share: input reduction (zero rows dropped, they are never positive;
``k* = 0`` cases), unit rows, witness certification, deadlines, and result assembly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .certificate import check_witness
from .preprocess import ZERO_TOL, preprocess, trivial_result
from .result import SolveResult, injective_from_bounds


class Deadline:
    """Wall-clock budget: ``Deadline(None)`` never expires."""

    def __init__(self, time_limit: float | None, t0: float | None = None) -> None:
        if time_limit is not None and not time_limit >= 0:
            raise ValueError(f"time_limit must be a non-negative number of seconds or None, got {time_limit}")
        self.t0 = time.perf_counter() if t0 is None else t0
        self.end = None if time_limit is None else self.t0 + float(time_limit)

    def remaining(self) -> float:
        return float("inf") if self.end is None else max(0.0, self.end - time.perf_counter())

    def left(self) -> float | None:
        """Remaining seconds, or None when unlimited (the form solvers' time_limit takes)."""
        return None if self.end is None else self.remaining()

    def expired(self) -> bool:
        return self.end is not None and time.perf_counter() >= self.end

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def sub(self, fraction: float, cap: float | None = None) -> float | None:
        """A time limit for a sub-step: ``fraction`` of what remains (None if unlimited), capped."""
        if self.end is None:
            return cap
        t = fraction * self.remaining()
        return t if cap is None else min(t, cap)


@dataclass
class Reduced:
    """The input as the bounding methods see it.

    A : non-zero rows of the input (original scaling; witnesses are checked against it).
    B : the same rows scaled to unit norm.  kept : their indices in the input.
    n, m : input size (``m`` counts zero rows, which never count as positive).
    """

    A: np.ndarray
    B: np.ndarray
    kept: np.ndarray
    n: int
    m: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def m_eff(self) -> int:
        return int(self.A.shape[0])


def reduce_input(
    A: np.ndarray, method: str, *, decision: bool, t0: float
) -> tuple[Reduced | None, SolveResult | None]:
    """Drop zero rows and answer the trivial ``k* = 0`` cases (``m < n``, ``rank A < n``).

    Returns ``(reduced, None)`` or ``(None, trivial_result)``; the trivial result is the one of the
    reference solvers (:func:`reluinj.empirical.preprocess.trivial_result`: exact ``k* = 0``, null
    vector witness checked by residual, ``info["witness_strict"] = False``).
    """
    A = np.asarray(A, dtype=np.float64)
    m, n = A.shape
    kept = np.flatnonzero(np.any(A != 0.0, axis=1))
    Ak = np.ascontiguousarray(A[kept])
    trivial = kept.size < n
    if not trivial:
        B = Ak / np.linalg.norm(Ak, axis=1, keepdims=True)
        s = np.linalg.svd(B, compute_uv=False)
        trivial = bool(s[-1] <= ZERO_TOL * s[0])
    if trivial:
        pre = preprocess(A, screen=False)
        if pre.trivial is not None:
            res = trivial_result(pre, method, decision=decision, t0=t0)
            res.info["bound_methods"] = {"lower": "trivial", "upper": "trivial"}
            return None, res
        B = pre.An
    return Reduced(Ak, np.ascontiguousarray(B), kept, n, m, {"zero_rows": int(m - kept.size)}), None


def certify(A: np.ndarray, u: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, int] | None:
    """A strict witness near ``u`` and its certified count, or None.

    If ``u`` itself is strict (every row certainly positive or certainly negative) it is returned
    (normalised).  Otherwise the rows that are certainly negative at ``u`` are kept negative by a
    small random perturbation (smaller than their margin), which makes the undecided rows
    (``<a_i,u> ≈ 0``) strictly signed; the count can only go down from ``u``'s certified count.
    """
    u = np.asarray(u, dtype=np.float64)
    if not (np.all(np.isfinite(u)) and np.any(u != 0.0)):
        return None
    u = u / np.linalg.norm(u)
    chk = check_witness(A, u)
    if chk.strict:
        return u, chk.positives
    rng = np.random.default_rng(seed)
    margin = chk.margin if np.isfinite(chk.margin) else 1.0
    for scale in (0.5, 0.1, 1e-2, 1e-3, 1e-4):
        g = rng.standard_normal(u.size)
        v = u + (scale * margin / np.linalg.norm(g)) * g
        c = check_witness(A, v)
        if c.strict and c.positives <= chk.positives:
            return v / np.linalg.norm(v), c.positives
    return None


def count_positive(B: np.ndarray, u: np.ndarray) -> int:
    """``#{i : <b_i,u> > 0}`` in floating point (a heuristic's score; certification is separate)."""
    return int(np.count_nonzero(B @ u > 0.0))


def fallback_witness(A: np.ndarray, seed: int = 0) -> tuple[np.ndarray, int]:
    """A strict witness of a random direction (always exists for a matrix with non-zero rows)."""
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        got = certify(A, rng.standard_normal(A.shape[1]), seed=seed)
        if got is not None:
            return got
    raise RuntimeError("no strict random witness found in 1000 draws")  # probability zero


def status_of(lower: int, upper: int, n: int, decision: bool, stopped: str) -> str:
    """``optimal`` when the bounds meet; ``decided`` in decision mode when they decide ``k* >= n``;
    else ``stopped`` (``"time_limit"`` or ``"node_limit"``, the latter for an own work budget)."""
    if lower == upper and not decision:
        return "optimal"
    if decision and injective_from_bounds(lower, upper, n) is not None:
        return "decided"
    if lower == upper:
        return "optimal"
    return stopped


def make_result(
    red: Reduced,
    method: str,
    *,
    lower: int,
    upper: int,
    witness: np.ndarray,
    decision: bool,
    stopped: str,
    t0: float,
    lps: int = 0,
    nodes: int = 0,
    info: dict[str, Any] | None = None,
) -> SolveResult:
    """Assemble the SolveResult of a bounding method (bounds already proven by the caller)."""
    if lower > upper:  # both are proven: a contradiction is a bug somewhere, never clip it
        raise RuntimeError(f"{method}: proven lower bound {lower} exceeds proven upper bound {upper}")
    d = dict(red.info)
    if info:
        d.update(info)
    return SolveResult(
        n=red.n,
        m=red.m,
        method=method,
        kstar=lower if lower == upper else None,
        lower_bound=lower,
        upper_bound=int(upper),
        injective=injective_from_bounds(lower, upper, red.n),
        witness=witness,
        status=status_of(lower, upper, red.n, decision, stopped),
        time_s=time.perf_counter() - t0,
        nodes=nodes,
        lps=lps,
        decision=decision,
        info=d,
    )


def check_options(name: str, opts: dict[str, Any], allowed: dict[str, Any]) -> dict[str, Any]:
    """Merge ``opts`` into the defaults ``allowed``; unknown names raise a clear TypeError."""
    unknown = set(opts) - set(allowed)
    if unknown:
        raise TypeError(
            f"{name} got unknown option(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    out = dict(allowed)
    out.update(opts)
    return out
