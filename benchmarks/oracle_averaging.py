"""The averaging decomposition of the decision ``k*(A) >= n``, measured against the direct search.

The bound (a leave-one-block-out average).  Split the ``m`` rows into ``K`` consecutive blocks
``B_1..B_K`` and let ``S_j = A minus B_j``.  Every row lies in ``K - 1`` of the ``S_j``, so for
every ``u``: ``sum_j #{i in S_j : <a_i,u> > 0} = (K - 1) #{i : <a_i,u> > 0}``.  Hence if
``k*(S_j) >= f`` for every ``j``, then ``k*(A) >= ceil(K f / (K - 1))``, which is ``>= n`` for
``f = floor((n - 1)(K - 1) / K) + 1``.  Each ``S_j`` has ``m (K - 1) / K`` rows and the threshold
``f ~ n (K - 1) / K``: the same ratio ``t / m`` as the original decision, but a root gap
``f - (packing)`` smaller by about ``n / K``.  Each sub-decision is the oracle's decision mode with
``threshold=f`` (its own proof, checkable); a sub-decision that finds a witness below ``f`` means
the bound fails (it is a relaxation: ``k*(S_j)`` can fall below ``(K-1)/K k*(A)``), and the
answer must then come from the direct search.

For each instance (``A = default_rng(seed).standard_normal((7n, n))``, the bench's) the script
times the direct decision and, for each ``K``, the ``K`` sub-decisions (stopping at the first
that fails), CPU seconds on one core, and prints per n the medians and how often the bound
proved injectivity, and the growth per unit n of the median CPU (direct, and decomposition with
the direct search as fallback when it fails).

Run:  OPENBLAS_NUM_THREADS=1 taskset -c 0 python benchmarks/oracle_averaging.py \\
          --n 12 13 14 15 16 --seeds 0-5 --K 7 10 --out results/oracle/averaging.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from reluinj.empirical.oracle import solve_oracle
from reluinj.experiments.bench_oracle import growth_per_n, machine


def block_threshold(n: int, K: int) -> int:
    """The smallest ``f`` with ``K f / (K - 1) > n - 1``: ``floor((n-1)(K-1)/K) + 1``."""
    return (n - 1) * (K - 1) // K + 1


def blocks(m: int, K: int) -> list[np.ndarray]:
    """``K`` consecutive blocks of ``range(m)``, sizes differing by at most one."""
    return np.array_split(np.arange(m), K)


def averaging_decision(A: np.ndarray, K: int, f: int | None = None) -> dict:
    """Decide ``k*(A) >= n`` through the leave-one-block-out bound (module docstring).

    Returns ``proven`` (True: every ``k*(A minus B_j) >= f``, so ``k*(A) >= ceil(K f/(K-1))``),
    ``bound`` (that value, or None), ``f``, the nodes and CPU seconds of the sub-decisions run,
    and ``failed_block`` (the first block whose complement has a witness below ``f``)."""
    m, n = A.shape
    if not 2 <= K <= m:
        raise ValueError(f"K must be in [2, m = {m}], got {K}")
    f = block_threshold(n, K) if f is None else f
    out = {"K": K, "f": f, "nodes": 0, "cpu_s": 0.0, "proven": True, "failed_block": None,
           "sub_nodes": []}
    for j, B in enumerate(blocks(m, K)):
        keep = np.setdiff1d(np.arange(m), B)
        c0 = time.process_time()
        r = solve_oracle(A[keep], decision=True, threshold=f)
        out["cpu_s"] += time.process_time() - c0
        out["nodes"] += r.nodes
        out["sub_nodes"].append(r.nodes)
        if r.status != "decided" or r.lower_bound < f:
            out["proven"] = False
            out["failed_block"] = j
            break
    out["bound"] = -(-K * f // (K - 1)) if out["proven"] else None
    return out


def parse_seeds(text: str) -> list[int]:
    out: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        lo, hi = int(a), int(b) if b else int(a)
        if lo < 0 or hi < lo:
            raise ValueError(part)
        out.update(range(lo, hi + 1))
    return sorted(out)


def run_instance(n: int, seed: int, Ks: list[int], alpha: float = 7.0) -> dict:
    A = np.random.default_rng(seed).standard_normal((round(alpha * n), n))
    c0 = time.process_time()
    r = solve_oracle(A, decision=True)
    rec = {"n": n, "seed": seed, "direct_cpu_s": time.process_time() - c0,
           "direct_nodes": r.nodes, "injective": r.injective}
    for K in Ks:
        d = averaging_decision(A, K)
        if d["proven"] and r.injective is not True:
            raise AssertionError(f"n={n} seed={seed} K={K}: the bound proved k* >= n but the "
                                 f"direct search says injective={r.injective}")
        fallback = 0.0 if d["proven"] else rec["direct_cpu_s"]
        rec[f"K{K}"] = {"proven": d["proven"], "f": d["f"], "cpu_s": d["cpu_s"],
                        "nodes": d["nodes"], "with_fallback_cpu_s": d["cpu_s"] + fallback}
    return rec


def report(recs: list[dict], Ks: list[int]) -> list[str]:
    by_n: dict[int, list[dict]] = {}
    for x in recs:
        by_n.setdefault(x["n"], []).append(x)
    head = "| n | instances | injective | direct: median CPU s / nodes |"
    sep = "|---|---|---|---|"
    for K in Ks:
        head += f" K={K}: f | proven | median CPU s (proven only) | with fallback: median CPU s |"
        sep += "---|---|---|---|"
    lines = [head, sep]
    growth_rows: dict[str, list[dict]] = {"direct": []}
    for n in sorted(by_n):
        xs = by_n[n]
        dc = statistics.median(x["direct_cpu_s"] for x in xs)
        dn = statistics.median(x["direct_nodes"] for x in xs)
        line = (f"| {n} | {len(xs)} | {sum(x['injective'] is True for x in xs)} | "
                f"{dc:.3f} / {dn:.0f} |")
        growth_rows["direct"].append({"method": "oracle", "mode": "decision", "alpha": 7,
                                      "n": n, "median_s": dc})
        for K in Ks:
            ks = [x[f"K{K}"] for x in xs]
            pr = [k for k in ks if k["proven"]]
            pc = statistics.median(k["cpu_s"] for k in pr) if pr else float("nan")
            fc = statistics.median(k["with_fallback_cpu_s"] for k in ks)
            line += f" {ks[0]['f']} | {len(pr)} | {pc:.3f} | {fc:.3f} |"
            growth_rows.setdefault(f"K={K} with fallback", []).append(
                {"method": "oracle", "mode": "decision", "alpha": 7, "n": n, "median_s": fc})
        lines.append(line)
    lines.append("")
    for name, rows in growth_rows.items():
        g = growth_per_n(rows, alpha=7, lo=min(by_n))
        if g is not None:
            lines.append(f"- growth per unit n of the median CPU, {name}: x{g:.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[12, 13, 14, 15, 16])
    p.add_argument("--seeds", default="0-5")
    p.add_argument("--K", type=int, nargs="+", default=[7, 10])
    p.add_argument("--out", type=Path, default=None, help="write the table (Markdown) here; the "
                   "per-instance records go to the same name with .jsonl (appended, resumable)")
    a = p.parse_args(argv)
    if any(n < 2 for n in a.n) or any(K < 2 for K in a.K):
        p.error("--n and --K must be >= 2")
    try:
        seeds = parse_seeds(a.seeds)
    except ValueError:
        p.error(f"--seeds: expected ranges like 0-5 or 3,5,8 of seeds >= 0, got {a.seeds!r}")
    jl = a.out.with_suffix(".jsonl") if a.out else None
    recs: list[dict] = []
    if jl and jl.exists():
        recs = [json.loads(s) for s in jl.read_text().splitlines() if s.strip()]
        recs = [x for x in recs if all(f"K{K}" in x for K in a.K)]
    done = {(x["n"], x["seed"]) for x in recs}
    mach = machine()
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in mach.items()), flush=True)
    solve_oracle(np.random.default_rng(0).standard_normal((20, 4)), decision=True, threshold=2)
    todo = [(n, s) for n in a.n for s in seeds if (n, s) not in done]
    for i, (n, s) in enumerate(todo):
        x = run_instance(n, s, a.K)
        recs.append(x)
        if jl:
            jl.parent.mkdir(parents=True, exist_ok=True)
            with jl.open("a") as f:
                f.write(json.dumps(x) + "\n")
        print(f"[{i + 1}/{len(todo)}] n={n} seed={s} direct {x['direct_cpu_s']:.2f} s; "
              + "; ".join(f"K={K} {'proven' if x[f'K{K}']['proven'] else 'failed'} "
                          f"{x[f'K{K}']['cpu_s']:.2f} s" for K in a.K), flush=True)
    recs = [x for x in recs if x["n"] in a.n and x["seed"] in seeds]
    lines = ["# Averaging decomposition of the decision k* >= n (alpha = 7)", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in mach.items()), "",
             "Command: python benchmarks/oracle_averaging.py " + " ".join(sys.argv[1:]
                                                                          if argv is None else argv),
             "", *report(recs, a.K)]
    print("\n".join(lines))
    if a.out:
        a.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
