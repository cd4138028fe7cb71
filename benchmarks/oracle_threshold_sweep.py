"""Nodes of the decision ``k* >= t`` as a function of the threshold t and of n (alpha = 7).

For each n and seed (``A = default_rng(seed).standard_normal((7n, n))``, the bench's instances)
the oracle decides ``k* >= t`` for ``t = n + dt`` (``--dt``), heuristic off, one JSON line per
instance; then it fits ``log nodes = a + t log c + n log f`` over the instances where ``k* >= t``
holds (exhausted searches, ``t >= n + fit_dt_min``) and prints ``c`` (nodes per unit of
threshold at fixed n), ``f`` (per unit n at fixed t) and ``c f`` (per unit n with ``t = n``, the
decision's growth).

Run:  OPENBLAS_NUM_THREADS=1 taskset -c 0 python benchmarks/oracle_threshold_sweep.py \
          --n 10 12 14 16 --seeds 4 --dt -4 -2 0 1 --out results/oracle/threshold_sweep.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from reluinj.empirical.oracle import solve_oracle
from reluinj.experiments.bench_oracle import machine


def sweep(n: int, seed: int, dts: list[int]) -> dict:
    A = np.random.default_rng(seed).standard_normal((7 * n, n))
    runs = []
    for dt in dts:
        t = n + dt
        if t < 1:
            continue
        c0 = time.process_time()
        r = solve_oracle(A, decision=True, threshold=t, primal=False)
        runs.append({"t": t, "nodes": r.nodes, "cpu_s": time.process_time() - c0,
                     "kstar_at_least_t": r.lower_bound >= t})
    return {"n": n, "seed": seed, "runs": runs}


def fit(recs: list[dict], dt_min: int | None = None) -> tuple[float, float, int] | None:
    """(c, f, points) of log nodes = a + t log c + n log f over exhausted searches (those with
    ``t >= n + dt_min`` if given: far below n the root's packing alone decides, in 1-2 nodes)."""
    X, y = [], []
    for d in recs:
        for r in d["runs"]:
            if r["kstar_at_least_t"] and (dt_min is None or r["t"] >= d["n"] + dt_min):
                X.append([1.0, r["t"], d["n"]])
                y.append(np.log(r["nodes"]))
    if len({x[1] for x in X}) < 2 or len({x[2] for x in X}) < 2:
        return None
    b = np.linalg.lstsq(np.array(X), np.array(y), rcond=None)[0]
    return float(np.exp(b[1])), float(np.exp(b[2])), len(y)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[10, 12, 14, 16])
    p.add_argument("--seeds", type=int, default=4, help="seeds 0 .. SEEDS-1")
    p.add_argument("--dt", type=int, nargs="+", default=[-4, -2, 0, 1])
    p.add_argument("--out", type=Path, default=None, help="JSON lines, appended (resumable)")
    p.add_argument("--fit-dt-min", type=int, default=-4,
                   help="fit on the thresholds t >= n + this (default -4)")
    a = p.parse_args(argv)
    if any(n < 2 for n in a.n) or a.seeds < 1:
        p.error("--n must be >= 2 and --seeds >= 1")
    recs = []
    if a.out is not None and a.out.exists():
        recs = [json.loads(s) for s in a.out.read_text().splitlines() if s.strip()]
    done = {(d["n"], d["seed"]) for d in recs}
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), flush=True)
    solve_oracle(np.random.default_rng(0).standard_normal((40, 5)), decision=True)  # compile
    for n in a.n:
        for s in range(a.seeds):
            if (n, s) in done:
                continue
            d = sweep(n, s, a.dt)
            recs.append(d)
            if a.out is not None:
                with a.out.open("a") as f:
                    f.write(json.dumps(d) + "\n")
            print(json.dumps(d), flush=True)
    recs = [d for d in recs if d["n"] in a.n and d["seed"] < a.seeds]
    res = fit(recs, a.fit_dt_min)
    if res is None:
        print("not enough sizes and thresholds to fit")
        return 0
    c, f, k = res
    print(f"nodes per unit of threshold at fixed n: x{c:.2f}; per unit n at fixed t: x{f:.2f}; "
          f"per unit n with t = n: x{c * f:.2f} ({k} exhausted searches, t >= n "
          f"{a.fit_dt_min:+d})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
