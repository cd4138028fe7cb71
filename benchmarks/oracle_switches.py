"""Compare oracle switch settings on the same instances (CPU time, nodes): a quick ablation.

Instances: ``A = sample_A(n, round(alpha n), s)`` for seeds ``s = 0..k-1``, decision mode unless
``--exact``.  CPU time (``time.process_time``) rather than wall time, so that a shared machine
disturbs the ratios less; compare variants only within one run.

Run:  python benchmarks/oracle_switches.py N ALPHA SEEDS '{"default": {}, "off": {"gap1_neg": false}}'
      [--exact] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import statistics
import time

from reluinj.empirical.oracle import solve_oracle
from reluinj.empirical.sampling import sample_A
from reluinj.experiments.bench_oracle import machine


def compare(n: int, alpha: float, seeds: int, variants: dict[str, dict], exact: bool = False
            ) -> list[dict]:
    """One row per variant: median / total CPU seconds, median nodes, injective count."""
    m = round(alpha * n)
    solve_oracle(sample_A(8, 56, 0), decision=True)  # compile before the clock starts
    rows = []
    answers = None
    for name, kw in variants.items():
        ts, nodes, ans = [], [], []
        for s in range(seeds):
            A = sample_A(n, m, s)
            t0 = time.process_time()
            r = solve_oracle(A, decision=not exact, **kw)
            ts.append(time.process_time() - t0)
            nodes.append(r.nodes)
            ans.append(r.kstar if exact else r.injective)
        if answers is None:
            answers = ans
        rows.append({"variant": name, "switches": json.dumps(kw), "n": n, "alpha": alpha,
                     "mode": "exact" if exact else "decision", "instances": seeds,
                     "median_cpu_s": statistics.median(ts), "total_cpu_s": sum(ts),
                     "median_nodes": statistics.median(nodes),
                     "same_answers": ans == answers})
        r0 = rows[0]
        print(f"{name:20s} median {rows[-1]['median_cpu_s']:8.3f} s  total {sum(ts):8.2f} s  "
              f"nodes {rows[-1]['median_nodes']:10.0f}  cpu vs first "
              f"{sum(ts) / r0['total_cpu_s']:.3f}  answers agree {ans == answers}", flush=True)
    return rows


def to_markdown(rows: list[dict], command: str) -> str:
    mach = machine()
    head = ["variant", "switches", "n", "alpha", "mode", "instances", "median_cpu_s",
            "total_cpu_s", "median_nodes", "same_answers"]
    out = [f"Command: `{command}`", "",
           "Machine: " + ", ".join(f"{k} {v}" for k, v in mach.items()), "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in head]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int)
    p.add_argument("alpha", type=float)
    p.add_argument("seeds", type=int)
    p.add_argument("variants", help='JSON object {"name": {switch: value, ...}, ...}')
    p.add_argument("--exact", action="store_true", help="exact k* instead of the decision")
    p.add_argument("--out", default=None, help="append a Markdown table to this file")
    a = p.parse_args()
    rows = compare(a.n, a.alpha, a.seeds, json.loads(a.variants), a.exact)
    if a.out:
        import shlex
        import sys
        cmd = "python benchmarks/oracle_switches.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])
        with open(a.out, "a") as fh:
            fh.write(f"\n{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC\n\n" + to_markdown(rows, cmd))
