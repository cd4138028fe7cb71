"""The ``reluinj`` command line: contracts of solve / run / analyze / plot / theory, and bad input
answered by one line on stderr with exit status 2 (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from reluinj.empirical.certificate import check_witness
from reluinj.experiments.cli import main

SOLVE_KEYS = {"n", "m", "method", "kstar", "lower_bound", "upper_bound", "injective", "witness",
              "status", "time_s"}
ANALYZE_KEYS = {"n", "m", "alpha", "instances", "injective", "p_injective", "ci_low", "ci_high",
                "mean_kstar", "unresolved"}

CFG = """
name = "cli"
seed = 31
n = [3, 4]
alpha = [3.0, 5.0]
instances = 5
method = "enum"
time_limit = 30
"""


def strict_json(text: str):
    def no_nan(x):
        raise ValueError(f"non-JSON constant {x}")
    return json.loads(text, parse_constant=no_nan)


def call(capsys, *argv: str):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    np.save(d / "good.npy", np.random.default_rng(3).standard_normal((12, 4)))
    bad = np.random.default_rng(0).standard_normal((10, 3))
    bad[2, 1] = np.nan
    np.save(d / "nan.npy", bad)
    np.save(d / "inf.npy", np.full((6, 2), np.inf))
    np.save(d / "vec.npy", np.ones(5))
    np.save(d / "cube.npy", np.ones((2, 3, 4)))
    np.save(d / "empty.npy", np.ones((0, 3)))
    np.save(d / "text.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(d / "cplx.npy", np.ones((4, 2), dtype=complex))
    (d / "junk.npy").write_bytes(b"this is not an npy file")
    np.savez(d / "arch.npz", a=np.ones((4, 2)))
    (d / "cfg.toml").write_text(CFG)
    (d / "missing_key.toml").write_text(CFG.replace("instances = 5\n", ""))
    (d / "bad_method.toml").write_text(CFG.replace('"enum"', '"quantum"'))
    (d / "bad_toml.toml").write_text("name = [\n")
    (d / "nodata").mkdir()
    return d


def bad_cases(d):
    return [
        (["run", d / "nope.toml"], "not found"),
        (["run", d / "missing_key.toml"], "'instances'"),
        (["run", d / "bad_method.toml"], "'quantum'"),
        (["run", d / "bad_toml.toml"], "not valid TOML"),
        (["run", d / "cfg.toml", "--jobs", "0"], "--jobs"),
        (["run", d / "cfg.toml", "--jobs", "two"], "--jobs"),
        (["solve", "--n", "4", "--m", "12", "--json"], "missing --seed"),
        (["solve", "--n", "0", "--m", "12", "--seed", "1"], "--n"),
        (["solve", "--n", "4", "--m", "12", "--seed", "-3"], "--seed"),
        (["solve", "--matrix", d / "nope.npy"], "not found"),
        (["solve", "--matrix", d / "nan.npy", "--json"], "non-finite"),
        (["solve", "--matrix", d / "inf.npy", "--json"], "non-finite"),
        (["solve", "--matrix", d / "vec.npy"], "2-D"),
        (["solve", "--matrix", d / "cube.npy"], "2-D"),
        (["solve", "--matrix", d / "empty.npy"], "m >= 1"),
        (["solve", "--matrix", d / "text.npy"], "not a real number type"),
        (["solve", "--matrix", d / "cplx.npy"], "not a real number type"),
        (["solve", "--matrix", d / "junk.npy"], "not a .npy array"),
        (["solve", "--matrix", d / "arch.npz"], "archive"),
        (["solve", "--matrix", d / "good.npy", "--n", "4"], "not both"),
        (["solve", "--n", "4", "--m", "12", "--seed", "1", "--method", "quantum"], "'quantum'"),
        (["solve", "--n", "4", "--m", "12", "--seed", "1", "--time-limit", "-1"], "--time-limit"),
        (["solve", "--n", "4", "--m", "12", "--seed", "1", "--threshold", "0"], "--threshold"),
        (["solve", "--n", "4", "--m", "12", "--seed", "1", "--threshold", "x"], "--threshold"),
        (["solve", "--n", "4", "--m", "12", "--seed", "1", "--method", "enum", "--threshold", "2"],
         "cannot decide k* >= T"),
        (["analyze", d / "nowhere", "--json"], "not found"),
        (["analyze", d / "nodata", "--json"], "not a results directory"),
        (["plot", d / "nowhere"], "not found"),
        (["theory", "--level", "9", "--json"], "level"),
        (["theory", "--level", "1", "--alpha", "1.5", "--json"], "alpha"),
        (["theory", "--level", "1", "--alpha", "nan", "--json"], "--alpha"),
        (["check", d / "nope.npy", d / "nope.proof"], "not found"),
        (["bench"], "oracle"),
        (["frobnicate"], "invalid choice"),
    ]


def test_bad_input_one_line_exit_2(files, capsys):
    for argv, needle in bad_cases(files):
        rc, out, err = call(capsys, *argv)
        lines = err.strip().splitlines()
        assert rc == 2, (argv, rc, err)
        assert len(lines) == 1 and lines[0].startswith("reluinj: error: "), (argv, err)
        assert needle in lines[0], (argv, needle, lines[0])
        assert out == ""


@pytest.mark.parametrize("which", [1, 10, 20, 22])
def test_bad_input_in_a_real_process_has_no_traceback(files, which):
    argv, needle = bad_cases(files)[which]
    p = subprocess.run([sys.executable, "-m", "reluinj.experiments.cli", *map(str, argv)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and needle in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_solve_json_contract_and_seed_contract(files, capsys):
    rc, out, _ = call(capsys, "solve", "--n", 4, "--m", 12, "--seed", 3, "--method", "enum",
                      "--json")
    assert rc == 0
    r = strict_json(out)
    assert SOLVE_KEYS <= set(r)
    assert (r["n"], r["m"], r["seed"], r["method"]) == (4, 12, 3, "enum")
    # --seed S means A = default_rng(S).standard_normal((m, n)): same answer as --matrix
    rc, out2, _ = call(capsys, "solve", "--matrix", files / "good.npy", "--method", "enum",
                       "--json")
    r2 = strict_json(out2)
    assert (r2["kstar"], r2["witness"]) == (r["kstar"], r["witness"])
    A = np.load(files / "good.npy")
    chk = check_witness(A, np.array(r["witness"]))
    assert chk.strict and chk.positives == r["upper_bound"] == r["kstar"]
    assert r["injective"] == (r["kstar"] >= 4)


def test_solve_json_stdout_is_one_object_in_a_real_process():
    # whatever a solver library prints (e.g. a banner on the C-level stdout) goes to stderr
    p = subprocess.run([sys.executable, "-m", "reluinj.experiments.cli", "solve", "--n", "4",
                        "--m", "12", "--seed", "5", "--method", "bnb-lp", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    r = strict_json(p.stdout)
    assert SOLVE_KEYS <= set(r) and r["status"] == "optimal"


def test_solve_m_below_n_is_trivially_not_injective(capsys):
    rc, out, err = call(capsys, "solve", "--n", 5, "--m", 3, "--seed", 1, "--method", "enum",
                        "--json")
    assert rc == 0 and "m = 3 < n = 5" in err
    r = strict_json(out)
    assert r["kstar"] == 0 and r["injective"] is False and "note" in r


def test_solve_certificate_with_a_method_without_proofs_is_refused(tmp_path, capsys):
    rc, out, err = call(capsys, "solve", "--n", 4, "--m", 8, "--seed", 0, "--method", "enum",
                        "--certificate", tmp_path / "p.json", "--json")
    assert rc == 2 and "cannot record proofs" in err and out == ""
    assert not (tmp_path / "p.json").exists()


def test_solve_threshold_decides_and_certifies_k_at_least_t(tmp_path, capsys):
    """--threshold T decides k* >= T (against the exact k* of the same matrix, computed by
    enumeration); a proof of k* >= T (T below n too) is written and `reluinj check` accepts it;
    above k* the witness answers and no proof is written."""
    from reluinj.empirical.enumeration import kstar_enumeration
    from reluinj.empirical.sampling import sample_A

    A = sample_A(5, 30, 2)
    np.save(tmp_path / "A.npy", A)
    k, _ = kstar_enumeration(A)
    assert k >= 3
    for t in (2, k, k + 1):
        cert = tmp_path / f"p{t}.json"
        method = ("--method", "exact") if t != k else ()  # --threshold alone: exact by default
        rc, out, err = call(capsys, "solve", "--matrix", tmp_path / "A.npy", *method,
                            "--threshold", t, "--certificate", cert, "--json")
        r = strict_json(out)
        assert rc == 0 and r["threshold"] == t and r["decision"] is True
        assert r["kstar_at_least_threshold"] is (k >= t)
        if k >= t:
            assert r["lower_bound"] >= t and r["certificate"] == str(cert)
            rc, out, _ = call(capsys, "check", tmp_path / "A.npy", cert)
            assert rc == 0 and out.startswith("VALID") and f">= {t} proven" in out
        else:
            assert r["upper_bound"] < t and r["certificate"] is None and not cert.exists()
            assert "nothing to certify" in err


def test_solve_ctrl_c_prints_the_bounds_proven_so_far():
    """SIGINT to a running `reluinj solve --method exact` ends the search within about a second:
    exit status 130, one JSON object with status 'interrupted' and bounds that hold."""
    import signal
    import time

    from reluinj.empirical.oracle import solve_oracle
    from reluinj.empirical.sampling import sample_A

    solve_oracle(sample_A(6, 30, 0))  # the kernel in the numba cache, so the child starts fast
    p = subprocess.Popen([sys.executable, "-m", "reluinj.experiments.cli", "solve", "--n", "18",
                          "--m", "126", "--seed", "0", "--method", "exact", "--decision",
                          "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6.0)  # the whole decision takes 25-40 s on one core
    p.send_signal(signal.SIGINT)
    t0 = time.perf_counter()
    out, err = p.communicate(timeout=120)
    assert time.perf_counter() - t0 < 10
    assert p.returncode == 130, err
    r = strict_json(out)
    assert r["status"] == "interrupted" and "proven so far" in err
    assert 0 <= r["lower_bound"] <= r["upper_bound"] and r["nodes"] > 0
    chk = check_witness(sample_A(18, 126, 0), np.array(r["witness"]))
    assert chk.strict and chk.positives == r["upper_bound"]


@pytest.fixture
def proof_method(monkeypatch):
    """A registered method that records proofs: the numba oracle (registered here if the
    registry does not list it yet; the CLI calls it in this process)."""
    import inspect

    import reluinj.empirical.solve as solve_mod

    for name in solve_mod.available_methods():
        if "record_proof" in inspect.signature(solve_mod.get_method(name)).parameters:
            return name
    monkeypatch.setitem(solve_mod.METHODS, "oracle", ("oracle:solve_oracle", "numba oracle"))
    return "oracle"


def test_certificate_roundtrip_solve_then_check(proof_method, tmp_path, capsys):
    n, m = 4, 28
    for seed in range(10):
        cert = tmp_path / f"proof-{seed}.json"
        rc, out, err = call(capsys, "solve", "--n", n, "--m", m, "--seed", seed, "--method",
                            proof_method, "--certificate", cert, "--json")
        assert rc == 0, err
        r = strict_json(out)
        if r["injective"]:
            break
        assert "nothing to certify" in err and not cert.exists()
    assert r["injective"] is True and r["certificate"] == str(cert) and cert.is_file()
    np.save(tmp_path / "A.npy", np.random.default_rng(seed).standard_normal((m, n)))
    rc, out, _ = call(capsys, "check", tmp_path / "A.npy", cert)
    assert rc == 0 and out.startswith("VALID")
    # the same proof does not prove anything about another matrix
    np.save(tmp_path / "B.npy", np.random.default_rng(seed + 100).standard_normal((m, n)))
    rc, out, _ = call(capsys, "check", tmp_path / "B.npy", cert)
    assert rc == 1 and out.startswith("INVALID")


def test_certificate_of_a_non_injective_layer_says_so(proof_method, tmp_path, capsys):
    cert = tmp_path / "p.json"
    rc, out, err = call(capsys, "solve", "--n", 4, "--m", 8, "--seed", 0, "--method",
                        proof_method, "--certificate", cert, "--json")
    r = strict_json(out)
    assert rc == 0 and r["injective"] is False and r["certificate"] is None
    assert "nothing to certify" in err and not cert.exists()


def test_run_analyze_plot(files, tmp_path, capsys):
    out_dir = tmp_path / "res"
    rc, _, err = call(capsys, "run", files / "cfg.toml", "--out", out_dir, "--no-progress")
    assert rc == 0 and "done: 20 instances" in err
    rc, _, err = call(capsys, "run", files / "cfg.toml", "--out", out_dir, "--jobs", 2)
    assert rc == 0 and "nothing to do" in err
    rc, out, _ = call(capsys, "analyze", out_dir, "--json")
    rows = strict_json(out)
    assert [(r["n"], r["m"]) for r in rows] == [(3, 9), (3, 15), (4, 12), (4, 20)]
    for r in rows:
        assert ANALYZE_KEYS <= set(r)
        assert r["instances"] == 5 and r["unresolved"] == 0 and r["alpha"] == r["m"] / r["n"]
        assert r["ci_low"] <= r["p_injective"] <= r["ci_high"]
    rc, out, _ = call(capsys, "analyze", out_dir)
    assert rc == 0 and "p_injective" in out
    rc, out, _ = call(capsys, "plot", out_dir, "--levels", "1")
    assert rc == 0
    for stem in ("p_injective", "kstar_over_n"):
        for ext in ("png", "pdf"):
            assert (out_dir / f"{stem}.{ext}").stat().st_size > 5000
    assert (out_dir / "summary.csv").is_file()


def test_theory_level1(capsys):
    rc, out, _ = call(capsys, "theory", "--level", "1", "--json")
    t = strict_json(out)
    assert rc == 0 and t["level"] == "1" and "params" in t and "time_s" in t
    # replica symmetric capacity 7.6477 (Maillard et al. 2023) = level 1 (Stojnic)
    assert t["alpha_inj"] == pytest.approx(7.6477, abs=1e-4)
    rc, out, _ = call(capsys, "theory", "--level", "1", "--alpha", str(t["alpha_inj"]), "--json")
    e = strict_json(out)
    assert (e["level"], e["alpha"]) == ("1", t["alpha_inj"]) and e["e"] == pytest.approx(1.0)
    rc, out, _ = call(capsys, "theory", "--level", "1", "--alpha", "5", "--json")
    assert 0 < strict_json(out)["e"] < 1


def test_theory_table_files(tmp_path, capsys):
    rc, out, _ = call(capsys, "theory", "--table", "--levels", "1", "--out", tmp_path)
    assert rc == 0
    import pandas as pd

    thr = pd.read_csv(tmp_path / "thresholds.csv")
    assert list(thr["level"].astype(str)) == ["1"]
    assert thr["alpha_inj"].iloc[0] == pytest.approx(7.6477, abs=1e-4)
    en = pd.read_csv(tmp_path / "energies.csv")
    assert np.allclose(en["alpha"], np.arange(3.0, 10.01, 0.5))
    assert np.all(np.diff(en["e"]) > 0)
    assert (tmp_path / "thresholds.md").read_text().startswith("| level |")
