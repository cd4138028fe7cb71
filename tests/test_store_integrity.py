"""Results store under hostile conditions: unreadable files (one-line error naming the file, data
untouched, ``reluinj verify --quarantine``), config changes, concurrent runs, lost workers,
rows written while the workers are still busy.

Uses the reference solver "enum" at n <= 4 (milliseconds per instance).
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from runhelpers import SLOW, SMALL, assert_store_sound, descendants, digest, raw_keys, run

from reluinj.experiments.cli import main
from reluinj.experiments.config import loads_config
from reluinj.experiments.runner import (
    BatchPlanner,
    LokyBackend,
    RunError,
    WorkerLost,
    flush_interval,
    solve_batch,
)
from reluinj.experiments.store import ResultStore, StoreError, load, verify


@pytest.fixture(scope="module")
def small_ref(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    assert run(loads_config(SMALL), out, jobs=1).computed == 24
    return out


def snapshot(root) -> dict[str, str]:
    """sha256 of every file under ``root`` (to prove that nothing was touched)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def call(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reluinj: error: "), err
    return lines[0]


@pytest.fixture
def half_run(tmp_path):
    """A results directory with 10 of the 24 instances of SMALL, in 3 part files, and its
    config file."""
    cfg_file = tmp_path / "small.toml"
    cfg_file.write_text(SMALL)
    out = tmp_path / "res"
    cfg = loads_config(SMALL)
    for k in (4, 3, 3):
        run(cfg, out, jobs=1, max_instances=k)
    assert len(ResultStore(out).part_files()) == 3 and len(load(out)) == 10
    return cfg_file, out


# ---- unreadable files ------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign_parquet", "wrong_type"])
def test_unreadable_part_refused_untouched_then_quarantined(damage, half_run, small_ref, capsys):
    cfg_file, out = half_run
    part = ResultStore(out).part_files()[1]
    if damage == "garbage":
        part.write_bytes(b"\x00\xffnot parquet at all")
    elif damage == "truncated":  # what a non-atomic writer would leave after a crash
        part.write_bytes(part.read_bytes()[:100])
    elif damage == "foreign_parquet":  # a valid Parquet file without our columns
        pq.write_table(pa.table({"x": [1.0, 2.0]}), part)
    else:  # a key column of the wrong type
        pq.write_table(pa.table({"n": ["three"], "m": [9], "index": [0]}), part)
    before = snapshot(out)
    rc, _, err = call(capsys, "run", cfg_file, "--out", out, "--no-progress")
    line = one_line_error(err)
    assert rc == 2 and part.name in line and "--quarantine" in line
    assert snapshot(out) == before  # data untouched
    assert not (out / "run.lock").exists()
    # verify names the file and exits 1; --quarantine moves it aside (nothing is deleted)
    rc, text, _ = call(capsys, "verify", out)
    assert rc == 1 and part.name in text and "BAD" in text
    assert snapshot(out) == before
    rc, text, _ = call(capsys, "verify", out, "--quarantine")
    assert rc == 0 and "moved to" in text and not part.exists()
    moved = list((out / "quarantine").iterdir())
    assert len(moved) == 1 and moved[0].read_bytes() != b"" and moved[0].name.startswith(part.name)
    assert verify(out).ok
    # the re-run recomputes the quarantined rows: the table of an uninterrupted run
    rc, _, err = call(capsys, "run", cfg_file, "--out", out, "--no-progress")
    assert rc == 0, err
    assert digest(out) == digest(small_ref)
    assert_store_sound(out)


def test_unreadable_manifest_and_config(half_run, small_ref, capsys):
    cfg_file, out = half_run
    (out / "manifest.json").write_text('{"runs": [ {"run_id": ')  # cut mid-write (not by us)
    before = snapshot(out)
    rc, _, err = call(capsys, "run", cfg_file, "--out", out, "--no-progress")
    assert rc == 2 and "manifest.json" in one_line_error(err)
    assert snapshot(out) == before
    bigger = cfg_file.with_name("bigger.toml")  # a valid extension: config.toml stays as it was
    bigger.write_text(SMALL.replace("instances = 6", "instances = 8"))
    rc, _, err = call(capsys, "run", bigger, "--out", out, "--no-progress")
    assert rc == 2 and "manifest.json" in one_line_error(err)
    assert snapshot(out) == before
    (out / "config.toml").write_bytes(b"\xff\xfe binary")
    rc, _, err = call(capsys, "run", cfg_file, "--out", out, "--no-progress")
    assert rc == 2 and "config.toml" in one_line_error(err)
    rc, text, _ = call(capsys, "verify", out, "--quarantine")
    assert rc == 0 and text.count("moved to") == 2
    rc, _, err = call(capsys, "run", cfg_file, "--out", out, "--no-progress")
    assert rc == 0, err
    assert digest(out) == digest(small_ref)
    assert ResultStore(out).read_manifest()["runs"][-1]["outcome"] == "complete"


def test_rows_guard_the_directory_even_without_config_toml(half_run, capsys):
    # with config.toml gone (quarantined, deleted), the stored rows still refuse another seed
    cfg_file, out = half_run
    (out / "config.toml").unlink()
    other = cfg_file.with_name("other.toml")
    other.write_text(SMALL.replace("seed = 424242", "seed = 5"))
    before = snapshot(out)
    rc, _, err = call(capsys, "run", other, "--out", out, "--no-progress")
    assert rc == 2 and "seed=424242" in one_line_error(err)
    assert snapshot(out) == before


def test_non_results_directory_is_refused(tmp_path, capsys):
    cfg_file = tmp_path / "small.toml"
    cfg_file.write_text(SMALL)
    src = tmp_path / "src"
    src.mkdir()
    (src / "thesis.tex").write_text("precious")
    rc, _, err = call(capsys, "run", cfg_file, "--out", src, "--no-progress")
    assert rc == 2 and "not a results directory" in one_line_error(err)
    assert [p.name for p in src.iterdir()] == ["thesis.tex"]


# ---- config changes --------------------------------------------------------------------------


def test_config_change_only_adds(half_run, capsys):
    cfg_file, out = half_run
    bigger = cfg_file.with_name("bigger.toml")
    bigger.write_text(SMALL.replace("instances = 6", "instances = 7").replace("[3, 4]",
                                                                           "[3, 4, 5]"))
    rc, _, err = call(capsys, "run", bigger, "--out", out, "--no-progress")
    assert rc == 0 and "instances added" in err and len(load(out)) == 3 * 2 * 7
    before = snapshot(out)
    for change in (SMALL,                                           # drops n = 5 and instance 6
                   SMALL.replace("instances = 6", "instances = 9"),  # still drops n = 5
                   SMALL.replace("time_limit = 30", "time_limit = 31")):
        cfg_file.write_text(change)
        rc, _, err = call(capsys, "run", cfg_file, "--out", out, "--no-progress")
        line = one_line_error(err)
        assert rc == 2 and "only points or instances may be added" in line, line
        assert snapshot(out) == before


# ---- one writer ------------------------------------------------------------------------------


def test_concurrent_run_is_refused_and_the_first_run_is_unharmed(tmp_path, capsys):
    cfg_file = tmp_path / "slow.toml"
    cfg_file.write_text(SLOW)
    out = tmp_path / "res"
    with open(tmp_path / "err.txt", "w") as log:
        first = subprocess.Popen(
            [sys.executable, "-m", "reluinj.experiments.cli", "run", str(cfg_file), "--out",
             str(out), "--no-progress", "--jobs", "1", "--max-instances", "12"],
            stdout=subprocess.DEVNULL, stderr=log)
        try:
            t0 = time.monotonic()
            while not (out / "run.lock").exists() and time.monotonic() - t0 < 60:
                time.sleep(0.02)
            time.sleep(0.3)
            rc, _, err = call(capsys, "run", cfg_file, "--out", out, "--no-progress")
            line = one_line_error(err)
            assert rc == 2 and "in use by another run" in line and f"pid {first.pid}" in line
            assert first.wait(timeout=120) == 0
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
    assert len(load(out)) == 12 and not (out / "run.lock").exists()


def test_lock_follows_the_process_not_the_file(tmp_path):
    # a live process holding the flock refuses, even if the pid in the file is dead; once it
    # dies (SIGKILL), the lock is free at once
    out = tmp_path / "res"
    out.mkdir()
    host = socket.gethostname()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(out / 'run.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        f"os.write(fd, b'999999999 {host} 0')\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match="in use by another run"):
            ResultStore(out).acquire_lock()
    finally:
        holder.kill()
        holder.wait()
    st = ResultStore(out)
    st.acquire_lock()
    assert (out / "run.lock").read_text().split()[:2] == [str(os.getpid()), host]
    st.release_lock()
    assert not (out / "run.lock").exists()
    # a lock left by a run on another machine cannot be checked from here: refused, with the
    # way out in the message
    (out / "run.lock").write_text("1234 some-other-node 99\n")
    with pytest.raises(StoreError, match="some-other-node.*delete"):
        ResultStore(out).acquire_lock()


# ---- rows are written while workers are busy --------------------------------------------------


class _SlowTail:
    """A backend that returns its first batch at once and the rest after ``delay`` seconds."""

    name = "slowtail"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.first_seen: float | None = None

    def open(self):
        return {"backend": self.name}

    def workers(self):
        return 1

    def map_unordered(self, fn, params, batches):
        for i, b in enumerate(batches):
            if i == 1:
                time.sleep(self.delay)
            yield fn(params, b)

    def close(self):
        pass


def test_completed_rows_reach_disk_without_waiting_for_the_next_result(tmp_path):
    cfg = loads_config(SMALL)
    out = tmp_path / "res"
    seen: list[int] = []

    def watch():
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5 and not seen:
            if (out / "parts").is_dir() and ResultStore(out).part_files():
                seen.append(len(raw_keys(out)))
            time.sleep(0.02)

    th = threading.Thread(target=watch)
    th.start()
    s = run(cfg, out, backend=_SlowTail(1.5), batch_size=5, flush_seconds=0.2)
    th.join()
    assert seen == [5]  # the first batch was on disk while the backend was still busy
    assert s.computed == 24


def test_flush_interval_grows_but_stays_bounded():
    assert flush_interval(5.0, 0.0) == 5.0
    assert flush_interval(5.0, 3000.0) == 30.0  # 1 % of the elapsed time
    assert flush_interval(5.0, 86400.0) == 60.0
    assert flush_interval(120.0, 86400.0) == 120.0


# ---- batching ---------------------------------------------------------------------------------


def test_batch_planner_covers_every_task_once_in_order_and_sizes_from_times():
    tasks = [(3, 9, i, 3.0, None) for i in range(5000)]
    p = BatchPlanner(tasks, lambda: 2, target_s=1.0)
    it = iter(p)
    first = next(it)
    assert len(first) == 1  # no measurement yet
    p.observe([{"time_s": 0.01 - p.OVERHEAD_S}] * 10)  # 10 ms per instance
    second = next(it)
    assert len(second) == 100  # about 1 s of work
    rest = list(it)
    got = [t for b in [first, second, *rest] for t in b]
    assert got == tasks
    # the tail: no batch holds more than half of a worker's share of what is left
    assert all(s <= max(1, -(-r // 4)) for s, r in zip(p.sizes, _remaining(p.sizes, 5000),
                                                       strict=True))
    fixed = BatchPlanner(tasks[:10], lambda: 2, fixed=3)
    assert [len(b) for b in fixed] == [3, 3, 3, 1]


def test_batch_planner_sizes_per_point_so_cheap_rows_are_not_held_behind_expensive_ones():
    # a round-robin study: three cheap points (1 ms) and one expensive point (10 s)
    pts = [(4, 20), (5, 25), (6, 30), (16, 96)]
    tasks = [(n, m, i, m / n, None) for i in range(50) for (n, m) in pts]
    p = BatchPlanner(tasks, lambda: 2, target_s=1.0)
    p.observe([{"n": n, "m": m, "time_s": 0.001} for n, m in pts[:3] for _ in range(300)])
    p.observe([{"n": 16, "m": 96, "time_s": 10.0}])
    assert p.per_instance_s() < 0.02  # a global mean would put ~50 instances (~120 s) in a batch
    batches = list(p)
    assert [t for b in batches for t in b] == tasks
    for b in batches:
        expensive = [t for t in b if t[0] == 16]
        assert not expensive or len(b) == 1, "an expensive task shares its batch"
    assert max(len(b) for b in batches) == 3  # the cheap runs between two expensive tasks
    # a point never seen is assumed as expensive as the most expensive point seen
    assert p.estimate_s((7, 35, 0, 5.0, None)) >= 10.0


def _remaining(sizes, total):
    out = []
    for s in sizes:
        out.append(total)
        total -= s
    return out


# ---- lost workers -----------------------------------------------------------------------------


class _Flaky:
    """Loses its workers after ``lose_after`` batches, ``times`` times (then behaves)."""

    name = "flaky"

    def __init__(self, lose_after: int, times: int) -> None:
        self.lose_after = lose_after
        self.times = times
        self.calls = 0

    def open(self):
        return {"backend": self.name}

    def workers(self):
        return 2

    def map_unordered(self, fn, params, batches):
        self.calls += 1
        for i, b in enumerate(batches):
            if self.times > 0 and i == self.lose_after:
                self.times -= 1
                raise WorkerLost("test: workers lost")
            yield fn(params, b)

    def close(self):
        pass


def test_lost_workers_are_resubmitted_and_give_the_same_table(small_ref, tmp_path):
    be = _Flaky(lose_after=3, times=2)
    s = run(loads_config(SMALL), tmp_path, backend=be, batch_size=2)
    assert s.computed == 24 and s.restarts == 2 and be.calls == 3
    assert digest(tmp_path) == digest(small_ref)
    assert_store_sound(tmp_path)
    assert ResultStore(tmp_path).read_manifest()["runs"][-1]["restarts"] == 2


def test_workers_lost_without_progress_stop_the_run_keeping_rows(tmp_path):
    be = _Flaky(lose_after=0, times=100)
    with pytest.raises(RunError, match="gave up after 3 resubmissions.*re-run"):
        run(loads_config(SMALL), tmp_path, backend=be, batch_size=2)
    assert ResultStore(tmp_path).read_manifest()["runs"][-1]["outcome"] == "failed"
    assert not (tmp_path / "run.lock").exists()


def test_killed_loky_worker_is_replaced_and_the_run_completes(tmp_path):
    # a loky worker process killed mid-run (OOM killer, admin): the pool breaks, the runner
    # resubmits what it has not received, and the table is complete and correct
    psutil = pytest.importorskip("psutil")

    cfg = loads_config(SLOW.replace("instances = 30", "instances = 20"))
    out = tmp_path / "out"
    killed: list[int] = []

    def cmdline(pid: int) -> str:
        try:
            return " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            return ""

    def killer():
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60 and not killed:
            kids = [p for p in descendants(os.getpid())
                    if "loky" in cmdline(p) and "resource_tracker" not in cmdline(p)]
            if kids and (out / "parts").is_dir() and ResultStore(out).part_files():
                os.kill(kids[0], signal.SIGKILL)
                killed.append(kids[0])
            time.sleep(0.05)

    th = threading.Thread(target=killer)
    th.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib's warning about the broken pool
        s = run(cfg, out, jobs=2, flush_seconds=0.1)
    th.join()
    assert killed and s.restarts >= 1 and s.computed == 20
    ref = tmp_path / "ref"
    run(cfg, ref, backend=LokyBackend(1))
    assert digest(out) == digest(ref)
    assert_store_sound(out)


def test_solve_batch_needs_only_keys_and_seed():
    # what travels to a worker: the seed, the method and (n, m, index) keys, never a matrix
    from reluinj.experiments.runner import SolverParams

    rows = solve_batch(SolverParams(seed=1, method="enum", decision=False, run_id="x"),
                       [(3, 9, 0, 3.0, None), (3, 9, 1, 3.0, None)])
    assert [r["spawn_key"] for r in rows] == ["3,9,0", "3,9,1"]
