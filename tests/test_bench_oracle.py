"""`reluinj bench oracle --quick`: one table from one run, baselines in the same process."""

from __future__ import annotations

import csv

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
