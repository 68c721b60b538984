"""The ``edgefm`` command line (also ``python -m edgefm``).

One module per sub-command (:mod:`~edgefm.cli.validate`, :mod:`~edgefm.cli.reproduce`,
:mod:`~edgefm.cli.place`, :mod:`~edgefm.cli.orlib`, :mod:`~edgefm.cli.simulate`,
:mod:`~edgefm.cli.sweep`), each with ``add_parser(subparsers)`` and ``run(args)``. Any
:class:`~edgefm.errors.EdgeFMError` is printed as one line on stderr and the exit status is 2.
"""
from __future__ import annotations

import os
import sys

from ..errors import EdgeFMError
from . import orlib, place, reproduce, simulate, sweep, validate
from .args import Parser
from .output import one_line_warnings, print_json

__all__ = ["main", "build_parser"]

#: The sub-commands, in help order.
COMMANDS = (validate, reproduce, place, orlib, simulate, sweep)


def build_parser() -> Parser:
    """The ``edgefm`` argument parser with every sub-command (its errors raise ``UsageError``)."""
    from .._version import __version__

    p = Parser(prog="edgefm", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"edgefm {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for cmd in COMMANDS:
        cmd.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 on success; 2 with one ``edgefm: error: ...`` line on stderr for any
    :class:`~edgefm.errors.EdgeFMError`, including a bad flag value (and, under ``--json``, a
    ``{"status": "error", ...}`` object on stdout); 130 on Ctrl-C. A closed stdout (``| head``)
    ends the command quietly.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        with one_line_warnings():
            args = build_parser().parse_args(argv)
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
            return code
    except EdgeFMError as exc:
        msg = str(exc).replace("\n", " ")
        if "--json" in argv:
            _quiet_pipe(print_json, {"status": "error", "error": type(exc).__name__, "message": msg})
        print(f"edgefm: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        print("edgefm: interrupted", file=sys.stderr)
        return 130


def _quiet_pipe(fn, *a) -> None:
    try:
        fn(*a)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """The reader of stdout left: point fd 1 at the null device so the interpreter's final flush
    does not raise again (and print a traceback) at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
