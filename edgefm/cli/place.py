"""``edgefm place``: solve the Tier-1 core placement (E14) of one sampled scenario.

Prints a human summary (status, objective, bound, gap, time, κ and the instances per MS and node)
or, with ``--json``, one JSON object (:meth:`edgefm.placement.Placement.to_dict`). Errors
(:class:`~edgefm.errors.EdgeFMError`) propagate to the main command line, which prints one line
and exits 2.
"""
from __future__ import annotations

import math

from .args import choice, load_value, nonneg_float, nonneg_int, positive_float
from .output import print_json, solver_output

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``place`` sub-command to an ``argparse`` sub-parser collection."""
    p = subparsers.add_parser("place", help="solve the core placement (E14) of a sampled scenario")
    p.add_argument("--scenario", required=True, metavar="FILE", help="scenario YAML file")
    p.add_argument("--seed", type=nonneg_int, required=True, help="scenario seed (integer >= 0)")
    p.add_argument("--load", type=load_value, default=None,
                   help="load multiplier on the arrival rates (0 to 1e6, the scenario file's limit)")
    p.add_argument("--solver", type=choice("scip", "highs", "relax", "greedy"), default="scip")
    p.add_argument("--kappa", type=nonneg_int, default=None, help="diversity floor κ (default: file, else search)")
    p.add_argument("--variant", type=choice("literal", "bounded"), default=None, help="default: file's variant")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="S",
                   help="seconds (whole κ search), > 0")
    p.add_argument("--gap", type=nonneg_float, default=1e-6, help="relative gap at which an exact solve stops")
    p.add_argument("--method", type=choice("auto", "direct", "decompose", "dp"), default="auto",
                   help="the solver on the whole program, node decomposition first, or the exact node DP "
                        "(auto: by variant and size)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--verbose", action="store_true", help="show solver output (on stderr)")
    p.set_defaults(func=run)
    return p


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.6g}"


def _log(p) -> None:
    """``--verbose``: how the placement was found, on stderr (the node DP and the greedy baseline run
    no external solver, so this is their whole log; SCIP's and HiGHS's logs came before it)."""
    import sys

    info = p.info or {}
    print(f"edgefm: place: solver {p.solver}, method {info.get('method', '-')}, status {p.status}, "
          f"{p.seconds:.3f} s", file=sys.stderr)
    for k, status, obj in info.get("kappa_trace", ()):
        print(f"edgefm: place: kappa {k}: {status}, objective {_fmt(obj)}", file=sys.stderr)
    if "kappa_trace" in info:
        print(f"edgefm: place: kappa {p.kappa} chosen (rho {info.get('rho', '-')}, {info.get('solves', '-')} solves)",
              file=sys.stderr)


def run(args) -> int:
    """Run ``edgefm place``; returns the exit status (0)."""
    from ..placement import place
    from ..scenario import load_scenario

    s = load_scenario(args.scenario, seed=args.seed, load=args.load)
    with solver_output(args.verbose):
        p = place(s, solver=args.solver, kappa=args.kappa, variant=args.variant, time_limit=args.time_limit,
                  gap=args.gap, method=args.method)
    if args.verbose:
        _log(p)
    if args.json:
        d = p.to_dict()
        d.update(scenario=s.name, seed=s.seed, load=s.load)
        print_json(d)
        return 0
    how = f", method {p.info['method']}" if "method" in p.info else ""
    print(f"scenario {s.name} seed {s.seed} load {s.load:g}: {p.solver} ({p.variant}{how})")
    print(f"status {p.status}  objective {_fmt(p.objective)}  bound {_fmt(p.bound)}  gap {_fmt(p.gap)}  "
          f"seconds {p.seconds:.3f}  kappa {p.kappa}  sites {p.sites}  instances {p.n_instances}  "
          f"core cost {p.cost_core:.6g}")
    if "search_seconds" in p.info and "kappa_trace" in p.info:
        print(f"kappa search: {p.info['solves']} solves, {p.info['search_seconds']:.3f} s")
    core = [m for m in range(len(p.ms_names)) if p.x[:, m].any()]
    nodes = [v for v in range(len(p.node_names)) if p.x[v].any()]
    w = max([len(p.ms_names[m]) for m in core] + [2])
    print(" " * w + "".join(f"{p.node_names[v]:>6}" for v in nodes) + f"{'total':>7}")
    for m in core:
        cells = "".join(f"{(int(p.x[v, m]) or '.'):>6}" for v in nodes)
        print(f"{p.ms_names[m]:<{w}}{cells}{int(p.x[:, m].sum()):>7}")
    return 0
