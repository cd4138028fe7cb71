"""Where the growth per unit n of the oracle's time comes from: nodes, and the cost of a node.

For each n the instances ``A = sample_A(n, round(alpha n), s)``, ``s = 0..k-1``, are solved in
decision mode with ``profile=True``; totals over the seeds give

* the cost of a node: kernel microseconds per node, Wolfe iterations (node tests and packing) per
  node, the node-test and packing time per Wolfe iteration (it includes the packing's own
  bookkeeping), and the rest of the kernel time per node (``info`` of the oracle);
* the shape of the tree: the share of the nodes, and of the kernel time, by the gap ``t - LB``
  when a node is entered (``info["nodes_by_gap"]``, ``info["time_by_gap_s"]``).

The last lines give the ratio per unit n between consecutive sizes: the time per unit n is the
product of the node ratio and the cost-per-node ratio.  CPU time (``time.process_time``); run it
on one pinned core (``OPENBLAS_NUM_THREADS=1 taskset -c 0``) for figures comparable with
``reluinj bench oracle``.

Run:  python benchmarks/oracle_growth_profile.py --n 12 13 14 15 16 --seeds 4 [--alpha 7]
"""

from __future__ import annotations

import argparse
import time

from reluinj.empirical.oracle import GAP_CLASSES, solve_oracle
from reluinj.empirical.sampling import sample_A
from reluinj.experiments.bench_oracle import machine

_SUM = ("node_test_iters", "pack_iters", "kernel_s", "node_test_s", "pack_s")


def profile_n(n: int, alpha: float, seeds: int) -> dict:
    """Totals over seeds 0..seeds-1 of the oracle's counters at one n (decision mode)."""
    tot = {k: 0.0 for k in _SUM}
    tot.update(nodes=0, cpu_s=0.0, injective=0)
    by_n = dict.fromkeys(GAP_CLASSES, 0)
    by_t = dict.fromkeys(GAP_CLASSES, 0.0)
    for s in range(seeds):
        A = sample_A(n, round(alpha * n), s)
        t0 = time.process_time()
        r = solve_oracle(A, decision=True, profile=True)
        tot["cpu_s"] += time.process_time() - t0
        tot["nodes"] += r.nodes
        tot["injective"] += bool(r.injective)
        for k in _SUM:
            tot[k] += r.info[k]
        for c in GAP_CLASSES:
            by_n[c] += r.info["nodes_by_gap"][c]
            by_t[c] += r.info["time_by_gap_s"][c]
    tot["nodes_by_gap"] = by_n
    tot["time_by_gap_s"] = by_t
    return tot


def summary(n: int, t: dict) -> dict:
    """The per-node figures of one n."""
    N = max(t["nodes"], 1)
    its = t["node_test_iters"] + t["pack_iters"]
    return {
        "n": n, "cpu_s": t["cpu_s"], "nodes": t["nodes"],
        "us_per_node": 1e6 * t["kernel_s"] / N,
        "iters_per_node": its / N,
        "ns_per_iter": 1e9 * (t["node_test_s"] + t["pack_s"]) / max(its, 1),
        "other_us_per_node": 1e6 * (t["kernel_s"] - t["node_test_s"] - t["pack_s"]) / N,
    }


def _per_unit(s0: dict, s1: dict, key: str) -> float:
    """Ratio per unit n of ``key`` between two summaries (geometric mean over the step)."""
    return (s1[key] / s0[key]) ** (1 / (s1["n"] - s0["n"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[12, 13, 14, 15, 16])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=7.0)
    a = ap.parse_args()
    if a.seeds < 1:
        ap.error(f"--seeds must be at least 1, got {a.seeds}")
    if min(a.n) < 2 or len(set(a.n)) != len(a.n) or list(a.n) != sorted(a.n):
        ap.error(f"--n must be distinct increasing sizes >= 2, got {a.n}")
    if a.alpha <= 1:
        ap.error(f"--alpha must be > 1 (m = round(alpha n) rows, more than n), got {a.alpha}")
    solve_oracle(sample_A(8, 56, 0), decision=True, profile=True)  # compile first
    print("machine:", ", ".join(f"{k} {v}" for k, v in machine().items()))
    print(f"alpha = {a.alpha}, seeds 0..{a.seeds - 1}, decision mode, totals over the seeds")
    head = ("n", "inj", "CPU s", "nodes", "us/node", "iters/node", "ns/iter", "other us/node")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    rows = []
    for n in a.n:
        t = profile_n(n, a.alpha, a.seeds)
        s = summary(n, t)
        rows.append((s, t))
        print(f"| {n} | {t['injective']}/{a.seeds} | {s['cpu_s']:.2f} | {s['nodes']} | "
              f"{s['us_per_node']:.2f} | {s['iters_per_node']:.2f} | {s['ns_per_iter']:.0f} | "
              f"{s['other_us_per_node']:.2f} |", flush=True)
    print("\nshare of nodes / of kernel time by the gap t - LB on entry:")
    print("| n | " + " | ".join(GAP_CLASSES) + " |\n|" + "---|" * (len(GAP_CLASSES) + 1))
    for s, t in rows:
        N = max(t["nodes"], 1)
        K = max(t["kernel_s"], 1e-12)
        cells = [f"{100 * t['nodes_by_gap'][c] / N:.0f} % / {100 * t['time_by_gap_s'][c] / K:.0f} %"
                 for c in GAP_CLASSES]
        print(f"| {s['n']} | " + " | ".join(cells) + " |")
    print("\nratio per unit n between consecutive sizes (time = nodes x cost per node):")
    for (s0, _), (s1, _) in zip(rows, rows[1:], strict=False):
        r = {k: _per_unit(s0, s1, k)
             for k in ("cpu_s", "nodes", "us_per_node", "iters_per_node", "ns_per_iter")}
        print(f"n {s0['n']} -> {s1['n']}: CPU x{r['cpu_s']:.2f}, nodes x{r['nodes']:.2f}, "
              f"us/node x{r['us_per_node']:.3f} (iterations/node x{r['iters_per_node']:.3f}, "
              f"ns/iteration x{r['ns_per_iter']:.3f})")


if __name__ == "__main__":
    main()
