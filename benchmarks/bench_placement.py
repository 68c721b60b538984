"""Benchmark: E14 on the paper scenario, seeds 0–9 (docs/model.md §5.8).

For each variant, one exact solve at κ = 0 with ``place``'s default (``method="auto"``: the node DP
for the literal variant, SCIP on the whole program for the bounded one) — the single-solve time —,
SCIP on the whole program (``method="direct"``) for comparison, the full κ search (total time and
solves), the HiGHS cross-check of the κ = 0 optimum, and the relaxation's gap to the exact optimum.
Target: "proven optimal in under 1 s" for a single solve. Importing the back-ends (PySCIPOpt,
HiGHS, SciPy's optimisers; about 0.5 s, once per process) is paid by a warm-up solve before timing.

Usage: .venv/bin/python benchmarks/bench_placement.py [--seeds 10] [--time-limit 60]
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import edgefm
from edgefm.placement import place, relaxed_placement


import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=60.0)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    path = edgefm.data_path("scenarios/paper.yaml")
    warm = edgefm.load_scenario(path, seed=1)
    out = {}
    for solver, method in (("scip", "dp"), ("scip", "direct"), ("highs", "direct")):
        place(warm, solver=solver, kappa=0, variant="bounded", method=method)
    for variant in ("literal", "bounded"):
        rows = []
        for seed in range(a.seeds):
            s = edgefm.load_scenario(path, seed=seed)
            t = time.perf_counter()
            try:
                one = place(s, solver="scip", kappa=0, variant=variant, time_limit=a.time_limit)
            except edgefm.InfeasibleError as exc:
                print(f"seed {seed} {variant}: infeasible ({time.perf_counter() - t:.1f} s): {exc}")
                continue
            t_one = time.perf_counter() - t
            t = time.perf_counter()
            direct = place(s, solver="scip", kappa=0, variant=variant, time_limit=a.time_limit, method="direct")
            t_direct = time.perf_counter() - t
            hi = place(s, solver="highs", kappa=0, variant=variant, time_limit=a.time_limit)
            t = time.perf_counter()
            srch = place(s, solver="scip", variant=variant, time_limit=a.time_limit)
            t_srch = time.perf_counter() - t
            try:
                rx = relaxed_placement(s, kappa=srch.kappa, variant=variant, exact_objective=srch.objective)
                rgap, t_rx = rx.info["gap_to_exact"], rx.seconds
            except edgefm.InfeasibleError:  # rounding + repair found no placement at this κ
                rgap, t_rx = float("nan"), float("nan")
            rows.append(dict(seed=seed, t_one=t_one, st=one.status, how=one.info["method"], t_direct=t_direct,
                             nodes=direct.nodes, t_highs=hi.seconds,
                             agree=max(abs(one.objective - hi.objective),
                                       abs(one.objective - direct.objective)) <= 1e-6 * abs(one.objective),
                             t_srch=t_srch, kappa=srch.kappa, solves=srch.info["solves"],
                             cert=srch.info["certified"], inst=srch.n_instances, cost=srch.cost_core,
                             rgap=rgap, t_rx=t_rx))
        out[variant] = [dict(r) for r in rows]
        print(f"\nvariant {variant}")
        print(f"{'seed':>4} {'auto s':>7} {'method':>6} {'status':>10} {'direct s':>8} {'nodes':>6} {'highs s':>7} "
              f"{'agree':>5} "
              f"{'search s':>8} {'kappa':>5} {'solves':>6} {'cert':>5} {'inst':>4} {'core cost':>9} "
              f"{'relax gap':>9} {'relax s':>7}")
        for r in rows:
            print(f"{r['seed']:>4} {r['t_one']:>7.3f} {r['how']:>6} {r['st']:>10} {r['t_direct']:>8.3f} {r['nodes']:>6} "
                  f"{r['t_highs']:>7.3f} "
                  f"{str(r['agree']):>5} {r['t_srch']:>8.3f} {r['kappa']:>5} {r['solves']:>6} {str(r['cert']):>5} "
                  f"{r['inst']:>4} {r['cost']:>9.0f} {r['rgap']:>9.4f} {r['t_rx']:>7.3f}")
        t1, td = [r["t_one"] for r in rows], [r["t_direct"] for r in rows]
        ok = [r["rgap"] for r in rows if r["rgap"] == r["rgap"]]
        ts = [r["t_srch"] for r in rows]
        print(f"single solve (auto): median {statistics.median(t1):.3f} s, max {max(t1):.3f} s, "
              f"proven optimal {sum(r['st'] == 'optimal' for r in rows)}/{len(rows)}, "
              f"under 1 s {sum(t < 1 for t in t1)}/{len(rows)}; SCIP direct: median {statistics.median(td):.3f} s, "
              f"max {max(td):.3f} s, under 1 s {sum(t < 1 for t in td)}/{len(rows)}; "
              f"all solvers agree {sum(r['agree'] for r in rows)}/{len(rows)}; "
              f"kappa search: median {statistics.median(ts):.3f} s, max {max(ts):.3f} s; "
              f"relax gap to exact median {statistics.median(ok) if ok else float('nan'):.4f} "
              f"(repair failed on {len(rows) - len(ok)} seeds)")
    _common.write_json("bench_placement", dict(seeds=a.seeds, time_limit=a.time_limit, variants=out))


if __name__ == "__main__":
    main()
