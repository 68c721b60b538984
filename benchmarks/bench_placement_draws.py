"""Benchmark: the literal E14 over many paper-scenario draws, the node DP against SCIP (docs/model.md §5.8).

For every draw × load × κ, one solve with ``place``'s default (``method="auto"``: the node DP,
handing over to SCIP past its limits) and one with SCIP on the whole program (``method="direct"``),
both under ``--time-limit``. Reports how often the DP itself proved the optimum, the
times of both on those programs, the hand-overs, and every disagreement: a feasibility verdict
that differs, or objectives that differ where both proved optimality (there should be none).

Usage: .venv/bin/python benchmarks/bench_placement_draws.py [--seeds 10:30] [--loads 1 1.5 2]
       [--kappas 0 15] [--time-limit 20]
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import edgefm
from edgefm.placement import place


import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

def timed(s, **kw):
    t = time.perf_counter()
    try:
        p = place(s, variant="literal", **kw)
    except edgefm.InfeasibleError:
        p = None
    return p, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="10:30", help="draws lo:hi")
    ap.add_argument("--loads", type=float, nargs="+", default=[1.0, 1.5, 2.0])
    ap.add_argument("--kappas", type=int, nargs="+", default=[0, 15])
    ap.add_argument("--time-limit", type=float, default=20.0, help="seconds per solve")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    lo, hi = (int(x) for x in a.seeds.split(":"))
    path = edgefm.data_path("scenarios/paper.yaml")
    place(edgefm.load_scenario(path, seed=1), kappa=0, variant="bounded", method="dp")  # imports, once
    place(edgefm.load_scenario(path, seed=1), kappa=0, variant="bounded", method="direct")
    rows, bad = [], 0
    for load in a.loads:
        for seed in range(lo, hi):
            s = edgefm.load_scenario(path, seed=seed, load=load)
            for kappa in a.kappas:
                auto, t_auto = timed(s, kappa=kappa, time_limit=a.time_limit, gap=1e-9)
                direct, t_direct = timed(s, kappa=kappa, method="direct", time_limit=a.time_limit, gap=1e-9)
                if (auto is None) != (direct is None):
                    bad += 1
                    print(f"load {load} seed {seed} kappa {kappa}: feasibility differs (auto {auto is not None}, "
                          f"direct {direct is not None})")
                    continue
                if auto is None:
                    continue
                how = auto.info["method"]
                both = auto.status == direct.status == "optimal"
                if both and abs(auto.objective - direct.objective) > 1e-6 * abs(direct.objective):
                    bad += 1
                    print(f"load {load} seed {seed} kappa {kappa}: objectives differ {auto.objective} {direct.objective}")
                rows.append(dict(how=how, t_auto=t_auto, t_direct=t_direct, auto=auto.status, direct=direct.status))
                print(f"load {load:>3} seed {seed:>3} kappa {kappa:>2}: auto ran {how:>6} in {t_auto:6.2f} s; "
                      f"SCIP direct {direct.status:>10} in {t_direct:6.2f} s", flush=True)
    dp = [r for r in rows if r["how"] == "dp"]
    over = [r for r in rows if r["how"] != "dp"]
    med = statistics.median
    print(f"\n{len(rows)} feasible programs; the node DP proved {len(dp)}: median {med(r['t_auto'] for r in dp):.3f} s, "
          f"max {max(r['t_auto'] for r in dp):.3f} s, under 1 s {sum(r['t_auto'] < 1 for r in dp)}; SCIP direct on "
          f"those: median {med(r['t_direct'] for r in dp):.3f} s, max {max(r['t_direct'] for r in dp):.3f} s, "
          f"under 1 s {sum(r['t_direct'] < 1 for r in dp)}, stopped at its limit "
          f"{sum(r['direct'] != 'optimal' for r in dp)}")
    if over:
        print(f"{len(over)} handed over past the DP's limits: auto median {med(r['t_auto'] for r in over):.2f} s, "
              f"stopped at the limit {sum(r['auto'] != 'optimal' for r in over)}; SCIP direct median "
              f"{med(r['t_direct'] for r in over):.2f} s, stopped at the limit "
              f"{sum(r['direct'] != 'optimal' for r in over)}")
    print(f"disagreements: {bad}")
    _common.write_json("bench_placement_draws", dict(seeds=a.seeds, loads=a.loads, kappas=a.kappas,
                                                     time_limit=a.time_limit, rows=rows, disagreements=bad))


if __name__ == "__main__":
    main()
