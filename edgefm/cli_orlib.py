"""``edgefm orlib pmed|cap FILE``: solve an OR-Library location benchmark."""
from __future__ import annotations

import json

__all__ = ["add_orlib_parser", "run_orlib"]


def add_orlib_parser(sub) -> None:
    p = sub.add_parser("orlib", help="solve an OR-Library p-median (pmed) or capacitated facility location (cap) file")
    p.add_argument("kind", choices=("pmed", "cap"))
    p.add_argument("file")
    p.add_argument("--solver", choices=("scip", "highs"), default="scip")
    p.add_argument("--time-limit", type=float, default=None, help="seconds")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_orlib(args) -> int:
    from .placement.orlib import solve_cap_file, solve_pmed_file

    fn = solve_pmed_file if args.kind == "pmed" else solve_cap_file
    res = fn(args.file, solver=args.solver, time_limit=args.time_limit)
    out = {"status": res.status, "objective": res.objective, "bound": res.bound, "gap": res.gap,
           "seconds": res.seconds, "nodes": res.nodes, "solver": res.solver,
           "open_sites": [int(i) + 1 for i in res.open_sites]}
    if args.json:
        print(json.dumps(out, default=float))
    else:
        print(f"{args.kind} {args.file}: {res.status}, objective {res.objective:.6g}, bound {res.bound:.6g}, "
              f"gap {res.gap:.2e}, {res.seconds:.2f} s ({res.solver}); open sites (1-based): {out['open_sites']}")
    return 0 if res.ok else 1
