"""Append-only, resumable results store: one directory of Parquet part files.

Layout of a results directory ``DIR``::

    DIR/config.toml               the validated config the rows were computed under
    DIR/manifest.json             provenance: config hash, and one record per run (versions, git
                                  commit, machine, jobs, start/end, rows written, how it ended)
    DIR/parts/part-<run>-<seq>.parquet   rows, one per solved instance (schema: ROW_SCHEMA)
    DIR/run.lock                  present while a run writes (holds the pid); refuses a 2nd run

Every part file is written to a hidden temporary name, flushed to disk and renamed with
:func:`os.replace` (atomic on POSIX), so a reader or a resumed run sees whole part files only; an
interrupted run loses at most the rows it had not flushed yet.  Rows are never rewritten: the key
of a row is ``(n, m, index)`` and :func:`load` keeps the first row of each key.

Read the rows with ``reluinj.experiments.store.load(DIR)`` or directly with
``pandas.read_parquet(DIR / "parts")``.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from reluinj.empirical.errors import ReluInjError

KEY = ("n", "m", "index")

#: One row per solved instance.  ``status`` is a SolveResult status, or "error" when the solver
#: refused the instance with a ReluInjError (message in ``error``); ``injective`` is null when
#: undecided.  ``witness`` is the certified vector u (k*(A) <= #{<a_i,u> > 0}).
ROW_SCHEMA = pa.schema([
    ("n", pa.int64()),
    ("m", pa.int64()),
    ("index", pa.int64()),
    ("alpha", pa.float64()),            # m / n
    ("alpha_nominal", pa.float64()),    # the config's alpha with m = round(alpha * n)
    ("seed", pa.int64()),               # config seed = SeedSequence entropy
    ("spawn_key", pa.string()),         # "n,m,index" = SeedSequence spawn_key
    ("method", pa.string()),            # method name requested (may be an alias, e.g. "exact")
    ("solver", pa.string()),            # method that produced the result
    ("decision", pa.bool_()),
    ("time_limit", pa.float64()),       # null = none
    ("kstar", pa.int64()),
    ("lower_bound", pa.int64()),
    ("upper_bound", pa.int64()),
    ("injective", pa.bool_()),
    ("status", pa.string()),
    ("time_s", pa.float64()),
    ("nodes", pa.int64()),
    ("lps", pa.int64()),
    ("witness", pa.list_(pa.float64())),
    ("info", pa.string()),              # JSON of SolveResult.info without its timings
    ("timings", pa.string()),           # JSON of the timing entries of SolveResult.info
    ("error", pa.string()),
    ("run_id", pa.string()),
])

#: Columns that differ between two runs of the same config (wall times, which run wrote the row);
#: every other column is a deterministic function of (config, n, m, index) for resolved instances.
VOLATILE_COLUMNS = ("time_s", "timings", "run_id")

PARTS = "parts"
LOCK = "run.lock"
MANIFEST = "manifest.json"
CONFIG = "config.toml"


#: nullable pandas dtypes, so a column's dtype does not depend on whether it holds nulls
_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


class StoreError(ReluInjError):
    """A results directory that cannot be used as asked (locked, other config, unreadable)."""


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and os.replace."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows (dicts with keys of ROW_SCHEMA; missing keys are null) to an Arrow table."""
    rows = list(rows)
    cols = {f.name: [r.get(f.name) for r in rows] for f in ROW_SCHEMA}
    return pa.Table.from_pydict(cols, schema=ROW_SCHEMA)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ResultStore:
    """A results directory (see module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.parts = self.root / PARTS
        self._seq = 0
        self._lock_fd: int | None = None

    # ---- files -----------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG

    def exists(self) -> bool:
        return self.parts.is_dir() or self.config_path.is_file()

    def part_files(self) -> list[Path]:
        """Completed part files, sorted by name (temporary files are not listed)."""
        if not self.parts.is_dir():
            return []
        return sorted(p for p in self.parts.glob("part-*.parquet") if p.is_file())

    def init(self) -> None:
        """Create the directory layout and remove leftover temporary files of a killed run."""
        self.parts.mkdir(parents=True, exist_ok=True)
        for tmp in self.parts.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()

    # ---- lock ------------------------------------------------------------------------------
    def acquire_lock(self) -> None:
        """Create ``run.lock`` exclusively; a lock of a dead process is taken over."""
        path = self.root / LOCK
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(path.read_text().strip() or "0")
                except (OSError, ValueError):
                    pid = 0
                if pid > 0 and pid != os.getpid() and _pid_alive(pid):
                    raise StoreError(
                        f"{self.root} is in use by another run (pid {pid}, lock file {path}); "
                        "wait for it to finish or use another --out"
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # stale lock of a killed run
                continue
            os.write(fd, f"{os.getpid()}\n".encode())
            os.fsync(fd)
            self._lock_fd = fd
            return
        raise StoreError(f"could not create lock file {path}")

    def release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
            with contextlib.suppress(FileNotFoundError):
                (self.root / LOCK).unlink()

    # ---- writing ---------------------------------------------------------------------------
    def append(self, rows: list[Mapping[str, Any]], run_id: str) -> Path | None:
        """Write ``rows`` as one new part file, atomically. Returns its path (None if no rows)."""
        if not rows:
            return None
        self.parts.mkdir(parents=True, exist_ok=True)
        table = rows_to_table(rows)
        while True:
            self._seq += 1
            final = self.parts / f"part-{run_id}-{self._seq:06d}.parquet"
            if not final.exists():
                break
        tmp = self.parts / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(self.parts)
        return final

    # ---- reading ---------------------------------------------------------------------------
    def read_table(self, columns: list[str] | None = None) -> pa.Table:
        """All stored rows (duplicates included) as one Arrow table."""
        files = self.part_files()
        if not files:
            return ROW_SCHEMA.empty_table() if columns is None else pa.table(
                {c: pa.array([], type=ROW_SCHEMA.field(c).type) for c in columns})
        tables = []
        for f in files:
            try:
                tables.append(pq.read_table(f, columns=columns, schema=ROW_SCHEMA))
            except (OSError, pa.ArrowInvalid) as exc:
                raise StoreError(f"unreadable part file {f}: {exc}") from None
        return pa.concat_tables(tables)

    def completed_keys(self) -> set[tuple[int, int, int]]:
        """Keys ``(n, m, index)`` of every stored row."""
        t = self.read_table(columns=list(KEY))
        cols = [t.column(k).to_pylist() for k in KEY]
        return set(zip(*cols, strict=True))

    def load(self) -> pd.DataFrame:
        """Stored rows as a DataFrame: one row per key (first written wins), sorted by key."""
        df = self.read_table().to_pandas(types_mapper=_NULLABLE.get)
        df = df.drop_duplicates(subset=list(KEY), keep="first")
        return df.sort_values(list(KEY), kind="stable").reset_index(drop=True)

    # ---- manifest --------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            return {}
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"unreadable manifest {self.manifest_path}: {exc}") from None

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        data = json.dumps(manifest, indent=2, sort_keys=False, default=str).encode()
        atomic_write_bytes(self.manifest_path, data + b"\n")


def load(root: str | Path) -> pd.DataFrame:
    """Rows of the results directory ``root`` as a DataFrame (deduplicated, sorted by key)."""
    store = ResultStore(root)
    if not store.exists():
        raise FileNotFoundError(f"no results directory at {root} (expected {Path(root) / PARTS})")
    return store.load()


def completed_keys(root: str | Path) -> set[tuple[int, int, int]]:
    """Keys ``(n, m, index)`` already stored in ``root``."""
    return ResultStore(root).completed_keys()
