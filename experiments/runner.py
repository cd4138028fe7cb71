"""Monte Carlo runner: solve every instance of a config not yet in the store, in parallel.

Work unit: an instance key ``(n, m, index)``; its matrix is
``sample_instance(config.seed, n, m, index)`` (SeedSequence with spawn_key (n, m, index)), so a row
depends only on the config and the key, never on the backend, the worker count, the batch or
the order.  Workers receive keys and the seed, never matrices.

Tasks are batches of keys (:class:`BatchPlanner`: sized from the measured solve times so a
batch takes about a second: the per-task overhead of the pool or scheduler stays small).  A
*backend* maps the batch function over batches and yields row lists as they finish (any order):
joblib ``loky`` (default, local processes) or Dask (:mod:`.dask_backend`, any dask.distributed
cluster).  Completed rows stream into the store as atomic Parquet part files (:class:`RowWriter`),
so an interruption loses at most the rows in flight and not yet flushed; re-running the same
config solves only what is missing.  A worker that dies loses only its batch in flight: Dask's
scheduler reruns it elsewhere, and if a backend reports lost workers (:class:`WorkerLost`) the
runner resubmits every instance it has not received.
"""

from __future__ import annotations

import json
import math
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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

FLUSH_SECONDS = 5.0         # rows wait at most this long (early in a run) before a part file ...
FLUSH_MAX_SECONDS = 60.0    # ... and at most 1 % of the elapsed time, capped here, later on
FLUSH_ROWS = 500            # or a part file as soon as this many rows wait
TARGET_BATCH_SECONDS = 1.0  # wall time of one batch (per-task overhead: ~1 ms loky, ~5 ms Dask)
MAX_AUTO_BATCH = 1000       # instances per batch at most (automatic sizing)
MAX_RESTARTS = 3            # resubmissions after lost workers without any new row in between
MAX_JOBS = 1024

_HOST = socket.gethostname()


class InstanceFailure(RuntimeError):
    """A solver crashed (not a ReluInjError) on one instance; the message says which."""


class RunError(ReluInjError):
    """The run stopped because of an error (message says where and how to resume)."""


class WorkerLost(RuntimeError):
    """Worker processes died and took batches with them (a backend raises it; the runner
    resubmits the instances it has not received)."""


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
        "host": _HOST,
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
    lower_by, upper_by = bound_sources(res.method, res.info or {})
    row.update(lower_by=lower_by, upper_by=upper_by)
    info, timings = split_timings(res.info or {})
    row["info"] = json.dumps(info, sort_keys=True, default=str) if info else None
    row["timings"] = json.dumps(timings, sort_keys=True, default=str) if timings else None
    return row


def is_timing_key(key: str) -> bool:
    """Solver info entries that are wall times (``*_s``, ``*seconds``, ``*time*``): they vary
    run to run."""
    k = key.lower()
    return k.endswith(("_s", "seconds")) or "time" in k


def bound_sources(method: str, info: Mapping[str, Any]) -> tuple[str, str]:
    """``(lower_by, upper_by)``: the methods behind the proven bounds of a result.

    Bounding methods name them in ``info["bound_methods"]`` (``auto``: e.g. ``"oracle"`` where the
    oracle proved k*, ``"root-lb"`` / ``"local"`` beyond); an exact solver proves both itself."""
    bm = info.get("bound_methods")
    if isinstance(bm, Mapping):
        return str(bm.get("lower", method)), str(bm.get("upper", method))
    return method, method


def _split(value: Any) -> tuple[Any, Any]:
    """(value without timing entries, timing entries only or None), through dicts and lists."""
    if isinstance(value, Mapping):
        det = {}
        tim = {}
        for k, v in value.items():
            if is_timing_key(str(k)):
                tim[k] = v
            else:
                d, t = _split(v)
                det[k] = d
                if t is not None:
                    tim[k] = t
        return det, (tim or None)
    if isinstance(value, list | tuple):
        pairs = [_split(v) for v in value]
        tims = [t for _, t in pairs]
        return [d for d, _ in pairs], (tims if any(t is not None for t in tims) else None)
    return value, None


def split_timings(info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split SolveResult.info into (deterministic entries, timing entries).

    Timing keys (:func:`is_timing_key`) are moved out at every depth, so nested records such as
    ``auto_plan = [{"step": "oracle", "time_s": 0.2}]`` keep their deterministic part in ``info``
    and their times in ``timings`` (same nesting, ``null`` where an element had none)."""
    det, tim = _split(info)
    return det, (tim or {})


def solve_batch(params: SolverParams, batch: Sequence[Task]) -> list[Row]:
    """Solve a batch of tasks in order (the unit of work sent to a backend)."""
    return [solve_instance(params, t) for t in batch]


# ---- batching ----------------------------------------------------------------------------------


def task_key(t: Task | Mapping[str, Any]) -> tuple[int, int, int]:
    """``(n, m, index)`` of a task tuple or a row dict."""
    if isinstance(t, Mapping):
        return (int(t["n"]), int(t["m"]), int(t["index"]))
    return (t[0], t[1], t[2])


class BatchPlanner:
    """Cuts the task list into batches, lazily, as a backend asks for them.

    A batch takes consecutive tasks while their estimated solve times add up to at most
    ``target_s`` (at least one task).  The estimate of a task is the mean solve time of the rows
    received so far *for its point* ``(n, m)``; for a point not seen yet, the largest per-point
    mean seen (pessimistic: an unknown point may be the expensive one), or the mean of all rows
    if none carries its point, or ``target_s`` before any row arrives (a batch of one).  Sizing
    per point keeps a round-robin study over cheap and expensive points from holding rows of
    the cheap ones back behind a long batch.  Batches are further capped by ``max_size`` and by
    ``remaining / (2 workers)`` so that the last batches still spread over every worker.  A fixed
    ``batch_size`` (config or ``--batch-size``) overrides the rule.  Thread-safe: joblib asks for
    the next batch from its callback thread.
    """

    OVERHEAD_S = 2e-4  # per instance besides the solver: sampling, the row, pickling

    def __init__(self, tasks: Sequence[Task], workers: Callable[[], int], *,
                 fixed: int | None = None, target_s: float = TARGET_BATCH_SECONDS,
                 max_size: int = MAX_AUTO_BATCH) -> None:
        self.tasks = tasks
        self.workers = workers
        self.fixed = fixed
        self.target_s = target_s
        self.max_size = max_size
        self._pos = 0
        self._sum_t = 0.0
        self._count = 0
        self._pt: dict[tuple[int, int], list[float]] = {}  # (n, m) -> [sum of times, count]
        self._pt_max = 0.0
        self._lock = threading.Lock()
        self.sizes: list[int] = []

    def observe(self, rows: Iterable[Row]) -> None:
        """Feed the solve times of received rows into the estimates."""
        with self._lock:
            for r in rows:
                t = r.get("time_s")
                if t is None or not math.isfinite(t):
                    continue
                t = float(t) + self.OVERHEAD_S
                self._sum_t += t
                self._count += 1
                if "n" in r and "m" in r:
                    acc = self._pt.setdefault((int(r["n"]), int(r["m"])), [0.0, 0])
                    acc[0] += t
                    acc[1] += 1
                    self._pt_max = max(self._pt_max, acc[0] / acc[1])

    def per_instance_s(self) -> float | None:
        """Mean solve time per instance over all rows received (None before the first)."""
        return self._sum_t / self._count if self._count else None

    def estimate_s(self, task: Task) -> float:
        """Estimated solve time of ``task`` (see the class docstring)."""
        acc = self._pt.get((task[0], task[1]))
        if acc is not None:
            return acc[0] / acc[1]
        if self._pt:
            return self._pt_max
        est = self.per_instance_s()
        return self.target_s if est is None else est

    def next_size(self) -> int:
        if self.fixed:
            return self.fixed
        remaining = len(self.tasks) - self._pos
        cap = min(self.max_size, math.ceil(remaining / (2 * max(1, self.workers()))))
        size, total = 0, 0.0
        while size < cap:
            total += max(self.estimate_s(self.tasks[self._pos + size]), 1e-9)
            if size > 0 and total > self.target_s * (1 + 1e-9):
                break
            size += 1
        return max(1, size)

    def __iter__(self) -> Iterator[list[Task]]:
        while True:
            with self._lock:
                if self._pos >= len(self.tasks):
                    return
                size = self.next_size()
                batch = list(self.tasks[self._pos:self._pos + size])
                self._pos += size
                self.sizes.append(size)
            yield batch


# ---- backends ----------------------------------------------------------------------------------


class Backend(Protocol):
    """Runs ``fn(params, batch)`` over batches on some workers, yielding results as they finish.

    ``open`` starts or connects to the workers and returns a provenance record (JSON-ready);
    ``workers`` is the current number of worker slots; ``map_unordered`` pulls batches lazily
    from ``batches`` and raises :class:`WorkerLost` if workers died with batches that will not
    come back; ``close`` releases everything ``open`` started.
    """

    name: str

    def open(self) -> dict[str, Any]: ...

    def workers(self) -> int: ...

    def map_unordered(
        self, fn: Callable[[SolverParams, Sequence[Task]], list[Row]], params: SolverParams,
        batches: Iterable[Sequence[Task]],
    ) -> Iterator[list[Row]]: ...

    def close(self) -> None: ...


class LokyBackend:
    """joblib with the loky process pool; ``jobs == 1`` runs in this process."""

    name = "loky"

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs

    def open(self) -> dict[str, Any]:
        return {"backend": self.name, "jobs": self.jobs}

    def workers(self) -> int:
        return self.jobs

    def map_unordered(
        self, fn: Callable[[SolverParams, Sequence[Task]], list[Row]], params: SolverParams,
        batches: Iterable[Sequence[Task]],
    ) -> Iterator[list[Row]]:
        from joblib import Parallel, delayed, parallel_config
        from joblib.externals.loky.process_executor import BrokenProcessPool

        # one BLAS/OpenMP thread per worker: instances are tiny and the cores go to the workers
        # (HiGHS is run with threads=1 by reluinj.empirical.lp / relax; the oracle is serial)
        with parallel_config(backend="loky", inner_max_num_threads=1):
            par = Parallel(n_jobs=self.jobs, return_as="generator_unordered", batch_size=1,
                           pre_dispatch="2*n_jobs")
            try:
                yield from par(delayed(fn)(params, b) for b in batches)
            except BrokenProcessPool as exc:  # a worker was killed (OOM killer, signal, crash)
                raise WorkerLost(f"a loky worker process died ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''})") from None

    def close(self) -> None:
        pass


def _dask_backend(jobs: int, **options: Any) -> Backend:
    from .dask_backend import DaskBackend

    return DaskBackend(jobs, **options)


BACKENDS: dict[str, Callable[..., Backend]] = {"loky": LokyBackend, "dask": _dask_backend}


def make_backend(name: str, jobs: int, **options: Any) -> Backend:
    """Backend ``name`` with ``jobs`` workers; ``options`` (Dask: scheduler, local_cluster)."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
    options = {k: v for k, v in options.items() if v is not None}
    if name == "loky":
        if options:
            flags = ", ".join("--" + k.replace("_", "-") for k in options)
            raise ConfigError(f"{flags}: only with --backend dask")
        return LokyBackend(jobs)
    return BACKENDS[name](jobs, **options)


# ---- writing rows ------------------------------------------------------------------------------


def flush_interval(flush_seconds: float, elapsed_s: float) -> float:
    """Longest wait of a completed row before it is written: ``flush_seconds`` early in a run,
    then 1 % of the elapsed time, at most ``max(flush_seconds, 60 s)`` (a day-long run writes
    about 1500 part files, and a kill loses at most a minute of results)."""
    return min(max(flush_seconds, 0.01 * elapsed_s), max(flush_seconds, FLUSH_MAX_SECONDS))


class RowWriter:
    """Buffers completed rows and writes them as part files from a background thread, as soon as
    the oldest waiting row is :func:`flush_interval` old (or ``FLUSH_ROWS`` rows wait), so rows
    never wait for the next result to arrive.  ``on_write(rows)`` is called after each file."""

    def __init__(self, store: ResultStore, run_id: str, flush_seconds: float,
                 on_write: Callable[[list[Row]], None]) -> None:
        self.store = store
        self.run_id = run_id
        self.flush_seconds = flush_seconds
        self.on_write = on_write
        self._rows: list[Row] = []
        self._oldest = 0.0
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="reluinj-writer", daemon=True)
        self._thread.start()

    def add(self, rows: list[Row]) -> None:
        if self._error is not None:
            raise self._error
        if not rows:
            return
        with self._lock:
            if not self._rows:
                self._oldest = time.monotonic()
            self._rows.extend(rows)
            if len(self._rows) >= FLUSH_ROWS:
                self._write()

    def flush(self) -> None:
        with self._lock:
            self._write()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        self._thread.join()
        self.flush()

    def _write(self) -> None:
        if self._rows:
            rows, self._rows = self._rows, []
            self.store.append(rows, self.run_id)
            self.on_write(rows)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                if not self._rows:
                    continue
                now = time.monotonic()
                if now - self._oldest >= flush_interval(self.flush_seconds, now - self._t0):
                    try:
                        self._write()
                    except BaseException as exc:  # disk full, ...: reported by add() / flush()
                        self._error = exc
                        return


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
    restarts: int = 0          # resubmissions after lost workers
    messages: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.total - self.already_done - self.computed


def order_tasks(tasks: list[Task]) -> list[Task]:
    """Round-robin over points (sorted by index, then n, m): early rows cover every point."""
    return sorted(tasks, key=lambda t: (t[2], t[0], t[1]))


def auto_batch_size(n_tasks: int, jobs: int) -> int:
    """A static batch size: about 20 batches per worker, at most 16 instances each (used by
    benchmarks that want fixed batches; runs size their batches with :class:`BatchPlanner`)."""
    return max(1, min(16, math.ceil(n_tasks / (20 * max(jobs, 1)))))


def _check_config_matches(store: ResultStore, config: ExperimentConfig) -> str | None:
    """Refuse a config that changes what the stored rows mean or drops any of them.

    Only points (n, m) and instances may be added to a results directory; seed, method,
    decision mode and time limits must stay.  Checked against ``DIR/config.toml`` (and its
    hash) and, independently, against the rows themselves (so a missing or quarantined
    config.toml does not open the door).  Returns a note when the config grew.
    """
    note = None
    if store.config_path.is_file():
        try:
            with warnings.catch_warnings():  # already said when this config was first run
                warnings.simplefilter("ignore")
                old = load_config(store.config_path)
        except ConfigError as exc:
            raise StoreError(f"{store.config_path} is not a valid config ({exc}); use another "
                             "--out, or move it aside with reluinj verify DIR --quarantine") \
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
        old_h, new_h = old.config_hash(), config.config_hash()
        if old_h != new_h:
            new_pts = {(p.n, p.m): p.instances for p in config.points()}
            for p in old.points():
                if new_pts.get((p.n, p.m), 0) < p.instances:
                    raise StoreError(
                        f"{store.root} was started with config {old_h} ({store.config_path}), "
                        f"which has {p.instances} instances at n={p.n} m={p.m}; this config "
                        f"({new_h}) has {new_pts.get((p.n, p.m), 0)}: only points or instances may "
                        "be added to a results directory: use another --out"
                    )
            added = len(config.tasks()) - len(old.tasks())
            note = f"config changed ({old_h} -> {new_h}): {added} instances added"
    _check_rows_match(store, config)
    return note


def _check_rows_match(store: ResultStore, config: ExperimentConfig) -> None:
    """The stored rows themselves: every (n, m) a point of ``config`` with enough instances, and
    seed / method / decision / time limit those of ``config``."""
    t = store.read_table(columns=["n", "m", "index", "seed", "method", "decision", "time_limit"])
    if not t.num_rows:
        return
    g = t.group_by(["n", "m", "seed", "method", "decision", "time_limit"]).aggregate(
        [("index", "max")]).to_pylist()
    pts = {(p.n, p.m): p for p in config.points()}
    for r in g:
        n, m = r["n"], r["m"]
        p = pts.get((n, m))
        if p is None or r["index_max"] >= p.instances:
            have = "no point" if p is None else f"{p.instances} instances"
            raise StoreError(
                f"{store.root} holds rows up to index {r['index_max']} at n={n} m={m}, this "
                f"config has {have} there; only points or instances may be added to a results "
                "directory: use another --out"
            )
        got = {"seed": r["seed"], "method": r["method"], "decision": r["decision"],
               "time_limit": r["time_limit"]}
        want = {"seed": config.seed, "method": config.method, "decision": config.decision,
                "time_limit": p.time_limit}
        for k in got:
            if got[k] != want[k]:
                raise StoreError(
                    f"{store.root} holds rows at n={n} m={m} computed with {k}={got[k]!r}, this "
                    f"config has {k}={want[k]!r}; only points or instances may be added to a "
                    "results directory: use another --out"
                )


def _mark_dead_runs(store: ResultStore, manifest: dict[str, Any]) -> bool:
    """Runs recorded as "running" are dead once we hold the lock: mark them "killed" with the
    number of rows they left.  Returns whether the manifest changed."""
    dead = [r for r in manifest.get("runs", []) if r.get("outcome") == "running"]
    if not dead:
        return False
    t = store.read_table(columns=["run_id"])
    counts = {r["run_id"]: r["run_id_count"]
              for r in t.group_by("run_id").aggregate([("run_id", "count")]).to_pylist()}
    for r in dead:
        r["outcome"] = "killed"
        r["rows_written"] = int(counts.get(r.get("run_id"), 0))
    return True


def run_experiment(
    config: ExperimentConfig,
    out: str | Path,
    *,
    jobs: int = 1,
    backend: str | Backend = "loky",
    scheduler: str | None = None,
    local_cluster: int | None = None,
    max_instances: int | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    flush_seconds: float = FLUSH_SECONDS,
    log: Callable[[str], None] | None = None,
) -> RunSummary:
    """Solve every instance of ``config`` not yet stored in ``out``; return a summary.

    ``backend``: "loky" (``jobs`` local processes), "dask" (``scheduler`` address or scheduler
    file of a running cluster, or a local cluster of ``local_cluster`` (default ``jobs``)
    workers), or a :class:`Backend` instance.  ``max_instances`` stops after that many new
    instances (a budget; re-run to continue).  Interruption (Ctrl-C or SIGTERM) writes the
    completed rows and returns with ``interrupted=True``; a solver crash raises
    :class:`RunError` after writing them.
    """
    from tqdm import tqdm

    if log is None:
        def log(msg: str) -> None:
            print(msg, file=sys.stderr, flush=True)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= MAX_JOBS:
        raise ConfigError(f"--jobs: got {jobs!r}; allowed: an integer 1 <= jobs <= {MAX_JOBS}")
    if max_instances is not None and max_instances < 0:
        raise ConfigError(f"--max-instances: got {max_instances!r}; allowed: an integer >= 0")
    be = make_backend(backend, jobs, scheduler=scheduler, local_cluster=local_cluster) \
        if isinstance(backend, str) else backend
    t_start = time.perf_counter()
    store = ResultStore(out)
    store.check_is_store()
    store.root.mkdir(parents=True, exist_ok=True)
    store.acquire_lock()
    try:
        store.init()
        # every check reads before anything is written: a refused run changes nothing
        note = _check_config_matches(store, config)
        manifest = store.read_manifest()
        all_tasks: list[Task] = [
            (p.n, p.m, i, p.alpha, p.time_limit) for p in config.points()
            for i in range(p.instances)
        ]
        done = store.completed_keys()
        todo = order_tasks([t for t in all_tasks if task_key(t) not in done])
        summary = RunSummary(out=store.root, total=len(all_tasks),
                             already_done=len(all_tasks) - len(todo))
        if note:
            log(f"{config.name}: {note}")
        if max_instances is not None:
            todo = todo[:max_instances]
        new_config_text = config.to_toml()
        if not store.config_path.is_file() or store.config_path.read_text() != new_config_text:
            atomic_write_bytes(store.config_path, new_config_text.encode())
        if _mark_dead_runs(store, manifest):
            store.write_manifest(manifest)
        if not todo:
            msg = (f"nothing to do: all {summary.total} instances of {config.name!r} are already "
                   f"stored in {store.root}" if summary.remaining == 0 else
                   "nothing to do (--max-instances 0)")
            summary.messages.append(msg)
            log(msg)
            return summary
        return _run(config, store, be, todo, summary, manifest, jobs=jobs,
                    batch_size=batch_size, progress=progress, flush_seconds=flush_seconds,
                    log=log, t_start=t_start, tqdm=tqdm)
    finally:
        store.release_lock()


def _run(config: ExperimentConfig, store: ResultStore, be: Backend, todo: list[Task],
         summary: RunSummary, manifest: dict[str, Any], *, jobs: int, batch_size: int | None,
         progress: bool, flush_seconds: float, log: Callable[[str], None], t_start: float,
         tqdm: Any) -> RunSummary:
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    summary.run_id = run_id
    params = SolverParams(seed=config.seed, method=config.method, decision=config.decision,
                          run_id=run_id)
    fixed = batch_size or config.batch_size or None
    outcome = "failed"  # until the loop ends normally or is interrupted
    failure: BaseException | None = None
    record: dict[str, Any] | None = None
    writer: RowWriter | None = None
    bar = None
    old_term = None
    if threading.current_thread() is threading.main_thread():
        def _term(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt
        old_term = signal.signal(signal.SIGTERM, _term)
    try:
        workers_info = be.open()
        manifest.setdefault("format", "reluinj-results/1")
        manifest["name"] = config.name
        manifest["config_hash"] = config.config_hash()
        record = run_record(
            run_id=run_id, config_hash=config.config_hash(), backend=be.name, jobs=jobs,
            workers=workers_info, instances_todo=len(todo), instances_total=summary.total,
            rows_written=0, restarts=0, outcome="running", config=config.to_dict(),
        )
        manifest.setdefault("runs", []).append(record)
        store.write_manifest(manifest)
        log(f"{config.name}: {len(todo)} instances to solve ({summary.already_done} of "
            f"{summary.total} already stored), backend={be.name} with {be.workers()} workers, "
            f"batches of {fixed or 'auto'}, out={store.root}")

        def on_write(rows: list[Row]) -> None:
            summary.computed += len(rows)
            summary.unresolved += sum(r.get("injective") is None for r in rows)
            record["rows_written"] = summary.computed

        writer = RowWriter(store, run_id, flush_seconds, on_write)
        bar = tqdm(total=len(todo), unit="inst", desc=config.name, disable=not progress,
                   file=sys.stderr, dynamic_ncols=True, smoothing=0.05)
        got: set[tuple[int, int, int]] = set()
        remaining = todo
        stalls = 0
        while remaining:
            planner = BatchPlanner(remaining, be.workers, fixed=fixed)
            it = be.map_unordered(solve_batch, params, planner)
            progressed = False
            try:
                for rows in it:
                    new = [r for r in rows if task_key(r) not in got]
                    got.update(task_key(r) for r in new)
                    planner.observe(new)
                    writer.add(new)
                    bar.update(len(new))
                    progressed = progressed or bool(new)
                remaining = []
            except WorkerLost as exc:
                stalls = 0 if progressed else stalls + 1
                remaining = [t for t in remaining if task_key(t) not in got]
                if stalls > MAX_RESTARTS:
                    raise RunError(
                        f"{exc}; gave up after {MAX_RESTARTS} resubmissions without a new row "
                        f"({len(remaining)} instances not solved); re-run the same command to "
                        "resume"
                    ) from None
                summary.restarts += 1
                record["restarts"] = summary.restarts
                log(f"{exc}; resubmitting the {len(remaining)} instances not received yet")
            finally:
                try:
                    writer.flush()  # before closing the backend, which may take a while
                finally:
                    close = getattr(it, "close", None)
                    if close is not None:
                        close()
        outcome = "complete"
    except KeyboardInterrupt:
        outcome = "interrupted"
        summary.interrupted = True
    except InstanceFailure as exc:
        failure = exc
    except ReluInjError:  # RunError, StoreError, ...: already one clear line
        raise
    except Exception as exc:  # a backend or worker failure: keep the rows, say how to resume
        failure = exc
    finally:
        if bar is not None:
            bar.close()
        try:
            if writer is not None:
                writer.close()
        finally:
            try:
                be.close()
            finally:
                if old_term is not None:
                    signal.signal(signal.SIGTERM, old_term)
                if record is not None:
                    record["end"] = now_iso()
                    record["outcome"] = outcome
                    record["elapsed_s"] = round(time.perf_counter() - t_start, 3)
                    if failure is not None:
                        record["error"] = f"{type(failure).__name__}: {failure}"
                    store.write_manifest(manifest)
    summary.elapsed_s = time.perf_counter() - t_start
    if failure is not None:
        what = str(failure) if isinstance(failure, InstanceFailure) else \
            f"{type(failure).__name__}: {str(failure).strip().splitlines()[0] if str(failure) else ''}"
        hint = "fix the solver and re-run" if isinstance(failure, InstanceFailure) else "re-run"
        raise RunError(
            f"{what} -- {summary.computed} rows of this run were stored; {hint} the same command "
            "to resume"
        ) from failure
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
