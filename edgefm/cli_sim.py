"""``edgefm simulate``: one run of a method on a sampled scenario."""
from __future__ import annotations

import json

__all__ = ["add_simulate_parser", "run_simulate"]


def add_simulate_parser(sub) -> None:
    p = sub.add_parser("simulate", help="simulate one method on a sampled scenario")
    p.add_argument("--scenario", required=True, help="scenario YAML file")
    p.add_argument("--seed", type=int, default=0, help="scenario and run seed")
    p.add_argument("--method", default="proposed", help="proposed, propavg, lbrr, ga, hpa, static or edgefm")
    p.add_argument("--load", type=float, default=None, help="load multiplier on the arrival rates")
    p.add_argument("--slots", type=int, default=None, help="arrival horizon T in slots")
    p.add_argument("--trace", default=None, help="code, conv or a CSV file: replay a trace instead of Poisson")
    p.add_argument("--arrivals", default="poisson", help="poisson or mmpp (ignored with --trace)")
    p.add_argument("--fail", action="append", default=[], metavar="NODE@MS[:UNTIL_MS]",
                   help="fail a node at a time (repeatable)")
    p.add_argument("--variant", choices=("literal", "bounded"), default=None, help="E14 variant of the placement")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_simulate(args) -> int:
    from .experiments.runner import parse_failure, run_method
    from .scenario import load_scenario

    sc = load_scenario(args.scenario, seed=args.seed, load=args.load)
    if args.slots is not None:
        sc = sc.replace(horizon_slots=int(args.slots))
    failures = [parse_failure(f, sc) for f in args.fail]
    res = run_method(sc, args.method, seed=args.seed, arrivals=args.trace or args.arrivals,
                     n_slots=args.slots, failures=failures, variant=args.variant)
    d = res.to_dict()
    if args.json:
        print(json.dumps(d, default=float))
        return 0
    print(f"{res.method} on {sc.name} seed {args.seed} load {sc.load:g}: {res.arrivals} tasks in {res.slots} slots "
          f"({res.wall_s:.2f} s)")
    print(f"  on time {res.on_time} ({res.on_time_ratio:.1%}), late {res.late}, unfinished {res.unfinished}, shed {res.shed}")
    lat = res.latency_ms
    print(f"  latency ms: mean {lat['mean']:.2f}, p95 {lat['p95']:.2f}, p99 {lat['p99']:.2f}")
    print(f"  cost {res.cost_total:,.0f} = " + ", ".join(f"{k} {v:,.0f}" for k, v in res.cost_parts.items()))
    dm = res.decision_ms
    print(f"  decision ms: median {dm['median']:.3f}, p99 {dm['p99']:.3f}")
    return 0
