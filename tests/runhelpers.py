"""Helpers of the runner / store tests: run configs in-process or as a real ``reluinj run``
process, compare tables, list worker processes.  (Imported by test modules; not a test.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from reluinj.experiments.runner import run_experiment
from reluinj.experiments.store import KEY, VOLATILE_COLUMNS, ResultStore, load

# enum at n <= 4: milliseconds per instance; 24 instances
SMALL = """
name = "unit"
seed = 424242
n = [3, 4]
alpha = [3.0, 4.5]
instances = 6
method = "enum"
time_limit = 30
"""

# enum at n = 5, m = 30: ~0.1 s per instance; 30 instances = a few seconds on 2 workers
SLOW = """
name = "slow"
seed = 77
n = [5]
alpha = [6.0]
instances = 30
method = "enum"
time_limit = 60
"""

# the oracle on a small grid: fast, several points, one numba compile per process
GRID = """
name = "grid"
seed = 2026
n = [5, 6]
alpha = [4.0, 6.0, 8.0]
instances = 8
method = "oracle"
time_limit = 60
"""

# a valid config as TOML values by key (for config_toml)
BASE = {
    "name": '"t"', "seed": "7", "n": "[3, 4]", "alpha": "[3.0, 4.0]", "instances": "5",
    "method": '"enum"', "time_limit": "10",
}


def config_toml(**over: str | None) -> str:
    """BASE as TOML text with the values in ``over`` (TOML text) put in; None removes a key."""
    d = dict(BASE)
    for k, v in over.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return "\n".join(f"{k} = {v}" for k, v in d.items()) + "\n"


def run(cfg, out, **kw):
    """run_experiment without progress bar and log lines."""
    kw.setdefault("progress", False)
    kw.setdefault("log", lambda msg: None)
    return run_experiment(cfg, out, **kw)


def table(root) -> pd.DataFrame:
    """Stored rows without the volatile columns, witnesses as tuples (comparable)."""
    df = load(root).drop(columns=list(VOLATILE_COLUMNS))
    df["witness"] = df["witness"].map(lambda w: None if w is None else tuple(w))
    return df


def raw_keys(root) -> pd.DataFrame:
    """Keys of every stored row as plain pandas reads them (no deduplication)."""
    parts = Path(root) / "parts"
    if not any(parts.glob("part-*.parquet")):
        return pd.DataFrame(columns=list(KEY))
    return pd.read_parquet(parts, columns=list(KEY))


def assert_store_sound(root) -> None:
    """Every part file whole and readable, no key stored twice."""
    keys = raw_keys(root)
    assert not keys.duplicated().any(), "a key is stored twice"
    ResultStore(root).read_table()


def digest(root) -> str:
    return ResultStore(root).digest()


def cli_run(cfg_file, out, *extra: str, log=None, flush="0.2") -> subprocess.Popen:
    """Start ``python -m reluinj.experiments.cli run`` (stderr to ``log``, a file)."""
    cmd = [sys.executable, "-m", "reluinj.experiments.cli", "run", str(cfg_file), "--out",
           str(out), "--no-progress", "--flush-seconds", flush, *extra]
    # stderr to a file, not a pipe: orphaned pool processes must not hold the test up.
    # SIGINT back to its default in the child: a test run started in the background by a
    # non-interactive shell has SIGINT ignored, the child would inherit that, Python would then
    # install no KeyboardInterrupt handler, and the SIGINT test's run would finish all its
    # instances (`assert 30 < 30`, seen only in background runs of .ci/run)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def descendants(pid: int) -> list[int]:
    """Pids of all processes below ``pid`` (worker pools, Dask nannies and workers)."""
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def reap(pids, grace: float = 0.3) -> None:
    """End the processes ``pids`` (started by this test, orphaned by a SIGKILL of their parent):
    wait ``grace`` seconds for them to exit on their own (Dask workers do), then SIGKILL them
    (loky workers would idle for minutes)."""
    import psutil

    def alive(p: int) -> bool:
        try:
            return psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    t0 = time.monotonic()
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() - t0 < grace:
        time.sleep(0.1)
        left = [p for p in left if alive(p)]
    for p in left:
        try:
            os.kill(p, 9)
        except ProcessLookupError:
            pass
