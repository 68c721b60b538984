"""The ``edgefm`` command line (also ``python -m edgefm``).

One module per sub-command (:mod:`~edgefm.cli.validate`, :mod:`~edgefm.cli.reproduce`,
:mod:`~edgefm.cli.place`, :mod:`~edgefm.cli.orlib`, :mod:`~edgefm.cli.simulate`,
:mod:`~edgefm.cli.sweep`), each with ``add_parser(subparsers)`` and ``run(args)``. Any
:class:`~edgefm.errors.EdgeFMError` is printed as one line on stderr and the exit status is 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from ..errors import EdgeFMError
from . import orlib, place, reproduce, simulate, sweep, validate

__all__ = ["main", "build_parser"]

#: The sub-commands, in help order.
COMMANDS = (validate, reproduce, place, orlib, simulate, sweep)


def build_parser() -> argparse.ArgumentParser:
    """The ``edgefm`` argument parser with every sub-command."""
    p = argparse.ArgumentParser(prog="edgefm", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for cmd in COMMANDS:
        cmd.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
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
