"""Maximisation of (★) over the parameters and the threshold e_r(α) = 1, for every level.

* ``maximize``: Nelder–Mead in the unconstrained θ (see :mod:`.params`) from several starts,
  then Newton polishing with central finite-difference gradient and Hessian until
  ``|∇_θ e| < gtol``; the best start wins.  Reported: e, the optimal parameters, the gradient
  norm and the Hessian's largest eigenvalue in the *natural* parameters (q, c, χ).
* ``threshold``: Newton in α on ``e_r(α) = 1`` with ``∂e/∂α = E_z φ_1(√q_0 z) = A`` (envelope
  theorem), re-maximising (warm start) at each iterate.  Since e_r(α) is a maximum of functions
  affine in α, it is convex, and Newton's iterates decrease monotonically to the root after
  the first step.
* Cross-check (tests): as e_r is a max of ``αA(p) − S(p)``, also ``α_inj = min_p (1+S(p))/A(p)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from .errors import TheoryConvergenceError, TheoryInputError
from .functional import Quadrature, Terms, functional_terms
from .params import SPECS, LevelSpec, pattern_start
from .result import LevelResult, ThresholdResult

#: Outer layers (j < k) need E e^{−c_j φ} ∈ [e^{−c_j}, 1] to relative accuracy; the spectral
#: convolution gives ~1e-16 absolute, i.e. ≲ e^{c_j}·1e-16 relative: ≤ 2e-11 for c_j ≤ 12.
#: (The innermost c_k is in closed form and unrestricted; at the optima met, outer c_j ≤ 6.7.)
C_MAX_OUTER = 12.0
GTOL = 1e-10  # on |∇_θ e|∞ after Newton polishing
_H_GRAD = 1e-5
_H_HESS = 2e-3

#: Default Newton starting α for the thresholds (only a starting guess; any α > 2 works).
_ALPHA0 = {"1": 7.6, "2p": 7.2, "2": 6.7, "3": 6.7, "4": 6.7}


def _spec(level: str) -> LevelSpec:
    try:
        return SPECS[level]
    except KeyError:
        raise TheoryInputError(f"unknown level {level!r}; allowed: {', '.join(SPECS)}") from None


def _quad_from(opts: dict[str, Any]) -> Quadrature:
    return Quadrature(d=float(opts.pop("d", 0.02)), L=float(opts.pop("L", 12.0)))


@dataclass
class _Objective:
    """θ ↦ Terms (A, S), with counting and guards (None outside the reliable domain)."""

    spec: LevelSpec
    quad: Quadrature
    nfev: int = 0
    cache: dict[bytes, Terms | None] = field(default_factory=dict)

    def terms(self, theta: np.ndarray) -> Terms | None:
        key = np.asarray(theta, dtype=float).tobytes()
        if key in self.cache:
            return self.cache[key]
        self.nfev += 1
        q, c, chi = self.spec.from_theta(theta)
        out: Terms | None = None
        ok = (
            np.all(np.isfinite(theta))
            and 1e-10 < chi < 1e3
            and np.all(c < 1e3)
            and np.all(c[:-1] <= C_MAX_OUTER)
            and (self.spec.k == 0 or 1.0 - q[-1] > 1e-6)
        )
        if ok:
            try:
                with np.errstate(all="ignore"):
                    t = functional_terms(q, c, chi, self.quad)
            except TheoryInputError:  # e.g. 1 − q_{k−1} too small for the grid cap
                t = None
            if t is not None and np.isfinite(t.A) and np.isfinite(t.S):
                out = t
        if len(self.cache) > 20000:
            self.cache.clear()
        self.cache[key] = out
        return out

    def e(self, theta: np.ndarray, alpha: float) -> float:
        t = self.terms(theta)
        return -np.inf if t is None else t.e(alpha)


def _fd_grad(f, x: np.ndarray, h: float | np.ndarray) -> np.ndarray:
    h = np.broadcast_to(np.asarray(h, dtype=float), x.shape)
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h[i]
        g[i] = (f(x + e) - f(x - e)) / (2 * h[i])
    return g


def _fd_hess(f, x: np.ndarray, h: float | np.ndarray) -> np.ndarray:
    n = x.size
    h = np.broadcast_to(np.asarray(h, dtype=float), x.shape)
    H = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    return H


def _newton_polish(f, theta: np.ndarray, max_iter: int = 40) -> tuple[np.ndarray, float, int]:
    """Newton ascent of f (θ ↦ float, −inf outside the domain) with FD derivatives and a
    backtracking line search; returns (θ, |∇f|∞, iterations)."""
    fx = f(theta)
    gnorm = np.inf
    for it in range(max_iter):
        g = _fd_grad(f, theta, _H_GRAD)
        gnorm = float(np.max(np.abs(g)))
        if not np.isfinite(gnorm) or gnorm < GTOL:
            return theta, gnorm, it
        H = _fd_hess(f, theta, _H_HESS)
        w, V = np.linalg.eigh(H)
        # Newton on the negative-definite part; a positive/flat direction gets a gradient step
        w_safe = np.where(w < -1e-8, w, -max(1.0, float(np.max(np.abs(w)))))
        step = -V @ ((V.T @ g) / w_safe)
        t = 1.0
        for _ in range(30):
            cand = theta + t * step
            fc = f(cand)
            if np.isfinite(fc) and fc >= fx - 1e-15:
                break
            t *= 0.5
        else:
            return theta, gnorm, it
        if np.max(np.abs(t * step)) < 1e-13:
            return cand, gnorm, it
        theta, fx = cand, fc
    g = _fd_grad(f, theta, _H_GRAD)
    return theta, float(np.max(np.abs(g))), max_iter


def _nelder_mead(f, theta0: np.ndarray, maxfev: int) -> np.ndarray:
    """Nelder–Mead maximisation of f from θ0."""
    res = optimize.minimize(
        lambda t: -f(t), theta0, method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-14, "maxfev": maxfev, "adaptive": theta0.size > 3},
    )
    return np.asarray(res.x)


def embed_lower(spec: LevelSpec, lower: dict[str, float]) -> tuple[np.ndarray, np.ndarray, float]:
    """A start for ``spec`` from an optimum of the level below: add one innermost step.

    ``q_{k−1} = 1 − (1 − q_{k−2})·0.15``, ``c_k = 2 c_{k−1}``, ``χ`` × 0.7 (a new step near q = 1;
    the exact embeddings, ``q_{k−1} = q_{k−2}`` or ``c_k = c_{k−1}``, are stationary points).
    """
    k = spec.k
    lower_spec = next(s for s in SPECS.values() if s.k == k - 1 and not s.q0_fixed)
    q, c, chi = lower_spec.from_dict(lower)
    if k == 1:
        return np.array([0.75]), np.array([3.0]), 0.08 * chi / 0.63
    q_new = np.append(q, 1.0 - (1.0 - q[-1]) * 0.15)
    c_new = np.append(c, 2.0 * c[-1])
    return q_new, c_new, 0.7 * chi


def _starts(spec: LevelSpec, start: dict[str, float] | None, lower: dict[str, float] | None,
            n_random: int) -> list[np.ndarray]:
    out = []
    if start is not None:
        out.append(spec.to_theta(*spec.from_dict(start)))
    out.append(spec.to_theta(*pattern_start(spec)))
    if lower is not None and spec.k >= 1 and not spec.q0_fixed:
        out.append(spec.to_theta(*embed_lower(spec, lower)))
    rng = np.random.default_rng(np.random.SeedSequence([20241, spec.k, int(spec.q0_fixed)]))
    base = out[-1] if start is None else out[0]
    for _ in range(n_random):
        out.append(base + rng.normal(scale=0.5, size=base.size))
    return out


@dataclass
class _Opt:
    theta: np.ndarray
    e: float
    terms: Terms
    gnorm_theta: float
    info: dict[str, Any]


def maximize(alpha: float, spec: LevelSpec, quad: Quadrature, starts: list[np.ndarray],
             obj: _Objective | None = None, nm_maxfev: int | None = None) -> _Opt:
    """Maximise (★) at α from the given θ starts (NM then Newton); the best polished start wins."""
    obj = obj or _Objective(spec, quad)
    nm_maxfev = 400 * max(1, spec.n_params) if nm_maxfev is None else nm_maxfev
    f = lambda t: obj.e(t, alpha)  # noqa: E731
    found = []
    for th0 in starts:
        th = np.asarray(th0, dtype=float)
        if not np.isfinite(f(th)):
            continue
        if nm_maxfev > 0:
            th = _nelder_mead(f, th, nm_maxfev)
        th, gn, it = _newton_polish(f, th)
        found.append((obj.e(th, alpha), th, gn, it))
    if not found:
        raise TheoryConvergenceError(f"level {spec.name} at alpha={alpha}: no valid start")
    found.sort(key=lambda r: -r[0])
    e, th, gn, it = found[0]
    c_outer = spec.from_theta(th)[1][:-1]
    if np.any(c_outer > 0.95 * C_MAX_OUTER):
        raise TheoryConvergenceError(
            f"level {spec.name} at alpha={alpha}: the maximiser reached an outer c_j = "
            f"{float(np.max(c_outer)):.3g} near C_MAX_OUTER = {C_MAX_OUTER}, where the outer-layer "
            "quadrature is no longer accurate; this alpha is outside the supported range")
    agree = sum(abs(r[0] - e) < 1e-10 for r in found)
    terms = obj.terms(th)
    q, c, chi = spec.from_theta(th)
    if boundary_mask(spec, q, c).any():  # the supremum is on a face: evaluate it exactly there
        with np.errstate(all="ignore"):
            terms = functional_terms(*_snap(spec, q, c, chi), quad)
        e = terms.e(alpha)
    return _Opt(theta=th, e=e, terms=terms, gnorm_theta=gn,
                info={"starts": len(starts), "starts_at_best": agree, "newton_iters": it,
                      "nfev": obj.nfev, "gnorm_theta": gn})


BOUNDARY_TOL = 1e-9


def boundary_mask(spec: LevelSpec, q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Natural coordinates at a face of the domain: ``c_j < BOUNDARY_TOL`` (c_j → 0) or a q whose
    increment from the previous q (or from 0) is below ``BOUNDARY_TOL``."""
    qq = np.concatenate([[0.0], q])
    inc = np.diff(qq)
    q_at = inc < BOUNDARY_TOL
    if spec.q0_fixed:
        q_at = q_at[1:]
    return np.concatenate([q_at, c < BOUNDARY_TOL, [False]])


def _snap(spec: LevelSpec, q: np.ndarray, c: np.ndarray, chi: float
          ) -> tuple[np.ndarray, np.ndarray, float]:
    """Put boundary coordinates exactly on their face (c_j = 0, q_j = q_{j−1})."""
    c = np.where(c < BOUNDARY_TOL, 0.0, c)
    q = q.copy()
    for j in range(q.size):
        prev = q[j - 1] if j else 0.0
        if q[j] - prev < BOUNDARY_TOL:
            q[j] = prev
    return q, c, chi


def natural_diagnostics(alpha: float, spec: LevelSpec, quad: Quadrature, theta: np.ndarray
                        ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Gradient norm and Hessian eigenvalues of (★) in the natural parameters at θ, over the
    coordinates not on a face of the domain; also returns the full gradient and the face mask."""
    q, c, chi = _snap(spec, *spec.from_theta(theta))
    at_face = boundary_mask(spec, *spec.from_theta(theta)[:2])
    x0 = spec.join(q, c, chi)
    free = np.flatnonzero(~at_face)

    def f(x: np.ndarray) -> float:
        q, c, chi = spec.split(x)
        with np.errstate(all="ignore"):
            return functional_terms(q, c, chi, quad).e(alpha)

    # steps relative to the distance to the nearest constraint (q's to 0/1 and each other)
    gaps = np.diff(np.concatenate([[0.0], q, [1.0]]))
    gaps = gaps[gaps >= BOUNDARY_TOL]
    qstep = np.full(len(spec.q_names), np.min(gaps) if gaps.size else 1.0)
    scale = np.concatenate([qstep, np.where(c > 0, c, 1e-6), [chi]])

    def f_free(xf: np.ndarray) -> float:
        x = x0.copy()
        x[free] = xf
        return f(x)

    # one-sided derivatives into the domain at the faces, central ones elsewhere
    g = np.zeros(x0.size)
    for i in np.flatnonzero(at_face):
        e = np.zeros(x0.size)
        e[i] = 1e-7
        g[i] = (f(x0 + e) - f(x0)) / 1e-7
    g[free] = _fd_grad(f_free, x0[free], 3e-5 * scale[free])
    H = _fd_hess(f_free, x0[free], 1e-3 * scale[free]) if free.size else np.zeros((0, 0))
    eig = np.linalg.eigvalsh(H) if free.size else np.array([np.nan])
    return float(np.linalg.norm(g[free])), g, eig, at_face


def _level_result(alpha: float, spec: LevelSpec, quad: Quadrature, opt: _Opt, t0: float,
                  diagnostics: bool = True) -> LevelResult:
    q, c, chi = _snap(spec, *spec.from_theta(opt.theta))
    info = dict(opt.info)
    if diagnostics:
        gnorm, g, eig, at_face = natural_diagnostics(alpha, spec, quad, opt.theta)
        info["hess_eigs"] = eig.tolist()
        if at_face.any():
            info["boundary"] = {n: float(gi) for n, gi, a in zip(spec.names, g, at_face,
                                                                 strict=True) if a}
    else:
        gnorm, eig = np.nan, np.array([np.nan])
        at_face = boundary_mask(spec, *spec.from_theta(opt.theta)[:2])
        if at_face.any():
            info["boundary"] = [n for n, a in zip(spec.names, at_face, strict=True) if a]
    info["grid_points"] = opt.terms.grid_points
    return LevelResult(
        level=spec.name, alpha=alpha, e=opt.e, params=spec.to_dict(q, c, chi), grad_norm=gnorm,
        hess_max_eig=float(np.max(eig)),
        quadrature={**quad.to_dict(), "grid_points": opt.terms.grid_points},
        time_s=time.perf_counter() - t0, de_dalpha=opt.terms.A, info=info,
    )


def _lower_optimum(spec: LevelSpec, alpha: float, quad: Quadrature) -> dict[str, float] | None:
    """Optimum of the full level below (k − 1 steps) at α, used to seed the starts (k ≥ 2)."""
    if spec.k < 2:
        return None
    lower = next(s for s in SPECS.values() if s.k == spec.k - 1 and not s.q0_fixed)
    opt = maximize(alpha, lower, quad, _starts(lower, None, _lower_optimum(lower, alpha, quad), 2))
    return lower.to_dict(*lower.from_theta(opt.theta))


def energy_general(alpha: float, level: str, diagnostics: bool = True, **opts: Any) -> LevelResult:
    """General-path ``e_r(α)`` (see :func:`reluinj.theory.energy`).

    Options: ``d``, ``L`` (grid, :class:`Quadrature`); ``start`` (dict of natural parameters,
    a warm start: then only that start is used unless ``n_random`` is given); ``n_random``
    (extra perturbed starts, default 3 without ``start``); ``general`` (ignored here).
    """
    t0 = time.perf_counter()
    opts = dict(opts)
    opts.pop("general", None)
    quad = _quad_from(opts)
    spec = _spec(level)
    start = opts.pop("start", None)
    n_random = int(opts.pop("n_random", 0 if start is not None else 3))
    if opts:
        raise TheoryInputError(f"unknown option(s) {sorted(opts)}; allowed: d, L, start, n_random")
    if start is not None:
        q0, c0, chi0 = spec.from_dict(start)
        starts = [spec.to_theta(q0, c0, chi0)]
        rng = np.random.default_rng(np.random.SeedSequence([7, spec.k]))
        starts += [starts[0] + rng.normal(scale=0.5, size=starts[0].size)
                   for _ in range(n_random)]
        opt = maximize(alpha, spec, quad, starts, nm_maxfev=0 if n_random == 0 else None)
        if opt.gnorm_theta > GTOL:  # warm start failed to polish: fall back to a full search
            opt = maximize(alpha, spec, quad, starts, nm_maxfev=None)
        if boundary_mask(spec, q0, c0).any() or "boundary" in opt.info:
            # a face optimum may turn interior as α moves: also search from the pattern start
            other = maximize(alpha, spec, quad, [spec.to_theta(*pattern_start(spec))])
            if other.e > opt.e + 1e-13:
                opt = other
    else:
        lower = _lower_optimum(spec, alpha, quad)
        opt = maximize(alpha, spec, quad, _starts(spec, None, lower, n_random))
    return _level_result(alpha, spec, quad, opt, t0, diagnostics=diagnostics)


def threshold_general(level: str, **opts: Any) -> ThresholdResult:
    """General-path ``α_inj`` of a level: Newton on ``e_r(α) = 1`` with ``∂e/∂α = A``.

    Options: ``d``, ``L``; ``alpha0`` (starting α); ``start`` (natural parameters at alpha0);
    ``n_random`` (extra starts of the first maximisation); ``tol`` (on |e − 1|, default 1e-13).
    """
    t0 = time.perf_counter()
    opts = dict(opts)
    opts.pop("general", None)
    quad = _quad_from(opts)
    spec = _spec(level)
    alpha = float(opts.pop("alpha0", _ALPHA0.get(level, 6.7)))
    start = opts.pop("start", None)
    n_random = int(opts.pop("n_random", 3))
    tol = float(opts.pop("tol", 1e-13))
    if opts:
        raise TheoryInputError(
            f"unknown option(s) {sorted(opts)}; allowed: d, L, alpha0, start, n_random, tol")
    if not alpha > 2:
        raise TheoryInputError(f"alpha0 must be > 2 (got {alpha})")
    obj = _Objective(spec, quad)
    lower = None if start is not None else _lower_optimum(spec, alpha, quad)
    opt = maximize(alpha, spec, quad, _starts(spec, start, lower, n_random), obj=obj)
    first_search = dict(opt.info)
    history = []
    for _it in range(1, 60):
        e, A = opt.e, opt.terms.A
        history.append((alpha, e))
        if abs(e - 1.0) < tol:
            break
        alpha_new = alpha - (e - 1.0) / A
        if not 2.0 < alpha_new < 100.0:
            raise TheoryConvergenceError(f"level {level}: Newton left (2, 100): alpha={alpha_new}")
        alpha = alpha_new
        obj.cache.clear()  # α changed; Terms are α-free but keep the cache small
        opt = maximize(alpha, spec, quad, [opt.theta], obj=obj, nm_maxfev=0)
        if opt.gnorm_theta > GTOL:
            opt = maximize(alpha, spec, quad, [opt.theta], obj=obj)
    else:
        raise TheoryConvergenceError(f"level {level}: threshold Newton did not converge")
    res = _level_result(alpha, spec, quad, opt, t0)
    info = dict(res.info)
    info["newton_alpha_e"] = history
    info["first_search"] = first_search
    return ThresholdResult(
        level=spec.name, alpha_inj=alpha, e=opt.e, params=res.params, grad_norm=res.grad_norm,
        hess_max_eig=res.hess_max_eig, quadrature=res.quadrature,
        time_s=time.perf_counter() - t0, de_dalpha=opt.terms.A, iterations=len(history),
        info=info,
    )


def e_curve_general(alphas: np.ndarray, level: str, **opts: Any) -> np.ndarray:
    """``e_r`` over an array of α: full search at the first α (in sorted order), then warm starts
    along α (each warm start polished to |∇e| < GTOL, else re-searched)."""
    opts = dict(opts)
    flat = np.asarray(alphas, dtype=float).ravel()
    out = np.empty_like(flat)
    order = np.argsort(flat)
    start = opts.pop("start", None)
    for idx in order:
        if start is None:
            r = energy_general(float(flat[idx]), level, diagnostics=False, **opts)
        else:
            r = energy_general(float(flat[idx]), level, diagnostics=False, start=start, **opts)
        out[idx] = r.e
        start = r.params
    return out.reshape(np.shape(alphas))


def threshold_min_ratio(level: str, start: dict[str, float] | None = None, **opts: Any
                        ) -> tuple[float, dict[str, float]]:
    """Independent route to α_inj: ``min_p (1 + S(p))/A(p)`` over the level's parameters.

    (e_r(α) = max_p [αA(p) − S(p)] ≥ 1 iff some p has α ≥ (1 + S(p))/A(p), as A > 0.)
    Nelder–Mead then Newton polishing, from ``start`` (natural parameters) or the pattern start.
    """
    quad = _quad_from(dict(opts))
    spec = _spec(level)
    obj = _Objective(spec, quad)

    def f(theta: np.ndarray) -> float:
        t = obj.terms(theta)
        return -np.inf if t is None or t.A <= 0 else -(1.0 + t.S) / t.A

    th = spec.to_theta(*(spec.from_dict(start) if start else pattern_start(spec)))
    th = _nelder_mead(f, th, 600 * spec.n_params)
    th, gn, _ = _newton_polish(f, th)
    if gn > 1e-6:  # FD noise of the ratio is ~1e-8; e is stationary so this costs ~1e-12 in α
        raise TheoryConvergenceError(f"min-ratio threshold of level {level}: |grad| = {gn}")
    return -f(th), spec.to_dict(*spec.from_theta(th))
