"""Speed of the tier-2 controllers: paper scenario at 2× load (docs/model.md §9, per-slot decision times).

Runs ``proposed`` over the whole horizon (target: wall < 30 s, per-slot decision
median < 5 ms) and ``ga`` (per-slot genetic algorithm) on the same arrivals, and
prints a table: wall time, controller time, per-slot decision median / P99 / max.
The core placement is the E14 SCIP placement of the 1× scenario (E14 at 2× is
infeasible for seed 0: the N_m floor exceeds the CPU of the nodes); pass
``--placement greedy`` for the least-loaded one.

    .venv/bin/python benchmarks/bench_control.py [--load 2] [--slots 1000] [--ga-slots 300]
"""
from __future__ import annotations

import argparse
import time


import edgefm
from edgefm.control import make_controller
from edgefm.sim.engine import simulate
from edgefm.workload import poisson_arrivals


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slots", type=int, default=None, help="arrival slots (default: scenario horizon)")
    ap.add_argument("--ga-slots", type=int, default=300, help="arrival slots for ga (it is slow)")
    ap.add_argument("--placement", default="scip", choices=("scip", "greedy"))
    ap.add_argument("--methods", default="proposed,propavg,ga")
    a = ap.parse_args(argv)
    try:
        from edgefm.placement import place
    except ImportError:
        from edgefm.placement.paper import place
    base = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=a.seed, load=1.0)
    t0 = time.perf_counter()
    x = place(base, solver=a.placement).x
    print(f"placement ({a.placement}, 1x): {int(x.sum())} core instances in {time.perf_counter() - t0:.1f} s")
    sc = base.with_load(a.load)
    rows = []
    for name in a.methods.split(","):
        n = a.ga_slots if name == "ga" else a.slots
        arr = poisson_arrivals(sc, seed=a.seed, n_slots=n)
        ctrl = make_controller(name, sc)
        t = time.perf_counter()
        r = simulate(sc, arr, x, ctrl, seed=a.seed)
        wall = time.perf_counter() - t
        rows.append((name, arr.n_slots, r.slots, len(arr.slot), wall, r.controller_s, r.decision_ms["median"],
                     r.decision_ms["p99"], r.decision_ms["max"], r.on_time_ratio, getattr(ctrl, "fallback_uses", "")))
    hdr = ("method", "T", "slots", "tasks", "wall_s", "ctrl_s", "med_ms", "p99_ms", "max_ms", "on_time", "fallback")
    print(" ".join(f"{h:>9s}" for h in hdr))
    for r in rows:
        print(" ".join(f"{v:>9.3f}" if isinstance(v, float) else f"{v!s:>9s}" for v in r))
    med = {r[0]: r[6] for r in rows}
    if "proposed" in med and "ga" in med:
        print(f"ga per-slot median is {med['ga'] / med['proposed']:.0f}x that of proposed")
    if "proposed" in med:
        p = next(r for r in rows if r[0] == "proposed")
        print(f"proposed targets: wall {p[4]:.1f} s (< 30), median {p[6]:.2f} ms (< 5): "
              f"{'met' if p[4] < 30 and p[6] < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
