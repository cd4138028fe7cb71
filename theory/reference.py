"""Slow reference evaluator of (★): tensor-product trapezoid sums (tests and benchmarks only).

Independent of the spectral grid of :mod:`.functional`: for k ≥ 1 steps it evaluates φ_k (closed
form) at all points ``h = √q_0 z + Σ_{j=1}^{k−1} σ_j u_j`` of a tensor grid (z, u_j on a uniform
grid of spacing ``du`` over ``[−span, span]``), then applies the log-sum-exp recursion
``φ_j = −(1/c_j) ln Σ_u w_u exp(−c_j φ_{j+1})`` and the outer weighted sum directly.
Cost ``(2·span/du + 1)^k`` closed-form evaluations.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .functional import Terms, check_params, entropy_term
from .special import expected_M, log_Z


def functional_terms_tensor(q, c, chi: float, du: float | tuple[float, ...] = 0.1,
                            span: float = 10.0) -> Terms:
    """``A = E_z φ_1(√q_0 z)`` and ``S`` of (★) by tensor trapezoid sums (see module doc).

    ``du``: one spacing for every axis, or one per axis (z, u_1, …, u_{k−1}).
    """
    q = np.atleast_1d(np.asarray(q, dtype=float))
    c = np.atleast_1d(np.asarray(c, dtype=float))
    check_params(q, c, float(chi))
    k = c.size
    if k == 0:
        return Terms(A=float(expected_M(0.0, 1.0, chi)), S=0.5 / chi, grid_points=0)
    steps = np.broadcast_to(np.asarray(du, dtype=float), (k,))
    nodes, logw = [], []
    for step in steps:
        u = np.arange(-span, span + step / 2, step)
        lw = -0.5 * u * u
        nodes.append(u)
        logw.append(lw - logsumexp(lw))  # normalised trapezoid weights (exact for constants)
    qq = np.append(q, 1.0)
    h = np.sqrt(q[0]) * nodes[0]
    for j in range(1, k):
        h = h[..., None] + np.sqrt(qq[j] - qq[j - 1]) * nodes[j]
    phi = -log_Z(h, 1.0 - qq[k - 1], chi, c[k - 1]) / c[k - 1]
    for j in range(k - 1, 0, -1):
        phi = -logsumexp(-c[j - 1] * phi + logw[j], axis=-1) / c[j - 1]
    A = float(np.sum(np.exp(logw[0]) * phi))
    return Terms(A=A, S=float(entropy_term(q, c, chi)), grid_points=int(h.size))
