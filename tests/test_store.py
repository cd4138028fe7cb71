"""Results store: append-only part files, atomic writes, dedup on load, lock, manifest."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from reluinj.experiments.store import (
    KEY,
    ROW_SCHEMA,
    ResultStore,
    StoreError,
    completed_keys,
    load,
)


def row(n, m, i, **kw):
    r = dict(n=n, m=m, index=i, alpha=m / n, seed=1, spawn_key=f"{n},{m},{i}", method="enum",
             status="optimal", kstar=i, lower_bound=i, upper_bound=i, injective=i >= n,
             time_s=0.01, nodes=1, lps=0, witness=[1.0, -2.0, 0.5][:n])
    r.update(kw)
    return r


def test_append_load_dedup_sorted(tmp_path):
    st = ResultStore(tmp_path / "r")
    st.init()
    st.append([row(3, 9, 2), row(3, 9, 0, witness=None, injective=None, kstar=None)], "a")
    st.append([row(3, 9, 1), row(3, 9, 2, kstar=99)], "a")  # (3, 9, 2) again: first one wins
    df = load(tmp_path / "r")
    assert list(df.columns) == ROW_SCHEMA.names
    assert [tuple(x) for x in df[list(KEY)].to_numpy()] == [(3, 9, 0), (3, 9, 1), (3, 9, 2)]
    assert df.loc[2, "kstar"] == 2
    assert pd.isna(df.loc[0, "injective"]) and df.loc[0, "witness"] is None
    assert list(df.loc[1, "witness"]) == [1.0, -2.0, 0.5]
    assert completed_keys(tmp_path / "r") == {(3, 9, 0), (3, 9, 1), (3, 9, 2)}
    assert len(st.part_files()) == 2


def test_temporary_files_are_invisible_and_cleaned(tmp_path):
    st = ResultStore(tmp_path)
    st.init()
    st.append([row(3, 9, 0)], "a")
    # what a run killed in the middle of a write leaves behind: a hidden, truncated temp file
    junk = st.parts / ".part-a-000002.parquet.1234abcd.tmp"
    junk.write_bytes(b"PAR1 truncated")
    assert st.completed_keys() == {(3, 9, 0)}
    assert len(load(tmp_path)) == 1
    ResultStore(tmp_path).init()
    assert not junk.exists()


def test_append_never_overwrites(tmp_path):
    a, b = ResultStore(tmp_path), ResultStore(tmp_path)  # two writers with the same run id
    p1 = a.append([row(3, 9, 0)], "x")
    p2 = b.append([row(3, 9, 1)], "x")
    assert p1 != p2 and p1.exists() and p2.exists()
    assert a.completed_keys() == {(3, 9, 0), (3, 9, 1)}


def test_empty_store(tmp_path):
    st = ResultStore(tmp_path)
    st.init()
    assert st.completed_keys() == set()
    assert load(tmp_path).empty
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing")


def test_lock_refuses_live_owner_and_takes_over_stale(tmp_path):
    st = ResultStore(tmp_path)
    st.acquire_lock()
    assert (tmp_path / "run.lock").read_text().split()[0] == str(os.getpid())
    st.release_lock()
    assert not (tmp_path / "run.lock").exists()

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "run.lock").write_text(f"{sleeper.pid}\n")
        with pytest.raises(StoreError, match="in use by another run"):
            ResultStore(tmp_path).acquire_lock()
    finally:
        sleeper.kill()
        sleeper.wait()
    # the owner is dead now: its lock is stale and is taken over
    st2 = ResultStore(tmp_path)
    st2.acquire_lock()
    assert (tmp_path / "run.lock").read_text().split()[0] == str(os.getpid())
    st2.release_lock()


def test_manifest_roundtrip_atomic(tmp_path):
    st = ResultStore(tmp_path)
    assert st.read_manifest() == {}
    st.write_manifest({"runs": [{"run_id": "a", "end": None}]})
    assert st.read_manifest()["runs"][0]["run_id"] == "a"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temp file left


def test_unreadable_part_is_a_clear_error(tmp_path):
    st = ResultStore(tmp_path)
    st.init()
    (st.parts / "part-bad-000001.parquet").write_bytes(b"not parquet")
    with pytest.raises(StoreError, match="unreadable part file"):
        st.load()
