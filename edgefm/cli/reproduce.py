"""``edgefm reproduce``: run the notebooks with papermill, results under ``results/``."""
from __future__ import annotations

import sys

from .args import positive_float

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add the ``reproduce`` sub-command to an ``argparse`` sub-parser collection."""
    p = sub.add_parser("reproduce", help="run notebooks/NN_*.ipynb with papermill, results under results/ (--quick: results/quick/)")
    p.add_argument("--quick", action="store_true", help="QUICK=True: small grids, same code paths")
    p.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers or stems to run")
    p.add_argument("--keep-going", action="store_true", help="run the remaining notebooks after a failure")
    p.add_argument("--heartbeat", type=positive_float, default=30.0, metavar="SECONDS",
                   help="while a cell runs longer than this, print a progress line this often (default 30)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``edgefm reproduce``; 0 when every notebook ran, else 1."""
    from ..reproduce import find_notebooks, run_notebooks

    find_notebooks(args.only)  # an unknown --only fails here, before any notebook runs
    runs = run_notebooks(quick=args.quick, only=args.only, keep_going=args.keep_going, heartbeat=args.heartbeat)
    failed = [r for r in runs if r.status != "ok"]
    for r in failed:
        print(r.error, file=sys.stderr)
    from ..paths import results_root

    where = results_root() / ("quick" if args.quick else "")
    print(f"{len(runs) - len(failed)} notebooks ok, {len(failed)} failed; manifest in {where / 'manifest.json'}")
    return 1 if failed else 0
