"""``reluinj bench bounds``: the bounding methods (issue 6) per method, n and α.

Instances: Monte Carlo convention, instance ``i`` of size (n, m) is
``sample_instance(SEED, n, m, i)`` (``SeedSequence(entropy=SEED, spawn_key=(n, m, i))``) with
``m = round(α n)``.  Every method solves the same instances in this process, in optimisation mode
(not decision mode: the best bounds within the time limit), one core; compare ratios, the machine
may be shared.  Where the exact oracle finishes within its cap (``n <= EXACT_MAX_N``), ``k*`` is
known and the table gives the gap of the upper bound to it and the fraction of instances whose
upper bound equals ``k*``; every method's bounds are checked to bracket it (``lower <= k* <= upper``,
else the benchmark stops with an error).

Columns: ``success`` = fraction of instances whose bounds decide injectivity (``upper < n``: a
checked witness, or ``lower >= n``: a verified packing / exhausted search); ``exact_ub`` = fraction
with ``upper == k*`` (where known); ``gap_exact`` = median ``upper - k*`` (where known); ``gap`` =
median ``upper - lower``; ``lower`` / ``upper`` = medians of the bounds; ``median_s`` = median wall
time per solve; ``time_limit`` = seconds given to every method (``hinge``, ``irl1`` and ``root-lb``
usually stop on their own long before; ``local`` has its own restart budget; ``auto`` in
optimisation mode searches until the limit unless the oracle proves ``k*``).  Rows ``exact`` give
the oracle itself (its time; ``success`` = fraction it finished).
"""

from __future__ import annotations

import csv
import datetime as _dt
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reluinj.empirical.errors import ReluInjError
from reluinj.empirical.sampling import sample_instance
from reluinj.empirical.solve import solve

SEED = 20240601
ORACLE_CAP = 120.0   # seconds for the exact reference; beyond it k* counts as unknown
EXACT_MAX_N = 16     # the exact oracle is tried only up to this n
METHODS = ("hinge", "irl1", "local", "root-lb", "auto")


@dataclass(frozen=True)
class Config:
    """One table point: ``seeds`` instances of size ``n × round(alpha n)``."""

    n: int
    alpha: float
    seeds: int
    time_limit: float  # per solve, for every method

    @property
    def m(self) -> int:
        return int(round(self.alpha * self.n))


QUICK = [Config(6, 6.0, 3, 5.0), Config(8, 6.0, 3, 5.0), Config(30, 5.0, 2, 1.0)]
#: the committed table (results/bounds/): about 15 min on one core of the development machine
FULL = (
    [Config(n, a, 20, 10.0) for n in (8, 12) for a in (4.0, 5.5, 7.0)]
    + [Config(16, a, 10, 10.0) for a in (4.0, 5.0)]
    + [Config(50, a, 10, 4.0) for a in (5.5, 6.5, 7.5)]
    + [Config(100, a, 6, 8.0) for a in (5.5, 6.5)]
    + [Config(200, a, 4, 15.0) for a in (5.5, 6.5)]
)

HEAD = ("n", "alpha", "m", "method", "instances", "time_limit", "success", "exact_ub",
        "gap_exact", "gap", "lower", "upper", "median_s")


def _exact(A: np.ndarray) -> tuple[int | None, float]:
    """``(k*, seconds)`` from the exact oracle, ``k* = None`` beyond its reach or cap."""
    t = time.perf_counter()
    if A.shape[1] > EXACT_MAX_N:
        return None, 0.0
    try:
        r = solve(A, "oracle", time_limit=ORACLE_CAP)
    except ReluInjError:
        return None, time.perf_counter() - t
    return (r.kstar if r.status == "optimal" else None), time.perf_counter() - t


def _solve(method: str, A: np.ndarray, cfg: Config) -> tuple[int, int, float]:
    t = time.perf_counter()
    r = solve(A, method, time_limit=cfg.time_limit)
    return r.lower_bound, r.upper_bound, time.perf_counter() - t


def _summary(cfg: Config, method: str, res: list[tuple[int, int, float, int | None]]) -> dict[str, Any]:
    known = [(up, k) for _, up, _, k in res if k is not None]
    return {
        "n": cfg.n, "alpha": cfg.alpha, "m": cfg.m, "method": method, "instances": len(res),
        "time_limit": cfg.time_limit,
        "success": sum(up < cfg.n or lo >= cfg.n for lo, up, _, _ in res) / len(res),
        "exact_ub": (sum(up == k for up, k in known) / len(known)) if known else "",
        "gap_exact": statistics.median(up - k for up, k in known) if known else "",
        "gap": statistics.median(up - lo for lo, up, _, _ in res),
        "lower": statistics.median(lo for lo, _, _, _ in res),
        "upper": statistics.median(up for _, up, _, _ in res),
        "median_s": statistics.median(dt for _, _, dt, _ in res),
    }


def run(configs: Sequence[Config], methods: Sequence[str] = METHODS, echo: bool = True,
        progress: bool = True) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Solve every instance with every method; return (summary rows, per-instance rows).

    Raises AssertionError if a method's bounds miss an exactly known ``k*``.
    """
    from tqdm import tqdm

    rows: list[dict[str, Any]] = []
    per: list[dict[str, Any]] = []
    total = sum(c.seeds * (len(methods) + (c.n <= EXACT_MAX_N)) for c in configs)
    bar = tqdm(total=total, unit="solve", disable=not progress, file=sys.stderr, leave=False)
    try:
        for cfg in configs:
            mats = [sample_instance(SEED, cfg.n, cfg.m, i) for i in range(cfg.seeds)]
            exact = []
            for A in mats:
                bar.set_description(f"n={cfg.n} alpha={cfg.alpha} exact")
                exact.append(_exact(A))
                if cfg.n <= EXACT_MAX_N:
                    bar.update()
            if cfg.n <= EXACT_MAX_N:
                ex = [(k if k is not None else 0, k if k is not None else cfg.m, dt, k)
                      for k, dt in exact]
                row = _summary(cfg, "exact", ex)
                row["time_limit"] = ORACLE_CAP
                row["success"] = sum(k is not None for k, _ in exact) / len(exact)
                rows.append(row)
                if echo:
                    bar.write(_line(row))
            for method in methods:
                bar.set_description(f"n={cfg.n} alpha={cfg.alpha} {method}")
                res = []
                for i, A in enumerate(mats):
                    lo, up, dt = _solve(method, A, cfg)
                    k = exact[i][0]
                    if k is not None and not lo <= k <= up:
                        raise AssertionError(f"{method} n={cfg.n} m={cfg.m} i={i}: bounds "
                                             f"[{lo}, {up}] miss k*={k}")
                    res.append((lo, up, dt, k))
                    per.append({"n": cfg.n, "alpha": cfg.alpha, "m": cfg.m, "index": i,
                                "method": method, "time_limit": cfg.time_limit, "lower": lo,
                                "upper": up, "kstar": "" if k is None else k, "time_s": dt})
                    bar.update()
                row = _summary(cfg, method, res)
                rows.append(row)
                if echo:
                    bar.write(_line(row))
    finally:
        bar.close()
    return rows, per


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _line(row: dict[str, Any]) -> str:
    return "| " + " | ".join(_fmt(row[k]) for k in HEAD) + " |"


def _machine() -> str:
    from .provenance import cpu_model, git_commit, library_versions, machine

    mach, git, libs = machine(), git_commit(), library_versions()
    commit = str(git.get("commit") or "?")[:7] + (" (local changes)" if git.get("dirty") else "")
    return (f"Machine: date {_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC, cpu {cpu_model()}, "
            f"cores {mach.get('cpu_count')} (shared with other jobs; one process, one core), "
            f"python {mach.get('python')}, numpy {libs.get('numpy')}, highspy {libs.get('highspy')}, "
            f"numba {libs.get('numba')}, git {commit}")


def write(rows: list[dict[str, Any]], per: list[dict[str, Any]], out: str | Path,
          quick: bool, command: str | None = None, elapsed_s: float | None = None
          ) -> tuple[Path, Path, Path]:
    """Write ``bench_bounds{_quick}.csv`` (table), ``..._instances.csv`` and ``....md``."""
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = "bench_bounds_quick" if quick else "bench_bounds"
    paths = (outdir / f"{stem}.csv", outdir / f"{stem}_instances.csv", outdir / f"{stem}.md")
    for path, data, keys in ((paths[0], rows, list(HEAD)),
                             (paths[1], per, list(per[0]) if per else [])):
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(data)
    cmd = command or f"reluinj bench bounds{' --quick' if quick else ''} --out {outdir}"
    lines = [f"# `reluinj bench bounds{' --quick' if quick else ''}`", "", _machine(), "",
             f"Command: `{cmd}`" + (f" ({elapsed_s / 60:.1f} min)" if elapsed_s else ""), "",
             (__doc__ or "").split("\n\n", 1)[1].strip(), "",
             "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += [_line(r) for r in rows]
    paths[2].write_text("\n".join(lines) + "\n")
    return paths


def main(quick: bool = False, out: str | Path | None = None, progress: bool = True,
         configs: Sequence[Config] | None = None) -> int:
    """Run the benchmark, print one table, write CSV + Markdown into ``out`` (if given)."""
    t0 = time.perf_counter()
    print("| " + " | ".join(HEAD) + " |")
    print("|" + "---|" * len(HEAD), flush=True)
    rows, per = run(configs if configs is not None else (QUICK if quick else FULL),
                    progress=progress)
    if out:
        command = "reluinj " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
            if sys.argv[1:2] == ["bench"] else None
        for p in write(rows, per, out, quick, command, time.perf_counter() - t0):
            print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    raise SystemExit(main(quick=a.quick, out=a.out))
