"""`reluinj bench oracle --quick`: one table from one run, baselines in the same process."""

from __future__ import annotations

import csv

import pytest

from reluinj.experiments.cli import main

COLUMNS = ["n", "alpha", "m", "mode", "method", "instances", "solved", "median_s", "max_s",
           "median_cpu_s", "median_nodes", "speedup_vs_baseline", "answers_agree", "profile"]


def test_bench_oracle_quick_writes_one_table(tmp_path, capsys) -> None:
    assert main(["bench", "oracle", "--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    with open(tmp_path / "bench_oracle_quick.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == COLUMNS
    methods = {r["method"] for r in rows}
    assert {"oracle", "enum", "bnb-lp"} <= methods
    for r in rows:
        assert int(r["solved"]) == int(r["instances"]) > 0
        if r["method"] != "oracle":
            # the baselines ran on the same instances and gave the same answers
            assert r["answers_agree"] == "yes"
            assert float(r["speedup_vs_baseline"].lstrip(">")) > 1.0
    md = (tmp_path / "bench_oracle_quick.md").read_text()
    assert "Machine:" in md and "| n | alpha |" in md and "## Ablation" in md
    # the table and the ablation are printed as they run, and the files are named
    assert printed.splitlines()[0].split()[:5] == ["n", "a", "m", "mode", "method"]
    assert "ablation:" in printed and "wrote " in printed and "bench_oracle_quick.md" in printed
    # every instance of every row, with its seed, in *_instances.csv
    with open(tmp_path / "bench_oracle_quick_instances.csv") as f:
        inst = list(csv.DictReader(f))
    for r in rows:
        mine = [x for x in inst if (x["n"], x["alpha"], x["mode"], x["method"])
                == (r["n"], r["alpha"], r["mode"], r["method"])]
        assert [int(x["seed"]) for x in mine] == list(range(int(r["instances"])))
        times = sorted(float(x["time_s"]) for x in mine)
        assert max(times) == pytest.approx(float(r["max_s"]))
        assert all(x["status"] in ("optimal", "decided") and x["answer"] != "" for x in mine)


def test_growth_per_n_and_its_split_into_nodes_and_cost_per_node() -> None:
    """On rows whose medians grow exactly geometrically (time x3, nodes x2.5 per unit n) the fit
    returns the ratios, and the report splits the time's growth into nodes x cost per node."""
    from reluinj.experiments.bench_oracle import growth_per_n, targets_report

    rows = [{"method": "oracle", "mode": "decision", "alpha": 7, "n": n, "instances": 10,
             "solved": 10, "median_s": 0.01 * 3.0 ** (n - 12), "median_cpu_s": 0.01 * 3.0 ** (n - 12),
             "max_s": 1.0, "median_nodes": 1000 * 2.5 ** (n - 12)} for n in range(12, 19)]
    rows.append({**rows[0], "method": "enum", "median_s": 99.0})  # other methods are ignored
    assert growth_per_n(rows) == pytest.approx(3.0)
    assert growth_per_n(rows, key="median_nodes") == pytest.approx(2.5)
    rep = targets_report(rows)
    assert any("median_s (n >= 12): x3.00, target <= x2.5: NOT MET" in line for line in rep)
    assert "of which: median nodes x2.50 per unit n, cost per node x1.20" in rep


def test_growth_profile_script_runs_and_its_gap_shares_add_up() -> None:
    """benchmarks/oracle_growth_profile.py (the command behind results/oracle/growth_profile.md)
    runs on small sizes; each row's node shares by gap add up to 100 % (up to rounding)."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "oracle_growth_profile.py"
    out = subprocess.run([sys.executable, str(script), "--n", "8", "9", "--seeds", "2"],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    assert "ratio per unit n between consecutive sizes" in out
    shares = [line for line in out.splitlines() if re.match(r"\| (8|9) \| \d+ % /", line)]
    assert len(shares) == 2
    for line in shares:
        nodes_pct = [int(c.split("%")[0]) for c in line.strip("|").split("|")[1:]]
        assert abs(sum(nodes_pct) - 100) <= len(nodes_pct)
    bad = subprocess.run([sys.executable, str(script), "--seeds", "0"], capture_output=True,
                         text=True, timeout=600)
    assert bad.returncode == 2 and "--seeds must be at least 1" in bad.stderr


def _rows_with_runs(time_of, nodes_of, seeds=10):
    rows = []
    for n in range(12, 19):
        runs = [{"time_s": time_of(n, s), "cpu_s": time_of(n, s), "nodes": nodes_of(n, s)}
                for s in range(seeds)]
        rows.append({"method": "oracle", "mode": "decision", "alpha": 7, "n": n, "runs": runs})
    return rows


def test_growth_interval_bootstrap_over_seeds() -> None:
    """The bootstrap interval of the growth: a single point when every seed has the same value
    (exactly geometric in n); on noisy seeds it contains the fit of the medians, narrows as the
    seeds grow in number (1/sqrt(k)), and is reproducible from its own seed."""
    import numpy as np

    from reluinj.experiments.bench_oracle import growth_interval, growth_per_n

    exact = _rows_with_runs(lambda n, s: 0.01 * 3.0 ** (n - 12), lambda n, s: 2.5 ** (n - 12))
    assert growth_interval(exact) == pytest.approx((3.0, 3.0))
    assert growth_interval(exact, key="nodes") == pytest.approx((2.5, 2.5))

    noise = np.random.default_rng(1).lognormal(0.0, 0.5, size=(19, 400))
    few = _rows_with_runs(lambda n, s: 3.0 ** n * noise[n, s], lambda n, s: 1, seeds=10)
    many = _rows_with_runs(lambda n, s: 3.0 ** n * noise[n, s], lambda n, s: 1, seeds=400)
    lo, hi = growth_interval(few)
    med = [{"method": "oracle", "mode": "decision", "alpha": 7, "n": r["n"],
            "median_s": float(np.median([x["time_s"] for x in r["runs"]]))} for r in few]
    assert lo < growth_per_n(med) < hi
    lo2, hi2 = growth_interval(many)
    assert lo2 < 3.0 < hi2 and hi2 - lo2 < (hi - lo) / 3
    assert growth_interval(few) == (lo, hi)  # same seed, same draws
    assert growth_interval(few[:1]) is None  # one size: nothing to fit
    # rows without per-instance data (a table read back from the CSV) give no interval
    assert growth_interval([{k: v for k, v in r.items() if k != "runs"} for r in few]) is None


def test_targets_report_gives_the_interval_when_instances_are_known() -> None:
    from reluinj.experiments.bench_oracle import targets_report

    rows = _rows_with_runs(lambda n, s: 0.01 * 3.0 ** (n - 12), lambda n, s: 2.5 ** (n - 12))
    for r in rows:
        r.update(instances=10, solved=10, max_s=1.0, median_s=r["runs"][0]["time_s"],
                 median_cpu_s=r["runs"][0]["time_s"], median_nodes=r["runs"][0]["nodes"])
    rep = targets_report(rows)
    assert ("95 % bootstrap interval over the seeds (instances resampled per n): "
            "time x3.00-x3.00, nodes x2.50-x2.50 per unit n") in rep


def test_growth_seeds_script_resumes_pools_and_rejects_bad_input(tmp_path) -> None:
    """benchmarks/oracle_growth_seeds.py appends one line per instance, does not solve an
    instance twice (a stopped run resumes), pools a second file without counting a seed twice,
    and prints the growth with its interval; bad --seeds is a usage error."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "oracle_growth_seeds.py"
    out = tmp_path / "inst.csv"

    def run(*args: str) -> str:
        return subprocess.run([sys.executable, str(script), "--n", "7", "8", "--fit-from", "7",
                               "--out", str(out), *args], capture_output=True, text=True,
                              timeout=600, check=True).stdout

    run("--seeds", "0-2")
    printed = run("--seeds", "0-3", "--with", str(out))  # only seed 3 is new; out pooled twice
    assert printed.count("] n=") == 2  # n=7 and n=8, seed 3
    with open(out) as f:
        inst = list(csv.DictReader(f))
    assert sorted((int(x["n"]), int(x["seed"])) for x in inst) == [
        (n, s) for n in (7, 8) for s in range(4)]
    assert all(x["status"] == "decided" for x in inst)
    assert "| 7 | 4 |" in printed and "| 8 | 4 |" in printed
    assert "growth per unit n of the median nodes (n >= 7): x" in printed
    assert "95 % bootstrap interval over the seeds" in printed
    bad = subprocess.run([sys.executable, str(script), "--seeds", "5-2", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "--seeds: expected ranges like 10-19" in bad.stderr
