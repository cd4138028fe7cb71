"""Dask backend of the runner: batches of instance keys as futures on a dask.distributed cluster.

``DaskBackend(scheduler="tcp://host:8786")`` (or a scheduler file) uses a running cluster — e.g.
dask-jobqueue's SLURMCluster, or ``dask scheduler`` / ``dask worker`` started by hand;
``DaskBackend(local_cluster=N)`` starts N single-threaded worker processes on this machine;
``DaskBackend(client=client)`` uses a client the caller manages (README, "Running on a cluster").

Workers receive the seed and the keys ``(n, m, index)`` of a batch, never matrices, and return the
rows.  Each worker is one process with one thread (the solvers are single-threaded numba / HiGHS
code; BLAS and OpenMP are pinned to one thread by the nanny's environment, see ``WORKER_ENV``).
A worker that dies loses only its batch in flight: the scheduler reruns it on another worker
(up to ``distributed.scheduler.allowed-failures`` times); past that, or if futures are lost
with the connection, :class:`~reluinj.experiments.runner.WorkerLost` makes the runner resubmit
every instance it has not received.

Why ``Client.submit`` + ``as_completed`` and not joblib's Dask backend.  Measured with
``reluinj bench scaling --dask-apis`` (2-core development machine shared with other jobs, load
average 3.7; LocalCluster of 2 single-threaded workers; medians of 3 alternating repetitions;
the same tasks for both):

    workload                            as_completed      joblib-dask
    400 tasks sleeping 2 ms             4.8 ms/task       8.4 ms/task    overhead per task
    400 tasks sleeping 30 ms            1.5 ms/task       0.9 ms/task    (noise ~ 0.5 ms)
    oracle n=6 (~2 ms/inst), batch 1    278 inst/s        173 inst/s
    oracle n=6, batch 16                391 inst/s        403 inst/s

joblib's Dask backend adds bookkeeping per task (its callbacks and batch tracking), which shows
with small tasks (1.6x the throughput with ours at batch 1) and disappears with batches of
tens of ms.  The runner's batches take about a second (``BatchPlanner``), where both APIs
spend < 1 % in overhead; direct futures win on small tasks, tie otherwise, and let this module
bound the tasks in flight (window below), cancel them on Ctrl-C, and tell lost futures
(resubmitted) from solver errors (reported).

Numba warm-up: not done per worker.  The oracle's kernels are compiled with ``cache=True``, so
a machine compiles them once (the first batch pays it); a warm-up plugin would only move that
time, not save it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .config import ConfigError
from .provenance import package_version, summarize_workers, worker_info
from .runner import MAX_JOBS, Row, RunError, SolverParams, Task, WorkerLost

#: environment of the worker processes of a local cluster (dask's nanny sets the first three to 1
#: by default too: ``distributed.nanny.pre-spawn-environ``)
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: batches in flight at most: ``2 w + 2`` until the first result (so that batch sizes come from
#: measured times), then ``16 w`` (a backlog that adaptive clusters see and scale up to)
WINDOW_MAX = 5000


class DaskBackend:
    """Runner backend on dask.distributed (see module docstring)."""

    name = "dask"

    def __init__(self, jobs: int = 1, *, scheduler: str | None = None,
                 local_cluster: int | None = None, client: Any = None,
                 connect_timeout: float = 30.0) -> None:
        given = [k for k, v in (("--scheduler", scheduler), ("--local-cluster", local_cluster),
                                ("client", client)) if v is not None]
        if len(given) > 1:
            raise ConfigError(f"{' and '.join(given)}: give one of them, not both")
        if local_cluster is not None and (not isinstance(local_cluster, int)
                                          or not 1 <= local_cluster <= MAX_JOBS):
            raise ConfigError(f"--local-cluster: got {local_cluster!r}; allowed: an integer "
                              f"1 <= N <= {MAX_JOBS}")
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise ConfigError(f"--scheduler: got {scheduler!r}; allowed: an address such as "
                              "tcp://host:8786, or a scheduler file (JSON)")
        self.scheduler = scheduler
        self.n_local = local_cluster if local_cluster is not None else (
            None if scheduler is not None or client is not None else jobs)
        self.client = client
        self._own_client = client is None
        self.cluster: Any = None
        self.connect_timeout = connect_timeout
        self._threads = 0
        self._threads_t = -1.0

    # ---- lifecycle ------------------------------------------------------------------------------
    def open(self) -> dict[str, Any]:
        """Connect to the scheduler (or start the local cluster); check and describe the workers."""
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise RunError("--backend dask needs dask.distributed: pip install 'reluinj[dask]'") \
                from None
        if self.client is None:
            if self.scheduler is not None:
                self.client = self._connect(Client)
            else:
                self.cluster = LocalCluster(
                    n_workers=self.n_local, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR, env=dict(WORKER_ENV),
                )
                self.client = Client(self.cluster, set_as_default=False)
        infos = self._probe()
        return {
            "backend": self.name,
            "scheduler": str(self.client.scheduler.address),
            "local_cluster": self.n_local,
            "workers": summarize_workers(infos),
        }

    def _connect(self, Client: Any) -> Any:  # noqa: N803 - the class, passed in to import lazily
        addr = self.scheduler
        kwargs: dict[str, Any] = {"timeout": self.connect_timeout, "set_as_default": False}
        if Path(addr).is_file():
            kwargs["scheduler_file"] = addr
            addr = None
        elif "://" not in addr and ":" not in addr:
            raise ConfigError(f"--scheduler: {addr!r} is neither a scheduler file nor an address; "
                              "allowed: tcp://host:port (or host:port), or a scheduler file")
        try:
            return Client(addr, **kwargs)
        except (OSError, TimeoutError, ValueError) as exc:
            raise RunError(
                f"cannot connect to the Dask scheduler at {self.scheduler}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; start it "
                "(dask scheduler) or use --local-cluster N"
            ) from None

    def _probe(self) -> dict[str, dict[str, Any]]:
        """Ask every connected worker for :func:`worker_info`; refuse workers that cannot import
        reluinj, warn about version or thread-setting mismatches."""
        try:
            infos = self.client.run(worker_info)
        except Exception as exc:
            raise RunError(
                "the Dask workers cannot run reluinj "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); they "
                "need the same Python environment as this process (pip install reluinj there)"
            ) from None
        mine = package_version()
        other = sorted({str(i.get("package_version")) for i in infos.values()} - {mine})
        if other:
            warnings.warn(f"Dask workers run reluinj {', '.join(other)}, this process {mine}: "
                          "rows may differ from a local run", stacklevel=3)
        loose = sorted({i.get("hostname", "?") for i in infos.values()
                        if any((i.get("thread_env") or {}).get(k) != "1" for k in WORKER_ENV)})
        if loose:
            warnings.warn(
                f"Dask workers on {', '.join(loose[:3])} do not set {'/'.join(WORKER_ENV)}=1: "
                "BLAS may start several threads per worker; start them with a nanny (the "
                "default) or export these variables", stacklevel=3)
        return infos

    def workers(self) -> int:
        """Worker threads connected now (queried at most once a second)."""
        now = time.monotonic()
        if self.client is not None and now - self._threads_t >= 1.0:
            with contextlib.suppress(Exception):
                self._threads = int(sum(self.client.nthreads().values()))
            self._threads_t = now
        return self._threads

    def close(self) -> None:
        if self.client is not None and self._own_client:
            with contextlib.suppress(Exception):
                self.client.close(timeout=10)
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close(timeout=10)
        if self._own_client:
            self.client = None
        self.cluster = None

    # ---- work -----------------------------------------------------------------------------------
    def map_unordered(
        self, fn: Callable[[SolverParams, Sequence[Task]], list[Row]], params: SolverParams,
        batches: Iterable[Sequence[Task]],
    ) -> Iterator[list[Row]]:
        """Submit batches as futures (at most a window of them in flight) and yield their rows as
        they complete; lost futures raise WorkerLost, solver errors propagate unchanged."""
        from concurrent.futures import CancelledError

        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        client = self.client
        tag = uuid.uuid4().hex[:8]
        source = iter(batches)
        in_flight: dict[str, Any] = {}
        # with_results: the results are fetched by the client's event loop as futures finish,
        # not by one blocking round trip per future here
        ac = as_completed(loop=client.loop, with_results=True, raise_errors=False)
        seq = 0
        received = False

        def fill() -> None:
            nonlocal seq
            w = max(1, self.workers())
            limit = 2 * w + 2 if not received else min(max(2 * w + 2, 16 * w), WINDOW_MAX)
            while len(in_flight) < limit:
                batch = next(source, None)
                if batch is None:
                    return
                key = f"reluinj-batch-{params.run_id}-{tag}-{seq:07d}"
                seq += 1
                fut = client.submit(fn, params, list(batch), key=key, pure=False)
                in_flight[key] = fut
                ac.add(fut)

        fill()
        try:
            for fut, result in ac:
                in_flight.pop(fut.key, None)
                status = fut.status
                fut.release()
                if status == "error":
                    _, exc, tb = result
                    if isinstance(exc, KilledWorker):
                        raise WorkerLost(f"Dask workers died while running one batch several "
                                         f"times ({exc})") from None
                    raise exc.with_traceback(tb)  # e.g. InstanceFailure: the runner reports it
                if status != "finished" or isinstance(result, CancelledError):
                    raise WorkerLost("a Dask batch was lost (cancelled by the scheduler, or the "
                                     "connection to it broke)")
                received = True
                yield result
                fill()
        finally:
            if in_flight:
                with contextlib.suppress(Exception):
                    client.cancel(list(in_flight.values()))


def worker_pids(client: Any) -> dict[str, int]:
    """Address -> pid of every worker process (for tests and diagnostics)."""
    return {addr: int(pid) for addr, pid in client.run(os.getpid).items()}

