"""``reluinj bench bounds``: the bounding methods (issue 6) per method, n and α.

Instances: Monte Carlo convention, instance ``i`` of size (n, m) is
``sample_instance(SEED, n, m, i)`` with ``m = round(α n)``.  Every method solves the same
instances in this process (one core; compare ratios, the machine may be shared).  Where the exact
oracle finishes within its cap (small n), ``k*`` is known and the table gives the gap of the upper
bound to it and the fraction of instances whose upper bound equals ``k*``.

Columns: ``success`` = fraction of instances whose bounds decide injectivity (``upper < n`` or
``lower >= n``); ``exact_ub`` = fraction with ``upper == k*`` (where known); ``gap_exact`` =
median ``upper - k*`` (where known); ``gap`` = median ``upper - lower``; ``median_s`` = median
wall time; ``lower`` / ``upper`` = medians of the bounds.
"""

from __future__ import annotations

import csv
import datetime as _dt
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reluinj.empirical.errors import ReluInjError
from reluinj.empirical.sampling import sample_instance
from reluinj.empirical.solve import solve

SEED = 20240601
ORACLE_CAP = 120.0
METHODS = ("hinge", "irl1", "local", "root-lb", "auto")


@dataclass(frozen=True)
class Config:
    n: int
    alpha: float
    seeds: int
    time_limit: float  # per solve, for the methods that take one (local, auto)

    @property
    def m(self) -> int:
        return int(round(self.alpha * self.n))


QUICK = [Config(8, 6.0, 5, 5.0), Config(12, 6.0, 5, 5.0), Config(50, 5.5, 3, 5.0)]
FULL = (
    [Config(n, a, 20, 30.0) for n in (8, 12, 16) for a in (4.0, 5.5, 7.0)]
    + [Config(50, a, 10, 20.0) for a in (5.5, 6.5, 7.5)]
    + [Config(100, a, 10, 30.0) for a in (5.5, 6.5, 7.0)]
    + [Config(200, a, 5, 60.0) for a in (5.5, 6.5)]
)

_HEAD = ("n", "alpha", "m", "method", "instances", "success", "exact_ub", "gap_exact", "gap",
         "lower", "upper", "median_s")


def _exact(A: np.ndarray) -> int | None:
    if A.shape[1] > 16:
        return None
    try:
        r = solve(A, "oracle", time_limit=ORACLE_CAP)
    except ReluInjError:
        return None
    return r.kstar if r.status == "optimal" else None


def _solve(method: str, A: np.ndarray, cfg: Config) -> tuple[int, int, float]:
    t = time.perf_counter()
    if method in ("local", "auto"):
        r = solve(A, method, time_limit=cfg.time_limit)
    else:
        r = solve(A, method)
    return r.lower_bound, r.upper_bound, time.perf_counter() - t


def run(configs: list[Config], methods: tuple[str, ...] = METHODS, echo: bool = True
        ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Solve every instance with every method; return (summary rows, per-instance rows)."""
    rows, per = [], []
    for cfg in configs:
        mats = [sample_instance(SEED, cfg.n, cfg.m, i) for i in range(cfg.seeds)]
        exact = [_exact(A) for A in mats]
        for method in methods:
            res = []
            for i, A in enumerate(mats):
                lo, up, dt = _solve(method, A, cfg)
                k = exact[i]
                if k is not None and not lo <= k <= up:
                    raise AssertionError(f"{method} n={cfg.n} i={i}: bounds [{lo}, {up}] miss k*={k}")
                res.append((lo, up, dt, k))
                per.append({"n": cfg.n, "alpha": cfg.alpha, "m": cfg.m, "index": i,
                            "method": method, "lower": lo, "upper": up, "kstar": k, "time_s": dt})
            known = [(up, k) for lo, up, dt, k in res if k is not None]
            row = {
                "n": cfg.n, "alpha": cfg.alpha, "m": cfg.m, "method": method,
                "instances": len(res),
                "success": sum(up < cfg.n or lo >= cfg.n for lo, up, _, _ in res) / len(res),
                "exact_ub": (sum(up == k for up, k in known) / len(known)) if known else "",
                "gap_exact": statistics.median(up - k for up, k in known) if known else "",
                "gap": statistics.median(up - lo for lo, up, _, _ in res),
                "lower": statistics.median(lo for lo, _, _, _ in res),
                "upper": statistics.median(up for _, up, _, _ in res),
                "median_s": statistics.median(dt for _, _, dt, _ in res),
            }
            rows.append(row)
            if echo:
                print(_line(row), flush=True)
    return rows, per


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _line(row: dict[str, Any]) -> str:
    return "| " + " | ".join(_fmt(row[k]) for k in _HEAD) + " |"


def _machine() -> str:
    return (f"{_dt.datetime.now():%Y-%m-%d %H:%M}, python {platform.python_version()}, "
            f"numpy {np.__version__}, {platform.machine()}")


def write(rows: list[dict[str, Any]], per: list[dict[str, Any]], out: str | Path,
          quick: bool) -> tuple[Path, Path, Path]:
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = "bench_bounds_quick" if quick else "bench_bounds"
    paths = (outdir / f"{stem}.csv", outdir / f"{stem}_instances.csv", outdir / f"{stem}.md")
    for path, data, keys in ((paths[0], rows, _HEAD), (paths[1], per, list(per[0]) if per else [])):
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(keys))
            w.writeheader()
            w.writerows(data)
    lines = [f"# `reluinj bench bounds{' --quick' if quick else ''}`", "", _machine(), "",
             __doc__.split("\n\n", 1)[1].strip(), "",
             "| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    lines += [_line(r) for r in rows]
    paths[2].write_text("\n".join(lines) + "\n")
    return paths


def main(quick: bool = False, out: str | None = None) -> int:
    """Run the benchmark, print the table, write CSV + Markdown into ``out`` (if given)."""
    print("| " + " | ".join(_HEAD) + " |")
    print("|" + "---|" * len(_HEAD))
    rows, per = run(QUICK if quick else FULL)
    if out:
        for p in write(rows, per, out, quick):
            print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    raise SystemExit(main(quick=a.quick, out=a.out))
