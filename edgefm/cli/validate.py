"""``edgefm validate FILE``: check a scenario file; prints ``ok`` or one error line (exit 2)."""
from __future__ import annotations

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    """Add the ``validate`` sub-command to an ``argparse`` sub-parser collection."""
    p = sub.add_parser("validate", help="validate a scenario file: prints ok (exit 0) or one error line (exit 2)")
    p.add_argument("file")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``edgefm validate``; returns the exit status (0)."""
    from ..scenario import load_spec

    load_spec(args.file)
    print("ok")
    return 0
