"""Provenance of a run: package and library versions, git commit, machine, workers, times.

Every run appends one record (:func:`run_record`) to ``DIR/manifest.json``; per instance the row
itself holds the seed, spawn key, method, status, solve time and host (store.ROW_SCHEMA).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: solvers first (highspy = HiGHS, numba/llvmlite = the oracle's compiler, cvxpy = reference LP)
LIBRARIES = (
    "highspy", "numba", "llvmlite", "cvxpy", "numpy", "scipy", "joblib", "dask", "distributed",
    "pandas", "pyarrow", "matplotlib", "tqdm", "statsmodels",
)

#: environment variables that set the thread count of BLAS / OpenMP / numba in a worker
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


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


def blas_info() -> dict[str, Any]:
    """Name and version of the BLAS numpy was built with (numpy.show_config)."""
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return {"name": blas.get("name"), "version": blas.get("version")}
    except Exception:  # provenance must never stop a run
        return {"name": None, "version": None}


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


def cpu_model() -> str | None:
    """CPU model name: /proc/cpuinfo (Linux), sysctl (macOS), else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Processor", "cpu model", "uarch"):
                    return value.strip() or None
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or None


def memory_bytes() -> int | None:
    """Physical memory of the machine."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def usable_cores() -> int | None:
    """Cores this process may run on (CPU affinity, e.g. a SLURM allocation), else cpu_count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def machine() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "memory_bytes": memory_bytes(),
        "python": sys.version.split()[0],
        "thread_env": {k: os.environ.get(k) for k in THREAD_ENV},
    }


def worker_info() -> dict[str, Any]:
    """What a (Dask) worker process reports about itself: machine, pid, versions."""
    return {
        "pid": os.getpid(),
        "package_version": package_version(),
        "libraries": {k: v for k, v in library_versions().items()
                      if k in ("highspy", "numba", "numpy", "dask", "distributed")},
        **machine(),
    }


def summarize_workers(infos: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Condense per-worker :func:`worker_info` records into one record per host."""
    hosts: dict[str, dict[str, Any]] = {}
    for info in infos.values():
        h = hosts.setdefault(str(info.get("hostname")), {
            "workers": 0, "cpu_model": info.get("cpu_model"), "cpu_count": info.get("cpu_count"),
            "usable_cores": info.get("usable_cores"), "memory_bytes": info.get("memory_bytes"),
            "python": info.get("python"), "package_version": info.get("package_version"),
            "libraries": info.get("libraries"), "thread_env": info.get("thread_env"),
        })
        h["workers"] += 1
    return {"count": len(infos), "hosts": hosts}


def run_record(**extra: Any) -> dict[str, Any]:
    """A manifest record for a run that starts now."""
    rec: dict[str, Any] = {
        "start": now_iso(),
        "end": None,
        "package_version": package_version(),
        "git": git_commit(),
        "libraries": library_versions(),
        "blas": blas_info(),
        "machine": machine(),
        "pid": os.getpid(),
        "argv": list(sys.argv),
    }
    rec.update(extra)
    return rec
