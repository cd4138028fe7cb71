"""Monte Carlo runner: solve every instance of a config not yet in the store, in parallel.

Work unit: an instance key ``(n, m, index)``; its matrix is
``sample_instance(config.seed, n, m, index)`` (SeedSequence with spawn_key (n, m, index)), so a row
depends only on the config and the key, never on the worker count, the batch or the order.

Tasks are batches of keys; a *backend* maps a batch function over batches and yields the row lists
as they finish (any order).  The default backend is joblib's ``loky`` (process pool, one BLAS
thread per worker); others (e.g. Dask) only need :class:`Backend`'s one method.  Rows are flushed
to the store as atomic Parquet part files every few seconds, so an interruption loses at most the
rows in flight; re-running the same config solves only what is missing.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reluinj.empirical.errors import ReluInjError

from .config import ConfigError, ExperimentConfig, load_config
from .provenance import now_iso, run_record
from .store import ResultStore, StoreError, atomic_write_bytes

#: a task: (n, m, index, alpha_nominal, time_limit)
Task = tuple[int, int, int, float, float | None]
Row = dict[str, Any]

FLUSH_SECONDS = 5.0
FLUSH_ROWS = 500


class InstanceFailure(RuntimeError):
    """A solver crashed (not a ReluInjError) on one instance; the message says which."""


class RunError(ReluInjError):
    """The run stopped because of an error (message says where and how to resume)."""


@dataclass(frozen=True)
class SolverParams:
    """What a worker needs besides the task keys."""

    seed: int
    method: str
    decision: bool
    run_id: str


def solve_instance(params: SolverParams, task: Task) -> Row:
    """Sample instance ``task`` and solve it; return its store row (see store.ROW_SCHEMA)."""
    from reluinj.empirical.sampling import sample_instance
    from reluinj.empirical.solve import solve

    n, m, index, alpha_nominal, time_limit = task
    row: Row = {
        "n": n, "m": m, "index": index, "alpha": m / n, "alpha_nominal": alpha_nominal,
        "seed": params.seed, "spawn_key": f"{n},{m},{index}", "method": params.method,
        "decision": params.decision, "time_limit": time_limit, "run_id": params.run_id,
    }
    A = sample_instance(params.seed, n, m, index)
    t0 = time.perf_counter()
    try:
        res = solve(A, params.method, decision=params.decision, time_limit=time_limit)
    except ReluInjError as exc:  # the solver refuses this input: recorded unresolved, never guessed
        row.update(status="error", error=f"{type(exc).__name__}: {exc}",
                   time_s=time.perf_counter() - t0, injective=None)
        return row
    except Exception as exc:
        tb = traceback.format_exc(limit=-3).strip().splitlines()
        where = tb[-3].strip() if len(tb) >= 3 else ""
        raise InstanceFailure(
            f"solver {params.method!r} crashed on instance n={n} m={m} index={index} "
            f"(A = reluinj.empirical.sampling.sample_instance({params.seed}, {n}, {m}, {index})): "
            f"{type(exc).__name__}: {exc} [{where}]"
        ) from None
    row.update(
        solver=res.method, kstar=res.kstar, lower_bound=res.lower_bound,
        upper_bound=res.upper_bound, injective=res.injective, status=res.status,
        time_s=float(res.time_s), nodes=int(res.nodes), lps=int(res.lps),
        witness=None if res.witness is None else [float(x) for x in res.witness],
    )
    info, timings = split_timings(res.info or {})
    row["info"] = json.dumps(info, sort_keys=True, default=str) if info else None
    row["timings"] = json.dumps(timings, sort_keys=True, default=str) if timings else None
    return row


def is_timing_key(key: str) -> bool:
    """Solver info entries that are wall times (``*_s``, ``*time*``): they vary run to run."""
    k = key.lower()
    return k.endswith("_s") or "time" in k


def split_timings(info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split SolveResult.info into (deterministic entries, timing entries)."""
    det = {k: v for k, v in info.items() if not is_timing_key(str(k))}
    tim = {k: v for k, v in info.items() if is_timing_key(str(k))}
    return det, tim


def solve_batch(params: SolverParams, batch: Sequence[Task]) -> list[Row]:
    """Solve a batch of tasks in order (the unit of work sent to a backend)."""
    return [solve_instance(params, t) for t in batch]


# ---- backends ----------------------------------------------------------------------------------


class Backend(Protocol):
    """Maps ``fn(params, batch)`` over batches, yielding results in completion order."""

    name: str

    def map_unordered(
        self, fn: Callable[[SolverParams, Sequence[Task]], list[Row]], params: SolverParams,
        batches: Iterable[Sequence[Task]],
    ) -> Iterator[list[Row]]: ...


class LokyBackend:
    """joblib with the loky process pool; ``jobs == 1`` runs in this process."""

    name = "loky"

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs

    def map_unordered(
        self, fn: Callable[[SolverParams, Sequence[Task]], list[Row]], params: SolverParams,
        batches: Iterable[Sequence[Task]],
    ) -> Iterator[list[Row]]:
        from joblib import Parallel, delayed, parallel_config

        # one BLAS/OpenMP thread per worker: instances are tiny and the cores go to the workers
        with parallel_config(backend="loky", inner_max_num_threads=1):
            par = Parallel(n_jobs=self.jobs, return_as="generator_unordered", batch_size=1,
                           pre_dispatch="2*n_jobs")
            yield from par(delayed(fn)(params, b) for b in batches)


BACKENDS: dict[str, Callable[[int], Backend]] = {"loky": LokyBackend}


def make_backend(name: str, jobs: int) -> Backend:
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
    return BACKENDS[name](jobs)


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What a call of :func:`run_experiment` did."""

    out: Path
    total: int                 # instances in the config
    already_done: int          # found in the store at start
    computed: int = 0          # solved and stored by this call
    unresolved: int = 0        # of those: injective undecided (time limit, error)
    interrupted: bool = False
    elapsed_s: float = 0.0
    run_id: str | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.total - self.already_done - self.computed


def order_tasks(tasks: list[Task]) -> list[Task]:
    """Round-robin over points (sorted by index, then n, m): early rows cover every point."""
    return sorted(tasks, key=lambda t: (t[2], t[0], t[1]))


def auto_batch_size(n_tasks: int, jobs: int) -> int:
    """About 20 batches per worker, at most 16 instances each (small loss on interruption)."""
    return max(1, min(16, math.ceil(n_tasks / (20 * max(jobs, 1)))))


def _check_config_matches(store: ResultStore, config: ExperimentConfig) -> None:
    """Refuse to mix rows computed under another seed / method / mode / time limit."""
    if not store.config_path.is_file():
        return
    try:
        with warnings.catch_warnings():  # already said when this config was first run
            warnings.simplefilter("ignore")
            old = load_config(store.config_path)
    except ConfigError as exc:
        raise StoreError(f"{store.config_path} is not a valid config ({exc}); use another --out") \
            from None
    a, b = old.identity(), config.identity()
    for n in sorted(set(old.n) & set(config.n)):  # per-n time limits of the shared dimensions
        a[f"time_limit at n={n}"] = old.time_limit_for(n)
        b[f"time_limit at n={n}"] = config.time_limit_for(n)
    diff = [k for k in a if a[k] != b[k]]
    if diff:
        k = diff[0]
        raise StoreError(
            f"{store.root} holds results computed with {k}={a[k]!r}, this config has "
            f"{k}={b[k]!r}; only points or instances may be added to a results directory: "
            "use another --out"
        )


def run_experiment(
    config: ExperimentConfig,
    out: str | Path,
    *,
    jobs: int = 1,
    backend: str = "loky",
    max_instances: int | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    flush_seconds: float = FLUSH_SECONDS,
    log: Callable[[str], None] | None = None,
) -> RunSummary:
    """Solve every instance of ``config`` not yet stored in ``out``; return a summary.

    ``max_instances`` stops after that many new instances (a budget; re-run to continue).
    Completed rows are written as a part file every ``flush_seconds`` (or 500 rows).
    Interruption (Ctrl-C or SIGTERM) flushes the completed rows and returns with
    ``interrupted=True``.  A solver crash raises :class:`RunError` after flushing.
    """
    from tqdm import tqdm

    if log is None:
        def log(msg: str) -> None:
            print(msg, file=sys.stderr, flush=True)
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs: got {jobs!r}; allowed: an integer >= 1")
    if max_instances is not None and max_instances < 0:
        raise ConfigError(f"--max-instances: got {max_instances!r}; allowed: an integer >= 0")
    be = make_backend(backend, jobs)
    t_start = time.perf_counter()
    store = ResultStore(out)
    store.root.mkdir(parents=True, exist_ok=True)
    store.acquire_lock()
    try:
        store.init()
        _check_config_matches(store, config)
        points = config.points()
        all_tasks: list[Task] = [
            (p.n, p.m, i, p.alpha, p.time_limit) for p in points for i in range(p.instances)
        ]
        done = store.completed_keys()
        todo = order_tasks([t for t in all_tasks if (t[0], t[1], t[2]) not in done])
        summary = RunSummary(out=store.root, total=len(all_tasks),
                             already_done=len(all_tasks) - len(todo))
        if max_instances is not None:
            todo = todo[:max_instances]
        new_config_text = config.to_toml()
        if not store.config_path.is_file() or store.config_path.read_text() != new_config_text:
            atomic_write_bytes(store.config_path, new_config_text.encode())
        if not todo:
            msg = (f"nothing to do: all {summary.total} instances of {config.name!r} are already "
                   f"stored in {store.root}" if summary.remaining == 0 else
                   "nothing to do (--max-instances 0)")
            summary.messages.append(msg)
            log(msg)
            return summary

        run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        summary.run_id = run_id
        manifest = store.read_manifest()
        manifest.setdefault("format", "reluinj-results/1")
        manifest["name"] = config.name
        manifest["config_hash"] = config.config_hash()
        record = run_record(
            run_id=run_id, config_hash=config.config_hash(), backend=be.name, jobs=jobs,
            instances_todo=len(todo), instances_total=summary.total, rows_written=0,
            outcome="running", config=config.to_dict(),
        )
        manifest.setdefault("runs", []).append(record)
        store.write_manifest(manifest)

        params = SolverParams(seed=config.seed, method=config.method, decision=config.decision,
                              run_id=run_id)
        bs = batch_size or config.batch_size or auto_batch_size(len(todo), jobs)
        batches = [todo[i:i + bs] for i in range(0, len(todo), bs)]
        log(f"{config.name}: {len(todo)} instances to solve ({summary.already_done} of "
            f"{summary.total} already stored), {len(batches)} batches of <= {bs}, jobs={jobs}, "
            f"backend={be.name}, out={store.root}")

        buffer: list[Row] = []
        last_flush = time.monotonic()
        outcome = "failed"  # until the loop ends normally or is interrupted
        failure: BaseException | None = None

        def flush() -> None:
            nonlocal last_flush
            if buffer:
                store.append(buffer, run_id)
                summary.computed += len(buffer)
                summary.unresolved += sum(r.get("injective") is None for r in buffer)
                record["rows_written"] = summary.computed
                buffer.clear()
            last_flush = time.monotonic()

        old_term = None
        if threading.current_thread() is threading.main_thread():
            def _term(signum: int, frame: Any) -> None:
                raise KeyboardInterrupt
            old_term = signal.signal(signal.SIGTERM, _term)
        bar = tqdm(total=len(todo), unit="inst", desc=config.name, disable=not progress,
                   file=sys.stderr, dynamic_ncols=True, smoothing=0.05)
        try:
            for rows in be.map_unordered(solve_batch, params, batches):
                buffer.extend(rows)
                bar.update(len(rows))
                if len(buffer) >= FLUSH_ROWS or time.monotonic() - last_flush >= flush_seconds:
                    flush()
            outcome = "complete"
        except KeyboardInterrupt:
            outcome = "interrupted"
            summary.interrupted = True
        except InstanceFailure as exc:
            failure = exc
        finally:
            bar.close()
            try:
                flush()
            finally:
                if old_term is not None:
                    signal.signal(signal.SIGTERM, old_term)
                record["end"] = now_iso()
                record["outcome"] = outcome
                record["elapsed_s"] = round(time.perf_counter() - t_start, 3)
                store.write_manifest(manifest)
        summary.elapsed_s = time.perf_counter() - t_start
        if failure is not None:
            raise RunError(
                f"{failure} -- {summary.computed} rows of this run were stored; fix the solver "
                "and re-run the same command to resume"
            )
        if summary.interrupted:
            msg = (f"interrupted: {summary.already_done + summary.computed} of {summary.total} "
                   f"instances are stored in {store.root}; re-run the same command to resume")
        else:
            msg = (f"done: {summary.computed} instances solved in {summary.elapsed_s:.1f} s, "
                   f"{summary.already_done + summary.computed} of {summary.total} stored in "
                   f"{store.root}" + (f" ({summary.remaining} left: re-run to continue)"
                                      if summary.remaining else ""))
        if summary.unresolved:
            msg += (f"; {summary.unresolved} unresolved (time limit or solver error: injective "
                    "recorded as null)")
        summary.messages.append(msg)
        log(msg)
        return summary
    finally:
        store.release_lock()
