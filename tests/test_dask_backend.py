"""Dask backend on a real distributed.LocalCluster: the same bytes as loky, a killed worker loses
only its batch, and ``reluinj run`` killed with SIGKILL at random moments (loky and Dask) resumes
to exactly the table of an uninterrupted run.

Reference tables come from the loky backend with one worker (in this process).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
from runhelpers import (
    GRID,
    SLOW,
    assert_store_sound,
    cli_run,
    descendants,
    digest,
    raw_keys,
    reap,
    run,
    table,
)

from reluinj.experiments.config import loads_config
from reluinj.experiments.store import ResultStore, load, verify

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def grid_ref(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid_ref")
    s = run(loads_config(GRID), out, jobs=1)
    assert s.computed == s.total == 48
    return out


@pytest.fixture(scope="module")
def slow_ref(tmp_path_factory):
    out = tmp_path_factory.mktemp("slow_ref")
    s = run(loads_config(SLOW), out, jobs=2)
    assert s.computed == 30
    return out


@pytest.fixture(scope="module")
def slow_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("slowcfg") / "slow.toml"
    p.write_text(SLOW)
    return p


def test_loky_1_loky_2_and_dask_2_give_byte_identical_tables(grid_ref, tmp_path):
    cfg = loads_config(GRID)
    s2 = run(cfg, tmp_path / "loky2", jobs=2)
    sd = run(cfg, tmp_path / "dask2", backend="dask", local_cluster=2)
    assert s2.computed == sd.computed == 48
    # byte-identical canonical tables (first row per key, sorted, timing/run/host columns out)
    ref = digest(grid_ref)
    assert digest(tmp_path / "loky2") == ref and digest(tmp_path / "dask2") == ref
    pd.testing.assert_frame_equal(table(grid_ref), table(tmp_path / "dask2"))
    for d in ("loky2", "dask2"):
        assert_store_sound(tmp_path / d)
    df = load(tmp_path / "dask2")
    assert (df.solver == "oracle").all() and (df.status == "optimal").all()
    assert df.host.notna().all() and (df.time_s > 0).all()
    rec = ResultStore(tmp_path / "dask2").read_manifest()["runs"][-1]
    assert rec["backend"] == "dask" and rec["outcome"] == "complete"
    assert rec["workers"]["local_cluster"] == 2 and rec["workers"]["workers"]["count"] == 2
    hosts = rec["workers"]["workers"]["hosts"]
    assert all(h["thread_env"]["OMP_NUM_THREADS"] == "1" for h in hosts.values())


def _busy_worker_pid(client) -> int | None:
    """Pid of a worker that is executing a batch right now."""
    processing = client.processing()
    pids = client.run(os.getpid)
    busy = [addr for addr, keys in processing.items() if keys]
    return pids[busy[0]] if busy else None


def test_killed_dask_worker_loses_only_its_batch(slow_ref, tmp_path):
    from distributed import Client, LocalCluster

    from reluinj.experiments.dask_backend import DaskBackend

    out = tmp_path / "out"
    cfg = loads_config(SLOW)
    killed: dict[str, int] = {}

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster, set_as_default=False) as client:
        before = set(client.run(os.getpid).values())

        def killer():
            t0 = time.monotonic()
            while time.monotonic() - t0 < 60:
                if ResultStore(out).part_files():
                    pid = _busy_worker_pid(client)
                    if pid is not None:
                        killed["stored"] = len(raw_keys(out))
                        os.kill(pid, signal.SIGKILL)  # mid-batch, no warning
                        killed["pid"] = pid
                        return
                time.sleep(0.02)

        th = threading.Thread(target=killer)
        th.start()
        s = run(cfg, out, backend=DaskBackend(client=client), flush_seconds=0.1)
        th.join()
        assert "pid" in killed, "no worker was killed"
        assert 0 < killed["stored"] < 30, "the worker was not killed mid-run"
        # the nanny replaced the dead worker process
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20 and len(client.run(os.getpid)) < 2:
            time.sleep(0.1)
        after = set(client.run(os.getpid).values())
    assert killed["pid"] in before and killed["pid"] not in after
    assert s.computed == 30 and s.remaining == 0 and not s.interrupted
    assert digest(out) == digest(slow_ref)
    assert_store_sound(out)


def _n_parts(out) -> int:
    return len(ResultStore(out).part_files()) if (out / "parts").is_dir() else 0


def _kill_runs(cfg_file, out, extra, rng, n_kills, log):
    """Start ``reluinj run`` and SIGKILL it, ``n_kills`` times: the first time at a random moment
    of its start-up (lock, config, workers), then each time at a random moment (0 to 1 s) after
    the run has written its first part file.  Returns the number of stored rows after each
    kill."""
    counts = []
    for k in range(n_kills):
        parts0 = _n_parts(out)
        proc = cli_run(cfg_file, out, *extra, log=log)
        kids: set[int] = set()
        t_kill = time.monotonic() + rng.uniform(0.1, 1.5) if k == 0 else None
        t_stop = time.monotonic() + 90
        while proc.poll() is None and time.monotonic() < t_stop:
            kids.update(descendants(proc.pid))
            if t_kill is None and _n_parts(out) > parts0:
                t_kill = time.monotonic() + rng.uniform(0.0, 1.0)
            if t_kill is not None and time.monotonic() >= t_kill:
                break
            time.sleep(0.02)
        kids.update(descendants(proc.pid))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        reap(kids)
        assert_store_sound(out)  # whole part files only, no key twice, at any kill moment
        counts.append(len(raw_keys(out)))
    return counts


def _sigkill_then_resume(backend, n_kills, seed, slow_file, slow_ref, tmp_path):
    out = tmp_path / "out"
    extra = (["--jobs", "2"] if backend == "loky" else
             ["--backend", "dask", "--local-cluster", "2"])
    rng = np.random.default_rng(seed)  # fixed kill moments (relative to the run's progress)
    with open(tmp_path / "stderr.txt", "w") as log:
        counts = _kill_runs(slow_file, out, extra, rng, n_kills, log)
        assert any(0 < c < 30 for c in counts), f"no kill landed mid-run: {counts}"
        assert counts == sorted(counts), "a kill lost stored rows"
        proc = cli_run(slow_file, out, *extra, log=log)
        rc = proc.wait(timeout=180)
    assert rc == 0, (tmp_path / "stderr.txt").read_text()[-2000:]
    assert digest(out) == digest(slow_ref)
    assert_store_sound(out)
    assert len(raw_keys(out)) == 30  # raw parquet, as pandas reads it: no duplicates either
    rep = verify(out)
    assert rep.ok and rep.keys == rep.rows == 30
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    # every run is accounted for: killed ones are marked by the run after them; the last run
    # completed, unless the killed ones had already stored everything (then it had nothing to do)
    assert all(r["outcome"] in ("killed", "complete") for r in runs)
    assert all(r["backend"] == backend for r in runs)
    assert sum(r["rows_written"] for r in runs) == 30
    assert not (out / "run.lock").exists()


@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_sigkill_at_random_moments_then_resume(backend, slow_file, slow_ref, tmp_path):
    _sigkill_then_resume(backend, 3, 11 if backend == "loky" else 12, slow_file, slow_ref,
                         tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_sigkill_many_times_then_resume(backend, slow_file, slow_ref, tmp_path):
    _sigkill_then_resume(backend, 10, 21 if backend == "loky" else 22, slow_file, slow_ref,
                         tmp_path)


def test_sigterm_of_a_dask_run_writes_rows_and_resumes(slow_file, slow_ref, tmp_path):
    # what scancel / a job's walltime sends: the run writes what it has, exits 130, resumes
    out = tmp_path / "out"
    with open(tmp_path / "stderr.txt", "w") as log:
        proc = cli_run(slow_file, out, "--backend", "dask", "--local-cluster", "2", log=log)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60 and not (
                (out / "parts").is_dir() and ResultStore(out).part_files()):
            assert proc.poll() is None, "run ended before it could be interrupted"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGTERM)
        rc = proc.wait(timeout=60)
    err = (tmp_path / "stderr.txt").read_text()
    assert rc == 130 and "re-run the same command to resume" in err, err[-2000:]
    stored = len(raw_keys(out))
    assert 0 < stored < 30 and not (out / "run.lock").exists()
    rec = ResultStore(out).read_manifest()["runs"][-1]
    assert rec["outcome"] == "interrupted" and rec["rows_written"] == stored
    s = run(loads_config(SLOW), out, jobs=2)  # resumed with another backend: same rows
    assert s.already_done == stored and s.computed == 30 - stored
    assert digest(out) == digest(slow_ref)


def _install_crash(bad_index):
    """Make the solver crash on instance (3, 12, bad_index) in this (worker) process."""
    import numpy as np

    import reluinj.empirical.solve as solve_mod
    from reluinj.empirical.sampling import sample_instance

    real = solve_mod.get_method

    def get_method(name):
        fn = real(name)

        def wrapped(A, **kw):
            if np.array_equal(A, sample_instance(31, 3, 12, bad_index)):
                raise ZeroDivisionError("boom on a worker")
            return fn(A, **kw)
        return wrapped
    solve_mod.get_method = get_method
    return True


def test_solver_crash_on_a_dask_worker_stops_the_run_naming_the_instance(tmp_path):
    from distributed import Client, LocalCluster

    from reluinj.experiments.dask_backend import DaskBackend
    from reluinj.experiments.runner import RunError

    cfg = loads_config(GRID.replace("seed = 2026", "seed = 31").replace("[5, 6]", "[3]")
                       .replace('"oracle"', '"enum"'))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster, set_as_default=False) as client:
        assert all(client.run(_install_crash, 5).values())
        with pytest.raises(RunError, match=r"n=3 m=12 index=5.*ZeroDivisionError: boom on a "
                                           r"worker.*re-run"):
            run(cfg, tmp_path, backend=DaskBackend(client=client), batch_size=1)
    assert ResultStore(tmp_path).read_manifest()["runs"][-1]["outcome"] == "failed"
    assert not (tmp_path / "run.lock").exists()
    assert (3, 12, 5) not in {tuple(k) for k in raw_keys(tmp_path).to_numpy()}
