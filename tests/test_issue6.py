"""Issue 6: ``reluinj bench bounds``, ``auto`` as the default method, every method in Monte Carlo
configs with the method behind each bound recorded, and the algorithmic-threshold analysis.

Properties checked against independent references: the vertex-ray enumeration ``enum`` (exact
k*), :func:`check_witness` on the matrix rebuilt from the seed contract, and synthetic binomial
data with a known 50 % point."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from reluinj.empirical.certificate import check_witness
from reluinj.empirical.sampling import sample_A, sample_instance
from reluinj.empirical.solve import solve
from reluinj.experiments import algthreshold
from reluinj.experiments.cli import main
from reluinj.experiments.config import loads_config
from reluinj.experiments.runner import run_experiment, split_timings
from reluinj.experiments.store import ResultStore, load


def call(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _run(cfg, out):
    return run_experiment(cfg, out, progress=False, log=lambda msg: None)


# ---- reluinj bench bounds --------------------------------------------------------------------


def test_bench_bounds_quick(tmp_path, capsys):
    rc, out, err = call(capsys, "bench", "bounds", "--quick", "--out", tmp_path, "--no-progress")
    assert rc == 0, err
    from reluinj.experiments import bench_bounds as bb

    with open(tmp_path / "bench_bounds_quick.csv") as f:
        rows = list(csv.DictReader(f))
    with open(tmp_path / "bench_bounds_quick_instances.csv") as f:
        per = list(csv.DictReader(f))
    # one row per (point, method), plus the exact oracle where it reaches
    want = sum(len(bb.METHODS) + (c.n <= bb.EXACT_MAX_N) for c in bb.QUICK)
    assert len(rows) == want and set(rows[0]) == set(bb.HEAD)
    # per-instance bounds bracket k*, recomputed here by the independent enumeration solver
    enum: dict[tuple[int, int, int], int] = {}
    for r in per:
        n, m, i = int(r["n"]), int(r["m"]), int(r["index"])
        lo, up = int(r["lower"]), int(r["upper"])
        if n <= 6:  # enumeration is cheap here (C(36, 5) vertex rays)
            if (n, m, i) not in enum:
                enum[n, m, i] = solve(sample_instance(bb.SEED, n, m, i), "enum").kstar
            k = enum[n, m, i]
            assert int(r["kstar"]) == k and lo <= k <= up, r
            if r["method"] == "auto":  # the oracle is affordable here: auto is exact
                assert lo == up == k
    # the summary agrees with the per-instance rows
    for row in rows:
        if row["method"] == "exact":
            continue
        mine = [r for r in per if r["method"] == row["method"] and r["n"] == row["n"]
                and r["alpha"] == row["alpha"]]
        n = int(row["n"])
        ok = sum(int(r["upper"]) < n or int(r["lower"]) >= n for r in mine) / len(mine)
        assert math.isclose(float(row["success"]), ok)
    md = (tmp_path / "bench_bounds_quick.md").read_text()
    assert "Machine:" in md and "Command: `reluinj bench bounds --quick" in md
    assert out.count("| auto |") == len(bb.QUICK)  # one table printed


# ---- auto as the default method ----------------------------------------------------------------


def test_solve_default_method_is_auto_and_exact_at_small_n(capsys):
    for seed in range(4):
        rc, out, err = call(capsys, "solve", "--n", 5, "--m", 30, "--seed", seed, "--json")
        assert rc == 0, err
        r = json.loads(out)
        k = solve(sample_A(5, 30, seed), "enum").kstar
        assert r["method"] == "auto" and r["kstar"] == k and r["status"] == "optimal"
        assert r["info"]["bound_methods"]["lower"] == "oracle"
        assert r["info"]["bound_methods"]["upper"] in ("oracle", "local")
        chk = check_witness(sample_A(5, 30, seed), np.asarray(r["witness"]))
        assert chk.strict and chk.positives == k


def test_solve_auto_beyond_exact_reach_names_its_bounds(capsys):
    rc, out, err = call(capsys, "solve", "--n", 40, "--m", 160, "--seed", 1, "--time-limit", 2,
                        "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["method"] == "auto" and r["info"]["bound_methods"]["upper"] == "local"
    chk = check_witness(sample_A(40, 160, 1), np.asarray(r["witness"]))
    assert chk.strict and chk.positives == r["upper_bound"] < 40 and r["injective"] is False


def test_auto_certificate_roundtrip(tmp_path, capsys):
    n, m = 4, 28
    for seed in range(10):
        cert = tmp_path / f"p{seed}.json"
        rc, out, err = call(capsys, "solve", "--n", n, "--m", m, "--seed", seed,
                            "--certificate", cert, "--json")
        assert rc == 0, err
        if json.loads(out)["injective"]:
            break
    assert cert.is_file()
    np.save(tmp_path / "A.npy", sample_A(n, m, seed))
    rc, out, _ = call(capsys, "check", tmp_path / "A.npy", cert)
    assert rc == 0 and out.startswith("VALID")


def test_config_default_method_is_auto_and_laptop_stays_exact():
    cfg = loads_config('name = "x"\nseed = 1\nn = [4]\nalpha = [3.0]\ninstances = 2\n')
    assert cfg.method == "auto"
    from importlib.resources import files

    lap = loads_config(files("reluinj.experiments.configs").joinpath("laptop.toml").read_text())
    assert lap.method == "exact"


# ---- every method in Monte Carlo configs -------------------------------------------------------

CFG = """
name = "methods"
seed = 606
n = [4, 6]
alpha = [4.0, 7.0]
instances = 2
method = "{method}"
time_limit = 5
decision = {decision}
"""


@pytest.mark.parametrize("method", ["hinge", "irl1", "local", "root-lb", "auto"])
def test_runner_accepts_every_method_and_records_bound_sources(method, tmp_path):
    cfg = loads_config(CFG.format(method=method, decision="false"))
    _run(cfg, tmp_path / "r")
    df = load(tmp_path / "r")
    assert len(df) == len(cfg.tasks()) and (df["method"] == method).all()
    assert df["lower_by"].notna().all() and df["upper_by"].notna().all()
    for r in df.itertuples(index=False):
        A = sample_instance(cfg.seed, r.n, r.m, r.index)
        k = solve(A, "oracle").kstar  # exact reference (the oracle is tested against enum)
        assert r.lower_bound <= k <= r.upper_bound
        chk = check_witness(A, np.asarray(r.witness))
        assert chk.strict and chk.positives == r.upper_bound
        info = json.loads(r.info) if r.info else {}
        assert info.get("bound_methods", {}).get("upper", method) == r.upper_by
        if method == "auto":  # the oracle is affordable at n <= 6: exact, by the oracle
            assert r.kstar == k and r.lower_by == "oracle"
        if method in ("hinge", "irl1", "local"):
            assert r.lower_by == "trivial" and r.upper_by == method


def test_exact_rows_name_the_solver_and_auto_rows_are_reproducible(tmp_path):
    cfg = loads_config(CFG.format(method="exact", decision="false"))
    _run(cfg, tmp_path / "e")
    df = load(tmp_path / "e")
    assert (df["lower_by"] == "oracle").all() and (df["upper_by"] == "oracle").all()
    auto = loads_config(CFG.format(method="auto", decision="true"))
    _run(auto, tmp_path / "a1")
    _run(auto, tmp_path / "a2")
    # timings are split off at every depth (auto_plan entries), so two runs agree exactly
    assert ResultStore(tmp_path / "a1").digest() == ResultStore(tmp_path / "a2").digest()
    a = load(tmp_path / "a1")
    assert (a["injective"] == (df["kstar"] >= df["n"])).all()


def test_split_timings_nested():
    info = {"auto_plan": [{"step": "greedy", "count": 5, "time_s": 0.1},
                          {"step": "oracle", "status": "optimal"}],
            "oracle_info": {"nodes": 3, "kernel_s": 0.2}, "lp_seconds": 1.0, "x": 1}
    det, tim = split_timings(info)
    assert det == {"auto_plan": [{"step": "greedy", "count": 5}, {"step": "oracle",
                                                                   "status": "optimal"}],
                   "oracle_info": {"nodes": 3}, "x": 1}
    assert tim == {"auto_plan": [{"time_s": 0.1}, None], "oracle_info": {"kernel_s": 0.2},
                   "lp_seconds": 1.0}


# ---- algorithmic threshold -------------------------------------------------------------------


def test_fit_alpha50_recovers_a_known_logistic_curve():
    rng = np.random.default_rng(np.random.SeedSequence(61))
    alphas = np.arange(4.0, 8.01, 0.5)
    true50, slope = 6.2, -3.0
    p = 1.0 / (1.0 + np.exp(-slope * (alphas - true50)))
    N = np.full(alphas.size, 400)
    k = rng.binomial(N, p)
    f = algthreshold.fit_alpha50(alphas, k, N)
    assert f.fit == "glm" and f.ci_low < true50 < f.ci_high and abs(f.alpha50 - true50) < 0.1
    assert f.ci_high - f.ci_low < 0.3 and abs(f.slope - slope) < 0.5


def test_fit_alpha50_edge_cases():
    f = algthreshold.fit_alpha50([5.0, 5.5, 6.0, 6.5], [10, 10, 0, 0], [10, 10, 10, 10])
    assert f.fit == "bracket" and (f.ci_low, f.ci_high, f.alpha50) == (5.5, 6.0, 5.75)
    f = algthreshold.fit_alpha50([5.0, 5.5, 6.0], [10, 6, 0], [10, 10, 10])
    assert f.fit == "bracket" and (f.ci_low, f.ci_high) == (5.5, 6.0)
    assert algthreshold.fit_alpha50([5.0, 6.0], [0, 0], [4, 4]).fit == "all-failure"
    assert algthreshold.fit_alpha50([5.0, 6.0], [4, 4], [4, 4]).fit == "all-success"
    with pytest.raises(algthreshold.AlgThresholdError, match="successes <= trials"):
        algthreshold.fit_alpha50([5.0], [5], [4])


ALG = """
name = "alg"
seed = 7
n = [8, 20]
alpha = [3.0, 4.5, 6.0]
instances = 4
method = "hinge"
time_limit = 10
decision = true
"""


def test_alg_threshold_cli_on_a_run(tmp_path, capsys):
    cfg = loads_config(ALG)
    _run(cfg, tmp_path / "r")
    rc, out, err = call(capsys, "alg-threshold", tmp_path / "r", "--out", tmp_path / "o",
                        "--no-plot")
    assert rc == 0, err
    import pandas as pd

    st = pd.read_csv(tmp_path / "o" / "success.csv")
    df = load(tmp_path / "r")
    # certified = the stored non-injective answers, each witness re-checked on its matrix
    for (n, m), g in df.groupby(["n", "m"]):
        row = st[(st.n == n) & (st.m == m)].iloc[0]
        assert row.certified == int(g["injective"].eq(False).fillna(False).sum())
        assert row.instances == len(g)
    est = pd.read_csv(tmp_path / "o" / "alpha_alg.csv")
    assert set(est["n"]) == {8, 20} and set(est["method"]) == {"hinge"}
    # a tampered witness is not counted
    bad = df.copy()
    i = int(np.flatnonzero(bad["injective"].eq(False).fillna(False).to_numpy(bool))[0])
    bad.at[i, "witness"] = list(-np.asarray(bad.at[i, "witness"]))
    assert not algthreshold.verify_rows(bad.iloc[[i]]).iloc[0]


def test_alg_threshold_bad_input(tmp_path, capsys):
    rc, out, err = call(capsys, "alg-threshold", tmp_path / "nope", "--out", tmp_path / "o")
    assert rc == 2 and err.startswith("reluinj: error:") and err.count("\n") == 1


def test_plot_alpha_alg_writes_png_and_pdf(tmp_path):
    import pandas as pd

    est = pd.DataFrame([
        {"method": "hinge", "n": 20, "alpha50": 5.0, "ci_low": 4.8, "ci_high": 5.2},
        {"method": "hinge", "n": 50, "alpha50": 5.2, "ci_low": 5.0, "ci_high": 5.5},
        {"method": "auto", "n": 20, "alpha50": math.nan, "ci_low": 7.0, "ci_high": math.inf},
    ])
    paths = algthreshold.plot_alpha_alg(est, tmp_path, levels=("1",))
    assert [p.name for p in paths] == ["alpha_alg.png", "alpha_alg.pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
