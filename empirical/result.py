"""The result object of every k*(A) solver, in the spirit of ``scipy.optimize.OptimizeResult``.

Conventions (math.md §1): ``k*(A) = min_{u≠0} #{i : <a_i,u> > 0}``; the layer is injective iff
``k*(A) >= n`` (general position).  A solver proves ``lower_bound <= k* <= upper_bound``; the upper
bound is always attained by ``witness`` (checked by :func:`reluinj.empirical.certificate.check_witness`
before it is returned).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: Status values.  ``optimal``: k* is exact.  ``decided``: decision mode answered "k* >= n?"
#: (k* itself may be unknown).  ``time_limit`` / ``node_limit`` / ``interrupted`` (Ctrl-C in an
#: interruptible solve): stopped early; only the bounds hold and ``injective`` is None unless the
#: bounds already decide it.
STATUSES = ("optimal", "decided", "time_limit", "node_limit", "interrupted")


@dataclass
class SolveResult:
    """Outcome of one solve of ``k*(A)`` for one matrix ``A`` (m x n).

    Attributes
    ----------
    n, m : problem size.
    method : name of the solver that produced the bounds.
    kstar : exact ``k*(A)`` when known (``lower_bound == upper_bound``), else None.
    lower_bound, upper_bound : proven bounds, ``lower_bound <= k* <= upper_bound``.
    injective : True iff ``k* >= n`` proven, False iff ``k* < n`` proven, None if undecided.
    witness : unit vector ``u`` with ``#{<a_i,u> > 0} == upper_bound``, strictly inside its cell.
    status : one of :data:`STATUSES`.
    time_s : wall time of the solve in seconds.
    nodes, lps : search size (branch-and-bound nodes, LP / node tests).
    decision : True if solved in decision mode (stop once ``k* >= n`` or ``k* < n`` is known).
    info : solver-specific extras (JSON-serialisable).
    proof : for injective answers of solvers that record one, the checkable proof (see issue 4).
    """

    n: int
    m: int
    method: str
    kstar: int | None
    lower_bound: int
    upper_bound: int
    injective: bool | None
    witness: np.ndarray | None
    status: str
    time_s: float
    nodes: int = 0
    lps: int = 0
    decision: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    #: optional machine-checkable proof object of an injective answer (solver-specific, not in to_dict)
    proof: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} not in {STATUSES}")
        if self.lower_bound > self.upper_bound:
            raise ValueError(f"lower_bound {self.lower_bound} > upper_bound {self.upper_bound}")

    @property
    def alpha(self) -> float:
        return self.m / self.n

    @property
    def gap(self) -> int:
        return self.upper_bound - self.lower_bound

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the witness as a list of floats)."""
        d = asdict(self)
        d.pop("proof", None)
        d["witness"] = None if self.witness is None else [float(x) for x in self.witness]
        d["alpha"] = self.alpha
        return d

    def __repr__(self) -> str:  # short, like OptimizeResult
        return (
            f"SolveResult(method={self.method!r}, n={self.n}, m={self.m}, kstar={self.kstar}, "
            f"bounds=[{self.lower_bound}, {self.upper_bound}], injective={self.injective}, "
            f"status={self.status!r}, time_s={self.time_s:.3g}, nodes={self.nodes}, lps={self.lps})"
        )


def injective_from_bounds(lower_bound: int, upper_bound: int, n: int) -> bool | None:
    """Injectivity decided by bounds: True if ``lower_bound >= n``, False if ``upper_bound < n``."""
    if lower_bound >= n:
        return True
    if upper_bound < n:
        return False
    return None
