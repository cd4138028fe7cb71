"""Rows of a study: one results directory, or a directory whose subdirectories are results
directories (e.g. ``results/study/{pilot,pinj,kstar}``), concatenated.

Stores with different seeds hold independent instances and are simply pooled; a row whose
``(seed, n, m, index)`` appears in two stores is the same matrix and is kept once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reluinj.empirical.errors import ReluInjError

from .store import PARTS, load


def store_dirs(root: str | Path) -> list[Path]:
    """``root`` itself if it holds ``parts/``, else its immediate subdirectories that do."""
    root = Path(root)
    if not root.is_dir():
        raise ReluInjError(f"results directory not found: {root}")
    if (root / PARTS).is_dir():
        return [root]
    subs = sorted(p for p in root.iterdir() if p.is_dir() and (p / PARTS).is_dir())
    if not subs:
        raise ReluInjError(f"{root} is not a results directory (no parts/ inside, nor in a "
                           "subdirectory); run an experiment into it with: reluinj run "
                           "CONFIG.toml --out DIR")
    return subs


def load_rows(root: str | Path) -> tuple[pd.DataFrame, list[Path]]:
    """All rows under ``root`` (deduplicated by seed and key) and the stores they came from."""
    dirs = store_dirs(root)
    frames = [load(d) for d in dirs]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(), dirs
    df = pd.concat(frames, ignore_index=True)
    df = df.drop_duplicates(subset=["seed", "n", "m", "index"], keep="first")
    return df.sort_values(["n", "m", "seed", "index"]).reset_index(drop=True), dirs


__all__ = ["load_rows", "store_dirs"]
