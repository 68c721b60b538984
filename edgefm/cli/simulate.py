"""``edgefm simulate``: one run of a method on a sampled scenario.

Every flag is checked before any work: the values while the command line is parsed
(:mod:`edgefm.cli.args`), then the scenario, the method name and the failure windows against the
loaded scenario, and only then the placement and the run.
"""
from __future__ import annotations

from .args import choice, failure_text, load_value, nonneg_int, slot_count, trace_source
from .output import print_json, solver_output

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this sub-command to an ``argparse`` sub-parser collection."""
    p = sub.add_parser("simulate", help="simulate one method on a sampled scenario")
    p.add_argument("--scenario", required=True, help="scenario YAML file")
    p.add_argument("--seed", type=nonneg_int, default=0, help="scenario and run seed (integer >= 0)")
    p.add_argument("--method", default="proposed", help="proposed, propavg, lbrr, ga, hpa, static, edgefm or a "
                                                        "method registered by a --plugin module")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (it may call edgefm.register_method); repeatable")
    p.add_argument("--load", type=load_value, default=None,
                   help="load multiplier on the arrival rates (0 to 1e6, the scenario file's limit)")
    p.add_argument("--slots", type=slot_count, default=None,
                   help="arrival horizon T in slots (0 to 1,000,000, the scenario file's limit)")
    p.add_argument("--trace", type=trace_source, default=None,
                   help="code, conv or a CSV file: replay a trace instead of Poisson")
    p.add_argument("--arrivals", type=choice("poisson", "mmpp"), default="poisson",
                   help="poisson or mmpp (ignored with --trace)")
    p.add_argument("--fail", type=failure_text, action="append", default=[], metavar="NODE@MS[:UNTIL_MS]",
                   help="fail a node at a time, back at UNTIL_MS if given (repeatable)")
    p.add_argument("--variant", type=choice("literal", "bounded"), default=None,
                   help="E14 variant of the placement")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--verbose", action="store_true", help="show solver output (on stderr)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run the sub-command; returns the exit status."""
    from ..errors import ScenarioError, UsageError
    from ..experiments.runner import run_method
    from ..scenario import load_scenario
    from ..sim.failures import parse_failure
    from .plugins import load_plugins, method_name

    load_plugins(args.plugin)
    method = method_name(args.method)
    sc = load_scenario(args.scenario, seed=args.seed, load=args.load)
    if args.slots is not None:
        sc = sc.replace(horizon_slots=int(args.slots))
    try:
        failures = [parse_failure(f, sc) for f in args.fail]
    except ScenarioError as exc:
        raise UsageError(f"argument --fail: {exc.reason}") from None
    with solver_output(args.verbose):
        res = run_method(sc, method, seed=args.seed, arrivals=args.trace or args.arrivals,
                         n_slots=args.slots, failures=failures, variant=args.variant)
    if args.json:
        print_json(res.to_dict())
        return 0
    print(f"{res.method} on {sc.name} seed {args.seed} load {sc.load:g}: {res.arrivals} tasks in {res.slots} slots "
          f"({res.wall_s:.2f} s)")
    sized = res.counters.get("placement_load")
    if sized is not None and sized < sc.load:
        print(f"  placement sized for load {sized:.2f} (E14 infeasible at {sc.load:.2f})")
    ratio = "-" if res.on_time_ratio != res.on_time_ratio else f"{res.on_time_ratio:.1%}"
    print(f"  on time {res.on_time} ({ratio}), late {res.late}, unfinished {res.unfinished}, shed {res.shed}")
    lat = res.latency_ms
    print(f"  latency ms: mean {_f(lat['mean'])}, p95 {_f(lat['p95'])}, p99 {_f(lat['p99'])}")
    print(f"  cost {res.cost_total:,.0f} = " + ", ".join(f"{k} {v:,.0f}" for k, v in res.cost_parts.items()))
    dm = res.decision_ms
    print(f"  decision ms: median {_f(dm['median'], 3)}, p99 {_f(dm['p99'], 3)}")
    return 0


def _f(v, digits: int = 2) -> str:
    """A number for people: ``-`` when undefined (no task finished)."""
    return "-" if v is None or v != v else f"{v:.{digits}f}"
