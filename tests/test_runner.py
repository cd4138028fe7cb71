"""Monte Carlo runner: rows follow the seed contract, do not depend on --jobs, and a run that is
cut short (budget, SIGINT, SIGKILL) resumes to the same table without recomputing stored rows.

Uses the reference solver "enum" (vertex-ray enumeration) at n <= 5.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from runhelpers import SLOW, SMALL, cli_run, run, table

from reluinj.empirical.certificate import check_witness
from reluinj.empirical.sampling import sample_instance
from reluinj.empirical.solve import solve
from reluinj.experiments.config import loads_config
from reluinj.experiments.store import ResultStore, StoreError, load


@pytest.fixture(scope="module")
def small_cfg():
    return loads_config(SMALL)


@pytest.fixture(scope="module")
def reference(small_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    s = run(small_cfg, out, jobs=1)
    assert s.computed == s.total == 24 and s.already_done == 0 and not s.interrupted
    return out


def test_rows_follow_seed_contract(small_cfg, reference):
    df = load(reference)
    assert len(df) == 24
    assert set(zip(df.n, df.m, strict=True)) == {(3, 9), (3, 14), (4, 12), (4, 18)}
    for r in df.itertuples():
        # the instance is the one the README promises, rebuilt here with numpy alone
        ss = np.random.SeedSequence(entropy=424242, spawn_key=(r.n, r.m, r.index))
        A = np.random.default_rng(ss).standard_normal((r.m, r.n))
        np.testing.assert_array_equal(A, sample_instance(424242, r.n, r.m, r.index))
        assert r.spawn_key == f"{r.n},{r.m},{r.index}" and r.seed == 424242
        assert r.status == "optimal" and r.kstar == r.lower_bound == r.upper_bound
        assert bool(r.injective) == (r.kstar >= r.n)
        chk = check_witness(A, np.asarray(r.witness))
        assert chk.strict and chk.positives == r.upper_bound
    first = df.iloc[0]
    A = sample_instance(424242, int(first.n), int(first.m), int(first["index"]))
    assert solve(A, "enum").kstar == first.kstar


def test_jobs_1_and_2_give_identical_tables(small_cfg, reference, tmp_path):
    s = run(small_cfg, tmp_path, jobs=2)
    assert s.computed == 24
    pd.testing.assert_frame_equal(table(reference), table(tmp_path))


def test_jobs_1_and_2_identical_with_the_oracle(tmp_path):
    # the fast exact solver reports timings in its info: they go to the volatile column
    cfg = loads_config(SMALL.replace('"enum"', '"oracle"').replace("[3, 4]", "[5, 6]")
                       .replace("[3.0, 4.5]", "[5.0, 8.0]"))
    s1 = run(cfg, tmp_path / "j1", jobs=1)
    s2 = run(cfg, tmp_path / "j2", jobs=2)
    assert s1.computed == s2.computed == 24
    t1 = table(tmp_path / "j1")
    pd.testing.assert_frame_equal(t1, table(tmp_path / "j2"))
    assert (t1.solver == "oracle").all() and (t1.status == "optimal").all()


def test_budget_then_resume_recomputes_nothing(small_cfg, reference, tmp_path):
    s1 = run(small_cfg, tmp_path, jobs=1, max_instances=7)
    assert s1.computed == 7 and s1.remaining == 17
    first_rows = load(tmp_path)[["n", "m", "index", "run_id"]]
    s2 = run(small_cfg, tmp_path, jobs=2)
    assert s2.already_done == 7 and s2.computed == 17 and s2.remaining == 0
    final = load(tmp_path)
    assert len(final) == 24 and not final.duplicated(["n", "m", "index"]).any()
    # the 7 rows of the first run were kept, not solved again
    merged = first_rows.merge(final, on=["n", "m", "index"], suffixes=("_1", ""))
    assert (merged["run_id_1"] == merged["run_id"]).all() and len(merged) == 7
    assert (final["run_id"] == s2.run_id).sum() == 17
    pd.testing.assert_frame_equal(table(reference), table(tmp_path))
    runs = ResultStore(tmp_path).read_manifest()["runs"]
    assert [r["outcome"] for r in runs] == ["complete", "complete"]
    assert [r["rows_written"] for r in runs] == [7, 17]


def test_rerun_of_finished_config_does_no_work(small_cfg, reference, tmp_path):
    run(small_cfg, tmp_path, jobs=1)
    parts = sorted(p.name for p in ResultStore(tmp_path).part_files())
    manifest = (tmp_path / "manifest.json").read_text()
    msgs = []
    s = run(small_cfg, tmp_path, jobs=2, log=msgs.append)
    assert s.computed == 0 and s.already_done == 24
    assert "nothing to do" in msgs[0]
    assert sorted(p.name for p in ResultStore(tmp_path).part_files()) == parts
    assert (tmp_path / "manifest.json").read_text() == manifest


def test_points_may_be_added_but_identity_may_not_change(small_cfg, tmp_path):
    run(small_cfg, tmp_path, jobs=1)
    more = loads_config(SMALL.replace("instances = 6", "instances = 8"))
    s = run(more, tmp_path, jobs=1)
    assert s.already_done == 24 and s.computed == 8
    for bad in ("seed = 1", 'method = "exact"', "time_limit = 5"):
        key = bad.split()[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            other = loads_config("\n".join(
                bad if line.startswith(key + " ") else line for line in SMALL.splitlines()))
        with pytest.raises(StoreError, match=f"{key}="):
            run(other, tmp_path, jobs=1)
    per_n = loads_config(SMALL + "[per_n.4]\ntime_limit = 5\n")
    with pytest.raises(StoreError, match="time_limit at n=4=30.0"):
        run(per_n, tmp_path, jobs=1)


def test_concurrent_run_refused(small_cfg, tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "run.lock").write_text(f"{sleeper.pid}\n")
        with pytest.raises(StoreError, match="in use by another run"):
            run(small_cfg, tmp_path, jobs=1)
    finally:
        sleeper.kill()
        sleeper.wait()


# ---- interruption by signals (subprocess running the CLI) -----------------------------------


@pytest.fixture(scope="module")
def slow_cfg_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("slowcfg")
    p = d / "slow.toml"
    p.write_text(SLOW)
    return p


@pytest.fixture(scope="module")
def slow_reference(slow_cfg_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("slowref")
    s = run(loads_config(SLOW), out, jobs=2)
    assert s.computed == 30
    return out


def _wait_for_rows(out, proc, timeout=60.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if ResultStore(out).part_files():
            return
        assert proc.poll() is None, "run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("no part file appeared")


@pytest.mark.parametrize(("sig", "jobs"), [(signal.SIGINT, 2), (signal.SIGKILL, 1)])
def test_interrupted_run_resumes_to_same_table(sig, jobs, slow_cfg_file, slow_reference,
                                               tmp_path):
    out = tmp_path / "out"
    with open(tmp_path / "stderr.txt", "w") as log:
        # one instance per batch: at most `jobs` instances are in flight when the signal lands,
        # so the run stops well before its 30 instances even on an idle, fast machine (with
        # automatic batches of ~1 s of work it could finish first: `assert 30 < 30`)
        proc = cli_run(slow_cfg_file, out, "--jobs", str(jobs), "--batch-size", "1", log=log)
        try:
            _wait_for_rows(out, proc)
            os.kill(proc.pid, sig)
            rc = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = (tmp_path / "stderr.txt").read_text()
    stored = load(out)
    assert 0 < len(stored) < 30, "the run was not interrupted mid-way"
    if sig == signal.SIGINT:
        assert rc == 130 and "re-run the same command to resume" in err
        assert not (out / "run.lock").exists()
        assert ResultStore(out).read_manifest()["runs"][0]["outcome"] == "interrupted"
    else:
        assert rc == -signal.SIGKILL and (out / "run.lock").exists()  # stale lock left behind
    before = stored[["n", "m", "index", "run_id"]]
    s = run(loads_config(SLOW), out, jobs=2)
    assert s.already_done == len(before) and s.computed == 30 - len(before)
    final = load(out)
    kept = before.merge(final, on=["n", "m", "index"], suffixes=("_1", ""))
    assert len(kept) == len(before) and (kept["run_id_1"] == kept["run_id"]).all()
    pd.testing.assert_frame_equal(table(slow_reference), table(out))


# ---- solver failures and limits (in-process, jobs=1: the sequential backend runs here) ----------


def _patch_solver(monkeypatch, bad_index, exc):
    import reluinj.empirical.solve as solve_mod

    real = solve_mod.get_method

    def get_method(name):
        fn = real(name)

        def wrapped(A, **kw):
            if np.array_equal(A, sample_instance(424242, 3, 9, bad_index)):
                raise exc
            return fn(A, **kw)
        return wrapped
    monkeypatch.setattr(solve_mod, "get_method", get_method)


def test_solver_refusal_is_stored_unresolved_never_guessed(small_cfg, tmp_path, monkeypatch):
    from reluinj.empirical.errors import DegenerateInputError
    from reluinj.experiments.analysis import summarize

    _patch_solver(monkeypatch, 2, DegenerateInputError("too close to degenerate"))
    s = run(small_cfg, tmp_path, jobs=1)
    assert s.computed == 24 and s.unresolved == 1
    df = load(tmp_path)
    bad = df[(df.n == 3) & (df.m == 9) & (df["index"] == 2)].iloc[0]
    assert bad.status == "error" and pd.isna(bad.injective) and pd.isna(bad.kstar)
    assert "DegenerateInputError: too close" in bad.error
    row = summarize(df).iloc[0]
    assert (row.n, row.m, row.unresolved, row.resolved) == (3, 9, 1, 5)


def test_solver_crash_stops_the_run_keeps_rows_and_names_the_instance(small_cfg, tmp_path,
                                                                       monkeypatch):
    from reluinj.experiments.runner import RunError

    _patch_solver(monkeypatch, 4, ZeroDivisionError("boom"))
    with pytest.raises(RunError, match=r"n=3 m=9 index=4.*ZeroDivisionError: boom.*re-run"):
        run(small_cfg, tmp_path, jobs=1, batch_size=1)
    stored = load(tmp_path)
    assert 0 < len(stored) < 24 and not (tmp_path / "run.lock").exists()
    assert ResultStore(tmp_path).read_manifest()["runs"][0]["outcome"] == "failed"
    monkeypatch.undo()
    s = run(small_cfg, tmp_path, jobs=1)
    assert s.computed == 24 - len(stored)


def test_time_limit_rows_keep_bounds_and_stay_unresolved(tmp_path):
    cfg = loads_config(SLOW.replace("instances = 30", "instances = 3")
                       .replace("time_limit = 60", "time_limit = 1e-6"))
    s = run(cfg, tmp_path, jobs=1)
    df = load(tmp_path)
    assert s.computed == 3 and (df.status == "time_limit").all()
    assert df.kstar.isna().all() and (df.lower_bound <= df.upper_bound).all()
    for r in df.itertuples():
        if pd.isna(r.injective):
            assert r.lower_bound < r.n <= r.upper_bound
    assert s.unresolved == int(df.injective.isna().sum())
