"""Provenance of a run: package and library versions, git commit, machine, times."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = (
    "numpy", "scipy", "highspy", "cvxpy", "numba", "joblib", "pandas", "pyarrow", "matplotlib",
    "tqdm", "statsmodels",
)


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def package_version() -> str:
    try:
        return metadata.version("reluinj")
    except metadata.PackageNotFoundError:
        return "unknown"


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


def git_commit() -> dict[str, Any]:
    """Commit of the source tree the package is imported from, and whether it had local changes."""
    src = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10,
        )
        return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def machine() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }


def run_record(**extra: Any) -> dict[str, Any]:
    """A manifest record for a run that starts now."""
    rec: dict[str, Any] = {
        "start": now_iso(),
        "end": None,
        "package_version": package_version(),
        "git": git_commit(),
        "libraries": library_versions(),
        "machine": machine(),
    }
    rec.update(extra)
    return rec
