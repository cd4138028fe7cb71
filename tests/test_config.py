"""Experiment config: the shipped configs load, every bad key gives a one-line error naming it."""

from __future__ import annotations

import warnings
from importlib import resources

import pytest
from runhelpers import config_toml

from reluinj.experiments.config import (
    ConfigError,
    ConfigWarning,
    load_config,
    loads_config,
)


def shipped(name: str):
    return resources.files("reluinj.experiments.configs").joinpath(name)


def test_shipped_configs_load():
    lap = load_config(shipped("laptop.toml"))
    assert lap.n == (4, 5, 6, 7)
    assert lap.alpha == tuple(3.0 + 0.5 * i for i in range(15))
    assert lap.instances == 100 and lap.method == "exact" and lap.decision is False
    assert len(lap.tasks()) == 4 * 15 * 100
    smoke = load_config(shipped("smoke.toml"))
    assert smoke.n == (3, 4) and len(smoke.alpha) == 3 and smoke.instances == 10


def test_points_use_round_and_merge_duplicates():
    cfg = loads_config(config_toml(n="[4]", alpha="[3.0, 3.1, 3.5]"))
    # 3.0*4 = 12 and 3.1*4 = 12.4 both round to 12: one point; 3.5*4 = 14
    assert [(p.n, p.m) for p in cfg.points()] == [(4, 12), (4, 14)]
    assert cfg.points()[0].alpha == 3.0
    assert [t for t in cfg.tasks() if t[1] == 12] == [(4, 12, i) for i in range(5)]


def test_defaults_and_roundtrip():
    cfg = loads_config(config_toml(method=None, time_limit=None))
    assert cfg.method == "auto" and cfg.time_limit == 60.0 and cfg.decision is False
    assert loads_config(cfg.to_toml()) == cfg
    assert cfg.config_hash() == loads_config(cfg.to_toml()).config_hash()
    assert cfg.config_hash() != loads_config(config_toml(seed="8", method=None,
                                                         time_limit=None)).config_hash()


def test_time_limit_none_and_per_n_overrides():
    cfg = loads_config(config_toml(time_limit='"none"') + "[per_n.4]\ninstances = 2\ntime_limit = 3\n")
    pts = {(p.n, p.m): p for p in cfg.points()}
    assert pts[(3, 9)].time_limit is None and pts[(3, 9)].instances == 5
    assert pts[(4, 16)].time_limit == 3.0 and pts[(4, 16)].instances == 2
    assert len(cfg.tasks()) == 2 * 5 + 2 * 2
    assert loads_config(cfg.to_toml()) == cfg


@pytest.mark.parametrize("key", ["name", "seed", "n", "alpha", "instances"])
def test_missing_required_key(key):
    with pytest.raises(ConfigError) as ei:
        loads_config(config_toml(**{key: None}))
    msg = str(ei.value)
    assert repr(key) in msg and "\n" not in msg


BAD = [
    ("name", '"a b"'), ("name", "3"),
    ("seed", "-1"), ("seed", '"x"'), ("seed", "9223372036854775808"), ("seed", "1.5"),
    ("n", "[]"), ("n", "[0, 3]"), ("n", "[3, 3]"), ("n", "2.5"), ("n", "[true]"),
    ("alpha", "[-1.0]"), ("alpha", '["a"]'), ("alpha", "[nan]"), ("alpha", "[inf]"),
    ("alpha", "[]"),
    ("instances", "0"), ("instances", "2.0"),
    ("method", '"no-such-solver"'), ("method", "1"),
    ("time_limit", "-1"), ("time_limit", '"soon"'), ("time_limit", "nan"),
    ("decision", '"yes"'), ("batch_size", "-2"),
]


@pytest.mark.parametrize(("key", "value"), BAD)
def test_bad_value_names_key_value_and_allowed(key, value):
    with pytest.raises(ConfigError) as ei:
        loads_config(config_toml(**{key: value}))
    msg = str(ei.value)
    assert f"'{key}'" in msg, msg
    assert "allowed" in msg or "distinct" in msg, msg
    assert "\n" not in msg


def test_unknown_method_lists_allowed():
    with pytest.raises(ConfigError, match="allowed: .*exact"):
        loads_config(config_toml(method='"simplex"'))


def test_per_n_errors():
    with pytest.raises(ConfigError, match=r"per_n\.9"):
        loads_config(config_toml() + "[per_n.9]\ninstances = 2\n")
    with pytest.raises(ConfigError, match=r"per_n\.4\.colour"):
        loads_config(config_toml() + "[per_n.4]\ncolour = 2\n")
    with pytest.raises(ConfigError, match=r"per_n\.4\.'instances'"):
        loads_config(config_toml() + "[per_n.4]\ninstances = 0\n")


def test_unknown_key_warns():
    with pytest.warns(ConfigWarning, match="colour"):
        loads_config(config_toml(colour='"blue"'))


def test_m_below_n_allowed_with_warning_and_m_zero_rejected():
    with pytest.warns(ConfigWarning, match="m < n"):
        cfg = loads_config(config_toml(alpha="[0.5, 3.0]"))
    assert (4, 2) in [(p.n, p.m) for p in cfg.points()]
    with pytest.raises(ConfigError, match="m >= 1"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loads_config(config_toml(alpha="[0.1]"))


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
