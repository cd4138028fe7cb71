"""Repeated solves of the hinge relaxation: direct highspy model vs parametrised cvxpy problem.

The workload is the one of iteratively reweighted ℓ1 (:func:`reluinj.empirical.relax.irl1`):
``K`` solves of ``min_u Σ w_i (<b_i,u>+1)_+`` with changing weights ``w`` (the weight sequence is
taken from the direct solver's own IRL1 run, so every formulation solves the same LPs).  Printed
per formulation: set-up time, first solve, mean of the re-solves, ratio to the direct model, and
the largest relative difference of the optimal values to the direct model.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_hinge_formulations.py [--sizes 20,50,100,200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from reluinj.empirical.relax import HingeCvxpy, HingeLP
from reluinj.empirical.sampling import sample_A


def weight_sequence(B: np.ndarray, K: int, eps: float = 0.1) -> list[np.ndarray]:
    lp = HingeLP(B)
    w = np.ones(B.shape[0])
    seq = []
    for _ in range(K):
        seq.append(w)
        sol = lp.solve(w)
        w = 1.0 / (np.maximum(B @ sol.u + 1.0, 0.0) + eps)
    return seq


def run(name: str, make, seq: list[np.ndarray]) -> dict:
    t = time.perf_counter()
    model = make()
    setup = time.perf_counter() - t
    times, values = [], []
    for w in seq:
        t = time.perf_counter()
        sol = model.solve(w)
        times.append(time.perf_counter() - t)
        values.append(sol.value)
    return {"name": name, "setup": setup, "first": times[0], "resolve": float(np.mean(times[1:])),
            "values": np.asarray(values)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20,50,100,200")
    ap.add_argument("--alpha", type=float, default=5.5)
    ap.add_argument("--solves", type=int, default=20)
    args = ap.parse_args(argv)
    print("| n | m | formulation | set-up s | first solve s | mean re-solve s | re-solve / direct "
          "| max rel. value diff |")
    print("|---|---|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        m = int(round(args.alpha * n))
        A = sample_A(n, m, 0)
        B = A / np.linalg.norm(A, axis=1, keepdims=True)
        seq = weight_sequence(B, args.solves)
        rows = [
            run("direct highspy (dual form, hot start)", lambda B=B: HingeLP(B), seq),
            run("cvxpy Parameter + HIGHS", lambda B=B: HingeCvxpy(B, solver="HIGHS"), seq),
            run("cvxpy Parameter + CLARABEL", lambda B=B: HingeCvxpy(B, solver="CLARABEL"), seq),
        ]
        ref = rows[0]
        for r in rows:
            diff = float(np.max(np.abs(r["values"] - ref["values"]) / np.maximum(1.0, ref["values"])))
            print(f"| {n} | {m} | {r['name']} | {r['setup']:.3f} | {r['first']:.3f} | "
                  f"{r['resolve']:.4f} | {r['resolve'] / ref['resolve']:.1f} | {diff:.1e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
