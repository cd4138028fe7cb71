"""Provenance: each run's manifest record and each row say what produced them, checked against
independent sources (git, importlib.metadata, /proc/cpuinfo, the config)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from runhelpers import run

from reluinj.experiments.config import loads_config
from reluinj.experiments.provenance import cpu_model, summarize_workers, worker_info
from reluinj.experiments.store import ResultStore, load

CFG = """
name = "prov"
seed = 99
n = [3]
alpha = [4.0]
instances = 4
method = "enum"
time_limit = 30
"""

REPO = Path(__file__).resolve().parent.parent


def test_run_record_and_rows(tmp_path):
    cfg = loads_config(CFG)
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
    s = run(cfg, tmp_path, jobs=1)
    t1 = dt.datetime.now(dt.UTC)
    m = ResultStore(tmp_path).read_manifest()
    assert m["config_hash"] == cfg.config_hash() and m["name"] == "prov"
    rec = m["runs"][-1]
    assert rec["run_id"] == s.run_id and rec["outcome"] == "complete"
    assert rec["config_hash"] == cfg.config_hash() and rec["config"] == cfg.to_dict()
    assert rec["rows_written"] == 4 and rec["instances_total"] == 4
    start, end = dt.datetime.fromisoformat(rec["start"]), dt.datetime.fromisoformat(rec["end"])
    assert t0 <= start <= end <= t1 and rec["elapsed_s"] >= 0
    assert rec["backend"] == "loky" and rec["jobs"] == 1 and rec["pid"] == os.getpid()
    # versions: the package and the solvers, as importlib.metadata reports them
    assert rec["package_version"] == metadata.version("reluinj")
    for lib in ("highspy", "numba", "cvxpy", "numpy", "scipy"):
        assert rec["libraries"][lib] == metadata.version(lib)
    assert rec["blas"]["name"]
    # git commit of the source tree, if it is a checkout
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode == 0:
        assert rec["git"]["commit"] == head.stdout.strip()
        assert isinstance(rec["git"]["dirty"], bool)
    # machine
    mach = rec["machine"]
    assert mach["cpu_count"] == os.cpu_count() and 1 <= mach["usable_cores"] <= os.cpu_count()
    assert mach["cpu_model"] and mach["memory_bytes"] > 0
    # per instance: seed, spawn key, method, status, time, host
    df = load(tmp_path)
    assert (df.seed == 99).all() and (df.method == "enum").all() and (df.status == "optimal").all()
    assert list(df.spawn_key) == [f"3,12,{i}" for i in range(4)]
    assert (df.time_s > 0).all() and df.host.notna().all() and (df.run_id == s.run_id).all()


def test_cpu_model_matches_proc_cpuinfo():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    names = [ln.split(":", 1)[1].strip() for ln in text.splitlines()
             if ln.startswith("model name")]
    if not names:
        pytest.skip("/proc/cpuinfo has no model name")
    assert cpu_model() == names[0]


def test_worker_summary_groups_by_host():
    a = worker_info()
    b = dict(a, pid=a["pid"] + 1)
    c = dict(a, hostname="node-7", cpu_model="Other CPU")
    s = summarize_workers({"w1": a, "w2": b, "w3": c})
    assert s["count"] == 3
    assert s["hosts"][a["hostname"]]["workers"] == 2
    assert s["hosts"]["node-7"] == {**s["hosts"]["node-7"], "workers": 1, "cpu_model": "Other CPU"}
