"""Exact oracle benchmark: thin wrapper of ``reluinj bench oracle`` (see
:mod:`reluinj.experiments.bench_oracle` for the instances, baselines and columns).

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_oracle.py [--quick] [--out results/oracle]

Also collected by pytest with ``-m bench`` (the quick form).
"""

from __future__ import annotations

import argparse

import pytest

from reluinj.experiments.bench_oracle import main


@pytest.mark.bench
def test_bench_oracle_quick() -> None:
    assert main(quick=True, out=None) == 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="exact oracle benchmark (tables vs baselines)")
    p.add_argument("--quick", action="store_true", help="small subset, well under a minute")
    p.add_argument("--out", default=None, help="directory for the CSV and Markdown tables")
    a = p.parse_args()
    raise SystemExit(main(quick=a.quick, out=a.out))
