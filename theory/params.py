"""Parameter spaces of the levels and the unconstrained reparametrisation θ ↔ (q, c, χ).

Level r has k = r − 1 steps and natural parameters ``q_0 < … < q_{k−1}`` (q_0 fixed to 0 for the
partial level "2p"), ``c_1, …, c_k``, ``χ``.  The optimiser works in θ ∈ R^p with
``(q_0, q_1 − q_0, …, 1 − q_{k−1}) = softmax(θ_q, 0)`` (increments > 0, summing to 1),
``c_j = exp(γ_j)`` and ``χ = exp(ξ)``, so the constraints hold automatically.
The face c_j → 0 (γ_j → −∞) is evaluated exactly (see :mod:`.functional`); a maximum found
there (e.g. level 2p at small α, where it reduces to level 1) is reported as a boundary optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import TheoryInputError

#: c_j below this count as the boundary c_j = 0 (γ_j is floored at ln C_FLOOR for starts).
C_FLOOR = 1e-12


@dataclass(frozen=True)
class LevelSpec:
    """A level: ``k`` RSB steps, ``q0_fixed`` (q_0 = 0, the partial level "2p")."""

    name: str
    k: int
    q0_fixed: bool = False

    @property
    def q_names(self) -> list[str]:
        return [f"q{j}" for j in range(1 if self.q0_fixed else 0, self.k)]

    @property
    def names(self) -> list[str]:
        """Natural parameter names in vector order: free q's, c's, chi."""
        return self.q_names + [f"c{j}" for j in range(1, self.k + 1)] + ["chi"]

    @property
    def n_params(self) -> int:
        return len(self.names)

    # ---------------------------------------------------------------- natural vector <-> (q, c, χ)
    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Natural vector (free q's, c's, χ) → full ``(q, c, χ)`` with q_0 = 0 inserted if fixed."""
        x = np.asarray(x, dtype=float)
        nq = len(self.q_names)
        q = x[:nq]
        if self.q0_fixed:
            q = np.concatenate([[0.0], q])
        return q, x[nq:nq + self.k], float(x[-1])

    def join(self, q: np.ndarray, c: np.ndarray, chi: float) -> np.ndarray:
        q = np.asarray(q, dtype=float)
        if self.q0_fixed:
            q = q[1:]
        return np.concatenate([q, np.asarray(c, dtype=float), [float(chi)]])

    def to_dict(self, q: np.ndarray, c: np.ndarray, chi: float) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.join(q, c, chi), strict=True)}

    def from_dict(self, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray, float]:
        missing = [n for n in self.names if n not in params]
        if missing:
            raise TheoryInputError(
                f"start for level {self.name} lacks {missing}; it needs {self.names}"
            )
        return self.split(np.array([float(params[n]) for n in self.names]))

    # ---------------------------------------------------------------- θ <-> (q, c, χ)
    def from_theta(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        theta = np.asarray(theta, dtype=float)
        nq = len(self.q_names)
        k = self.k
        logits = np.append(theta[:nq], 0.0)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        q = np.cumsum(p)[:-1]  # q_{j0} … q_{k−1} (the last partial sum is q_k = 1)
        if self.q0_fixed:
            q = np.concatenate([[0.0], q])
        c = np.exp(theta[nq:nq + k])
        chi = float(np.exp(theta[-1]))
        return q[:k], c, chi

    def to_theta(self, q: np.ndarray, c: np.ndarray, chi: float) -> np.ndarray:
        q = np.asarray(q, dtype=float)
        c = np.asarray(c, dtype=float)
        qq = np.concatenate([[0.0], q, [1.0]])
        inc = np.diff(qq)[1:] if self.q0_fixed else np.diff(qq)
        if np.any(inc <= 0) or np.any(c < 0) or not chi > 0 or not np.all(np.isfinite(c)):
            raise TheoryInputError(
                f"start outside the domain of level {self.name}: need 0 <= q_0 < ... < 1 "
                f"(strict), c_j >= 0, chi > 0 (got q={q.tolist()}, c={c.tolist()}, chi={chi})"
            )
        th_q = np.log(inc[:-1]) - np.log(inc[-1])
        return np.concatenate([th_q, np.log(np.maximum(c, C_FLOOR)), [np.log(chi)]])


SPECS: dict[str, LevelSpec] = {
    "1": LevelSpec("1", 0),
    "2p": LevelSpec("2p", 1, q0_fixed=True),
    "2": LevelSpec("2", 1),
    "3": LevelSpec("3", 2),
    "4": LevelSpec("4", 3),
}


def pattern_start(spec: LevelSpec) -> tuple[np.ndarray, np.ndarray, float]:
    """A generic starting point: ``1 − q_j = 0.25·0.15^j``, ``c_j`` geometric from 2.5, χ small.

    (A rough shape of the optima met at α ≈ 6.7; the maximiser starts from several
    perturbations of it and from the embedded optimum of the level below.)
    """
    k = spec.k
    j = np.arange(k)
    q = 1.0 - 0.25 * 0.15**j
    if spec.q0_fixed:
        q = np.concatenate([[0.0], 1.0 - 0.25 * 0.15 ** np.arange(k - 1)]) if k > 1 else np.zeros(1)
    c = 2.5 * 1.7**j if not spec.q0_fixed else 0.7 * 1.7**j
    chi = 0.3 if spec.q0_fixed else (0.6 if k == 0 else 0.05 / (1.0 + 0.3 * (k - 1)))
    return q, c, chi
