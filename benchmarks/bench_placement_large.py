"""Benchmark: E14 on a ≥ 50-node topohub network with ≥ 12 core MSs (docs/model.md §5.8).

germany50 (sndlib) with one ED per site (100 nodes) and two FMs (12 core MSs), literal E14 at κ = 0,
load 1, seeds 0..n-1. Target: within 1 % proven gap in under 60 s. For each seed: SCIP with
``method="auto"`` (here: the node DP passes its pattern limit on nodes that host 12 core MSs, and the
program goes to the node decomposition: Dantzig–Wolfe bound, price-and-branch, SCIP polish)
and, with ``--compare``, SCIP and HiGHS on the whole program under the same limits.

Usage: .venv/bin/python benchmarks/bench_placement_large.py [--seeds 3] [--time-limit 60] [--gap 0.01]
       [--compare] [--network sndlib/germany50] [--n-fm 2]
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

from edgefm.placement import e14_data, place
from edgefm.scenario import sample_scenario
from edgefm.scenario.topology import topology_spec


import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=0.01)
    ap.add_argument("--network", default="sndlib/germany50")
    ap.add_argument("--n-fm", type=int, default=2)
    ap.add_argument("--compare", action="store_true", help="also SCIP and HiGHS on the whole program")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    runs = [("scip", "auto")] + ([("scip", "direct"), ("highs", "direct")] if a.compare else [])
    rows = []
    for seed in range(a.seeds):
        s = sample_scenario(topology_spec(a.network, ed_per_site=1, n_fm=a.n_fm), seed, 1.0)
        d = e14_data(s, variant="literal")
        for solver, method in runs:
            t = time.perf_counter()
            p = place(s, solver=solver, method=method, kappa=0, variant="literal", time_limit=a.time_limit,
                      gap=a.gap)
            wall = time.perf_counter() - t
            rows.append({"seed": seed, "solver": solver, "asked": method, "method": p.info["method"],
                         "status": p.status, "gap": p.gap, "wall": wall, "obj": p.objective, "bound": p.bound})
            print(f"seed {seed} ({s.n_nodes} nodes, {len(s.core_ms)} core MSs, {d.n_pairs} pairs) {solver:>5} "
                  f"{p.info['method']:>9}: {p.status:>10} gap {p.gap:.4%} in {wall:6.1f} s  "
                  f"objective {p.objective:.6g} bound {p.bound:.6g}", flush=True)
    for solver, method in runs:
        sel = [r for r in rows if r["solver"] == solver and r["asked"] == method]
        met = sum(r["gap"] <= a.gap and r["wall"] <= a.time_limit for r in sel)
        print(f"{solver} {method}: wall median {statistics.median(r['wall'] for r in sel):.1f} s, "
              f"max {max(r['wall'] for r in sel):.1f} s; gap median {statistics.median(r['gap'] for r in sel):.3%}, "
              f"max {max(r['gap'] for r in sel):.3%}; within {a.gap:.0%} in {a.time_limit:.0f} s: {met}/{len(sel)}")
    _common.write_json("bench_placement_large", dict(network=a.network, seeds=a.seeds, time_limit=a.time_limit,
                                                     gap=a.gap, rows=rows))


if __name__ == "__main__":
    main()
