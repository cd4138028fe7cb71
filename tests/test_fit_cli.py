"""``reluinj analyze DIR --fits --json``, ``reluinj report DIR`` and ``reluinj study-grid`` on the
committed laptop store (n = 4..7) and on small synthetic stores."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from reluinj.experiments.cli import main
from reluinj.experiments.config import load_config
from reluinj.experiments.glm_fits import BinomialPoints, fit_curve
from reluinj.experiments.store import load
from reluinj.experiments.study_design import design_study

LAPTOP = Path(__file__).resolve().parents[1] / "results" / "laptop"
FAST = ["--boot", "60", "--levels", "1,2"]


def call(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _strict(text: str):
    def no_nan(x):
        raise ValueError(x)
    return json.loads(text, parse_constant=no_nan)


@pytest.fixture(scope="module")
def laptop_copy(tmp_path_factory):
    d = tmp_path_factory.mktemp("laptop") / "laptop"
    shutil.copytree(LAPTOP, d, ignore=shutil.ignore_patterns("*.png", "*.pdf", "summary.csv"))
    return d


def _is_ci(ci, est=None):
    ok = isinstance(ci, list) and len(ci) == 2 and ci[0] <= ci[1]
    return ok and (est is None or ci[0] <= est <= ci[1])


def test_analyze_fits_json_keys_and_determinism(laptop_copy, capsys):
    rc, out1, err = call(capsys, "analyze", laptop_copy, "--fits", "--json", *FAST)
    assert rc == 0, err
    rc, out2, _ = call(capsys, "analyze", laptop_copy, "--fits", "--json", *FAST)
    assert out1 == out2  # fixed bootstrap seed: identical numbers
    d = _strict(out1)
    assert d["bootstrap"]["seed"] == 20261125 and d["bootstrap"]["replicates"] == 60
    assert [a["n"] for a in d["alpha_50"]] == [4, 5, 6, 7]
    for a in d["alpha_50"]:
        assert _is_ci(a["ci"], a["estimate"]) and 4.5 < a["estimate"] < 6.5
    ests = [a["estimate"] for a in d["alpha_50"]]
    assert ests == sorted(ests)  # the transition moves right with n on these data
    assert _is_ci(d["alpha_inf"]["ci"], d["alpha_inf"]["estimate"])
    # the published capacities outside fl RDT (math.md): full RSB 6.698, Euler heuristic 8.34
    pub = {k: v["alpha_inj"] for k, v in d["theory"]["published"].items()}
    assert pub == {"full_rsb": 6.698, "euler": 8.34}
    lo, hi = d["alpha_inf"]["ci"]
    assert set(d["alpha_inf"]["excludes_published"]) == {k for k, v in pub.items()
                                                         if not lo <= v <= hi}
    assert {e["alpha"] for e in d["e"]} >= {4.0, 5.0, 6.0, 7.0}
    for e in d["e"]:
        assert _is_ci(e["ci"], e["estimate"])
        assert set(e["theory"]) == {"1", "2"}
        # "excludes" is exactly the levels outside the interval
        assert set(e["excludes"]) == {lv for lv, v in e["theory"].items()
                                      if not e["ci"][0] <= v <= e["ci"][1]}
    # another seed changes the bootstrap intervals but not the point estimates
    rc, out3, _ = call(capsys, "analyze", laptop_copy, "--fits", "--json", *FAST, "--seed", "7")
    d3 = _strict(out3)
    assert [a["estimate"] for a in d3["alpha_50"]] == ests
    assert [a["ci"] for a in d3["alpha_50"]] != [a["ci"] for a in d["alpha_50"]]


def test_analyze_without_fits_is_unchanged(laptop_copy, capsys):
    rc, out, _ = call(capsys, "analyze", laptop_copy, "--json")
    recs = _strict(out)
    assert isinstance(recs, list) and len(recs) == 60 and "p_injective" in recs[0]


def test_report_writes_markdown_figures_and_the_analyze_numbers(laptop_copy, capsys):
    rc, out, err = call(capsys, "report", laptop_copy, *FAST)
    assert rc == 0, err
    md = (laptop_copy / "report.md").read_text()
    for stem in ("fit_p_injective", "fit_collapse", "fit_alpha50", "fit_e_alpha"):
        for ext in ("png", "pdf"):
            assert (laptop_copy / f"{stem}.{ext}").stat().st_size > 1000
        assert f"({stem}.png)" in md
    rc, out, _ = call(capsys, "analyze", laptop_copy, "--fits", "--json", *FAST)
    d = _strict(out)
    assert _strict((laptop_copy / "fits.json").read_text()) == d
    # the numbers in the report are those of analyze
    assert f"{d['alpha_inf']['estimate']:.4f}" in md
    for a in d["alpha_50"]:
        assert f"{a['estimate']:.4f}" in md and f"{a['ci'][0]:.4f}" in md
    assert "## Conclusion" in md and "excludes level" in md
    assert "published values outside fl RDT" in md and "Euler-characteristic heuristic" in md
    assert "Generated" in md and "cores" in md


CFG_ONE_ALPHA = """
name = "one"
seed = 5
n = [3, 4]
alpha = [4.0]
instances = 6
method = "exact"
"""


def test_fits_on_data_that_cannot_support_them_give_one_line(tmp_path, capsys):
    cfg = tmp_path / "one.toml"
    cfg.write_text(CFG_ONE_ALPHA)
    rc, _, err = call(capsys, "run", cfg, "--out", tmp_path / "one", "--no-progress")
    assert rc == 0, err
    for cmd in (["analyze", tmp_path / "one", "--fits", "--json"], ["report", tmp_path / "one"]):
        rc, out, err = call(capsys, *cmd, "--levels", "1")
        lines = err.strip().splitlines()
        assert rc == 2 and out == ""
        assert len(lines) == 1 and lines[0].startswith("reluinj: error: nothing could be fitted")
        assert "only 1 value" in lines[0]


def test_study_grid_places_points_and_instances_that_meet_the_target(tmp_path, capsys):
    out = tmp_path / "grid.toml"
    rc, text, err = call(capsys, "study-grid", LAPTOP, "--out", out, "--n", "5", "6", "7", "9")
    assert rc == 0, err
    cfg = load_config(out)
    assert cfg.seed == 20261125 + 1  # independent of the pilot's instances
    rows = load(LAPTOP)
    design = design_study(rows, n_values=(5, 6, 7, 9))
    assert {(p.n, p.m) for p in cfg.points()} == {(p.n, m) for p in design.plans for m in p.m}
    for p in design.plans:
        assert all(p.alpha_50 - 0.75 * p.width - 1 / p.n <= a <= p.alpha_50 + 0.75 * p.width
                   + 1 / p.n for a in p.alphas)
        assert p.halfwidth <= 0.03
    # simulate the design at n = 7 from its own curve: the spread of the fitted alpha_50 matches
    # the predicted half-width (Fisher information of the logit GLM)
    p7 = next(p for p in design.plans if p.n == 7)
    b1 = 2 * math.log(9) / p7.width
    al = np.array(p7.alphas)
    prob = 1 / (1 + np.exp(-b1 * (al - p7.alpha_50)))
    rng = np.random.default_rng(0)
    est = []
    for _ in range(150):
        N = np.full(al.size, p7.instances)
        f = fit_curve(BinomialPoints(7, al, rng.binomial(N, prob), N, np.zeros_like(N)), n_boot=0)
        est.append(f.alpha_50)
    assert 1.96 * np.std(est) == pytest.approx(p7.halfwidth, rel=0.2)


def test_a_study_directory_pools_its_stores_and_drops_duplicate_instances(laptop_copy, tmp_path,
                                                                          capsys):
    study = tmp_path / "study"
    for part in ("a", "b"):  # the same seed twice: the same matrices, kept once
        shutil.copytree(laptop_copy / "parts", study / part / "parts")
    rc, pooled, err = call(capsys, "analyze", study, "--json", *FAST)
    assert rc == 0, err
    pooled = _strict(pooled)
    rc, single, _ = call(capsys, "analyze", laptop_copy, "--json")
    strip = [{k: v for k, v in r.items() if k != "mean_time_s"} for r in _strict(single)]
    assert [{k: v for k, v in r.items() if k != "mean_time_s"} for r in pooled["points"]] == strip
    # a study's `analyze --json` is its fits (the report's numbers) plus the per-point table
    rc, fits, _ = call(capsys, "analyze", study, "--fits", "--json", *FAST)
    assert {k: v for k, v in pooled.items() if k != "points"} == _strict(fits)
    rc, _, err = call(capsys, "report", study, *FAST)
    assert rc == 0, err
    assert _strict((study / "fits.json").read_text()) == _strict(fits)
    assert pooled["alpha_inf"]["estimate"] is not None
