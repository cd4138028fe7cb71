"""Method ``"auto"``: the exact oracle where it is affordable, bounding methods otherwise.

Rule (documented; thresholds measured on one core with the oracle of issue 4 at m = 4n..8n,
time limit 10 s: every instance with ``n <= 12`` finished in under 10 s, ``n = 14`` at
``α <= 6`` in under 6 s, ``n = 16`` at ``α = 6`` and ``n = 14`` at ``α = 8`` did not finish;
when the oracle stops early its witness is far from optimal — e.g. 27 against the exact 19 — and
its running lower bound is the root packing value):

* ``n <= ORACLE_MAX_N`` (20): a greedy elastic removal first (an incumbent witness within
  ``LB_SHARE`` of the time; in decision mode it already answers most non-injective instances),
  then the oracle, with
  - no time limit: only if ``n <= EXACT_N_UNLIMITED`` (14) — otherwise go straight to bounds;
  - a time limit ``T``: the whole ``T`` if ``n <= ORACLE_FULL_N`` (10), else the share
    ``ORACLE_SHARE`` (60 %) of ``T``.
  If the oracle proves the answer (status ``optimal``/``decided``) that is the result.  If it
  stops early (or refuses a degenerate input) the remaining time goes to the bounding methods,
  and the final bounds are the better of the oracle's (its witness and running lower bound) and
  theirs.
* bounding methods: ``local`` (flip search from the greedy elastic removal, random restarts until
  the deadline) for the upper bound, ``root-lb`` (disjoint / fractional packing of infeasible
  subsystems) for the lower bound, with the share ``LB_SHARE`` (10 %) of the time.  In decision
  mode the packing bound runs only when it could decide (``m/(n+1) >= n``), and ``local`` stops
  at the first witness with fewer than ``n`` positives.

Measured (one core, shared machine, ``A = default_rng(S).standard_normal((m, n))``):
n = 200, m = 1100 (α = 5.5), 60 s, seeds 0-19: all 20 certify non-injectivity, upper bounds
125-159 (median 146 = 0.73 n; theory k* ≈ 0.67 n), lower bounds 3-4 (root packing).  Decision
mode, 60 s, 10 seeds per α: success 9/10 at α = 6.25, 7/10 at 6.5, 0/10 at 6.75 (n = 200);
n = 50 (10 s): 10/10 at 5.5, 5/10 at 6.5, 0/10 at 7.

``result.info["bound_methods"] = {"lower": ..., "upper": ...}`` names the method that produced each
bound (``"oracle"``, ``"local"``, ``"root-lb"`` or ``"trivial"``); ``info["auto_plan"]`` lists the
steps run with their times.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .bounding import Deadline, certify, check_options, make_result, reduce_input
from .certificate import check_witness
from .errors import DegenerateInputError
from .local_search import greedy_removal, local_search
from .lower_bounds import packing_lower_bound
from .relax import HingeLP
from .result import SolveResult

ORACLE_MAX_N = 20
EXACT_N_UNLIMITED = 14
ORACLE_FULL_N = 10
ORACLE_SHARE = 0.6
LB_SHARE = 0.1

_AUTO_OPTS: dict[str, Any] = {"seed": 0, "oracle": True, "lb_restarts": 1, "local_options": None,
                               "record_proof": False}


def plan_oracle(n: int, time_limit: float | None) -> float | None | bool:
    """Time budget of the oracle step: False (skip), None (unlimited) or seconds."""
    if n > ORACLE_MAX_N:
        return False
    if time_limit is None:
        return None if n <= EXACT_N_UNLIMITED else False
    return float(time_limit) if n <= ORACLE_FULL_N else ORACLE_SHARE * float(time_limit)


def solve_auto(
    A: np.ndarray, *, decision: bool = False, time_limit: float | None = None, **options: Any
) -> SolveResult:
    """``solve`` entry point ``"auto"`` (see module docstring).  Options: ``seed`` (0),
    ``oracle`` (True; False forces the bounding methods), ``lb_restarts`` (1), ``local_options``
    (dict of :func:`reluinj.empirical.local_search.local_search` options, e.g. smaller budgets),
    ``record_proof`` (False; True passes it to the oracle step, whose checkable proof of an
    injective answer is then attached as ``result.proof``: only where the oracle decides)."""
    t0 = time.perf_counter()
    o = check_options("auto", options, _AUTO_OPTS)
    red, early = reduce_input(A, "auto", decision=decision, t0=t0)
    if early is not None:
        return early
    dl = Deadline(time_limit, t0)
    n = red.n
    plan: list[dict[str, Any]] = []
    best_u: np.ndarray | None = None
    upper, up_by = red.m_eff + 1, "none"
    lower, lo_by = 0, "trivial"
    nodes = lps = 0
    stopped = "node_limit"

    budget = plan_oracle(n, time_limit) if o["oracle"] else False
    if budget is not False:
        from .oracle import solve_oracle

        # a quick incumbent first (milliseconds at these sizes): it answers decision mode for
        # most non-injective instances and keeps a good upper bound if the oracle overruns
        ts = time.perf_counter()
        lp0 = HingeLP(red.B)
        u0, _, _ = greedy_removal(red.B, lp0, deadline=Deadline(dl.sub(LB_SHARE)),
                                  target=n if decision else None)
        lps += lp0.solves
        got = certify(red.A, u0)
        if got is not None:
            best_u, upper = got
            up_by = "local"
        plan.append({"step": "greedy", "count": upper, "time_s": time.perf_counter() - ts})
        if decision and upper < n:
            info = {"auto_plan": plan, "bound_methods": {"lower": "trivial", "upper": "local"}}
            return make_result(red, "auto", lower=0, upper=upper, witness=best_u,
                               decision=decision, stopped="node_limit", t0=t0, lps=lps, info=info)
        if budget is not None:
            budget = max(0.0, min(budget, dl.remaining()))

        ts = time.perf_counter()
        try:
            r = solve_oracle(A, decision=decision, time_limit=budget,
                             record_proof=bool(o["record_proof"]))
        except DegenerateInputError as exc:
            plan.append({"step": "oracle", "error": str(exc), "time_s": time.perf_counter() - ts})
        else:
            plan.append({"step": "oracle", "status": r.status, "time_s": r.time_s})
            nodes, lps = r.nodes, lps + r.lps
            if r.witness is not None:
                chk = check_witness(red.A, r.witness)
                if chk.strict and chk.positives <= min(r.upper_bound, upper):
                    # the oracle's witness may be its own primal heuristic's ("local")
                    up_by = r.info.get("bound_methods", {}).get("upper", "oracle")
                    best_u, upper = r.witness, chk.positives
            if r.lower_bound > lower:
                lower, lo_by = r.lower_bound, "oracle"
            if r.status in ("optimal", "decided"):
                # optimal: the oracle's k* (its witness attains it, or the greedy's does);
                # decided: a witness < n (oracle or greedy) or k* >= n proven
                if r.status == "optimal":
                    lower, lo_by = r.kstar, "oracle"
                info = {"oracle_info": r.info, "auto_plan": plan,
                        "bound_methods": {"lower": lo_by, "upper": up_by}}
                if best_u is None:  # decided injective without a witness: any strict point
                    from .bounding import fallback_witness

                    best_u, upper = fallback_witness(red.A)
                    info["bound_methods"]["upper"] = "random"
                res = make_result(red, "auto", lower=lower, upper=upper, witness=best_u,
                                  decision=decision, stopped="node_limit", t0=t0, nodes=nodes,
                                  lps=lps, info=info)
                if res.injective is True:
                    res.proof = r.proof
                return res
            if r.status == "time_limit":
                stopped = "time_limit"

    def decided() -> bool:
        return (upper < n or lower >= n) if decision else lower >= upper

    # lower bound: root packing
    want_lb = (not decision) or (red.m_eff // (n + 1) >= n)
    if want_lb and not decided() and not dl.expired():
        ts = time.perf_counter()
        sub = Deadline(dl.sub(LB_SHARE))
        pk = packing_lower_bound(red.A, red.B, restarts=int(o["lb_restarts"]), seed=int(o["seed"]),
                                 witness=best_u, deadline=sub)
        plan.append({"step": "root-lb", "lower": pk.lower, "time_s": time.perf_counter() - ts})
        lps += pk.lps
        if pk.lower > lower:
            lower, lo_by = pk.lower, "root-lb"

    # upper bound: local search with the rest of the time
    if not decided() and not dl.expired():
        ts = time.perf_counter()
        lp = HingeLP(red.B)
        lopts = {"restarts": None if dl.end is not None else _AUTO_LOCAL_RESTARTS,
                 "seed": int(o["seed"])}
        lopts.update(o["local_options"] or {})
        u, c, linfo = local_search(red.B, deadline=dl, target=n if decision else None, lp=lp,
                                   **lopts)
        lps += lp.solves
        got = certify(red.A, u)
        plan.append({"step": "local", "count": c, "time_s": time.perf_counter() - ts,
                     "runs": len(linfo["runs"])})
        if got is not None and got[1] < upper:
            best_u, upper = got
            up_by = "local"
    if best_u is None:
        from .bounding import fallback_witness

        best_u, upper = fallback_witness(red.A)
        up_by = "random"
    if dl.expired():
        stopped = "time_limit"
    info = {"auto_plan": plan, "bound_methods": {"lower": lo_by, "upper": up_by}}
    return make_result(red, "auto", lower=lower, upper=upper, witness=best_u,
                       decision=decision, stopped=stopped, t0=t0, nodes=nodes, lps=lps, info=info)


#: restarts of the local search when auto runs without a time limit
_AUTO_LOCAL_RESTARTS = 2
