"""``reluinj bench scaling``: the table it writes, and equal rows from every configuration."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reluinj.experiments import bench_scaling
from reluinj.experiments.cli import main


def _check_outputs(out, reps):
    df = pd.read_csv(out / "scaling.csv")
    assert list(zip(df.backend, df.workers, strict=True)) == [("loky", 1), ("loky", 2),
                                                              ("dask", 1), ("dask", 2)]
    assert (df.inst_per_s > 0).all() and (df.reps == reps).all()
    assert (df[df.workers == 1].ratio_vs_1 == 1.0).all()
    doc = json.loads((out / "scaling.json").read_text())
    assert doc["rows_identical"] is True  # every backend and worker count: the same rows
    assert len({r["digest"] for r in doc["runs"]}) == 1
    assert "| loky | 2 |" in (out / "scaling.md").read_text()


@pytest.mark.slow  # four worker pools started: ~15 s
def test_bench_scaling_tiny_workload(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setitem(bench_scaling.QUICK, "points", [(5, 5.0, 6)])
    rc = main(["bench", "scaling", "--quick", "--out", str(tmp_path)])
    assert rc == 0, capsys.readouterr().err
    _check_outputs(tmp_path, 1)


@pytest.mark.bench
def test_bench_scaling_quick(tmp_path):
    assert bench_scaling.main(quick=True, out=tmp_path) == 0
    _check_outputs(tmp_path, 1)
