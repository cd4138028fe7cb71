"""Append-only, resumable, crash-safe results store: one directory of Parquet part files.

Layout of a results directory ``DIR``::

    DIR/config.toml               the validated config the rows were computed under
    DIR/manifest.json             provenance: config hash, and one record per run (versions, git
                                  commit, machine, workers, start/end, rows written, how it ended)
    DIR/parts/part-<run>-<seq>.parquet   rows, one per solved instance (schema: ROW_SCHEMA)
    DIR/run.lock                  locked (flock) while a run writes; holds "pid host"
    DIR/quarantine/               unreadable files moved aside by ``reluinj verify --quarantine``

Crash safety.  Every file (part, manifest, config) is written to a hidden temporary name in the
same directory, flushed and fsync'ed, then renamed with :func:`os.replace` (atomic on POSIX), so
a reader or a resumed run sees whole files only, whatever moment a run is killed at (SIGKILL
included); temporary files of a killed run are deleted by the next run.  Rows are never
rewritten, and a run solves only keys ``(n, m, index)`` that no part file holds yet, so the part
files never hold a key twice (:func:`load` would keep the first row of a key if they did).

One writer.  :meth:`ResultStore.acquire_lock` takes an exclusive ``flock`` on ``run.lock``: the
kernel releases it when the process dies, so a killed run never blocks the next one, and a
second live run is refused.  On file systems without ``flock`` the pid (and host) written in the
file decide instead.

Read the rows with ``reluinj.experiments.store.load(DIR)`` or directly with
``pandas.read_parquet(DIR / "parts")``; :func:`verify` checks every file of a directory.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    ("host", pa.string()),              # machine (worker) that solved the instance
    ("lower_by", pa.string()),          # method that proved lower_bound (e.g. "oracle", "root-lb",
                                        # "trivial"); null in rows stored before this column
    ("upper_by", pa.string()),          # method whose checked witness gives upper_bound
])

#: Columns that differ between two runs of the same config (wall times, which run and machine
#: wrote the row); every other column is a deterministic function of (config, n, m, index) for
#: instances that did not hit their time limit.
VOLATILE_COLUMNS = ("time_s", "timings", "run_id", "host")

PARTS = "parts"
LOCK = "run.lock"
MANIFEST = "manifest.json"
CONFIG = "config.toml"
QUARANTINE = "quarantine"
#: names a results directory may hold (anything else in a non-empty --out is refused)
STORE_NAMES = (PARTS, LOCK, MANIFEST, CONFIG, QUARANTINE)


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


def _proc_start(pid: int) -> str | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
        return stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return None


def _lock_owner_alive(text: str) -> tuple[bool, str]:
    """(alive?, description) of the owner written in a lock file: "pid [host [start]]"."""
    fields = text.split()
    try:
        pid = int(fields[0]) if fields else 0
    except ValueError:
        return False, "unreadable owner"
    host = fields[1] if len(fields) > 1 else None
    start = fields[2] if len(fields) > 2 else None
    who = f"pid {pid}" + (f" on {host}" if host else "")
    if pid <= 0:
        return False, who
    if host is not None and host != socket.gethostname():
        return True, who  # cannot check a process on another machine: assume it runs
    if pid == os.getpid() or not _pid_alive(pid):
        return False, who
    if start not in (None, "-") and _proc_start(pid) not in (None, start):
        return False, who  # the pid was reused by another process
    return True, who


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
        leftovers = [*self.parts.glob(".part-*.tmp"), *self.root.glob(f".{MANIFEST}.*.tmp"),
                     *self.root.glob(f".{CONFIG}.*.tmp")]
        for tmp in leftovers:
            with contextlib.suppress(OSError):
                tmp.unlink()

    # ---- lock ------------------------------------------------------------------------------
    def acquire_lock(self) -> None:
        """Take the run lock, or raise :class:`StoreError` naming the run that holds it.

        An exclusive, non-blocking ``flock`` on ``run.lock`` (released by the kernel when the
        process dies, also on SIGKILL); after it is taken the file is checked to still be the
        one at ``run.lock`` (a concurrent release may have unlinked it).  Where ``flock`` is not
        supported the owner written in the file ("pid host start") decides: a live owner refuses,
        a dead one is taken over.
        """
        import fcntl

        path = self.root / LOCK
        for _ in range(20):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    _, who = _lock_owner_alive(os.pread(fd, 200, 0).decode(errors="replace"))
                    raise StoreError(
                        f"{self.root} is in use by another run ({who}, lock file {path}); wait "
                        "for it to finish or use another --out"
                    ) from None
                except OSError as exc:
                    if exc.errno not in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP,
                                         errno.EINVAL):
                        raise
                    # no flock here (some network file systems): the owner in the file decides
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(path))
                except FileNotFoundError:
                    same = False
                if not same:  # unlinked by the owner releasing it: lock the new file instead
                    os.close(fd)
                    fd = -1
                    continue
                alive, who = _lock_owner_alive(os.pread(fd, 200, 0).decode(errors="replace"))
                if alive:
                    raise StoreError(
                        f"{self.root} is in use by another run ({who}, lock file {path}); wait "
                        "for it to finish or use another --out (if no run is active, delete "
                        f"{path})"
                    )
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} "
                              f"{_proc_start(os.getpid()) or '-'}\n".encode(), 0)
                os.fsync(fd)
                self._lock_fd = fd
                fd = -1
                return
            finally:
                if fd >= 0:
                    os.close(fd)
        raise StoreError(f"could not take the lock file {path} (it keeps changing)")

    def release_lock(self) -> None:
        """Remove ``run.lock`` (while still holding it), then drop the lock."""
        if self._lock_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.root / LOCK).unlink()
            os.close(self._lock_fd)
            self._lock_fd = None

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
    def read_part(self, path: Path, columns: list[str] | None = None) -> pa.Table:
        """One part file with the columns of ROW_SCHEMA (missing ones are null); a file that is
        not Parquet, has a column of another type, or rows without a key raises StoreError."""
        try:
            t = pq.read_table(path, columns=columns, schema=ROW_SCHEMA)
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"unreadable part file {path}: {_first_line(exc)}{_HINT}") from None
        for k in KEY:
            if k in t.column_names and t.column(k).null_count:
                raise StoreError(f"part file {path}: {t.column(k).null_count} rows without a "
                                 f"{k!r} (not a reluinj part file?){_HINT}")
        return t

    def read_table(self, columns: list[str] | None = None) -> pa.Table:
        """All stored rows (duplicates included) as one Arrow table."""
        files = self.part_files()
        if not files:
            return ROW_SCHEMA.empty_table() if columns is None else pa.table(
                {c: pa.array([], type=ROW_SCHEMA.field(c).type) for c in columns})
        return pa.concat_tables([self.read_part(f, columns) for f in files])

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

    def canonical_table(self, drop: Iterable[str] = VOLATILE_COLUMNS) -> pa.Table:
        """The rows as one Arrow table: first row of each key, sorted by key, without ``drop``.

        Two runs of one config give byte-identical canonical tables whatever the backend, the
        number of workers or the interruptions (instances that hit their time limit aside).
        """
        return canonical_rows(self.read_table(), drop)

    def digest(self, drop: Iterable[str] = VOLATILE_COLUMNS) -> str:
        """SHA-256 of the Arrow IPC bytes of :meth:`canonical_table` (compare runs by it)."""
        return table_digest(self.canonical_table(drop))

    def identities(self) -> pd.DataFrame:
        """Distinct ``(n, seed, method, decision, time_limit)`` of the stored rows."""
        cols = ["n", "seed", "method", "decision", "time_limit"]
        t = self.read_table(columns=cols)
        df = t.to_pandas(types_mapper=_NULLABLE.get)
        return df.drop_duplicates().reset_index(drop=True)

    # ---- manifest --------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            return {}
        try:
            m = json.loads(self.manifest_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(f"unreadable manifest {self.manifest_path}: {_first_line(exc)}"
                             f"{_HINT}") from None
        if not isinstance(m, dict) or not isinstance(m.get("runs", []), list):
            raise StoreError(f"unreadable manifest {self.manifest_path}: not a reluinj manifest "
                             f"(expected a JSON object with a list 'runs'){_HINT}")
        return m

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        data = json.dumps(manifest, indent=2, sort_keys=False, default=str).encode()
        atomic_write_bytes(self.manifest_path, data + b"\n")

    # ---- checks ----------------------------------------------------------------------------
    def check_is_store(self) -> None:
        """Refuse a non-empty directory that is not a results directory (e.g. a typo in --out
        pointing at a source tree): a run would write parts/ and files into it."""
        if not self.root.exists():
            return
        if not self.root.is_dir():
            raise StoreError(f"--out {self.root} exists and is not a directory")
        other = sorted(p.name for p in self.root.iterdir() if p.name not in STORE_NAMES)
        if other and not any((self.root / n).exists() for n in (PARTS, CONFIG, MANIFEST)):
            raise StoreError(
                f"{self.root} is a non-empty directory that is not a results directory (it holds "
                f"{', '.join(other[:3])}{', ...' if len(other) > 3 else ''}); use an empty or new "
                "directory for --out"
            )


_HINT = " (reluinj verify DIR --quarantine moves unreadable files aside; their rows are recomputed)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def table_digest(table: pa.Table) -> str:
    """SHA-256 of ``table`` as one Arrow IPC stream (schema + a single record batch)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks(), max_chunksize=max(table.num_rows, 1))
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


# ---- verify ------------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """What :func:`verify` found in a results directory."""

    root: Path
    part_files: int = 0
    rows: int = 0
    keys: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)       # files that cannot be used
    notes: list[str] = field(default_factory=list)          # harmless findings
    quarantined: list[Path] = field(default_factory=list)
    digest: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(root: str | Path, *, quarantine: bool = False) -> VerifyReport:
    """Check every file of a results directory; with ``quarantine`` move unusable ones aside.

    Checked: config.toml parses and validates, manifest.json parses, every part file reads with
    the row schema and has keys, no key is stored twice, the rows agree with the config (seed,
    method, decision, time limits).  ``quarantine`` moves unreadable part files, manifest and
    config into ``DIR/quarantine/`` (nothing is deleted); a re-run then recomputes the rows of the
    moved parts.  It takes the run lock, so it is refused while a run writes.
    """
    import warnings

    from .config import ConfigError, load_config

    store = ResultStore(root)
    rep = VerifyReport(root=store.root)
    if not store.exists():
        raise StoreError(f"{store.root} is not a results directory (no {PARTS}/ or {CONFIG})")
    bad_files: list[Path] = []
    if quarantine:
        store.acquire_lock()
    try:
        cfg = None
        if store.config_path.is_file():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cfg = load_config(store.config_path)
            except ConfigError as exc:
                rep.problems.append(f"{store.config_path}: {exc}")
                bad_files.append(store.config_path)
        if store.manifest_path.is_file():
            try:
                store.read_manifest()
            except StoreError as exc:
                rep.problems.append(str(exc).replace(_HINT, ""))
                bad_files.append(store.manifest_path)
        tables = []
        for f in store.part_files():
            try:
                tables.append(store.read_part(f))
                rep.part_files += 1
            except StoreError as exc:
                rep.problems.append(str(exc).replace(_HINT, ""))
                bad_files.append(f)
        if store.parts.is_dir():
            tmp = list(store.parts.glob(".part-*.tmp"))
            if tmp:
                rep.notes.append(f"{len(tmp)} temporary file(s) of a killed run (deleted by the "
                                 "next run)")
        t = pa.concat_tables(tables) if tables else ROW_SCHEMA.empty_table()
        rep.rows = t.num_rows
        keys = list(zip(*(t.column(k).to_pylist() for k in KEY), strict=True))
        rep.keys = len(set(keys))
        rep.duplicates = rep.rows - rep.keys
        if rep.duplicates:
            rep.notes.append(f"{rep.duplicates} rows repeat a stored key (load() keeps the first)")
        if cfg is not None and t.num_rows:
            ids = t.select(["n", "seed", "method", "decision", "time_limit"]).to_pandas()
            ids = ids.drop_duplicates()
            for r in ids.itertuples(index=False):
                tl = None if pd.isna(r.time_limit) else float(r.time_limit)
                want = (cfg.seed, cfg.method, cfg.decision,
                        cfg.time_limit_for(int(r.n)) if int(r.n) in cfg.n else tl)
                got = (int(r.seed), r.method, bool(r.decision), tl)
                if got != want:
                    rep.problems.append(
                        f"rows at n={int(r.n)} have (seed, method, decision, time_limit) = {got}, "
                        f"{store.config_path} says {want}")
                    break
        if rep.ok or quarantine:
            rep.digest = table_digest(canonical_rows(t))
        if quarantine and bad_files:
            qdir = store.root / QUARANTINE
            qdir.mkdir(exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S")
            for f in bad_files:
                dest = qdir / f"{f.name}.{stamp}"
                os.replace(f, dest)
                rep.quarantined.append(dest)
            _fsync_dir(qdir)
            _fsync_dir(store.parts)
            _fsync_dir(store.root)
    finally:
        if quarantine:
            store.release_lock()
    return rep


def canonical_rows(t: pa.Table, drop: Iterable[str] = VOLATILE_COLUMNS) -> pa.Table:
    """First row of each key, sorted by key, without the ``drop`` columns, one chunk."""
    keys = list(zip(*(t.column(k).to_pylist() for k in KEY), strict=True))
    first: dict[tuple[int, int, int], int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    order = [first[k] for k in sorted(first)]
    t = t.take(pa.array(order, type=pa.int64()))
    return t.drop_columns([c for c in drop if c in t.column_names]).combine_chunks()


def load(root: str | Path) -> pd.DataFrame:
    """Rows of the results directory ``root`` as a DataFrame (deduplicated, sorted by key)."""
    store = ResultStore(root)
    if not store.exists():
        raise FileNotFoundError(f"no results directory at {root} (expected {Path(root) / PARTS})")
    return store.load()


def completed_keys(root: str | Path) -> set[tuple[int, int, int]]:
    """Keys ``(n, m, index)`` already stored in ``root``."""
    return ResultStore(root).completed_keys()
