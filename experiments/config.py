"""Experiment configuration: a TOML file validated into a frozen :class:`ExperimentConfig`.

Schema (keys not listed here are ignored with a warning)::

    name = "laptop"            # str, letters/digits/._- (<= 100 chars); names the default output dir
    seed = 20261125            # int, 0 <= seed < 2**63 ; entropy of every instance's SeedSequence
    n = [4, 5, 6]              # list of ints, 1 <= n <= 1000 (dimensions)
    alpha = [3.0, 3.5, 4.0]    # list of numbers > 0 ; m = round(alpha * n) (ties to even), m <= 100000
    instances = 100            # int, 1 <= instances <= 10**7, Monte Carlo instances per (n, alpha)
    method = "auto"            # a name from reluinj.empirical.solve.available_methods() (default
                               # "auto": exact oracle where affordable, else bounds; "exact" forces
                               # the oracle)
    time_limit = 60            # seconds per instance (0 < t <= 10**7), or 0 / "none" for no limit
    decision = false           # true: only decide "k* >= n" (k* itself may stay unknown)
    batch_size = 0             # optional: instances per worker task, 0 <= b <= 100000 (0 = automatic)

    [per_n.7]                  # optional overrides for one n: instances, time_limit, alpha
    instances = 50

Instance ``index`` at ``(n, m)`` is the matrix
``default_rng(SeedSequence(entropy=seed, spawn_key=(n, m, index))).standard_normal((m, n))``
(:func:`reluinj.empirical.sampling.sample_instance`), so results do not depend on worker count or
order.  Two alphas rounding to the same m at some n give one point (n, m), solved once.

Size limits (:data:`LIMITS`) keep a typo such as ``n = 10**9`` or ``instances = 10**12`` from
exhausting memory: one matrix has at most ``MAX_ENTRIES`` entries and a config at most
``MAX_TOTAL_INSTANCES`` instances (the runner holds the key list in memory); split bigger studies
into several configs.

A point with ``m < n`` is allowed but trivial: then ``A u = -1`` has a solution, so
``k*(A) = 0 < n`` and the layer is never injective; :func:`load_config` warns about it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reluinj.empirical.errors import ReluInjError


class ConfigError(ReluInjError):
    """A missing or invalid key in an experiment config (message: one line, names the key)."""


class ConfigWarning(UserWarning):
    """Something in a config that is allowed but probably not intended (unknown key, m < n)."""


KNOWN_KEYS = (
    "name", "seed", "n", "alpha", "instances", "method", "time_limit", "decision", "batch_size",
    "per_n", "description",
)
REQUIRED_KEYS = ("name", "seed", "n", "alpha", "instances")
PER_N_KEYS = ("instances", "time_limit", "alpha")
#: solver when a config has no ``method`` key: exact k* where the oracle is affordable (n <= 14
#: without a time limit, n <= 20 within it), proven bounds beyond (reluinj.empirical.auto)
DEFAULT_METHOD = "auto"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_SEED = 2**63
MAX_N = 1000                      # columns of A
MAX_M = 100_000                   # rows of A
MAX_ENTRIES = 10**7               # m * n of one matrix (80 MB of float64)
MAX_INSTANCES = 10**7             # per point, and ...
MAX_TOTAL_INSTANCES = 10**7       # ... per config
MAX_TIME_LIMIT = 1e7              # seconds per instance (about 116 days)
MAX_BATCH_SIZE = 100_000
MAX_CONFIG_BYTES = 1_000_000
LIMITS = {
    "n": MAX_N, "m": MAX_M, "m*n": MAX_ENTRIES, "instances": MAX_INSTANCES,
    "total instances": MAX_TOTAL_INSTANCES, "time_limit": MAX_TIME_LIMIT,
    "batch_size": MAX_BATCH_SIZE,
}


@dataclass(frozen=True)
class Point:
    """One (n, m) point of the experiment with its instance count and time limit."""

    n: int
    m: int
    alpha: float  # nominal alpha from the config (m = round(alpha * n)); the ratio is m / n
    instances: int
    time_limit: float | None

    @property
    def ratio(self) -> float:
        """The actual expansion ``m / n``."""
        return self.m / self.n


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment: the grid ``n × alpha``, ``instances`` per point, the solver."""

    name: str
    seed: int
    n: tuple[int, ...]
    alpha: tuple[float, ...]
    instances: int
    method: str = "auto"
    time_limit: float | None = 60.0
    decision: bool = False
    batch_size: int = 0
    per_n: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""

    # ---- derived --------------------------------------------------------------------------
    def points(self) -> list[Point]:
        """Distinct (n, m) points, in config order; m = round(alpha * n)."""
        seen: dict[tuple[int, int], Point] = {}
        for n in self.n:
            over = self.per_n.get(n, {})
            alphas = over.get("alpha", self.alpha)
            for a in alphas:
                m = round(a * n)
                if (n, m) not in seen:
                    seen[(n, m)] = Point(
                        n=n, m=m, alpha=float(a),
                        instances=int(over.get("instances", self.instances)),
                        time_limit=over.get("time_limit", self.time_limit),
                    )
        return list(seen.values())

    def tasks(self) -> list[tuple[int, int, int]]:
        """All instance keys ``(n, m, index)``."""
        return [(p.n, p.m, i) for p in self.points() for i in range(p.instances)]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON / TOML ready) of the validated config."""
        d: dict[str, Any] = {
            "name": self.name, "seed": self.seed, "n": list(self.n), "alpha": list(self.alpha),
            "instances": self.instances, "method": self.method,
            "time_limit": 0 if self.time_limit is None else self.time_limit,
            "decision": self.decision, "batch_size": self.batch_size,
        }
        if self.description:
            d["description"] = self.description
        if self.per_n:
            d["per_n"] = {
                str(k): {kk: (0 if vv is None else list(vv) if isinstance(vv, tuple) else vv)
                         for kk, vv in v.items()}
                for k, v in sorted(self.per_n.items())
            }
        return d

    def identity(self) -> dict[str, Any]:
        """The keys that decide what a stored row means (seed, solver, its mode and limit).

        A results directory can be extended with more points or instances, but rows solved under a
        different identity cannot be mixed with new ones.
        """
        return {"seed": self.seed, "method": self.method, "decision": self.decision,
                "time_limit": self.time_limit}

    def time_limit_for(self, n: int) -> float | None:
        """Effective per-instance time limit at dimension ``n`` (``per_n`` override or global)."""
        return self.per_n.get(n, {}).get("time_limit", self.time_limit)

    def config_hash(self) -> str:
        """SHA-256 (first 16 hex digits) of the canonical JSON of :meth:`to_dict`."""
        d = self.to_dict()
        d.pop("description", None)
        d.pop("batch_size", None)
        blob = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_toml(self) -> str:
        """The config as TOML text (loads back to an equal config)."""
        d = self.to_dict()
        lines = []
        for k, v in d.items():
            if k != "per_n":
                lines.append(f"{k} = {_toml_value(v)}")
        for nk, over in d.get("per_n", {}).items():
            lines.append(f"\n[per_n.{nk}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in over.items())
        return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


# ---- validation ---------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)) and math.isfinite(v)


def _short(v: Any) -> str:
    """repr of a config value, cut to 60 characters (a hostile value must not flood the error)."""
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _int(d: Mapping[str, Any], key: str, lo: int, hi: int | None = None, where: str = "",
         inclusive: bool = False) -> int:
    """``d[key]`` as an int in ``[lo, hi)`` (``[lo, hi]`` if ``inclusive``)."""
    v = d[key]
    if hi is None:
        allowed = f"an integer >= {lo}"
    else:
        allowed = f"an integer {lo} <= {key} {'<=' if inclusive else '<'} {hi}"
    ok = _is_int(v) and v >= lo and (hi is None or (v <= hi if inclusive else v < hi))
    if not ok:
        raise ConfigError(f"config key {where}{key!r}: got {_short(v)}; allowed: {allowed}")
    return int(v)


def _time_limit(v: Any, where: str = "") -> float | None:
    if isinstance(v, str) and v.lower() == "none":
        return None
    if not _is_num(v) or v < 0 or v > MAX_TIME_LIMIT:
        raise ConfigError(
            f"config key {where}'time_limit': got {_short(v)}; allowed: seconds 0 < t <= "
            f"{MAX_TIME_LIMIT:.0e}, or 0 / \"none\" for no limit"
        )
    return None if v == 0 else float(v)


def _int_list(v: Any, key: str, where: str = "", hi: int = MAX_N) -> tuple[int, ...]:
    vals = v if isinstance(v, list) else [v]
    if not vals or not all(_is_int(x) and 1 <= x <= hi for x in vals):
        raise ConfigError(
            f"config key {where}{key!r}: got {_short(v)}; allowed: an integer 1 <= {key} <= {hi} "
            "or a non-empty list of them"
        )
    if len(set(vals)) != len(vals):
        raise ConfigError(f"config key {where}{key!r}: got {_short(v)}; values must be distinct")
    return tuple(int(x) for x in vals)


def _alpha_list(v: Any, where: str = "") -> tuple[float, ...]:
    vals = v if isinstance(v, list) else [v]
    if not vals or not all(_is_num(x) and x > 0 for x in vals):
        raise ConfigError(
            f"config key {where}'alpha': got {_short(v)}; allowed: a number > 0 or a non-empty "
            "list of them"
        )
    return tuple(float(x) for x in vals)


def validate_config(raw: Mapping[str, Any], *, source: str = "config") -> ExperimentConfig:
    """Validate a parsed TOML mapping; raise :class:`ConfigError` naming the first bad key."""
    from reluinj.empirical.solve import available_methods

    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a TOML table of keys, got {type(raw).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise ConfigError(
            f"{source}: missing required key(s) {', '.join(repr(k) for k in missing)}; "
            f"required: {', '.join(REQUIRED_KEYS)}"
        )
    unknown = [k for k in raw if k not in KNOWN_KEYS]
    if unknown:
        warnings.warn(
            f"{source}: ignoring unknown key(s) {', '.join(repr(k) for k in unknown)}; "
            f"known: {', '.join(KNOWN_KEYS)}",
            ConfigWarning, stacklevel=3,
        )

    name = raw["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(
            f"config key 'name': got {_short(name)}; allowed: a string of 1 to 100 letters, "
            "digits, '.', '_', '-' (not starting with '.', '_' or '-')"
        )
    seed = _int(raw, "seed", 0, MAX_SEED)
    ns = _int_list(raw["n"], "n")
    alphas = _alpha_list(raw["alpha"])
    instances = _int(raw, "instances", 1, MAX_INSTANCES, inclusive=True)
    method = raw.get("method", DEFAULT_METHOD)
    allowed_methods = available_methods()
    if not isinstance(method, str) or method not in allowed_methods:
        raise ConfigError(
            f"config key 'method': got {_short(method)}; allowed: {', '.join(allowed_methods)}"
        )
    time_limit = _time_limit(raw.get("time_limit", 60.0))
    decision = raw.get("decision", False)
    if not isinstance(decision, bool):
        raise ConfigError(f"config key 'decision': got {_short(decision)}; allowed: true or false")
    batch_size = (_int(raw, "batch_size", 0, MAX_BATCH_SIZE, inclusive=True)
                  if "batch_size" in raw else 0)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"config key 'description': got {_short(description)}; allowed: a string")

    per_n: dict[int, dict[str, Any]] = {}
    raw_per_n = raw.get("per_n", {})
    if not isinstance(raw_per_n, Mapping):
        raise ConfigError(
            f"config key 'per_n': got {_short(raw_per_n)}; allowed: tables [per_n.N] with keys "
            f"{', '.join(PER_N_KEYS)}"
        )
    for nk, over in raw_per_n.items():
        try:
            nv = int(nk)
        except ValueError:
            nv = -1
        if nv not in ns:
            raise ConfigError(
                f"config key 'per_n.{_short(nk)[1:-1]}': not one of the configured n; allowed: "
                f"{', '.join(map(str, ns))}"
            )
        if not isinstance(over, Mapping):
            raise ConfigError(f"config key 'per_n.{nk}': got {_short(over)}; allowed: a table")
        bad = [k for k in over if k not in PER_N_KEYS]
        if bad:
            raise ConfigError(
                f"config key 'per_n.{nk}.{_short(bad[0])[1:-1]}': unknown; allowed: "
                f"{', '.join(PER_N_KEYS)}"
            )
        o: dict[str, Any] = {}
        where = f"per_n.{nk}."
        if "instances" in over:
            o["instances"] = _int(over, "instances", 1, MAX_INSTANCES, where=where, inclusive=True)
        if "time_limit" in over:
            o["time_limit"] = _time_limit(over["time_limit"], where=where)
        if "alpha" in over:
            o["alpha"] = _alpha_list(over["alpha"], where=where)
        per_n[nv] = o

    cfg = ExperimentConfig(
        name=name, seed=seed, n=ns, alpha=alphas, instances=instances, method=method,
        time_limit=time_limit, decision=decision, batch_size=batch_size, per_n=per_n,
        description=description,
    )
    points = cfg.points()
    for p in points:
        key = f"per_n.{p.n}.'alpha'" if "alpha" in per_n.get(p.n, {}) else "'alpha'"
        if p.m < 1:
            raise ConfigError(
                f"config key {key}: alpha={p.alpha} at n={p.n} gives m=round(alpha*n)={p.m}; "
                "allowed: alpha*n >= 0.5 so that m >= 1"
            )
        if p.m > MAX_M or p.m * p.n > MAX_ENTRIES:
            hi = min(MAX_M, MAX_ENTRIES // p.n) / p.n
            raise ConfigError(
                f"config key {key}: alpha={p.alpha:.6g} at n={p.n} gives m=round(alpha*n)="
                f"{p.m if p.m < 10**12 else format(p.m, '.6g')}; "
                f"allowed: m <= {MAX_M} and m*n <= {MAX_ENTRIES:.0e}, i.e. alpha <= {hi:.6g} at n={p.n}"
            )
    total = sum(p.instances for p in points)
    if total > MAX_TOTAL_INSTANCES:
        raise ConfigError(
            f"config key 'instances': {total} instances in total ({len(points)} points (n, m)); "
            f"allowed: at most {MAX_TOTAL_INSTANCES:.0e} per config: split the study into several "
            "configs (and results directories)"
        )
    small = [(p.n, p.m) for p in points if p.m < p.n]
    if small:
        warnings.warn(
            f"{source}: points with m < n {small}: there k*(A) = 0 < n trivially (A u = -1 is "
            "solvable), so no instance can be injective",
            ConfigWarning, stacklevel=3,
        )
    return cfg


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment config (see module docstring for the schema)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{p}: {size} bytes; allowed: a config file of at most "
                              f"{MAX_CONFIG_BYTES} bytes")
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc.strerror or exc})") from None
    return validate_config(raw, source=str(p))


def loads_config(text: str, *, source: str = "<string>") -> ExperimentConfig:
    """Validate a config given as TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return validate_config(raw, source=source)
