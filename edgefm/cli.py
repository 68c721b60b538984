"""The ``edgefm`` command line (also ``python -m edgefm``).

Sub-commands: ``validate``, ``reproduce``, ``place``, ``orlib``, ``simulate``,
``sweep``. Any :class:`~edgefm.errors.EdgeFMError` is printed as one line on
stderr and the exit status is 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from .errors import EdgeFMError

__all__ = ["main", "build_parser"]

# optional sub-commands provided by other modules: module -> (add_parser, run) function names
_PLUGINS = (
    ("edgefm.cli_place", "add_place_parser", "run_place"),
    ("edgefm.cli_orlib", "add_orlib_parser", "run_orlib"),
    ("edgefm.cli_sim", "add_simulate_parser", "run_simulate"),
    ("edgefm.cli_sweep", "add_sweep_parser", "run_sweep"),
)


def _validate(args) -> int:
    from .scenario import load_spec

    load_spec(args.file)
    print("ok")
    return 0


def _reproduce(args) -> int:
    from .reproduce import run_notebooks

    runs = run_notebooks(quick=args.quick, only=args.only, keep_going=args.keep_going)
    failed = [r for r in runs if r.status != "ok"]
    for r in failed:
        print(r.error, file=sys.stderr)
    print(f"{len(runs) - len(failed)} notebooks ok, {len(failed)} failed; manifest in results/manifest.json")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgefm", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="validate a scenario file: prints ok (exit 0) or one error line (exit 2)")
    v.add_argument("file")
    v.set_defaults(func=_validate)
    r = sub.add_parser("reproduce", help="run notebooks/NN_*.ipynb with papermill, results under results/")
    r.add_argument("--quick", action="store_true", help="QUICK=True: small grids, same code paths")
    r.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers or stems to run")
    r.add_argument("--keep-going", action="store_true", help="run the remaining notebooks after a failure")
    r.set_defaults(func=_reproduce)
    for mod, add, run in _PLUGINS:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        getattr(m, add)(sub)
        for sp in sub.choices.values():
            if sp.get_default("func") is None:
                sp.set_defaults(func=getattr(m, run))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EdgeFMError as exc:
        msg = str(exc).replace("\n", " ")
        if getattr(args, "json", False):
            print(json.dumps({"status": "error", "error": type(exc).__name__, "message": msg}))
        print(f"edgefm: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("edgefm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
