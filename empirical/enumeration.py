"""Reference solver: vertex-ray enumeration of ``k*(A) = min_{u≠0} #{i : <a_i,u> > 0}``.

Slow (``2·C(m, n-1)`` rays) and simple, so that faster solvers can be tested against it.  Correct
for any finite ``A`` (not only general position), with one numerical convention: a value
``<a_i,r>`` with ``|<a_i,r>| <= tol·||a_i||·||r||`` (``tol`` = :data:`ZERO_TOL` = 1e-9) counts as
zero, hence *not* positive.

Theorem (closed minimum).  Drop the zero rows (they are never positive).  If ``rank(A) < n`` then
``k* = 0`` (take ``u`` in the null space).  If ``rank(A) = n`` then

    k*(A) = min over (n-1)-subsets T with rank(A_T) = n-1 of  min(count(r_T), count(-r_T)),

where ``r_T`` spans ``null(A_T)`` and ``count(r) = #{i : <a_i,r> > 0}``.

Proof.  "≤" is clear (``±r_T ≠ 0``).  For "≥" take a minimiser ``u`` and among all minimisers one
whose zero set ``Z = {i : <a_i,u> = 0}`` has maximal rank ``ρ`` (``ρ <= n-1`` since ``u ≠ 0`` and
``rank(A) = n``).  Suppose ``ρ < n-1``.  Then ``null(A_Z)`` has dimension ``>= 2``; pick ``w`` in it
not parallel to ``u`` and move along the line ``u(t) = u + t w``, which avoids 0.  Rows of ``Z``
stay zero.  Not every other row can keep its sign for all ``t ∈ R`` (that needs ``<a_i,w> = 0``
for all ``i``, i.e. ``w ∈ null(A) = {0}``), so in one direction a first row ``j ∉ Z`` reaches zero
at some ``t_1``; on ``[0, t_1)`` no sign changes, so ``u(t_1)`` has no more positive rows than
``u`` (positives can only become zero) and is again a minimiser.  Row ``j`` is not in
``span(A_Z)`` (else it would vanish on all of ``null(A_Z)`` ∋ u), so the zero set of ``u(t_1)``
has rank ``ρ + 1``: contradiction.  So ``rank(A_Z) = n-1``; choose ``T ⊆ Z`` of ``n-1`` independent
rows: ``u`` spans ``null(A_T)``, ``u = ±c·r_T`` with ``c > 0``.  In cone language: the minimiser
is an extreme ray of the pointed polyhedral cone ``{v : <a_i,v> <= 0 (i ∉ P)}`` when that cone is
pointed, and the lineality case is exactly the case ``ρ < n-1`` removed above.  ∎

Open cells.  ``k*_open(A) = min over open cells`` (points with no zero row) satisfies
``k*_open >= k*`` with equality in general position.  Every open cell's closure is a pointed cone
(``rank A = n``) with an extreme ray ``r``; near ``r`` the signs of rows ``i ∉ Z(r)`` are those of
``r`` and the rows of ``Z(r)`` follow a direction ``d``, so

    k*_open(A) = min over rays r of  count(r) + k*_open(A_{Z(r)} restricted to r^⊥),

computed here recursively (the restricted problem has dimension ``n-1``; in general position
``Z(r) = T`` and the second term is 0, realised by ``d`` with ``A_T d = -1``).  If
``rank(A) < n`` the open cells of ``A`` are those of ``A`` restricted to its row space.

Witnesses.  The open minimum gets a strict witness ``u = r + ε d`` (``d ⟂ r`` the local witness,
``ε`` found by a short search) that passes ``check_witness`` (strict, ``positives == k``).  When
the closed minimum is *not* attained on an open cell (degenerate input: rows ``a``, ``-a``; rows
positively spanning a hyperplane; ``rank(A) < n``) no strict witness can exist: the returned
witness is then the vertex ray (or null vector) itself, checked by its residual (rows counted
as zero have ``|cos| <= tol``, the others are counted with the same tolerance), and the result
carries ``info["witness_strict"] = False`` and ``info["kstar_open"]`` (with a strict witness in
``info["witness_open"]``).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from math import comb
from typing import Any

import numpy as np

from .certificate import check_witness
from .errors import ReluInjError
from .preprocess import ZERO_TOL, normalize_rows, preprocess, residual_cos
from .result import SolveResult, injective_from_bounds

#: Refuse instances needing more than this many (n-1)-subsets (measured ~5 s per million at
#: n = 6, ~8 s at n = 8, one core; the batched SVD dominates).
MAX_SUBSETS = 2_000_000
#: A subset T is used only if sigma_min(B_T) > RANK_TOL * sigma_max(B_T): its ray is then
#: accurate to about 1e-16 / RANK_TOL << ZERO_TOL.  Exactly dependent subsets have ratios
#: ~1e-16; for Gaussian rows the chance of a ratio below 1e-6 is of order 1e-12 per subset.
RANK_TOL = 1e-6
#: Work per batch: number of subset x row products held in memory at once.
_BATCH_WORK = 2_000_000


class _TimeUp(Exception):
    pass


@dataclass
class _Scan:
    """Per-ray statistics of one dimension's enumeration (rows B: p x d, unit rows)."""

    combos: np.ndarray  # (N, d-1) all (d-1)-subsets, lexicographic
    ok: np.ndarray  # (K,) indices of subsets with rank d-1
    cpos: np.ndarray  # (K,) #{<b_i, r> > tol}
    cneg: np.ndarray  # (K,) #{<b_i, r> < -tol}
    nzero: np.ndarray  # (K,) #{|<b_i, r>| <= tol}
    kclosed: int


def _subsets(p: int, k: int) -> np.ndarray:
    n_sub = comb(p, k)
    flat = np.fromiter(
        itertools.chain.from_iterable(itertools.combinations(range(p), k)),
        dtype=np.int32,
        count=n_sub * k,
    )
    return flat.reshape(n_sub, k)


def _check_limit(p: int, d: int, max_subsets: int) -> None:
    n_sub = comb(p, d - 1)
    if n_sub > max_subsets:
        raise ReluInjError(
            f"enumeration needs C(m, n-1) = C({p}, {d - 1}) = {n_sub} vertex-ray subsets, "
            f"more than the limit max_subsets={max_subsets}; use a smaller instance or "
            "method 'bnb-lp'"
        )


def _rays(B: np.ndarray, subsets: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit null vectors of ``B[T]`` per subset T (batched SVD) and the mask rank(B_T) = d-1."""
    X = B[subsets]  # (b, d-1, d)
    _, s, vh = np.linalg.svd(X, full_matrices=True)
    return vh[:, -1, :], s[:, -1] > RANK_TOL * s[:, 0]


def _scan(B: np.ndarray, tol: float, max_subsets: int, deadline: float | None) -> _Scan:
    """Enumerate all rays of the unit rows ``B`` (p x d, d >= 2) and count signs per ray."""
    p, d = B.shape
    _check_limit(p, d, max_subsets)
    combos = _subsets(p, d - 1)
    batch = max(1, _BATCH_WORK // max(p, 1))
    oks, cps, cns, nzs = [], [], [], []
    for start in range(0, combos.shape[0], batch):
        if deadline is not None and time.perf_counter() > deadline:
            raise _TimeUp
        sub = combos[start : start + batch]
        r, ok = _rays(B, sub, tol)
        idx = np.flatnonzero(ok)
        s = r[idx] @ B.T  # cosines, rows and rays are unit vectors
        s[np.arange(idx.size)[:, None], sub[idx]] = 0.0  # the rows of T vanish on r_T exactly
        oks.append(idx + start)
        cps.append(np.count_nonzero(s > tol, axis=1))
        cns.append(np.count_nonzero(s < -tol, axis=1))
        nzs.append(np.count_nonzero(np.abs(s) <= tol, axis=1))
    ok = np.concatenate(oks)
    cpos, cneg, nzero = np.concatenate(cps), np.concatenate(cns), np.concatenate(nzs)
    if ok.size == 0:  # impossible when rank(B) = d (some d-1 rows are independent)
        raise RuntimeError("no subset of full rank d-1 found although rank(B) = d")
    kclosed = int(min(cpos.min(), cneg.min()))
    return _Scan(combos, ok, cpos, cneg, nzero, kclosed)


def _ray(B: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit ray spanning null(B_T) and an orthonormal basis (d, d-1) of its complement r^⊥."""
    _, _, vh = np.linalg.svd(B[T], full_matrices=True)
    return vh[-1].copy(), vh[:-1].T.copy()


def _perturb(
    B: np.ndarray, r: np.ndarray, dvec: np.ndarray, Z: np.ndarray, target: int
) -> np.ndarray | None:
    """Search ``ε`` so that ``u = r + ε d`` is strict with exactly ``target`` positives.

    Rows outside ``Z`` keep the sign of ``r`` while ``ε < |<b_i,r>| / |<b_i,d>|``; start at half the
    smallest such ratio and shrink."""
    sr, sd = B @ r, B @ dvec
    outside = np.ones(B.shape[0], dtype=bool)
    outside[Z] = False
    opp = outside & (sr * sd < 0)
    eps0 = 1.0
    if np.any(opp):
        eps0 = min(1.0, 0.5 * float(np.min(np.abs(sr[opp]) / np.abs(sd[opp]))))
    for f in (1.0, 0.5, 0.1, 1e-2, 1e-3, 1e-4, 1e-6):
        u = r + (eps0 * f) * dvec
        u /= np.linalg.norm(u)
        chk = check_witness(B, u)
        if chk.strict and chk.positives == target:
            return u
    return None


def _open_min(
    B: np.ndarray,
    tol: float,
    max_subsets: int,
    deadline: float | None,
    scan: _Scan | None = None,
) -> tuple[int, np.ndarray, dict[str, int]]:
    """``k*_open`` of unit rows ``B`` (p x d, rank d) and a strict witness; recursive in d.

    The local problems are memoised by their zero set ``Z`` (which determines the ray up to
    sign; the local problem is the same for ``±r``)."""
    p, d = B.shape
    stats = {"degenerate_rays": 0, "witness_failures": 0}
    if d == 1:
        npos = int(np.count_nonzero(B[:, 0] > 0))
        nneg = p - npos
        return (npos, np.array([1.0]), stats) if npos <= nneg else (nneg, np.array([-1.0]), stats)
    memo: dict[tuple[int, ...], tuple[int, np.ndarray]] = {}
    if scan is None:
        scan = _scan(B, tol, max_subsets, deadline)
    # candidates (count, ray index, sign) in increasing count; stop once count >= best open value
    counts = np.concatenate([scan.cpos, scan.cneg])
    order = np.argsort(counts, kind="stable")
    K = scan.ok.size
    best, best_u = np.inf, None
    for c_idx in order:
        c = int(counts[c_idx])
        if c >= best:
            break
        j, sign = (c_idx, 1.0) if c_idx < K else (c_idx - K, -1.0)
        T = scan.combos[scan.ok[j]]
        r, basis = _ray(B, T)
        r *= sign
        s = B @ r
        s[T] = 0.0
        Z = np.flatnonzero(np.abs(s) <= tol)
        if Z.size == d - 1:  # general position at this ray: A_T d = -1 (min-norm, d ⟂ r)
            local = 0
            dvec = np.linalg.lstsq(B[Z], -np.ones(d - 1), rcond=None)[0]
        else:
            stats["degenerate_rays"] += 1
            key = tuple(Z.tolist())
            if key not in memo:
                P = B[Z] @ basis  # rows of Z lie in r^⊥; coordinates in the basis
                P = normalize_rows(P)
                k_loc, w, _ = _open_min(P, tol, max_subsets, deadline)  # own memo: new rows
                memo[key] = (k_loc, basis @ w)
            local, dvec = memo[key]
        if c + local >= best:
            continue
        dvec = dvec / np.linalg.norm(dvec)
        u = _perturb(B, r, dvec, Z, c + local)
        if u is None:
            stats["witness_failures"] += 1
            continue
        best, best_u = c + local, u
    if best_u is None:
        raise ReluInjError(
            "enumeration could not place a strict witness in any minimising cell: the matrix is "
            f"numerically too close to degenerate for tolerance {tol:g}"
        )
    return int(best), best_u, stats


def _closed_ray(B: np.ndarray, scan: _Scan) -> np.ndarray:
    """A vertex ray attaining the closed minimum."""
    m1 = np.flatnonzero(scan.cpos == scan.kclosed)
    if m1.size:
        return _ray(B, scan.combos[scan.ok[m1[0]]])[0]
    m2 = np.flatnonzero(scan.cneg == scan.kclosed)
    return -_ray(B, scan.combos[scan.ok[m2[0]]])[0]


@dataclass
class EnumerationOutcome:
    """Full output of :func:`enumerate_kstar`.

    kstar : closed ``k*(A)``.  witness : strict witness if ``witness_strict``, else the
    residual-checked vertex ray / null vector.  kstar_open, witness_open : open-cell minimum
    and its strict witness (``kstar_open`` is None when computing it would exceed the subset
    limit).
    """

    kstar: int
    witness: np.ndarray
    witness_strict: bool
    kstar_open: int | None
    witness_open: np.ndarray | None
    info: dict[str, Any]


def enumerate_kstar(
    A: np.ndarray,
    *,
    tol: float = ZERO_TOL,
    max_subsets: int = MAX_SUBSETS,
    time_limit: float | None = None,
) -> EnumerationOutcome:
    """Closed and open ``k*`` of ``A`` by vertex-ray enumeration (see module docstring)."""
    A = np.asarray(A, dtype=np.float64)
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    pre = preprocess(A, tol=tol)
    Ar, An, n = pre.A, pre.An, pre.n
    info: dict[str, Any] = dict(pre.info)
    if pre.trivial == "no_rows":
        u = pre.null_vector
        return EnumerationOutcome(0, u, True, 0, u, info)
    if pre.rank < n:
        u0 = pre.null_vector
        info["witness_residual"] = residual_cos(Ar, u0)
        if info["witness_residual"] > tol:
            raise RuntimeError("null vector of a rank-deficient A fails its residual check")
        V = pre.row_space
        try:
            k_open, w, st = _open_min(normalize_rows(An @ V), tol, max_subsets, deadline)
            u_open = V @ w
            chk = check_witness(Ar, u_open)
            if not (chk.strict and chk.positives == k_open):
                raise RuntimeError("open witness on the row space failed check_witness")
            info.update(st)
        except (ReluInjError, _TimeUp):  # the closed answer k* = 0 does not need it
            k_open, u_open = None, None
        return EnumerationOutcome(0, u0, False, k_open, u_open, info)
    scan = _scan(An, tol, max_subsets, deadline) if n >= 2 else None
    k_open, u_open, st = _open_min(An, tol, max_subsets, deadline, scan=scan)
    info.update(st)
    info["subsets"] = 0 if scan is None else int(scan.combos.shape[0])
    kclosed = k_open if scan is None else scan.kclosed
    chk = check_witness(Ar, u_open)
    if not (chk.strict and chk.positives == k_open):  # _perturb checked it on An; recheck on A
        raise RuntimeError("strict witness failed check_witness on the input rows")
    if k_open == kclosed:
        return EnumerationOutcome(kclosed, u_open, True, k_open, u_open, info)
    assert scan is not None
    r = _closed_ray(An, scan)
    s = An @ r
    if int(np.count_nonzero(s > tol)) != kclosed:
        raise RuntimeError("closed minimising ray does not reproduce its count")
    info["witness_residual"] = float(np.max(np.abs(s[np.abs(s) <= tol])))
    return EnumerationOutcome(kclosed, r, False, k_open, u_open, info)


def kstar_enumeration(A: np.ndarray, **opts: Any) -> tuple[int, np.ndarray]:
    """Closed ``k*(A)`` and a witness (strict whenever the minimum is attained on an open cell).

    Options: ``tol`` (default :data:`ZERO_TOL`), ``max_subsets`` (default :data:`MAX_SUBSETS`).
    """
    out = enumerate_kstar(A, **opts)
    return out.kstar, out.witness


def kstar_open_enumeration(A: np.ndarray, **opts: Any) -> tuple[int, np.ndarray]:
    """``k*_open(A)`` = minimum over open cells, with a strict witness (what open-cell searches
    find)."""
    out = enumerate_kstar(A, **opts)
    if out.kstar_open is None:
        raise ReluInjError("open-cell minimum exceeded the subset limit (max_subsets)")
    assert out.witness_open is not None
    return out.kstar_open, out.witness_open


def solve_enumeration(
    A: np.ndarray, *, decision: bool = False, time_limit: float | None = None, **opts: Any
) -> SolveResult:
    """``solve`` entry point ``"enum"``: exact closed ``k*`` by vertex-ray enumeration.

    Options: ``tol``, ``max_subsets``.  Decision mode does the same computation (status "optimal").
    With ``time_limit`` the solve stops with status "time_limit" and the trivial bounds
    ``0 <= k* <= positives of a random strict point``.
    """
    t0 = time.perf_counter()
    unknown = set(opts) - {"tol", "max_subsets"}
    if unknown:
        raise TypeError(
            f"solve_enumeration got unknown options: {', '.join(sorted(unknown))} "
            "(allowed: tol, max_subsets)"
        )
    A = np.asarray(A, dtype=np.float64)
    m, n = A.shape
    try:
        out = enumerate_kstar(A, time_limit=time_limit, **opts)
    except _TimeUp:
        return _time_limit_result(A, decision, t0)
    info = dict(out.info)
    info["witness_strict"] = out.witness_strict
    if out.kstar_open != out.kstar:
        info["kstar_open"] = out.kstar_open
        if out.witness_open is not None:
            info["witness_open"] = [float(x) for x in out.witness_open]
    if "trivial" in info:
        info["message"] = info.get("trivial_message")
    k = out.kstar
    return SolveResult(
        n=n,
        m=m,
        method="enum",
        kstar=k,
        lower_bound=k,
        upper_bound=k,
        injective=k >= n,
        witness=out.witness,
        status="optimal",
        time_s=time.perf_counter() - t0,
        nodes=int(info.get("subsets", 0)),
        lps=0,
        decision=decision,
        info=info,
    )


def _time_limit_result(A: np.ndarray, decision: bool, t0: float) -> SolveResult:
    m, n = A.shape
    Ar = A[np.any(A != 0.0, axis=1)]
    rng = np.random.default_rng(0)
    for _ in range(100):
        u = rng.standard_normal(n)
        chk = check_witness(Ar, u) if Ar.shape[0] else None
        if chk is None or chk.strict:
            break
    ub = 0 if chk is None else chk.positives
    return SolveResult(
        n=n,
        m=m,
        method="enum",
        kstar=None if ub > 0 else 0,
        lower_bound=0,
        upper_bound=ub,
        injective=injective_from_bounds(0, ub, n),
        witness=u / np.linalg.norm(u),
        status="time_limit",
        time_s=time.perf_counter() - t0,
        decision=decision,
        info={"witness_strict": True},
    )
