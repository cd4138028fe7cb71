"""Scaling benchmark: instances/s of the runner's backends with 1 and 2 workers.

``reluinj bench scaling [--quick] [--out DIR]`` solves a fixed workload (exact oracle at n = 9
and n = 10, α = 6, fixed seed: about 40 s of work for one worker) with loky and with a Dask
LocalCluster, at 1 and 2 workers, and writes ``scaling.{csv,md,json}`` to DIR (default
results/scaling).  Per configuration the workers are started and warmed up first (numba
kernels loaded from the on-disk cache in every worker; not timed), then the workload is timed
through the backend's ``map_unordered`` with the runner's batch sizing.  Repetitions alternate
1 and 2 workers so that load from other users hits both alike; the table gives medians, and the
ratio ``throughput(2 workers) / throughput(1 worker)`` per backend (target ≥ 1.8 on 2 idle
cores).  Every configuration must return the same rows (compared by digest, timing columns
excluded): a speed-up that changes results would be a bug.

``--dask-apis`` instead compares the two ways of driving Dask — ``Client.submit`` +
``as_completed`` (what :mod:`.dask_backend` uses) and joblib's Dask backend — on small tasks
(oracle at n = 6, ≈ 2 ms each) with batch sizes 1 and 16, writing ``dask_apis.{csv,md}``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .provenance import cpu_model, library_versions, now_iso, package_version, usable_cores
from .runner import BatchPlanner, LokyBackend, Row, SolverParams, Task, solve_batch
from .store import canonical_rows, rows_to_table, table_digest

SEED = 20261125
FULL = {"points": [(9, 6.0, 300), (10, 6.0, 160)], "reps": 3}
QUICK = {"points": [(8, 6.0, 120), (9, 6.0, 40)], "reps": 1}


def workload(points: Sequence[tuple[int, float, int]]) -> list[Task]:
    """Tasks of the fixed workload, round-robin over the points (as the runner orders them)."""
    tasks = [(n, round(a * n), i, a, None) for n, a, count in points for i in range(count)]
    return sorted(tasks, key=lambda t: (t[2], t[0], t[1]))


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _warm(params: SolverParams) -> int:
    """Load the oracle's compiled kernels in this process (one tiny instance)."""
    return len(solve_batch(params, [(6, 36, 0, 6.0, None)]))


def _timed(backend: Any, params: SolverParams, tasks: list[Task],
           fixed: int | None = None) -> tuple[float, list[Row]]:
    planner = BatchPlanner(tasks, backend.workers, fixed=fixed)
    rows: list[Row] = []
    t0 = time.perf_counter()
    for r in backend.map_unordered(solve_batch, params, planner):
        planner.observe(r)
        rows.extend(r)
    return time.perf_counter() - t0, rows


def _make(kind: str, workers: int) -> Any:
    if kind == "loky":
        return LokyBackend(workers)
    from .dask_backend import DaskBackend

    return DaskBackend(workers, local_cluster=workers)


def run_one(kind: str, workers: int, params: SolverParams, tasks: list[Task]) -> dict[str, Any]:
    """Start ``kind`` with ``workers`` workers, warm them up, time the workload."""
    t0 = time.perf_counter()
    be = _make(kind, workers)
    try:
        be.open()
        if kind == "dask":
            be.client.run(_warm, params)
        else:  # loky reuses its worker processes across calls: warm each of them
            warm = [[(6, 36, i, 6.0, None)] for i in range(4 * workers)]
            list(be.map_unordered(solve_batch, params, warm))
        startup = time.perf_counter() - t0
        solve_s, rows = _timed(be, params, tasks)
    finally:
        be.close()
    digest = table_digest(canonical_rows(rows_to_table(rows)))
    return {"backend": kind, "workers": workers, "instances": len(rows), "solve_s": solve_s,
            "inst_per_s": len(rows) / solve_s, "startup_s": startup, "digest": digest,
            "load_after": os.getloadavg()[0]}


def _markdown(rows: list[dict[str, Any]], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            cells.append("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _provenance() -> dict[str, Any]:
    return {"date": now_iso(), "package_version": package_version(), "cpu_model": cpu_model(),
            "usable_cores": usable_cores(), "load_before": os.getloadavg()[0],
            "libraries": {k: v for k, v in library_versions().items()
                          if k in ("numba", "numpy", "joblib", "dask", "distributed")}}


def scaling(quick: bool, out: Path, log: Callable[[str], None] = _log) -> int:
    spec = QUICK if quick else FULL
    tasks = workload(spec["points"])
    params = SolverParams(seed=SEED, method="oracle", decision=False, run_id="bench-scaling")
    prov = _provenance()
    log(f"bench scaling: {len(tasks)} instances (oracle, n/alpha/count {spec['points']}), "
        f"{spec['reps']} repetition(s), {prov['usable_cores']} usable cores, load "
        f"{prov['load_before']:.2f}")
    runs: list[dict[str, Any]] = []
    for rep in range(spec["reps"]):
        for kind in ("loky", "dask"):
            order = (1, 2) if rep % 2 == 0 else (2, 1)
            for w in order:
                r = run_one(kind, w, params, tasks)
                r["rep"] = rep
                runs.append(r)
                log(f"  rep {rep} {kind:5s} workers={w}: {r['inst_per_s']:7.2f} inst/s "
                    f"({r['solve_s']:.1f} s, startup {r['startup_s']:.1f} s, load "
                    f"{r['load_after']:.2f})")
    digests = {r["digest"] for r in runs}
    table = []
    for kind in ("loky", "dask"):
        base = None
        for w in (1, 2):
            sel = [r for r in runs if r["backend"] == kind and r["workers"] == w]
            med = statistics.median(r["inst_per_s"] for r in sel)
            base = med if w == 1 else base
            table.append({
                "backend": kind, "workers": w, "instances": len(tasks), "reps": len(sel),
                "inst_per_s": med, "solve_s": statistics.median(r["solve_s"] for r in sel),
                "startup_s": statistics.median(r["startup_s"] for r in sel),
                "ratio_vs_1": med / base,
            })
    out.mkdir(parents=True, exist_ok=True)
    cols = ["backend", "workers", "instances", "reps", "inst_per_s", "ratio_vs_1", "solve_s",
            "startup_s"]
    import pandas as pd

    pd.DataFrame(table)[cols].to_csv(out / "scaling.csv", index=False)
    same = len(digests) == 1
    md = [
        "# Scaling: instances/s with 1 vs 2 workers",
        "",
        f"Workload: exact oracle, (n, alpha, instances) = {spec['points']}, seed {SEED}; "
        f"medians of {spec['reps']} alternating repetition(s){' (--quick)' if quick else ''}.",
        f"Machine: {prov['cpu_model']}, {prov['usable_cores']} usable cores, load average "
        f"{prov['load_before']:.2f} at start (other users' jobs depress the ratio).",
        f"Rows identical in every configuration (digest without timing columns): "
        f"{'yes' if same else 'NO'}.",
        "",
        _markdown(table, cols),
        "",
        "Command: `reluinj bench scaling" + (" --quick" if quick else "") + "`",
    ]
    (out / "scaling.md").write_text("\n".join(md) + "\n")
    (out / "scaling.json").write_text(json.dumps(
        {"provenance": prov, "workload": spec, "runs": runs, "table": table,
         "rows_identical": same}, indent=2, default=str) + "\n")
    for r in table:
        log(f"{r['backend']:5s} workers={r['workers']}: {r['inst_per_s']:7.2f} inst/s, "
            f"ratio {r['ratio_vs_1']:.2f}")
    log(f"wrote {out / 'scaling.md'}, scaling.csv, scaling.json")
    if not same:
        log("ERROR: the configurations returned different rows")
        return 1
    return 0


# ---- Client.submit/as_completed vs joblib's Dask backend ---------------------------------------


def sleep_batch(params: SolverParams, batch: Sequence[Any]) -> list[Row]:
    """A task without CPU work: sleeps ``batch[0]`` seconds (measures pure per-task overhead)."""
    time.sleep(float(batch[0]))
    return [{"slept": float(batch[0])}]


def _joblib_dask(client: Any, fn: Callable[..., Any], params: SolverParams,
                 batches: list[list[Any]]) -> int:
    from joblib import Parallel, delayed, parallel_config

    with parallel_config(backend="dask", client=client):
        par = Parallel(n_jobs=-1, return_as="generator_unordered", batch_size=1)
        return sum(len(r) for r in par(delayed(fn)(params, b) for b in batches))


def compare_dask_apis(quick: bool, out: Path, log: Callable[[str], None] = _log) -> int:
    """Per-task overhead and throughput of Client.submit/as_completed (DaskBackend) vs joblib's
    Dask backend on one LocalCluster of 2 workers, same tasks, alternating repetitions."""
    from .dask_backend import DaskBackend

    count, n_sleep, reps = (300, 100, 1) if quick else (1000, 400, 3)
    tasks = workload([(6, 6.0, count)])
    params = SolverParams(seed=SEED, method="oracle", decision=False, run_id="bench-apis")
    workloads: list[tuple[str, Callable[..., Any], list[list[Any]], float | None]] = []
    for sl in (0.002, 0.030):
        workloads.append((f"sleep {sl * 1e3:.0f} ms", sleep_batch, [[sl]] * n_sleep,
                          sl * n_sleep / 2))
    for bs in (1, 16):
        workloads.append((f"oracle n=6, batch {bs}", solve_batch,
                          [tasks[i:i + bs] for i in range(0, len(tasks), bs)], None))
    prov = _provenance()
    be = DaskBackend(2, local_cluster=2)
    be.open()
    results: list[dict[str, Any]] = []
    try:
        be.client.run(_warm, params)
        for name, fn, batches, ideal in workloads:
            for rep in range(reps):
                for api in (("as_completed", "joblib") if rep % 2 == 0 else
                            ("joblib", "as_completed")):
                    t0 = time.perf_counter()
                    if api == "joblib":
                        k = _joblib_dask(be.client, fn, params, batches)
                    else:
                        k = sum(len(r) for r in be.map_unordered(fn, params, batches))
                    dt = time.perf_counter() - t0
                    r = {"workload": name, "api": api, "tasks": len(batches), "rep": rep,
                         "wall_s": dt}
                    if ideal is not None:  # overhead per task on each of the 2 workers
                        r["overhead_ms"] = (dt - ideal) / (len(batches) / 2) * 1e3
                    else:
                        r["inst_per_s"] = k / dt
                    results.append(r)
                    log(f"  {name:22s} rep {rep} {api:12s} {dt:7.2f} s")
    finally:
        be.close()
    table = []
    for name, _, batches, ideal in workloads:
        for api in ("as_completed", "joblib"):
            sel = [r for r in results if r["workload"] == name and r["api"] == api]
            row = {"workload": name, "api": api, "tasks": len(batches), "reps": len(sel),
                   "wall_s": statistics.median(r["wall_s"] for r in sel)}
            key = "overhead_ms" if ideal is not None else "inst_per_s"
            row[key] = statistics.median(r[key] for r in sel)
            table.append(row)
    out.mkdir(parents=True, exist_ok=True)
    cols = ["workload", "api", "tasks", "reps", "wall_s", "overhead_ms", "inst_per_s"]
    import pandas as pd

    pd.DataFrame(table).reindex(columns=cols).to_csv(out / "dask_apis.csv", index=False)
    (out / "dask_apis.md").write_text(
        "# Dask: Client.submit + as_completed vs joblib's Dask backend\n\n"
        f"LocalCluster of 2 single-threaded workers; medians of {reps} alternating repetitions; "
        f"{prov['cpu_model']}, load {prov['load_before']:.2f}.  overhead_ms = (wall - ideal) per "
        "task per worker for tasks that only sleep; inst_per_s for the oracle at n = 6, "
        f"alpha = 6 ({count} instances).\n\n" + _markdown(table, cols) + "\n")
    for r in table:
        v = (f"overhead {r['overhead_ms']:6.2f} ms/task" if "overhead_ms" in r else
             f"{r['inst_per_s']:8.1f} inst/s")
        log(f"{r['workload']:22s} {r['api']:12s} {v}")
    log(f"wrote {out / 'dask_apis.md'}")
    return 0


def main(quick: bool = False, out: str | Path | None = None, dask_apis: bool = False) -> int:
    """Entry point of ``reluinj bench scaling``; returns the exit status."""
    out = Path(out) if out is not None else Path("results/scaling")
    if dask_apis:
        return compare_dask_apis(quick, out)
    return scaling(quick, out)
