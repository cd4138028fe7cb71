"""Hostile and bad input: every wrong config value, absurd size, bad flag or extreme matrix is
refused by one line naming the field and the allowed values (exit status 2), and an existing
results directory is left byte for byte as it was."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from runhelpers import config_toml, run

from reluinj.experiments.cli import main
from reluinj.experiments.config import (
    ConfigError,
    ConfigWarning,
    load_config,
    loads_config,
)
from reluinj.experiments.dask_backend import DaskBackend
from reluinj.experiments.runner import RunError

HOSTILE = [
    # (key, value, text the message must contain besides the key)
    ("n", "1000000000", "1 <= n <= 1000"),
    ("n", "[4, 1001]", "1 <= n <= 1000"),
    ("n", "-3", "1 <= n <= 1000"),
    ("n", '"5"', "1 <= n <= 1000"),
    ("n", '["a", "b"]', "1 <= n <= 1000"),
    ("n", "[[3]]", "1 <= n <= 1000"),
    ("n", "{ a = 1 }", "1 <= n <= 1000"),
    ("n", "[nan]", "1 <= n <= 1000"),
    ("alpha", "[1e9]", "alpha <= "),
    ("alpha", "[1e300]", "alpha <= "),
    ("alpha", "[-inf]", "> 0"),
    ("alpha", "[nan]", "> 0"),
    ("alpha", "true", "> 0"),
    ("instances", "1000000000000", "1 <= instances <= 10000000"),
    ("instances", "-5", "1 <= instances <= 10000000"),
    ("instances", "nan", "1 <= instances <= 10000000"),
    ("instances", "inf", "1 <= instances <= 10000000"),
    ("instances", "true", "1 <= instances <= 10000000"),
    ("instances", '"many"', "1 <= instances <= 10000000"),
    ("seed", "-1", "0 <= seed <"),
    ("seed", "1e3", "0 <= seed <"),
    ("seed", "[1]", "0 <= seed <"),
    ("time_limit", "1e308", "0 < t <= 1e+07"),
    ("time_limit", "-inf", "0 < t <= 1e+07"),
    ("time_limit", "nan", "0 < t <= 1e+07"),
    ("time_limit", "[1]", "0 < t <= 1e+07"),
    ("batch_size", "1000000000", "0 <= batch_size <= 100000"),
    ("batch_size", "-1", "0 <= batch_size <= 100000"),
    ("decision", "1", "true or false"),
    ("method", '"x" ', "allowed: "),
    ("method", "[1, 2]", "allowed: "),
    ("name", '"' + "a" * 500 + '"', "1 to 100"),
    ("name", '"../../etc"', "letters"),
    ("name", '""', "letters"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), HOSTILE)
def test_hostile_value_is_one_line_naming_key_and_allowed(key, value, allowed):
    with pytest.raises(ConfigError) as ei:
        loads_config(config_toml(**{key: value}))
    msg = str(ei.value)
    assert f"'{key}'" in msg and "allowed" in msg and allowed in msg, msg
    assert "\n" not in msg and len(msg) < 400, msg


def test_total_size_is_bounded():
    # each point is allowed, the product is not: 1000 n x 1 alpha x 10**7 instances
    with pytest.raises(ConfigError, match=r"'instances'.*in total.*at most 1e\+07"):
        loads_config(config_toml(n=str(list(range(1, 21))), instances="10000000"))
    with pytest.raises(ConfigError, match=r"per_n\.4\.'instances'.*<= 10000000"):
        loads_config(config_toml() + "[per_n.4]\ninstances = 100000000000\n")
    with pytest.raises(ConfigError, match=r"per_n\.4\.'alpha'.*alpha <= "):
        loads_config(config_toml() + "[per_n.4]\nalpha = [1e12]\n")
    with pytest.raises(ConfigError, match=r"m\*n <= 1e\+07"):
        loads_config(config_toml(n="[1000]", alpha="[20.0]"))
    ok = loads_config(config_toml(n="[1000]", alpha="[10.0]"))  # m*n = 1e7 exactly: allowed
    assert ok.points()[0].m == 10_000


def test_unknown_keys_warn_but_run():
    with pytest.warns(ConfigWarning, match="'colour'.*known: "):
        cfg = loads_config(config_toml(colour='"blue"', instancez="5"))
    assert cfg.instances == 5


def test_hostile_files(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(config_toml() + "#" * 2_000_000 + "\n")
    with pytest.raises(ConfigError, match="at most 1000000 bytes"):
        load_config(big)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConfigError, match="not a UTF-8 text file|not valid TOML"):
        load_config(binary)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)  # a directory


def _snapshot(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def existing(tmp_path_factory):
    """A finished results directory and its config."""
    d = tmp_path_factory.mktemp("hostile")
    (d / "cfg.toml").write_text(config_toml())
    run(loads_config(config_toml()), d / "res", jobs=1)
    return d


def _cli_cases(d):
    bad = d / "bad.toml"
    return [
        (["run", bad, "--out", d / "res"], "n = 1000000000", "1 <= n <= 1000"),
        (["run", bad, "--out", d / "res"], "instances = 1000000000000", "<= 10000000"),
        (["run", bad, "--out", d / "res"], "alpha = [nan]", "'alpha'"),
        (["run", bad, "--out", d / "res"], 'seed = "x"', "'seed'"),
        (["run", d / "cfg.toml", "--out", d / "res", "--jobs", "100000"], None, "--jobs"),
        (["run", d / "cfg.toml", "--out", d / "res", "--jobs", "-1"], None, "--jobs"),
        (["run", d / "cfg.toml", "--out", d / "res", "--local-cluster", "2"], None,
         "only with --backend dask"),
        (["run", d / "cfg.toml", "--out", d / "res", "--scheduler", "tcp://x:1"], None,
         "only with --backend dask"),
        (["run", d / "cfg.toml", "--out", d / "res", "--backend", "dask", "--local-cluster",
          "0"], None, "--local-cluster"),
        (["run", d / "cfg.toml", "--out", d / "res", "--backend", "dask", "--local-cluster",
          "2", "--scheduler", "tcp://x:1"], None, "not both"),
        (["run", d / "cfg.toml", "--out", d / "res", "--backend", "spark"], None, "invalid choice"),
        (["run", d / "cfg.toml", "--out", d / "res", "--batch-size", "0"], None, "--batch-size"),
        (["run", d / "cfg.toml", "--out", d / "res", "--flush-seconds", "nan"], None,
         "--flush-seconds"),
        (["run", d / "cfg.toml", "--out", d / "cfg.toml"], None, "not a directory"),
        (["verify", d / "nowhere"], None, "not found"),
        (["solve", "--n", "1000000000", "--m", "5", "--seed", "1"], None, "--n"),
        (["solve", "--n", "1000", "--m", "100000", "--seed", "1"], None, "m*n <= 1e+07"),
        (["solve", "--n", "4", "--m", "12", "--seed", "1", "--time-limit", "1e308"], None,
         "--time-limit"),
        (["solve", "--n", "4", "--m", "12", "--seed", "1", "--time-limit", "inf"], None,
         "--time-limit"),
        (["solve", "--matrix", d / "nan.npy"], None, "non-finite"),
        (["solve", "--matrix", d / "inf.npy"], None, "non-finite"),
        (["solve", "--matrix", d / "huge.npy"], None, "1e+150"),
        (["solve", "--matrix", d / "subnormal.npy"], None, "1e-150"),
        (["solve", "--matrix", d / "object.npy"], None, "--matrix"),
        (["bench", "nonsense"], None, "invalid choice"),
    ]


def test_cli_hostile_input_is_one_line_and_leaves_data_untouched(existing, capsys):
    d = existing
    rng = np.random.default_rng(1)
    A = rng.standard_normal((12, 3))
    A[4, 2] = np.nan
    np.save(d / "nan.npy", A)
    np.save(d / "inf.npy", np.where(A == A, A, -np.inf))
    np.save(d / "huge.npy", rng.standard_normal((12, 3)) * 1e200)  # finite: solvers overflow
    np.save(d / "subnormal.npy", rng.standard_normal((12, 3)) * 1e-310)
    np.save(d / "object.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    before = _snapshot(d / "res")
    for argv, bad_text, needle in _cli_cases(d):
        if bad_text is not None:
            key = bad_text.split()[0]
            (d / "bad.toml").write_text(
                "\n".join(bad_text if line.startswith(key + " ") else line
                          for line in config_toml().splitlines()) + "\n")
        rc = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert rc == 2, (argv, rc, err)
        assert len(lines) == 1 and lines[0].startswith("reluinj: error: "), (argv, err)
        assert needle in lines[0], (argv, needle, lines[0])
        assert out == ""
    assert _snapshot(d / "res") == before


def test_hostile_config_in_a_real_process_has_no_traceback(existing):
    d = existing
    (d / "bad2.toml").write_text(config_toml(n="[4]", alpha="[1e300]"))
    before = _snapshot(d / "res")
    p = subprocess.run([sys.executable, "-m", "reluinj.experiments.cli", "run", str(d / "bad2.toml"),
                        "--out", str(d / "res")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "'alpha'" in p.stderr
    assert _snapshot(d / "res") == before


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    pytest.importorskip("distributed")
    be = DaskBackend(1, scheduler="tcp://127.0.0.1:9", connect_timeout=2)
    with pytest.raises(RunError, match=r"cannot connect to the Dask scheduler at tcp://127\.0\.0\.1:9"):
        be.open()
    be.close()
    with pytest.raises(ConfigError, match="--scheduler"):
        DaskBackend(1, scheduler="   ")
    with pytest.raises(ConfigError, match="neither a scheduler file nor an address"):
        DaskBackend(1, scheduler=str(tmp_path / "missing-file")).open()
