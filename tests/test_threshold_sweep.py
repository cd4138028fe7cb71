"""benchmarks/oracle_threshold_sweep.py: the fit of nodes against the threshold and n, and a run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "oracle_threshold_sweep.py"
sys.path.insert(0, str(SCRIPT.parent))

import oracle_threshold_sweep as ts  # noqa: E402


def test_fit_recovers_exactly_geometric_counts() -> None:
    """nodes = 7 c^t f^n exactly: the fit returns c and f; searches that found a witness below t
    (k* < t) are left out."""
    c, f = 2.2, 1.15
    recs = [{"n": n, "seed": 0,
             "runs": [{"t": t, "nodes": 7 * c**t * f**n, "cpu_s": 0.0, "kstar_at_least_t": True}
                      for t in range(n - 4, n + 1)]
             + [{"t": n + 3, "nodes": 1, "cpu_s": 0.0, "kstar_at_least_t": False}]}
            for n in (8, 10, 12)]
    got_c, got_f, k = ts.fit(recs)
    assert ts.fit(recs, -2)[2] == 9  # t >= n - 2 only
    assert got_c == pytest.approx(c) and got_f == pytest.approx(f) and k == 15
    assert ts.fit(recs[:1]) is None  # one size: f is not identified


def test_script_runs_resumes_and_rejects_bad_input(tmp_path) -> None:
    out = tmp_path / "s.jsonl"
    args = [sys.executable, str(SCRIPT), "--n", "6", "7", "--seeds", "2", "--dt", "-2", "0",
            "--out", str(out)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "per unit of threshold" in r.stdout and len(out.read_text().splitlines()) == 4
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len(out.read_text().splitlines()) == 4
    bad = subprocess.run([sys.executable, str(SCRIPT), "--seeds", "0"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--seeds" in bad.stderr
