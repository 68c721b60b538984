"""The ``edgefm`` method against every baseline and the capacity bound (issue 12).

Runs every registered method on the same draws (paired) at load 1 (Fig. 3's grid) and at
loads 1.5 and 2 (Fig. 4's), joins each draw's capacity bound, and prints the table
method x load: mean on-time ratio and cost with 95 % t-intervals, the paired bootstrap
interval of (method - edgefm), and the edgefm per-slot decision time. Then checks the
targets and prints MET / MISSED for each.

Held-out evaluation: ``--seed-start 1000`` runs draws the notebooks never see.

Usage: python benchmarks/bench_method.py [--draws1 50] [--draws2 30] [--horizon 1000]
                                         [--seed-start 0] [--workers 2] [--quick]
Writes results/bench/bench_method.json.
"""
from __future__ import annotations

import argparse
import json

import pandas as pd

from edgefm.experiments.method_study import headline_table, method_spec, run_study
from edgefm.plots import results_dir


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws1", type=int, default=50)
    ap.add_argument("--draws2", type=int, default=30)
    ap.add_argument("--horizon", type=int, default=1000)
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="2 draws, T = 100 (a smoke run)")
    a = ap.parse_args()
    if a.quick:
        a.draws1, a.draws2, a.horizon = 2, 2, 100
    s0 = a.seed_start
    tag = f"s{s0}_T{a.horizon}"
    one = run_study(method_spec(f"bench_method_1x_{tag}", range(s0, s0 + a.draws1), [1], a.horizon), a.workers)
    two = run_study(method_spec(f"bench_method_load_{tag}", range(s0, s0 + a.draws2), [1.5, 2], a.horizon),
                    a.workers)
    tab = headline_table(pd.concat([one, two], ignore_index=True))
    pd.set_option("display.width", 200)
    cols = ["load", "method", "n", "on_time", "on_time_low", "on_time_high", "cost", "cost_low", "cost_high",
            "bound", "d_on_time_low", "d_on_time_high", "d_cost_low", "d_cost_high", "decision_ms_median",
            "decision_ms_p99"]
    print(tab[cols].round(3).to_string(index=False))

    checks = []
    for ld, g in tab.groupby("load"):
        e = g[g["method"] == "edgefm"].iloc[0]
        others = g[g["method"] != "edgefm"]
        best_on = float(others["on_time"].max())
        checks.append((f"load {ld:g}: on-time >= every baseline ({e.on_time:.3f} vs best {best_on:.3f})",
                       e.on_time >= best_on - 1e-12))
        if ld == 1:
            checks.append((f"load 1: on-time >= 0.99 ({e.on_time:.3f})", e.on_time >= 0.99))
            low = float(others["cost"].min())
            checks.append((f"load 1: cost <= every baseline ({e.cost:.1f}k vs lowest {low:.1f}k)", e.cost <= low))
        else:
            checks.append((f"load {ld:g}: within 3 points of the bound ({e.on_time:.3f} vs {e.bound:.3f})",
                           e.on_time >= e.bound - 0.03))
        if ld == 2:
            checks.append((f"load 2: decision median <= 1 ms ({e.decision_ms_median:.3f}), "
                           f"P99 <= 2 ms ({e.decision_ms_p99:.3f})",
                           e.decision_ms_median <= 1 and e.decision_ms_p99 <= 2))
    for text, ok in checks:
        print(("MET     " if ok else "MISSED  ") + text)
    out = results_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_method.json").write_text(json.dumps(dict(
        args=vars(a), table=tab.to_dict(orient="records"), checks=[dict(check=t, met=bool(o)) for t, o in checks]),
        indent=1, default=float))


if __name__ == "__main__":
    main()
