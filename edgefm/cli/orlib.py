"""``edgefm orlib pmed|cap FILE``: solve an OR-Library location benchmark."""
from __future__ import annotations

from .args import choice, positive_float
from .output import print_json, solver_output

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add this sub-command to an ``argparse`` sub-parser collection."""
    p = sub.add_parser("orlib", help="solve an OR-Library p-median (pmed) or capacitated facility location (cap) file")
    p.add_argument("kind", type=choice("pmed", "cap"))
    p.add_argument("file")
    p.add_argument("--solver", type=choice("scip", "highs"), default="scip")
    p.add_argument("--time-limit", type=positive_float, default=None, help="seconds (> 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--verbose", action="store_true", help="show solver output (on stderr)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run the sub-command; returns the exit status."""
    from ..placement.orlib import solve_cap_file, solve_pmed_file

    fn = solve_pmed_file if args.kind == "pmed" else solve_cap_file
    with solver_output(args.verbose):
        res = fn(args.file, solver=args.solver, time_limit=args.time_limit)
    out = {"status": res.status, "objective": res.objective, "bound": res.bound, "gap": res.gap,
           "seconds": res.seconds, "nodes": res.nodes, "solver": res.solver,
           "open_sites": [int(i) + 1 for i in res.open_sites]}
    if args.json:
        print_json(out)
    else:
        print(f"{args.kind} {args.file}: {res.status}, objective {res.objective:.6g}, bound {res.bound:.6g}, "
              f"gap {res.gap:.2e}, {res.seconds:.2f} s ({res.solver}); open sites (1-based): {out['open_sites']}")
    return 0 if res.ok else 1
