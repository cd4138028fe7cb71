"""``reluinj report DIR``: ``DIR/report.md`` (tables, figures, estimates with 95 % intervals, fl RDT
values, a conclusion generated from the numbers, machine and date) and ``DIR/fits.json`` (the
same dict ``reluinj analyze DIR --fits --json`` prints)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from . import provenance
from .fit_plots import plot_fits
from .fit_summary import fit_summary
from .fits import DEFAULT_BOOT, DEFAULT_SEED
from .sources import load_rows
from .theory_compare import DEFAULT_LEVELS

#: precision targets of the reference study (issue 8), checked in the conclusion
ALPHA_INF_TARGET = 0.25
E_TARGET = 0.02
E_TARGET_ALPHAS = (4.0, 5.0, 6.0)


def fmt(v, digits: int = 4) -> str:
    """A number for the report ("—" for missing)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, int):
        return str(v)
    return f"{v:.{digits}f}"


def fmt_ci(ci, digits: int = 4) -> str:
    if not ci or any(c is None for c in ci):
        return "—"
    return f"[{fmt(ci[0], digits)}, {fmt(ci[1], digits)}]"


def _halfwidth(ci) -> float:
    return (ci[1] - ci[0]) / 2 if ci and None not in ci else math.nan


def _out_in(excl: Sequence[str], keys: Sequence[str], name=str) -> tuple[str, str]:
    """(the excluded, the kept) of ``keys`` as comma lists of ``name(key)``, "none" if empty."""
    ex = ", ".join(name(k) for k in excl) or "none"
    ke = ", ".join(name(k) for k in keys if k not in excl) or "none"
    return ex, ke


def _levels_text(excl: list[str], levels: Sequence[str]) -> str:
    ex, ke = _out_in(excl, levels)
    return f"excludes level(s) {ex}; consistent with level(s) {ke}"


def _published_text(d: dict, est: dict) -> str:
    """'; of the published values it excludes …' for the full-RSB and Euler capacities."""
    pub = d["theory"].get("published", {})
    if not pub or "excludes_published" not in est:
        return ""
    ex, ke = _out_in(est["excludes_published"], list(pub),
                     lambda k: f"{pub[k]['label']} {fmt(float(pub[k]['alpha_inj']), 3)}")
    return f"; of the published values outside fl RDT it excludes {ex} and is consistent with {ke}"


def ansatz_text(ex: dict) -> str:
    """Which ansätze the rule kept and why the others were dropped, with the union over all of
    them as a sensitivity figure (not the result)."""
    fits = ex.get("ansatze") or []
    if not fits:
        return ""
    kept = [f for f in fits if f.get("acceptable")]
    dropped = [f for f in fits if not f.get("acceptable")]
    txt = ("acceptable: " + ", ".join(f["ansatz"] for f in kept) if kept else "acceptable: none")
    if dropped:
        txt += "; dropped by the rule: " + ", ".join(
            f"{f['ansatz']} ({f.get('dropped_by') or 'rule'}; alone {fmt_ci(f['ci'], 3)})"
            for f in dropped)
        cis = [f["ci"] for f in fits if f.get("ci") and None not in f["ci"]]
        if cis:
            lo, hi = min(c[0] for c in cis), max(c[1] for c in cis)
            txt += (f". For comparison only, the union over all {len(cis)} fitted ansätze would be "
                    f"{fmt_ci((lo, hi), 3)} (half-width {fmt((hi - lo) / 2, 3)})")
    return txt


def _slopes_off_theory(es: list[dict]) -> str:
    """A sentence when every empirical slope lies on one side of every level's e_L(α)."""
    rows = [e for e in es if e.get("ci") and None not in e["ci"] and e.get("theory")]
    if not rows or len(rows) != len(es):
        return ""
    for side, test, ref in (("above", lambda e: e["ci"][0] > max(e["theory"].values()), max),
                            ("below", lambda e: e["ci"][1] < min(e["theory"].values()), min)):
        if all(test(e) for e in rows):
            gaps = [abs(e["estimate"] - ref(e["theory"].values())) for e in rows]
            nmax = max(max(e["n"]) for e in rows if e.get("n"))
            nearest = "highest" if side == "above" else "lowest"
            return (f"At every α with exact k* the empirical slope lies {side} every fl RDT level, "
                    f"by {fmt(min(gaps), 3)}–{fmt(max(gaps), 3)} from the {nearest} one.  These "
                    f"are slopes over n ≤ {nmax}: a straight line in n cannot tell a finite-size "
                    "correction slower than 1/n from a different slope, so this is a statement "
                    "about the n of the data.")
    return ""


def conclusion(d: dict) -> list[str]:
    """Plain-words conclusion, every statement computed from ``d``."""
    levels = d["theory"]["levels"]
    out = []
    ai = d["alpha_inf"]
    if ai.get("estimate") is not None:
        hw = _halfwidth(ai["ci"])
        out.append(
            f"The 50 % point of P(injective) extrapolates to α_∞ = {fmt(ai['estimate'], 3)} "
            f"(95 % interval {fmt_ci(ai['ci'], 3)}, half-width {fmt(hw, 4)}, including the spread "
            f"{fmt(ai['systematic_spread'], 3)} between the acceptable ansätze); the interval "
            f"{_levels_text(ai['excludes'], levels)}{_published_text(d, ai)}.")
        at = ansatz_text(ai)
        if at:
            out.append(f"Extrapolation ansätze ({ai.get('rule', 'rule of the fits')}): {at}.")
    else:
        out.append("α_∞ could not be extrapolated: " + d["skipped"].get("alpha_inf", "no fit"))
    ak = d["alpha_k_inf"]
    if ak.get("estimate") is not None:
        out.append(f"The α where E[k*] = n extrapolates to {fmt(ak['estimate'], 3)} "
                   f"(95 % interval {fmt_ci(ak['ci'], 3)}), which "
                   f"{_levels_text(ak['excludes'], levels)}{_published_text(d, ak)}.")
        at = ansatz_text(ak)
        if at:
            out.append(f"Its extrapolation ansätze: {at}.")
    for e in d["e"]:
        qual = ""
        if e.get("quadratic_p") is not None and e["quadratic_p"] < 0.05:
            qual = (f" (the quadratic term is significant, p = {fmt(e['quadratic_p'], 3)}: "
                    "the linear model is strained)")
        out.append(f"At α = {e['alpha']:g} the slope of E[k*] in n is e = {fmt(e['estimate'])} "
                   f"(95 % {fmt_ci(e['ci'])}, half-width {fmt(_halfwidth(e['ci']))}); it "
                   f"{_levels_text(e['excludes'], levels)}{qual}.")
    off = _slopes_off_theory(d["e"])
    if off:
        out.append(off)
    hw = _halfwidth(ai["ci"]) if ai.get("ci") else math.nan
    met = "met" if hw <= ALPHA_INF_TARGET else "not met"
    out.append(f"Precision target for α_∞ (half-width ≤ {ALPHA_INF_TARGET}): {met} "
               f"(half-width {fmt(hw, 4)}).")
    for a in E_TARGET_ALPHAS:
        e = next((x for x in d["e"] if abs(x["alpha"] - a) < 1e-9), None)
        if e is None:
            out.append(f"Precision target for e({a:g}) (half-width ≤ {E_TARGET}): no estimate.")
            continue
        h = _halfwidth(e["ci"])
        out.append(f"Precision target for e({a:g}) (half-width ≤ {E_TARGET}): "
                   f"{'met' if h <= E_TARGET else 'not met'} (half-width {fmt(h)}).")
    wl = d.get("width_law")
    if wl:
        out.append(f"The 10–90 % width shrinks as n^(−ν) with ν = {fmt(wl['nu'], 3)} "
                   f"(95 % {fmt_ci(wl['ci'], 3)}).")
    return out


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _cost(dirs: list[Path], rows: pd.DataFrame) -> list[str]:
    lines = []
    total_wall = 0.0
    for dd in dirs:
        mf = dd / "manifest.json"
        runs = json.loads(mf.read_text()).get("runs", []) if mf.is_file() else []
        wall = sum(float(r.get("elapsed_s") or 0.0) for r in runs)
        jobs = sorted({r.get("jobs") for r in runs if r.get("jobs")})
        total_wall += wall
        lines.append(f"- `{dd.name}`: {len(runs)} run(s), wall {wall / 3600:.2f} h, jobs {jobs}")
    cpu = float(pd.to_numeric(rows.get("time_s"), errors="coerce").sum()) if not rows.empty else 0
    lines.append(f"- total: wall {total_wall / 3600:.2f} h; solver time summed over instances "
                 f"{cpu / 3600:.2f} h (one core each)")
    return lines


def render(d: dict, dirs: list[Path], rows: pd.DataFrame, figures: list[Path],
           generated: str, machine: dict) -> str:
    """The Markdown text of the report."""
    levels = d["theory"]["levels"]
    L: list[str] = ["# Reference study: injectivity of random ReLU layers", ""]
    L.append(f"Generated {generated} by `reluinj report` on {machine.get('hostname')} "
             f"({machine.get('cpu_model')}, {machine.get('cpu_count')} cores, Python "
             f"{machine.get('python')}); data: {', '.join(f'`{p.name}`' for p in dirs)} "
             f"({d['rows']} instances).  Bootstrap: {d['bootstrap']['replicates']} replicates, "
             f"seed {d['bootstrap']['seed']} ({d['bootstrap']['scheme']}).  "
             "`reluinj analyze DIR --fits --json` prints the same numbers (`fits.json`).")
    L += ["", "## Conclusion", ""]
    L += [f"- {s}" for s in conclusion(d)]
    L += ["", "## α_50(n) and width w(n) (logit GLM; probit as a link check)", ""]
    L += _table(["n", "points", "instances", "unresolved", "α_50", "95 % CI", "± half", "w (10–90 %)",
                 "95 % CI", "probit α_50"],
                [[str(a["n"]), str(a["points"]), str(a["instances"]), str(a["unresolved"]),
                  fmt(a["estimate"]), fmt_ci(a["ci"]), fmt(_halfwidth(a["ci"])),
                  fmt(a["width"], 3), fmt_ci(a["width_ci"], 3), fmt(a["probit_estimate"])]
                 for a in d["alpha_50"]])
    L += ["", "Intervals: bootstrap over instances (percentile), enveloped over the treatments of "
          "unresolved instances (all injective / all not).", ""]
    L += ["## Extrapolation α_50(n) → α_∞", ""]
    ai = d["alpha_inf"]
    if ai.get("ansatze"):
        L += _table(["ansatz", "α_∞", "95 % CI (WLS ∪ bootstrap)", "χ²/dof", "p", "AIC",
                     "held-out z", "acceptable"],
                    [[a["ansatz"], fmt(a["estimate"]), fmt_ci(a["ci"]),
                      f"{fmt(a['chi2'], 2)}/{a['dof']}", fmt(a["p_value"], 3), fmt(a["aic"], 2),
                      fmt(a["heldout_z"], 2) + (f" (n={a['heldout_n']})" if a["heldout_n"] else ""),
                      "yes" if a["acceptable"] else "no"] for a in ai["ansatze"]])
        L += ["", f"**α_∞ = {fmt(ai['estimate'])}, 95 % interval {fmt_ci(ai['ci'])}** "
              f"(best ansatz {ai['best_ansatz']}; rule: {ai['rule']}).  {ai.get('note', '')}"]
    else:
        L += [f"not available: {d['skipped'].get('alpha_inf', '')}"]
    wl = d.get("width_law")
    if wl:
        L += ["", f"Width law w(n) = c n^(−ν): ν = {fmt(wl['nu'], 3)}, 95 % "
              f"{fmt_ci(wl['ci'], 3)}, χ² = {fmt(wl['chi2'], 2)} on {wl['dof']} dof."]
    L += ["", "## e(α): slope of E[k*] in n", ""]
    if d["e"]:
        L += _table(["α", "n", "e(α)", "95 % CI", "± half", "χ²/dof", "quadratic c2 (p)",
                     "upper-half slope", *[f"e_{lv}" for lv in levels], "excludes"],
                    [[f"{e['alpha']:g}", f"{min(e['n'])}–{max(e['n'])}", fmt(e["estimate"]),
                      fmt_ci(e["ci"]), fmt(_halfwidth(e["ci"])),
                      f"{fmt(e['chi2'], 2)}/{e['dof']}",
                      f"{fmt(e['quadratic_c2'], 4)} ({fmt(e['quadratic_p'], 3)})",
                      fmt(e["upper_half_estimate"]),
                      *[fmt(e["theory"][lv]) for lv in levels], ", ".join(e["excludes"]) or "none"]
                     for e in d["e"]])
        L += ["", "Data: mean k* ± standard error per n (exact k*, m = αn):", ""]
        all_n = sorted({n for e in d["e"] for n in e["n"]})
        cells = {(e["alpha"], n): f"{m:.3f} ± {s:.3f}" for e in d["e"]
                 for n, m, s in zip(e["n"], e["means"], e["sems"], strict=True)}
        L += _table(["n", *[f"α = {e['alpha']:g}" for e in d["e"]]],
                    [[str(n), *[cells.get((e["alpha"], n), "") for e in d["e"]]] for n in all_n])
    else:
        L += [f"not available: {d['skipped'].get('e', '')}"]
    ak = d["alpha_k_inf"]
    if d["alpha_k"]:
        L += ["", "## α where E[k*] = n", ""]
        L += _table(["n", "α_k(n)", "95 % CI"],
                    [[str(c["n"]), fmt(c["estimate"]), fmt_ci(c["ci"])] for c in d["alpha_k"]])
        if ak.get("estimate") is not None:
            L += ["", f"Extrapolated: {fmt(ak['estimate'])}, 95 % interval {fmt_ci(ak['ci'])} "
                  f"(best ansatz {ak['best_ansatz']})."]
    L += ["", "## Theory: fl RDT thresholds α_inj and published values", ""]
    L += _table(["level", "α_inj", "inside the α_∞ interval"],
                [[lv, fmt(v, 6), "no" if lv in ai.get("excludes", []) else "yes"]
                 for lv, v in d["theory"]["alpha_inj"].items()]
                + [[v["source"], fmt(float(v["alpha_inj"]), 3),
                    "no" if k in ai.get("excludes_published", []) else "yes"]
                   for k, v in d["theory"].get("published", {}).items()])
    if d["skipped"]:
        L += ["", "## Not fitted", ""] + [f"- {k}: {v}" for k, v in d["skipped"].items()]
    L += ["", "## Figures", ""]
    for p in figures:
        if p.suffix == ".png":
            L.append(f"![{p.stem}]({p.name})")
            L.append("")
    L += ["## Compute", ""] + _cost(dirs, rows)
    return "\n".join(L) + "\n"


def write_report(root: str | Path, *, seed: int = DEFAULT_SEED, n_boot: int = DEFAULT_BOOT,
                 levels: Sequence[str] = DEFAULT_LEVELS) -> list[Path]:
    """Fit, draw and write ``root/report.md``, ``root/fits.json`` and the figures."""
    root = Path(root)
    rows, dirs = load_rows(root)
    d, fits = fit_summary(rows, seed=seed, n_boot=n_boot, levels=levels)
    figures = plot_fits(rows, fits, d, root)
    from .cli import _json_clean

    (root / "fits.json").write_text(json.dumps(_json_clean(d), allow_nan=False, indent=1) + "\n")
    text = render(d, dirs, rows, figures, provenance.now_iso(), provenance.machine())
    (root / "report.md").write_text(text)
    return [root / "report.md", root / "fits.json", *figures]


__all__ = ["conclusion", "render", "write_report"]
