"""Engine speed: paper scenario at load 2x, 1000 slots plus drain, trivial (static) controller.

Prints the median wall time over repeats, the simulated tasks per second and
the share of time in the controller vs the engine, and writes the figures to
``results/bench/bench_sim.json``.

With ``--rev REV`` the same measurement also runs on git revision REV (a
temporary worktree), alternating the two trees in child processes so that
both see the same machine load, and prints the speed ratio (target of issue
13: >= 5x the engine of dc14b82) and whether both trees gave the same results.

Each measuring process first simulates a few slots untimed, so that one-off
costs (imports, loading the compiled kernels) are not counted; that first
run's time is printed as ``first run``.

Usage: python benchmarks/bench_sim.py [--repeats 3] [--seeds 0 1 2] [--rev dc14b82]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

TARGET_RATIO = 5.0


def _measure(seeds, load, slots):
    """Simulate each seed once; returns a JSON-ready dict (run in the tree being measured)."""
    import edgefm
    from edgefm.control.static import StaticController
    from edgefm.experiments.runner import core_placement
    from edgefm.sim.engine import simulate
    from edgefm.workload import poisson_arrivals

    out = {"edgefm_file": edgefm.__file__, "seeds": {}}
    first = None
    for seed in seeds:
        sc = edgefm.load_scenario(edgefm.data_path("scenarios", "paper.yaml"), seed=seed, load=load)
        x = core_placement(sc, "greedy")[0].x  # least-loaded, sized for the largest load the nodes host
        if first is None:
            t0 = time.perf_counter()
            simulate(sc, poisson_arrivals(sc, seed, n_slots=3), x, StaticController(), seed=seed)
            first = time.perf_counter() - t0
        arr = poisson_arrivals(sc, seed, n_slots=slots)
        t0 = time.perf_counter()
        res = simulate(sc, arr, x, StaticController(), seed=seed)
        wall = time.perf_counter() - t0
        out["seeds"][str(seed)] = dict(tasks=res.arrivals, slots=res.slots, wall_s=wall, controller_s=res.controller_s,
                                       on_time=res.on_time, late=res.late, cost_total=repr(res.cost_total))
    out["first_run_s"] = first
    return out


def _summary(runs: list[dict], seeds) -> dict:
    """Median over repeats per seed, and over seeds."""
    per = {}
    for s in map(str, seeds):
        walls = [r["seeds"][s]["wall_s"] for r in runs]
        ctrl = [r["seeds"][s]["controller_s"] for r in runs]
        r0 = runs[0]["seeds"][s]
        w = statistics.median(walls)
        per[s] = dict(tasks=r0["tasks"], slots=r0["slots"], wall_s=w, tasks_per_s=r0["tasks"] / w,
                      controller_share=statistics.median(ctrl) / w, on_time=r0["on_time"])
    return dict(per_seed=per, median_wall_s=statistics.median(p["wall_s"] for p in per.values()),
                median_tasks_per_s=statistics.median(p["tasks_per_s"] for p in per.values()),
                first_run_s=statistics.median(r["first_run_s"] for r in runs))


def _print(label, summ):
    for s, p in summ["per_seed"].items():
        print(f"{label} seed {s}: {p['tasks']} tasks, {p['slots']} slots, median {p['wall_s']:.2f} s "
              f"({p['tasks_per_s']:,.0f} tasks/s), controller {p['controller_share']:.0%} / engine "
              f"{1 - p['controller_share']:.0%}")
    print(f"{label}: median wall over seeds {summ['median_wall_s']:.2f} s, median {summ['median_tasks_per_s']:,.0f} "
          f"tasks/s, first run {summ['first_run_s']:.2f} s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--load", type=float, default=2.0)
    ap.add_argument("--slots", type=int, default=None, help="arrival slots (default: the scenario's horizon)")
    ap.add_argument("--rev", default=None, help="also measure this git revision, side by side, and print the ratio")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_measure(a.seeds, a.load, a.slots)))
        return 0
    args = ["--seeds", *map(str, a.seeds), "--load", str(a.load)] + (["--slots", str(a.slots)] if a.slots else [])
    here = Path(__file__).resolve()
    if a.rev is None:
        runs = [_common.run_child(here, _common.ROOT, args) for _ in range(a.repeats)]
        summ = _summary(runs, a.seeds)
        _print("this tree", summ)
        _common.write_json("bench_sim", dict(load=a.load, seeds=a.seeds, repeats=a.repeats, current=summ))
        return 0
    with _common.worktree(a.rev) as (old_tree, old_commit):
        new_runs, old_runs = [], []
        for r in range(a.repeats):  # alternate the order so that neither tree always runs first
            pair = [(new_runs, _common.ROOT), (old_runs, old_tree)]
            for acc, tree in (pair if r % 2 == 0 else pair[::-1]):
                acc.append(_common.run_child(here, tree, args))
    new, old = _summary(new_runs, a.seeds), _summary(old_runs, a.seeds)
    _print(f"rev {old_commit}", old)
    _print("this tree", new)
    same = all(new_runs[0]["seeds"][s][k] == old_runs[0]["seeds"][s][k]
               for s in new_runs[0]["seeds"] for k in ("tasks", "on_time", "late", "cost_total"))
    ratios = {s: new["per_seed"][s]["tasks_per_s"] / old["per_seed"][s]["tasks_per_s"] for s in new["per_seed"]}
    ratio = new["median_tasks_per_s"] / old["median_tasks_per_s"]
    print(f"speed ratio (median tasks/s, this tree / {old_commit}): {ratio:.2f}x "
          f"(per seed {', '.join(f'{v:.2f}x' for v in ratios.values())}); target >= {TARGET_RATIO:g}x: "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}; results identical: {same}")
    _common.write_json("bench_sim", dict(load=a.load, seeds=a.seeds, repeats=a.repeats, rev=a.rev,
                                         rev_commit=old_commit, current=new, baseline=old, ratio=ratio,
                                         ratio_per_seed=ratios, target_ratio=TARGET_RATIO,
                                         results_identical=same))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
