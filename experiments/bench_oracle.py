"""``reluinj bench oracle``: the exact oracle against the slow references, in one process.

Instances: seed ``s`` gives ``A = numpy.random.default_rng(s).standard_normal((m, n))`` with
``m = round(α n)``, seeds ``0..k-1``.  Every method solves the same instances in this process
(one core; the machine may be shared, so compare ratios, not absolute times).  For each
configuration the table has one row per method: instances, how many finished within the cap,
median / max wall time, median nodes, the ratio ``baseline median / oracle median`` (a lower
bound ``>`` when the baseline hit its cap), and whether all answers agree with the oracle.
The oracle rows also give its time profile (node tests, packing, LP, the rest).  Every instance
is also written, one line each (seed, time, nodes, status, answer), to ``*_instances.csv``; from
these the targets section gives a bootstrap interval over the seeds for the growth per unit n.

The full run covers the targets of issue 4 (10 seeds): decision α = 7 at n = 10..18, decision at
α = 6 (n = 16), exact k* at α = 7 (n = 10, 12) and α = 5 (n = 16); baselines: vertex-ray
enumeration (exact, n <= 6), the HiGHS LP branch-and-bound (n <= 10, capped).  data-depth is an
optional extra (used at n <= 8 only if ``depth`` is importable; it is not a dependency).
``--quick`` runs a small subset in well under a minute.
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reluinj.empirical.errors import ReluInjError
from reluinj.empirical.oracle import solve_oracle

from .provenance import cpu_model, git_commit

#: per-instance caps (seconds)
ORACLE_CAP = 900.0


@dataclass
class Config:
    n: int
    alpha: float
    mode: str  # "decision" | "exact"
    seeds: int
    baselines: dict[str, tuple[int, float]] = field(default_factory=dict)  # method -> (seeds, cap)

    @property
    def m(self) -> int:
        return int(round(self.alpha * self.n))


FULL: list[Config] = [
    Config(5, 7, "exact", 10, {"enum": (10, 120.0), "bnb-lp": (10, 120.0), "depth": (3, 300.0)}),
    Config(6, 7, "exact", 10, {"enum": (10, 120.0), "bnb-lp": (10, 120.0)}),
    Config(8, 7, "decision", 10, {"bnb-lp": (10, 120.0), "depth": (2, 300.0)}),
    Config(10, 7, "decision", 10, {"bnb-lp": (3, 300.0)}),
    Config(12, 7, "decision", 10),
    Config(13, 7, "decision", 10),
    Config(14, 7, "decision", 10),
    Config(15, 7, "decision", 10),
    Config(16, 7, "decision", 10),
    Config(17, 7, "decision", 10),
    Config(18, 7, "decision", 10),
    Config(16, 6, "decision", 10),
    Config(10, 7, "exact", 10),
    Config(12, 7, "exact", 10),
    Config(16, 5, "exact", 10),
]

QUICK: list[Config] = [
    Config(5, 7, "exact", 3, {"enum": (3, 30.0), "bnb-lp": (3, 30.0)}),
    Config(6, 7, "decision", 3, {"bnb-lp": (3, 30.0)}),
    Config(10, 7, "decision", 3),
    Config(12, 7, "decision", 3),
    Config(8, 7, "exact", 3),
]

#: ablation: (label, switches) run on ABLATION_CONFIGS; "prototype ingredients" is the issue's
#: prototype design (Wolfe node test, greedy disjoint packing inherited and extended, most-positive
#: branching) inside this kernel
ABLATION: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("prototype ingredients", {"packing": "greedy", "repack": None, "pool": None,
                               "force": False, "branch_dive": False, "primal": False}),
    ("repack off", {"repack": None}),
    ("repack full rebuild", {"repack": "after"}),
    ("gap-1 dives and repacks at gap 1-2 on (before 2026-11-26)",
     {"gap1_fast": False, "repack_min_gap": 1}),
    ("greedy packing (no dives)", {"packing": "greedy"}),
    ("dives as separate Wolfe runs", {"packing": "dive_slow"}),
    ("no packing bound", {"packing": None}),
    ("+ fractional LP bound", {"lp": True}),
    ("+ LP, full rebuild", {"lp": True, "repack": "after"}),
    ("path pool on (before 2026-11-26)", {"pool": "path"}),
    ("forced rows off", {"force": False}),
    ("inheritance off", {"inherit": False}),
    ("POS child re-solves", {"reuse_pos": False}),
    ("cold starts", {"warm": False}),
    ("branch on first free row", {"branch": "index"}),
    ("branch at the node centre, not the dive point (before session 7)", {"branch_dive": False}),
    ("release 0.2, dive_continue on (before session 7)", {"release": 0.2, "dive_continue": True}),
    ("primal heuristic off", {"primal": False}),
]
ABLATION_CONFIGS: list[Config] = [Config(12, 7, "decision", 10), Config(11, 7, "exact", 5)]
ABLATION_QUICK: list[Config] = [Config(9, 7, "decision", 3)]
ABLATION_CAP = 20.0

#: issue-4 targets: (n, alpha, mode) -> median seconds
TARGETS: dict[tuple[int, float, str], float] = {
    (14, 7, "decision"): 1.0,
    (16, 7, "decision"): 5.0,
    (18, 7, "decision"): 60.0,
    (16, 6, "decision"): 5.0,
    (12, 7, "exact"): 1.0,
    (16, 5, "exact"): 5.0,
}
GROWTH_TARGET = 2.5


@dataclass
class Run:
    time_s: float
    nodes: int
    status: str
    answer: Any  # kstar (exact) or injective (decision); None when unresolved
    info: dict[str, Any]
    cpu_s: float = float("nan")


def _matrix(cfg: Config, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((cfg.m, cfg.n))


def _run_oracle(A: np.ndarray, decision: bool, cap: float, **switches: Any) -> Run:
    t0, c0 = time.perf_counter(), time.process_time()
    r = solve_oracle(A, decision=decision, time_limit=cap, profile=True, **switches)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    ans = (r.injective if decision else r.kstar) if r.status in ("optimal", "decided") else None
    return Run(dt, r.nodes, r.status, ans, r.info, dc)


def solve_instance(cfg: Config, seed: int, cap: float = ORACLE_CAP, **switches: Any) -> Run:
    """The oracle on instance ``seed`` of ``cfg``, timed as the table times it (one call,
    ``profile=True``, wall and CPU time)."""
    return _run_oracle(_matrix(cfg, seed), cfg.mode == "decision", cap, **switches)


def instance_record(cfg: Config, method: str, seed: int, run: Run) -> dict[str, Any]:
    """One line of ``*_instances.csv`` (columns :data:`INSTANCE_COLUMNS`)."""
    return {"n": cfg.n, "alpha": cfg.alpha, "m": cfg.m, "mode": cfg.mode, "method": method,
            "seed": seed, "time_s": run.time_s, "cpu_s": run.cpu_s, "nodes": run.nodes,
            "status": run.status, "answer": "" if run.answer is None else run.answer}


def _run_baseline(method: str, A: np.ndarray, decision: bool, cap: float) -> Run:
    n = A.shape[1]
    t0, c0 = time.perf_counter(), time.process_time()
    if method == "depth":
        from depth.model.multivariate import halfspace  # optional extra, not a dependency

        d = halfspace(np.zeros((1, n)), A, exact=True, method="plane")
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        k = int(round(float(np.ravel(d)[0]) * A.shape[0]))
        return Run(dt, 0, "optimal", (k >= n) if decision else k, {}, dc)
    from reluinj.empirical.solve import solve

    r = solve(A, method, decision=decision, time_limit=cap)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    ok = r.status in ("optimal", "decided")
    ans = (r.injective if decision else r.kstar) if ok else None
    return Run(dt, r.nodes, r.status, ans, r.info, dc)


def _depth_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("depth") is not None


def _fmt_ratio(base: list[Run], oracle_median: float, cap: float) -> str:
    times = [r.time_s if r.answer is not None else cap for r in base]
    med = statistics.median(times)
    unfinished = any(r.answer is None for r in base)
    ratio = med / oracle_median if oracle_median > 0 else float("inf")
    return (">" if unfinished else "") + f"{ratio:.3g}"


def _profile(runs: list[Run]) -> str:
    tot = sum(r.info.get("kernel_s", 0.0) for r in runs)
    if tot <= 0:
        return ""
    nt = sum(r.info.get("node_test_s", 0.0) for r in runs) / tot
    pk = sum(r.info.get("pack_s", 0.0) for r in runs) / tot
    lp = sum(r.info.get("lp_s", 0.0) for r in runs) / tot
    rp = sum(r.info.get("repack_s", 0.0) for r in runs) / tot
    return (f"node tests {100 * nt:.0f}%; packing {100 * pk:.0f}% (repack {100 * rp:.0f}%); "
            f"LP {100 * lp:.0f}%; other {100 * max(0.0, 1 - nt - pk - lp):.0f}%")


def run(configs: list[Config], *, echo: bool = True) -> list[dict[str, Any]]:
    """Run the configurations; returns the table rows (dicts)."""
    solve_oracle(_matrix(Config(4, 5, "exact", 1), 0))  # compile / load the numba kernels
    rows: list[dict[str, Any]] = []
    for cfg in configs:
        decision = cfg.mode == "decision"
        oracle = [solve_instance(cfg, s) for s in range(cfg.seeds)]
        solved = [r for r in oracle if r.answer is not None]
        omed = statistics.median(r.time_s for r in oracle)
        row = _row(cfg, "oracle", oracle, "1", "", _profile(oracle))
        row["unresolved"] = len(oracle) - len(solved)
        rows.append(row)
        if echo:
            print(_line(row), flush=True)
        for method, (k, cap) in cfg.baselines.items():
            if method == "depth" and not _depth_available():
                continue
            base = []
            for s in range(min(k, cfg.seeds)):
                try:
                    base.append(_run_baseline(method, _matrix(cfg, s), decision, cap))
                except ReluInjError as exc:  # e.g. enumeration subset limit
                    base.append(Run(cap, 0, f"error: {exc}", None, {}))
            agree = all(b.answer is None or b.answer == oracle[i].answer
                        for i, b in enumerate(base))
            omed_k = statistics.median(r.time_s for r in oracle[: len(base)])
            brow = _row(cfg, method, base, _fmt_ratio(base, omed_k, cap),
                        "yes" if agree else "NO", "")
            rows.append(brow)
            if echo:
                print(_line(brow), flush=True)
        del omed
    return rows


def run_ablation(configs: list[Config], variants: list[tuple[str, dict[str, Any]]],
                 *, echo: bool = True) -> list[dict[str, Any]]:
    """Each variant on each configuration: nodes, Wolfe iterations, time; ratio to default."""
    out: list[dict[str, Any]] = []
    for cfg in configs:
        decision = cfg.mode == "decision"
        base_cpu = None
        for label, sw in variants:
            runs = [_run_oracle(_matrix(cfg, s), decision, ABLATION_CAP, **sw)
                    for s in range(cfg.seeds)]
            cpu = statistics.median(r.cpu_s for r in runs)
            if base_cpu is None:
                base_cpu = cpu
            row = {
                "variant": label, "n": cfg.n, "alpha": cfg.alpha, "mode": cfg.mode,
                "instances": len(runs), "solved": sum(r.answer is not None for r in runs),
                "median_s": statistics.median(r.time_s for r in runs), "median_cpu_s": cpu,
                "median_nodes": int(statistics.median(r.nodes for r in runs)),
                "median_wolfe_iters": int(statistics.median(
                    r.info.get("pack_iters", 0) + r.info.get("node_test_iters", 0)
                    for r in runs)),
                "cpu_vs_default": cpu / base_cpu if base_cpu else float("nan"),
            }
            out.append(row)
            if echo:
                print(f"{cfg.mode:>8} n={cfg.n} a={cfg.alpha:g} {label:30s} solved "
                      f"{row['solved']}/{row['instances']} cpu {cpu:8.3f} s  nodes "
                      f"{row['median_nodes']:>8}  iters {row['median_wolfe_iters']:>9}  "
                      f"x{row['cpu_vs_default']:.2f}", flush=True)
    return out


def _row(cfg: Config, method: str, runs: list[Run], ratio: str, agree: str,
         profile: str) -> dict[str, Any]:
    done = [r for r in runs if r.answer is not None]
    times = [r.time_s for r in runs]
    # one record per instance (seed s is runs[s]): written to *_instances.csv and used by the
    # bootstrap interval of the growth figure
    per = [instance_record(cfg, method, s, r) for s, r in enumerate(runs)]
    return {
        "n": cfg.n, "alpha": cfg.alpha, "m": cfg.m, "mode": cfg.mode, "method": method,
        "instances": len(runs), "solved": len(done),
        "median_s": statistics.median(times) if times else float("nan"),
        "max_s": max(times) if times else float("nan"),
        "median_cpu_s": statistics.median(r.cpu_s for r in runs) if runs else float("nan"),
        "median_nodes": int(statistics.median(r.nodes for r in runs)) if runs else 0,
        "speedup_vs_baseline": ratio, "answers_agree": agree, "profile": profile,
        "runs": per,
    }


_HEAD = ("n", "alpha", "m", "mode", "method", "instances", "solved", "median_s", "max_s",
         "median_cpu_s", "median_nodes", "speedup_vs_baseline", "answers_agree")
#: columns of ``*_instances.csv`` (one line per instance and method)
INSTANCE_COLUMNS = ["n", "alpha", "m", "mode", "method", "seed", "time_s", "cpu_s", "nodes",
                    "status", "answer"]


def _line(row: dict[str, Any]) -> str:
    return (f"{row['n']:>3} {row['alpha']:>4g} {row['m']:>4} {row['mode']:>8} {row['method']:>7} "
            f"{row['instances']:>4} {row['solved']:>4} {row['median_s']:>9.3f} {row['max_s']:>9.3f} "
            f"{row['median_cpu_s']:>9.3f} "
            f"{row['median_nodes']:>10} {row['speedup_vs_baseline']:>8} "
            f"{row['answers_agree']:>5}  {row['profile']}")


def _growth_rows(rows: list[dict[str, Any]], alpha: float, lo: int) -> list[dict[str, Any]]:
    """The rows the growth is fitted on: oracle, decision mode, ``alpha``, ``n >= lo``."""
    return [r for r in rows if r["method"] == "oracle" and r["mode"] == "decision"
            and r["alpha"] == alpha and r["n"] >= lo]


def growth_per_n(rows: list[dict[str, Any]], alpha: float = 7, lo: int = 12,
                 key: str = "median_s") -> float | None:
    """exp(slope) of log(median time) against n for oracle decision rows at alpha, n >= lo."""
    pts = [(r["n"], r[key]) for r in _growth_rows(rows, alpha, lo) if r[key] > 0]
    if len(pts) < 2:
        return None
    x = np.array([p[0] for p in pts], float)
    y = np.log([p[1] for p in pts])
    return float(np.exp(np.polyfit(x, y, 1)[0]))


def growth_interval(rows: list[dict[str, Any]], alpha: float = 7, lo: int = 12,
                    key: str = "time_s", level: float = 0.95, resamples: int = 2000,
                    seed: int = 0) -> tuple[float, float] | None:
    """Bootstrap interval of :func:`growth_per_n` over the seeds.

    Each resample draws, for every size n independently, as many instances as were run, with
    replacement, from that size's per-instance values ``key`` (``time_s``, ``cpu_s`` or
    ``nodes``; the rows' ``runs``); takes the median per n and refits ``exp(slope)`` of the log
    medians against n.  Returns the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of
    the refitted growths (percentile bootstrap, ``resamples`` draws from
    ``numpy.random.default_rng(seed)``), or None without per-instance data for two sizes.  It
    measures how much the figure depends on which seeds were drawn, not the machine's noise."""
    per = {r["n"]: np.array([x[key] for x in r["runs"]], float)
           for r in _growth_rows(rows, alpha, lo) if r.get("runs")}
    per = {n: v for n, v in per.items() if np.all(v > 0)}
    if len(per) < 2:
        return None
    ns = np.array(sorted(per), float)
    rng = np.random.default_rng(seed)
    meds = np.empty((resamples, len(ns)))
    for j, n in enumerate(sorted(per)):
        v = per[n]
        meds[:, j] = np.median(v[rng.integers(0, len(v), size=(resamples, len(v)))], axis=1)
    slopes = np.polyfit(ns, np.log(meds).T, 1)[0]
    q = np.quantile(np.exp(slopes), [(1 - level) / 2, (1 + level) / 2])
    return float(q[0]), float(q[1])


def targets_report(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for (n, a, mode), lim in TARGETS.items():
        r = next((r for r in rows if r["method"] == "oracle" and r["n"] == n
                  and r["alpha"] == a and r["mode"] == mode), None)
        if r is None:
            continue
        ok = r["median_s"] <= lim and r["solved"] == r["instances"]
        okc = r["median_cpu_s"] <= lim and r["solved"] == r["instances"]
        out.append(f"{mode} n={n} alpha={a:g}: median {r['median_s']:.3f} s wall "
                   f"({r['median_cpu_s']:.3f} s CPU), max {r['max_s']:.3f} s; target <= {lim:g} s:"
                   f" wall {'MET' if ok else 'NOT MET'}, CPU {'MET' if okc else 'NOT MET'}")
    growth = {key: growth_per_n(rows, key=key)
              for key in ("median_s", "median_cpu_s", "median_nodes")}
    for key in ("median_s", "median_cpu_s"):
        g = growth[key]
        if g is not None:
            out.append(f"growth per unit n of the alpha=7 decision {key} (n >= 12): x{g:.2f}, "
                       f"target <= x{GROWTH_TARGET}: {'MET' if g <= GROWTH_TARGET else 'NOT MET'}")
    gn, gt = growth["median_nodes"], growth["median_s"]
    if gn is not None and gt is not None:
        # time = nodes x cost per node, so the two factors of the time's growth (information, not
        # a target; benchmarks/oracle_growth_profile.py splits the cost per node further)
        out.append(f"of which: median nodes x{gn:.2f} per unit n, cost per node x{gt / gn:.2f}")
    ci = {key: growth_interval(rows, key=key) for key in ("time_s", "nodes")}
    if ci["time_s"] is not None and ci["nodes"] is not None:
        (a, b), (c, d) = ci["time_s"], ci["nodes"]
        out.append(f"95 % bootstrap interval over the seeds (instances resampled per n): "
                   f"time x{a:.2f}-x{b:.2f}, nodes x{c:.2f}-x{d:.2f} per unit n")
    return out


def machine() -> dict[str, str]:
    import numba

    commit = git_commit()["commit"]
    return {
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model() or "", "cores": str(os.cpu_count()),
        "python": platform.python_version(), "numpy": np.__version__,
        "numba": numba.__version__, "git": commit[:7] if commit else "",
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    }


def write(rows: list[dict[str, Any]], out: str | Path, quick: bool,
          ablation: list[dict[str, Any]] | None = None) -> tuple[Path, Path]:
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = "bench_oracle_quick" if quick else "bench_oracle"
    csv_path = outdir / f"{stem}.csv"
    md_path = outdir / f"{stem}.md"
    keys = list(_HEAD) + ["profile"]
    with csv_path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    with (outdir / f"{stem}_instances.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=INSTANCE_COLUMNS)
        w.writeheader()
        for r in rows:
            for x in r.get("runs", []):
                w.writerow(x)
    mach = machine()
    lines = [f"# `reluinj bench oracle{' --quick' if quick else ''}`", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in mach.items()), "",
             "One process, one core; seeds s = 0..k-1, A = default_rng(s).standard_normal((m, n))"
             ", m = round(alpha n).  speedup = baseline median / oracle median on the same "
             "instances ('>' : the baseline hit its cap).  The oracle runs on one thread; "
             "the CPU column also counts BLAS helper threads (the primal heuristic's numpy "
             "calls, enumeration) unless OPENBLAS_NUM_THREADS=1, so the wall column is the "
             "one-core figure.", "",
             "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        vals = [f"{r[k]:.3f}" if isinstance(r[k], float) and k.endswith("_s") else str(r[k])
                for k in keys]
        lines.append("| " + " | ".join(vals) + " |")
    lines += ["", "## Targets (issue 4)", ""] + [f"- {t}" for t in targets_report(rows)]
    if ablation:
        akeys = ["variant", "n", "alpha", "mode", "instances", "solved", "median_s",
                 "median_cpu_s", "median_nodes", "median_wolfe_iters", "cpu_vs_default"]
        lines += ["", "## Ablation (one switch changed at a time; cap "
                  f"{ABLATION_CAP:g} s per instance)", "",
                  "| " + " | ".join(akeys) + " |", "|" + "---|" * len(akeys)]
        for r in ablation:
            lines.append("| " + " | ".join(
                f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in akeys) + " |")
        with (outdir / f"{stem}_ablation.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=akeys)
            w.writeheader()
            for r in ablation:
                w.writerow(r)
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def main(quick: bool = False, out: str | None = None) -> int:
    """Run the benchmark, print the table (and targets), write CSV + Markdown into ``out``."""
    configs = QUICK if quick else FULL
    print("  n    a    m     mode  method inst solv  median_s     max_s   cpu_med "
          "      nodes  speedup agree  profile")
    rows = run(configs)
    for t in targets_report(rows):
        print(t)
    print("ablation:")
    abl = run_ablation(ABLATION_QUICK if quick else ABLATION_CONFIGS,
                       ABLATION[:4] if quick else ABLATION)
    if out:
        c, m = write(rows, out, quick, abl)
        print(f"wrote {c} and {m}")
    return 0


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    raise SystemExit(main(quick=a.quick, out=a.out))
