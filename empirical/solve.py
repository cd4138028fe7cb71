"""One entry point for every k*(A) solver: ``solve(A, method=..., decision=..., time_limit=...)``.

Each method is a function ``f(A, *, decision: bool, time_limit: float | None, **options) -> SolveResult``
living in its own module; this registry maps names to ``"module:function"`` so that importing the
package stays cheap (numba kernels compile only when used).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from .errors import UnknownMethodError
from .result import SolveResult
from .sampling import validate_matrix

#: name -> "module:function" (relative to reluinj.empirical) and a one-line description.
METHODS: dict[str, tuple[str, str]] = {
    "enum": ("enumeration:solve_enumeration", "vertex-ray enumeration (reference, small n only)"),
    "bnb-lp": ("bnb_lp:solve_bnb_lp", "sign-pattern branch-and-bound, HiGHS LP per node (baseline)"),
    "oracle": ("oracle:solve_oracle", "exact oracle: numba B&B, Wolfe node tests, packing bounds"),
    "hinge": ("relax:solve_hinge", "upper bound: hinge LP relaxation, prefix rounding, LP polish"),
    "irl1": ("relax:solve_irl1", "upper bound: iteratively reweighted l1 (hinge LPs), rounding, polish"),
    "local": ("local_search:solve_local", "upper bound: greedy elastic removal + flip search, restarts"),
    "root-lb": ("lower_bounds:solve_root_lb", "lower bound: packing of infeasible subsystems (root)"),
    "auto": ("auto:solve_auto", "oracle where affordable, else local (upper) + root-lb (lower)"),
}

#: aliases resolved before lookup; "exact" is the fastest exact solver available.
ALIASES: dict[str, str] = {"exact": "oracle"}


def available_methods() -> list[str]:
    """Names accepted by :func:`solve` (methods and aliases)."""
    return sorted(set(METHODS) | set(ALIASES))


def get_method(name: str) -> Callable[..., SolveResult]:
    """Resolve a method name to its solver function; unknown names raise UnknownMethodError."""
    key = ALIASES.get(name, name)
    if key not in METHODS:
        raise UnknownMethodError(
            f"unknown method {name!r}; allowed: {', '.join(available_methods())}"
        )
    module, func = METHODS[key][0].split(":")
    mod = importlib.import_module(f"{__package__}.{module}")
    return getattr(mod, func)


def solve(
    A: np.ndarray,
    method: str = "exact",
    *,
    decision: bool = False,
    time_limit: float | None = None,
    **options: object,
) -> SolveResult:
    """Compute (or bound) ``k*(A) = min_{u≠0} #{i : <a_i,u> > 0}`` with the named method.

    ``decision=True`` only decides ``k* >= n`` (injectivity) and may stop early.
    ``time_limit`` (seconds) stops the search with ``status="time_limit"`` and proven bounds.
    """
    A = validate_matrix(A)
    fn = get_method(method)
    return fn(A, decision=decision, time_limit=time_limit, **options)
