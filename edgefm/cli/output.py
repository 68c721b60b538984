"""What the command line prints: strict JSON, warnings as one line, solver chatter kept off stdout.

* :func:`print_json` writes one object a strict parser accepts: NaN and ±inf (undefined statistics
  of empty sets, a gap without a bound) become ``null``, numpy scalars become numbers, and
  ``json.dumps(..., allow_nan=False)`` guards that nothing non-standard slips through.
* :func:`solver_output` sends what solvers print on the process's standard output (the HiGHS
  banner, SCIP logs: C code writing to file descriptor 1) to stderr with ``--verbose`` (and turns
  the solvers' logs on) or nowhere, so stdout carries only the command's result.
* :func:`one_line_warnings` prints Python warnings as ``edgefm: warning: ...`` on stderr.
"""
from __future__ import annotations

import contextlib
import json
import math
import sys
import warnings

__all__ = ["strict", "print_json", "solver_output", "one_line_warnings"]


def strict(obj):
    """``obj`` with every non-finite float replaced by ``None`` and numpy scalars/arrays as Python values."""
    if isinstance(obj, dict):
        return {str(k): strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):  # numpy scalar or array
        return strict(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def print_json(obj) -> None:
    """Print ``obj`` as one line of strict JSON (NaN/inf as null)."""
    print(json.dumps(strict(obj), allow_nan=False))


@contextlib.contextmanager
def solver_output(verbose: bool = False):
    """A context in which what solvers print from C goes to stderr (``verbose``) or nowhere
    (:func:`edgefm.placement.milp.native_output`); with ``verbose`` the solvers also log
    (:func:`edgefm.placement.milp.verbose`: SCIP's and HiGHS's progress), on stderr."""
    from ..placement import milp

    with milp.native_output(to_stderr=verbose), milp.verbose(verbose):
        yield


@contextlib.contextmanager
def one_line_warnings():
    """Show warnings raised in the block as one ``edgefm: warning: ...`` line each on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message).replace("\n", " ")
        print(f"edgefm: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield
