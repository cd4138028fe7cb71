"""Figures: both written as PNG and PDF; the theory lines are the real computed/cited values."""

from __future__ import annotations

import pandas as pd
import pytest

from reluinj.experiments.analysis import summarize
from reluinj.experiments.plots import FIGURES, level1_curve, plot_summary, theory_lines


def _summary():
    rows = []
    for n in (3, 4):
        for a in (3.0, 6.0, 9.0):
            m = round(a * n)
            for i in range(6):
                k = int(a / 3 * n) - (i % 2)
                rows.append(dict(n=n, m=m, index=i, kstar=k, injective=(k >= n) if i < 5 else None,
                                 time_s=0.01))
    return summarize(pd.DataFrame(rows))


def test_plot_files_written(tmp_path):
    paths = plot_summary(_summary(), tmp_path, name="unit", levels=("1",))
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{f}.{e}" for f in FIGURES for e in ("png", "pdf"))
    for p in paths:
        head = p.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if p.suffix == ".png" else head.startswith(b"%PDF")
        assert p.stat().st_size > 5000


def test_theory_lines_are_the_computed_thresholds():
    lines = theory_lines(("1", "2"))
    levels = [ln.alpha for ln in lines if ln.style == "level"]
    # computed here; published: replica symmetric 7.6477 = level 1, one-step RSB 6.7157 = level 2
    # (Maillard et al. 2023; Stojnic)
    assert levels == [pytest.approx(7.6477, abs=1e-4), pytest.approx(6.7157, abs=1e-4)]
    # Euler-characteristic heuristic (Paleka 2021; Clum 2022)
    (euler,) = [ln.alpha for ln in lines if ln.style == "reference"]
    assert euler == pytest.approx(8.34)


def test_failing_level_is_left_out_with_a_warning():
    with pytest.warns(UserWarning, match="level 7"):
        lines = theory_lines(("7",))
    assert [ln.style for ln in lines] == ["reference"]


def test_level1_curve_crosses_one_at_threshold():
    import numpy as np

    e = level1_curve(np.array([5.0, 7.6477, 10.0]))
    assert e is not None
    assert e[0] < 1.0 < e[2] and e[1] == pytest.approx(1.0, abs=1e-4)
    assert np.all(np.diff(e) > 0)
