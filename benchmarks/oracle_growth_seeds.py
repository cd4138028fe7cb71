"""The growth per unit n of the oracle's decision time, over more seeds, with a bootstrap interval.

``reluinj bench oracle`` measures the growth on seeds 0-9 (medians per n, least-squares fit of
``log median`` against n, n >= 12).  This script solves further seeds of the same instances
(``A = default_rng(s).standard_normal((round(alpha n), n))``, decision mode, solved and timed
by the bench's own :func:`~reluinj.experiments.bench_oracle.solve_instance`), appends one line
per instance to ``--out`` (the bench's ``*_instances.csv`` format; instances already in the file
are not solved again, so an interrupted run resumes), and prints for the instances of every file
given with ``--out`` and ``--with``:

* per n: instances, median time, median nodes;
* the growth per unit n of the median time and of the median nodes, each with its 95 %
  percentile-bootstrap interval over the seeds (:func:`reluinj.experiments.bench_oracle.
  growth_interval`: instances resampled with replacement within each n).

The interval says how much the figure depends on which seeds were drawn; it does not cover the
machine's noise (run on one pinned core, ``OPENBLAS_NUM_THREADS=1 taskset -c 0``).

Run:  python benchmarks/oracle_growth_seeds.py --n 12 13 14 15 16 17 18 --seeds 10-19 \\
          --out results/oracle/growth_seeds_instances.csv \\
          --with results/oracle/bench_oracle_instances.csv
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

import numpy as np

from reluinj.empirical.oracle import solve_oracle
from reluinj.experiments.bench_oracle import (
    INSTANCE_COLUMNS,
    Config,
    growth_interval,
    growth_per_n,
    instance_record,
    machine,
    solve_instance,
)


def parse_seeds(text: str) -> list[int]:
    """``"10-19"`` or ``"3,5,8"`` (or a mix, ``"0-4,9"``) to a sorted list of distinct seeds;
    ValueError on anything else."""
    out: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        lo, hi = int(a), int(b) if b else int(a)
        if lo < 0 or hi < lo:
            raise ValueError(part)
        out.update(range(lo, hi + 1))
    return sorted(out)


def read(path: Path, alpha: float) -> list[dict]:
    """The oracle decision-mode instances at ``alpha`` of an instances CSV."""
    if not path.exists():
        return []
    with path.open() as f:
        rows = list(csv.DictReader(f))
    if rows and not set(INSTANCE_COLUMNS) <= set(rows[0]):
        raise SystemExit(f"{path}: not an instances file (columns {', '.join(INSTANCE_COLUMNS)})")
    out = []
    for r in rows:
        if r["method"] == "oracle" and r["mode"] == "decision" and float(r["alpha"]) == alpha:
            out.append({"n": int(r["n"]), "seed": int(r["seed"]), "time_s": float(r["time_s"]),
                        "cpu_s": float(r["cpu_s"]), "nodes": int(r["nodes"]),
                        "status": r["status"]})
    return out


def solve_one(n: int, alpha: float, seed: int) -> dict:
    """Instance ``seed`` at ``(n, alpha)``, solved and timed exactly as the bench does."""
    cfg = Config(n, alpha, "decision", 1)
    return instance_record(cfg, "oracle", seed, solve_instance(cfg, seed))


def report(inst: list[dict], alpha: float, lo: int = 12) -> list[str]:
    by_n: dict[int, dict[int, dict]] = {}
    for x in inst:
        by_n.setdefault(x["n"], {})[x["seed"]] = x  # a seed in two files counts once
    rows = []
    lines = ["| n | instances | median s | median nodes |", "|---|---|---|---|"]
    for n in sorted(by_n):
        runs = list(by_n[n].values())
        med = statistics.median(x["time_s"] for x in runs)
        nodes = statistics.median(x["nodes"] for x in runs)
        rows.append({"method": "oracle", "mode": "decision", "alpha": alpha, "n": n,
                     "median_s": med, "median_nodes": nodes, "runs": runs})
        lines.append(f"| {n} | {len(runs)} | {med:.3f} | {nodes:.0f} |")
    for key, rkey, what in (("median_s", "time_s", "time"), ("median_nodes", "nodes", "nodes")):
        g = growth_per_n(rows, alpha=alpha, lo=lo, key=key)
        ci = growth_interval(rows, alpha, lo=lo, key=rkey)
        if g is not None and ci is not None:
            lines.append(f"growth per unit n of the median {what} (n >= {lo}): x{g:.2f}, 95 % "
                         f"bootstrap interval over the seeds x{ci[0]:.2f}-x{ci[1]:.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[12, 13, 14, 15, 16, 17, 18])
    p.add_argument("--seeds", default="10-19", help="seeds to solve, e.g. 10-19 or 3,5,8")
    p.add_argument("--alpha", type=float, default=7.0)
    p.add_argument("--out", type=Path, required=True, help="instances CSV (appended to)")
    p.add_argument("--fit-from", type=int, default=12,
                   help="fit the growth on the sizes n >= this (the bench's 12)")
    p.add_argument("--with", dest="others", type=Path, nargs="*", default=[],
                   help="more instances CSVs to pool (e.g. the bench's)")
    a = p.parse_args(argv)
    if any(n < 2 for n in a.n) or not a.alpha > 1:
        p.error("--n must be >= 2 and --alpha > 1")
    for f in a.others:
        if not f.exists():
            p.error(f"--with: no such file {f}")
    try:
        seeds = parse_seeds(a.seeds)
    except ValueError:
        p.error(f"--seeds: expected ranges like 10-19 or 3,5,8 of seeds >= 0, got {a.seeds!r}")
    done = {(x["n"], x["seed"]) for x in read(a.out, a.alpha)}
    todo = [(n, s) for n in a.n for s in seeds if (n, s) not in done]
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), flush=True)
    solve_oracle(np.random.default_rng(0).standard_normal((20, 4)))  # compile / load the kernel
    new = not a.out.exists()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with a.out.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=INSTANCE_COLUMNS)
        if new:
            w.writeheader()
        for i, (n, s) in enumerate(todo):
            x = solve_one(n, a.alpha, s)
            w.writerow(x)
            f.flush()  # each finished instance is kept if the run is stopped
            print(f"[{i + 1}/{len(todo)}] n={n} seed={s} {x['time_s']:.3f} s "
                  f"{x['nodes']} nodes {x['status']}", flush=True)
    inst = read(a.out, a.alpha)
    for f in a.others:
        inst += read(f, a.alpha)
    inst = [x for x in inst if x["n"] in a.n]
    if any(x["status"] != "decided" for x in inst):
        print("warning: some instances are unresolved; their time is a lower bound",
              file=sys.stderr)
    print("\n".join(report(inst, a.alpha, a.fit_from)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
