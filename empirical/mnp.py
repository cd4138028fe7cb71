"""Wolfe's minimum-norm-point algorithm: the node test of the exact oracle (numba).

Math.  For unit vectors ``p_1..p_k`` in ``R^n`` (the sign-adjusted normalised rows of a search
node: ``p_i = a_i/||a_i||`` for a row required ``<= 0``, ``-a_i/||a_i||`` for a row required ``> 0``)
Gordan's alternative says: the open cone ``{u : <p_i,u> < 0 for all i}`` is non-empty iff
``0 ∉ conv{p_i}``.  Wolfe's algorithm (Math. Programming 11, 1976) computes the point ``x*`` of
``conv{p_i}`` nearest to the origin through a sequence of *corrals* (affinely independent subsets
whose affine minimiser lies in their relative interior):

* ``x* ≠ 0``: ``<p_i, x*> >= ||x*||^2 > 0`` for every ``i``, so ``u = -x*/||x*||`` is the
  max-margin interior point of the cone (margin ``min_i -<p_i,u> = ||x*||``): a witness.
* ``x* = 0``: in general position the final corral has exactly ``n+1`` points with barycentric
  weights ``λ > 0`` and rank ``n``: a minimal infeasible subsystem; ``Σ λ_i p_i = 0`` with all
  ``λ_i > 0`` and rank ``n`` shows that no ``u ≠ 0`` has ``<p_i,u> <= 0`` for all ``i`` (closed
  sense), so at least one of the rows must be positive.
* a final corral with fewer than ``n+1`` points and ``||x*|| ≈ 0`` means the rows are not in
  general position (or the cell is thinner than the tolerances): status ``DEGENERATE``.

Implementation: the affine minimiser of a corral ``S`` solves ``(11^T + G) v = 1``, ``α = v/Σv``
(Wolfe's form; ``G`` the Gram matrix of ``S``, read from the precomputed ``BB = B B^T``), with a
Cholesky factor extended by one row when a point enters and rebuilt when points leave.  The
iterate ``x = Σ α_i p_i`` is formed explicitly in ``R^n`` (not from ``G``) so that its norm is
accurate to ``~1e-16`` absolute.  An infeasible verdict is re-derived by an LU solve of
``[P^T; 1^T] λ = e_{n+1}`` and needs every ``λ_i > BARY_TOL``.

Tolerances (rows have unit norm, so all are absolute):

* ``DROP_TOL = 1e-13``: a corral weight at or below it leaves the corral.
* ``FEAS_TOL = 1e-12``: a witness needs ``min_i <p_i, x> > FEAS_TOL·||x||``, i.e. the unit witness
  ``u = -x/||x||`` has margin ``min_i -<p_i,u>`` above 1e-12 (the rounding error of these dot
  products is below ``n·2^-52 ≈ 4e-15`` for ``n <= 18``).
* ``THIN = 1e-5``: below this norm the iterate is recomputed from the corral by a least-squares
  solve (``x = ν/||ν||^2``, ``ν = P^+ 1``), whose error is relative to the margin, so cells down to
  a margin of about ``1e-10`` are certified.
* ``BARY_TOL = 1e-12``: an infeasible verdict needs all barycentric weights above it.
* ``rho``: major-cycle stop ``min_i <p_i,x> >= (1-rho)||x||^2`` (``rho`` is a quality knob: the
  witness margin is then within a factor ``1-rho`` of the maximum).

Start from a warm corral (e.g. the parent node's) by passing it in ``cor[:ncor]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FEASIBLE = 0
INFEASIBLE = 1
DEGENERATE = 2

DROP_TOL = 1e-13
FEAS_TOL = 1e-12
BARY_TOL = 1e-12
THIN = 1e-5


@njit(cache=True, inline="always")
def _g(BB, s, i, j):
    return s[i] * s[j] * BB[i, j]


@njit(cache=True, inline="always")
def _chol_append(L, cor, ncor, j, s, BB):
    """Append point j as row ncor of the factor; False if (numerically) affinely dependent."""
    for b in range(ncor):
        acc = 1.0 + _g(BB, s, j, cor[b])
        for k in range(b):
            acc -= L[ncor, k] * L[b, k]
        L[ncor, b] = acc / L[b, b]
    acc = 1.0 + _g(BB, s, j, j)
    for k in range(ncor):
        acc -= L[ncor, k] * L[ncor, k]
    if acc <= 1e-24:
        return False
    L[ncor, ncor] = np.sqrt(acc)
    Y = L.shape[1] - 1
    acc = 1.0
    for k in range(ncor):
        acc -= L[ncor, k] * L[k, Y]
    L[ncor, Y] = acc / L[ncor, ncor]
    return True


@njit(cache=True)
def _chol_build(L, cor, ncor, s, BB):
    """Cholesky factor of M = 11^T + G over the corral; False if not positive definite.

    The last column of ``L`` (index ``L.shape[1]-1``, never part of the factor since a corral has
    at most n+1 points) caches ``y = L^{-1} 1``, kept up to date by append and delete.  Row ``a``
    of the factor is the append of point ``cor[a]`` to the factor of rows ``0..a-1``.
    """
    for a in range(ncor):
        if not _chol_append(L, cor, a, cor[a], s, BB):
            return False
    return True


@njit(cache=True)
def _affine_min(L, ncor, alpha, tmp):
    """alpha = M^{-1} 1 / (1^T M^{-1} 1) from the Cholesky factor L (forward solve cached)."""
    Y = L.shape[1] - 1
    for a in range(ncor - 1, -1, -1):
        acc = L[a, Y]
        for k in range(a + 1, ncor):
            acc -= L[k, a] * alpha[k]
        alpha[a] = acc / L[a, a]
    tot = 0.0
    for a in range(ncor):
        tot += alpha[a]
    for a in range(ncor):
        alpha[a] /= tot


@njit(cache=True)
def _form_x(B, s, cor, ncor, w, x):
    n = B.shape[1]
    for k in range(n):
        x[k] = 0.0
    for a in range(ncor):
        i = cor[a]
        c = w[a] * s[i]
        for k in range(n):
            x[k] += c * B[i, k]


@njit(cache=True)
def _minor(B, s, BB, cor, ncor, w, L, alpha, tmp):
    """Wolfe's minor cycle: move to the affine minimiser, dropping points; returns new ncor.

    Returns -1 if the factor cannot be rebuilt (numerical affine dependence).
    """
    while True:
        _affine_min(L, ncor, alpha, tmp)
        ok = True
        for a in range(ncor):
            if alpha[a] <= DROP_TOL:
                ok = False
                break
        if ok:
            for a in range(ncor):
                w[a] = alpha[a]
            return ncor
        theta = 1.0
        for a in range(ncor):
            if alpha[a] <= DROP_TOL:
                den = w[a] - alpha[a]
                th = w[a] / den if den > 0.0 else 0.0
                if th < theta:
                    theta = th
        for a in range(ncor):
            w[a] = theta * alpha[a] + (1.0 - theta) * w[a]
            if w[a] < 0.0:
                w[a] = 0.0
        # drop the smallest weight and every weight at or below the drop tolerance; the factor
        # is downdated row by row (Givens rotations, O(k^2) each) instead of rebuilt
        amin = 0
        for a in range(1, ncor):
            if w[a] < w[amin]:
                amin = a
        w[amin] = 0.0
        for a in range(ncor - 1, -1, -1):
            if w[a] <= DROP_TOL:
                _chol_delete(L, ncor, a)
                for b in range(a, ncor - 1):
                    cor[b] = cor[b + 1]
                    w[b] = w[b + 1]
                ncor -= 1
        if ncor == 0:
            return -1
        tot = 0.0
        for a in range(ncor):
            tot += w[a]
        for a in range(ncor):
            w[a] /= tot
        for a in range(ncor):
            if not L[a, a] > 1e-12:
                if not _chol_build(L, cor, ncor, s, BB):
                    return -1
                break


@njit(cache=True)
def _chol_delete(L, k, p):
    """Remove row/column p from the Cholesky factor L[:k, :k] of a k x k matrix (in place).

    Deleting row p leaves a lower-Hessenberg block that Givens rotations on column pairs restore;
    the cached ``y = L^{-1} 1`` (last column) transforms like a row, ``y <- G^T y``.
    """
    Y = L.shape[1] - 1
    for r in range(p, k - 1):
        for c in range(r + 2):
            L[r, c] = L[r + 1, c]
    for j in range(p, k - 1):
        a = L[j, j]
        b = L[j, j + 1]
        rr = np.sqrt(a * a + b * b)
        if rr == 0.0:
            continue
        c = a / rr
        sn = b / rr
        for r in range(j, k - 1):
            lj = L[r, j]
            lj1 = L[r, j + 1]
            L[r, j] = c * lj + sn * lj1
            L[r, j + 1] = -sn * lj + c * lj1
        L[j, j + 1] = 0.0
        yj = L[j, Y]
        yj1 = L[j + 1, Y]
        L[j, Y] = c * yj + sn * yj1
        L[j + 1, Y] = -sn * yj + c * yj1


@njit(cache=True)
def bary_check(B, s, cor, ncor, lam, M):
    """Barycentric weights of 0 in the simplex of the n+1 corral points (Gaussian elimination
    with partial pivoting on ``[P^T; 1^T] λ = e_{n+1}``, in the work array M); min weight."""
    n = B.shape[1]
    N = n + 1
    for a in range(ncor):
        i = cor[a]
        for k in range(n):
            M[k, a] = s[i] * B[i, k]
        M[n, a] = 1.0
    for k in range(N):
        M[k, N] = 0.0
    M[n, N] = 1.0
    for c in range(N):
        p = c
        big = abs(M[c, c])
        for r in range(c + 1, N):
            if abs(M[r, c]) > big:
                big = abs(M[r, c])
                p = r
        if big == 0.0:
            return -1.0
        if p != c:
            for j in range(c, N + 1):
                tmpv = M[c, j]
                M[c, j] = M[p, j]
                M[p, j] = tmpv
        piv = M[c, c]
        for r in range(c + 1, N):
            f = M[r, c] / piv
            if f != 0.0:
                for j in range(c + 1, N + 1):
                    M[r, j] -= f * M[c, j]
    mn = np.inf
    for c in range(N - 1, -1, -1):
        acc = M[c, N]
        for j in range(c + 1, N):
            acc -= M[c, j] * lam[j]
        lam[c] = acc / M[c, c]
    for c in range(N):
        if lam[c] < mn:
            mn = lam[c]
    return mn


@njit(cache=True)
def refine_x(B, s, cor, ncor, x):
    """Affine minimiser of a corral (k <= n points) by a backward-stable least-squares solve.

    ``ν = P^+ 1`` has ``<p_i, ν> = 1`` on the corral, so ``x = ν/||ν||^2``; the residuals are
    ``~ eps ||ν||`` relative to 1, which certifies cells far thinner than the explicit
    ``x = Σ w_i p_i`` (absolute error ``~ eps``) can.  Returns False if the solve fails.
    """
    n = B.shape[1]
    P = np.empty((ncor, n))
    for a in range(ncor):
        i = cor[a]
        for k in range(n):
            P[a, k] = s[i] * B[i, k]
    nu = np.linalg.lstsq(P, np.ones(ncor))[0]
    nn = 0.0
    for k in range(n):
        nn += nu[k] * nu[k]
    if not (nn > 0.0) or not np.isfinite(nn):
        return False
    for k in range(n):
        x[k] = nu[k] / nn
    return True


@njit(cache=True)
def wolfe_add(B, s, BB, cor, ncor, w, L, j, x, WK):
    """One Wolfe major step: point ``j`` (violating the optimality of ``x``) enters the corral,
    the minor cycle runs and ``x`` is re-formed.  Returns ``(ok, ncor')``; ``ok`` False means a
    numerical stall (``j`` already in the corral, affinely dependent, or dropped at once); the
    corral state stays consistent in every case."""
    n = B.shape[1]
    alpha = WK[n + 2]
    tmp = WK[n + 3]
    for a in range(ncor):
        if cor[a] == j:
            return False, ncor
    if not _chol_append(L, cor, ncor, j, s, BB):
        return False, ncor
    cor[ncor] = j
    w[ncor] = 0.0
    nc = _minor(B, s, BB, cor, ncor + 1, w, L, alpha, tmp)
    if nc < 0:
        cor[0] = j
        w[0] = 1.0
        nc = 1
        _chol_build(L, cor, nc, s, BB)
        _form_x(B, s, cor, nc, w, x)
        return True, nc
    entered = False
    for a in range(nc):
        if cor[a] == j:
            entered = True
    _form_x(B, s, cor, nc, w, x)
    return entered, nc


@njit(cache=True)
def corral_reset(B, s, BB, cor, ncor, w, L, x, WK):
    """Make ``cor[:ncor]`` (affinely independent points) a corral: factor, minor cycle from the
    centroid, form ``x``.  Returns the new size (0 if ncor was 0)."""
    n = B.shape[1]
    if ncor == 0:
        return 0
    if not _chol_build(L, cor, ncor, s, BB):
        ncor = 1
        _chol_build(L, cor, ncor, s, BB)
    for a in range(ncor):
        w[a] = 1.0 / ncor
    nc = _minor(B, s, BB, cor, ncor, w, L, WK[n + 2], WK[n + 3])
    if nc < 0:
        nc = 1
        w[0] = 1.0
        _chol_build(L, cor, nc, s, BB)
    _form_x(B, s, cor, nc, w, x)
    return nc


@njit(cache=True)
def mnp(B, s, BB, act, nact, cor, ncor, w, x, rho, stop_feasible, max_iter):
    """Wolfe's min-norm point of conv{s_i B_i : i in act[:nact]} (see :func:`mnp_warm`)."""
    n = B.shape[1]
    L = np.empty((n + 2, n + 2))
    WK = np.empty((n + 4, n + 3))
    return mnp_warm(B, s, BB, act, nact, cor, ncor, w, L, False, x, rho, stop_feasible, max_iter,
                    WK)


@njit(cache=True)
def mnp_warm(B, s, BB, act, nact, cor, ncor, w, L, warm, x, rho, stop_feasible, max_iter, WK):
    """Wolfe's min-norm point of conv{s_i B_i : i in act[:nact]}.

    B : (m, n) unit rows; s : (m,) float signs (+1: row required <= 0, -1: required > 0);
    BB : B B^T.  cor[:ncor] : warm-start corral (row indices, subset of act; may be 0).
    On return cor[:ncor'] / w[:ncor'] hold the final corral and its weights, x the min-norm
    point.  Returns (status, ncor', major iterations).  status FEASIBLE: u = -x is a strict
    witness (``<p_i,u> < -FEAS_TOL`` for all active i); INFEASIBLE: ncor' = n+1 and w holds the
    LU-verified barycentric weights (all > BARY_TOL); DEGENERATE: neither could be established
    (0 in the hull of fewer than n+1 points, a cell thinner than FEAS_TOL, or a numerical stall).
    ``stop_feasible``: return as soon as x certifies feasibility (cheaper, margin not maximal).
    ``L`` : (n+2, n+2) Cholesky factor of ``11^T + G`` of the corral (in/out).  ``warm=True``: the
    caller guarantees that ``cor[:ncor]``, ``w`` and ``L`` are the state of an earlier run (a
    corral with its affine-minimiser weights), e.g. before more points were added to ``act``;
    then nothing is rebuilt.  On a FEASIBLE return the state is again consistent (reusable).
    ``WK`` : (n+4, n+3) float work array.
    """
    n = B.shape[1]
    alpha = WK[n + 2]
    tmp = WK[n + 3]
    if nact == 0:
        for k in range(n):
            x[k] = 0.0
        return DEGENERATE, 0, 0
    if not warm or ncor == 0:
        if ncor == 0 or not _chol_build(L, cor, ncor, s, BB):
            cor[0] = act[0]
            ncor = 1
            _chol_build(L, cor, ncor, s, BB)
        for a in range(ncor):
            w[a] = 1.0 / ncor
        ncor = _minor(B, s, BB, cor, ncor, w, L, alpha, tmp)
        if ncor < 0:
            cor[0] = act[0]
            ncor = 1
            w[0] = 1.0
            _chol_build(L, cor, ncor, s, BB)
    _form_x(B, s, cor, ncor, w, x)
    it = 0
    while True:
        if ncor == n + 1:
            mn = bary_check(B, s, cor, ncor, w, WK)
            if mn > BARY_TOL:
                return INFEASIBLE, ncor, it
            return DEGENERATE, ncor, it
        xx = 0.0
        for k in range(n):
            xx += x[k] * x[k]
        if xx < THIN * THIN and ncor <= n:
            refine_x(B, s, cor, ncor, x)
        best = np.inf
        jb = -1
        for a in range(nact):
            i = act[a]
            v = 0.0
            for k in range(n):
                v += B[i, k] * x[k]
            v *= s[i]
            if v < best:
                best = v
                jb = i
        xx = 0.0
        for k in range(n):
            xx += x[k] * x[k]
        if best > FEAS_TOL * np.sqrt(xx) and (stop_feasible or best >= (1.0 - rho) * xx):
            return FEASIBLE, ncor, it
        if it >= max_iter:
            break
        if best >= (1.0 - rho) * xx:  # converged, but x is not a certified interior point
            break
        it += 1
        incor = False
        for a in range(ncor):
            if cor[a] == jb:
                incor = True
        if incor:
            break
        if not _chol_append(L, cor, ncor, jb, s, BB):
            break
        cor[ncor] = jb
        w[ncor] = 0.0
        ncor += 1
        nc = _minor(B, s, BB, cor, ncor, w, L, alpha, tmp)
        if nc < 0:
            # factor could not be rebuilt: restart the corral from one point
            cor[0] = jb
            ncor = 1
            w[0] = 1.0
            _chol_build(L, cor, ncor, s, BB)
            _form_x(B, s, cor, ncor, w, x)
            continue
        entered = False
        for a in range(nc):
            if cor[a] == jb:
                entered = True
        ncor = nc
        if not entered:  # the entering point left at once: numerical stall
            _form_x(B, s, cor, ncor, w, x)
            break
        _form_x(B, s, cor, ncor, w, x)
    # stopped without convergence (stall, iteration cap): x may still certify feasibility
    if ncor <= n:
        refine_x(B, s, cor, ncor, x)
    best = np.inf
    for a in range(nact):
        i = act[a]
        v = 0.0
        for k in range(n):
            v += B[i, k] * x[k]
        v *= s[i]
        if v < best:
            best = v
    xx = 0.0
    for k in range(n):
        xx += x[k] * x[k]
    if best > FEAS_TOL * np.sqrt(xx):
        return FEASIBLE, ncor, it
    return DEGENERATE, ncor, it


def normalise_rows(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(B, BB)``: rows of A scaled to unit norm and their Gram matrix ``B B^T``."""
    A = np.asarray(A, dtype=np.float64)
    nrm = np.linalg.norm(A, axis=1)
    if np.any(nrm == 0.0):
        raise ValueError("normalise_rows: A has zero rows")
    B = np.ascontiguousarray(A / nrm[:, None])
    return B, np.ascontiguousarray(B @ B.T)


def min_norm_point(
    P: np.ndarray, *, rho: float = 1e-9, stop_feasible: bool = False, max_iter: int = 10_000
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Convenience wrapper: Wolfe on the rows of P (normalised first).

    Returns ``(status, x, corral_indices, weights)``; ``-x`` is a witness when status is FEASIBLE.
    """
    B, BB = normalise_rows(P)
    m, n = B.shape
    s = np.ones(m)
    act = np.arange(m, dtype=np.int64)
    cor = np.zeros(n + 2, dtype=np.int64)
    w = np.zeros(n + 2)
    x = np.zeros(n)
    st, nc, _ = mnp(B, s, BB, act, m, cor, 0, w, x, rho, stop_feasible, max_iter)
    return int(st), x, cor[:nc].copy(), w[:nc].copy()
