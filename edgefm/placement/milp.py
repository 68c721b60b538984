"""A solver-independent mixed-integer linear program in matrix form.

The placement models (E13–E21) are all built as one :class:`MILP`

    minimise    c'x + objective_constant
    subject to  lb_row <= A x <= ub_row,   lb <= x <= ub,   x_k integer for integrality[k],

and solved by :func:`solve` with SCIP (PySCIPOpt) or HiGHS (``scipy.optimize.milp``).
Both back-ends return the same :class:`MILPResult`, so a model can be cross-checked
between solvers, and :func:`relax` gives its LP relaxation (the LP bound).

Solver logs are off unless asked for: ``solve(..., verbose=True)`` for one solve, or the
:func:`verbose` context for every solve in a block, however deep the call (``edgefm place
--verbose`` uses it, with :func:`native_output` sending the C libraries' output to stderr). The
many small pricing programs of :mod:`edgefm.placement.decompose` stay quiet either way.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> m = MILP(c=np.array([-1.0, -1.0]), A=sp.csr_matrix([[2.0, 2.0]]),
...          lb_row=np.array([-np.inf]), ub_row=np.array([3.0]),
...          lb=np.zeros(2), ub=np.ones(2), integrality=np.array([1, 1]))
>>> solve(m, solver="highs").objective
-1.0
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from edgefm.errors import InfeasibleError, SolverError, TimeLimitWarning

__all__ = ["MILP", "MILPResult", "solve", "relax", "lp_bound", "lp_duals", "rel_gap", "native_output", "verbose",
           "is_verbose", "STATUSES", "SOLVERS"]

#: Status strings a :class:`MILPResult` may carry.
STATUSES = ("optimal", "time_limit", "node_limit", "infeasible", "unbounded", "error")
#: Supported back-ends.
SOLVERS = ("scip", "highs")


def _vec(a, n: int, name: str, dtype=float) -> np.ndarray:
    v = np.asarray(a, dtype=dtype).reshape(-1)
    if v.shape != (n,):
        raise ValueError(f"MILP.{name}: expected shape ({n},), got {np.shape(a)}")
    return v


@dataclass(frozen=True, eq=False)
class MILP:
    """A MILP ``min c'x + objective_constant`` s.t. ``lb_row <= A x <= ub_row``, ``lb <= x <= ub``.

    Parameters
    ----------
    c : ndarray, shape (n,)
        Objective coefficients (finite).
    A : scipy.sparse matrix, shape (m, n)
        Constraint matrix; stored as CSR with duplicates summed.
    lb_row, ub_row : ndarray, shape (m,)
        Row bounds; ``-inf`` / ``+inf`` for one-sided rows, equal for equalities.
    lb, ub : ndarray, shape (n,)
        Variable bounds (``±inf`` allowed).
    integrality : ndarray, shape (n,)
        Non-zero (or True) where the variable must be integer.
    var_names, row_names : list of str, optional
        Names of the columns / rows. A row name ``"family[index]"`` puts the row
        in constraint family ``family``, which infeasibility messages quote.
    objective_constant : float
        Constant added to the objective.
    sense : str
        Only ``"min"`` is supported.
    """

    c: np.ndarray
    A: sp.csr_matrix
    lb_row: np.ndarray
    ub_row: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray
    var_names: list[str] | None = None
    row_names: list[str] | None = None
    objective_constant: float = 0.0
    sense: str = "min"

    def __post_init__(self):
        c = np.asarray(self.c, dtype=float).reshape(-1)
        n = c.size
        A = sp.csr_matrix(self.A, dtype=float)
        if A.shape[1] != n:
            raise ValueError(f"MILP.A: expected {n} columns (len(c)), got shape {A.shape}")
        A.sum_duplicates()
        A.eliminate_zeros()
        m = A.shape[0]
        set_ = object.__setattr__
        set_(self, "c", c)
        set_(self, "A", A)
        set_(self, "lb_row", _vec(self.lb_row, m, "lb_row"))
        set_(self, "ub_row", _vec(self.ub_row, m, "ub_row"))
        set_(self, "lb", _vec(self.lb, n, "lb"))
        set_(self, "ub", _vec(self.ub, n, "ub"))
        set_(self, "integrality", _vec(self.integrality, n, "integrality").astype(bool))
        if not np.all(np.isfinite(c)):
            raise ValueError("MILP.c: objective coefficients must be finite")
        if self.sense != "min":
            raise ValueError(f"MILP.sense: only 'min' is supported, got {self.sense!r}")
        for nm, names, k in (("var_names", self.var_names, n), ("row_names", self.row_names, m)):
            if names is not None and len(names) != k:
                raise ValueError(f"MILP.{nm}: expected {k} names, got {len(names)}")
        set_(self, "objective_constant", float(self.objective_constant))

    @property
    def n_vars(self) -> int:
        return self.c.size

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]


@dataclass(frozen=True, eq=False)
class MILPResult:
    """Outcome of :func:`solve`.

    Attributes
    ----------
    status : str
        One of :data:`STATUSES`.
    objective : float
        Incumbent objective (including the constant), ``nan`` without incumbent.
    bound : float
        Proven dual (lower) bound, ``nan`` if unknown.
    gap : float
        ``|objective - bound| / max(|objective|, 1e-9)``, ``nan`` if either is unknown.
    seconds : float
        Wall-clock time of the solve call (model build included).
    nodes : int
        Branch-and-bound nodes, ``-1`` if unknown.
    x : ndarray or None
        Incumbent solution, shape (n,).
    solver : str
        Back-end used.
    message : str
        Human-readable detail (solver status, infeasibility diagnosis).
    """

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    nodes: int
    x: np.ndarray | None
    solver: str
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the result holds an incumbent solution."""
        return self.x is not None

    def raise_for_status(self) -> "MILPResult":
        """Raise unless an incumbent exists; return ``self`` otherwise.

        Raises
        ------
        InfeasibleError
            Status ``"infeasible"``.
        SolverError
            Status ``"unbounded"``/``"error"``, or a limit was hit with no incumbent.
        """
        if self.status == "infeasible":
            raise InfeasibleError(self.message or f"{self.solver}: model is infeasible")
        if not self.ok:
            raise SolverError(f"{self.solver}: no solution, status {self.status}: {self.message}")
        return self


@contextlib.contextmanager
def native_output(to_stderr: bool = False):
    """Keep what solver libraries print from C code (the HiGHS banner, SCIP logs) off stdout.

    File descriptor 1 points at stderr (``to_stderr``) or the null device for the block, so a
    command's ``--json`` output and a notebook's outputs carry results only. Python's own
    ``sys.stdout`` is flushed before and after; where fd 1 cannot be redirected the block runs as is.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    target = os.dup(2) if to_stderr else os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(target, 1)
        yield
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 1)
        os.close(saved)
        os.close(target)


#: Whether the solves of the current context show their logs (set by :func:`verbose`).
_VERBOSE: contextvars.ContextVar[bool] = contextvars.ContextVar("edgefm_solver_verbose", default=False)


@contextlib.contextmanager
def verbose(on: bool = True):
    """Show the solver's log of every :func:`solve` (SCIP's, HiGHS's) and LP bound in the block.

    For callers that reach the solvers through several layers (``place`` → the κ search → E14 →
    :func:`solve`) without a ``verbose`` argument on each. The logs are printed by the C libraries on
    file descriptor 1; wrap the block in :func:`native_output` with ``to_stderr=True`` to keep them
    off stdout, as ``edgefm place --verbose`` does.

    Examples
    --------
    >>> with verbose(False):
    ...     pass
    """
    token = _VERBOSE.set(bool(on))
    try:
        yield
    finally:
        _VERBOSE.reset(token)


def is_verbose() -> bool:
    """Whether the current context is inside a :func:`verbose` block that is on."""
    return _VERBOSE.get()


def rel_gap(obj: float, bound: float) -> float:
    """``abs(obj - bound) / max(abs(obj), 1e-9)``; nan unless both are finite."""
    if not (np.isfinite(obj) and np.isfinite(bound)):
        return float("nan")
    return abs(obj - bound) / max(abs(obj), 1e-9)


def relax(model: MILP) -> MILP:
    """The LP relaxation of ``model`` (integrality dropped; bounds kept)."""
    return replace(model, integrality=np.zeros(model.n_vars, dtype=bool))


def lp_bound(model: MILP) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Solve the LP relaxation with HiGHS dual simplex and return its reduced costs.

    Returns
    -------
    bound : float
        LP optimum (including the constant); a lower bound on the MILP.
    x : ndarray, shape (n,)
        LP solution.
    rc_lower, rc_upper : ndarray, shape (n,)
        Bound multipliers: every feasible ``x'`` has objective at least
        ``bound + rc_lower @ (x' - lb) + rc_upper @ (ub - x')`` (both >= 0 where finite),
        which justifies reduced-cost fixing.

    Raises
    ------
    InfeasibleError
        The LP relaxation (hence the MILP) is infeasible.
    """
    r, _ = _lp(model)
    rc_lo = np.maximum(np.asarray(r.lower.marginals, float), 0.0)
    rc_up = np.maximum(-np.asarray(r.upper.marginals, float), 0.0)
    return float(r.fun) + model.objective_constant, np.asarray(r.x, float), rc_lo, rc_up


def lp_duals(model: MILP) -> tuple[float, np.ndarray]:
    """LP relaxation bound and row duals ``y`` with reduced costs ``c - A'y``.

    ``y_i >= 0`` on rows binding at their lower bound, ``<= 0`` at their upper bound, so that
    ``bound = c'x* = y'(active row bounds) + bound terms`` (LP duality). Used to warm-start
    decompositions; raises like :func:`lp_bound`.
    """
    r, (eq, up, dn) = _lp(model)
    y = np.zeros(model.n_rows)
    m_ub = np.asarray(r.ineqlin.marginals, float) if (up.any() or dn.any()) else np.zeros(0)
    y[up] = m_ub[: up.sum()]
    y[dn] -= m_ub[up.sum():]  # a ranged row is in both masks
    if eq.any():
        y[eq] = np.asarray(r.eqlin.marginals, float)
    return float(r.fun) + model.objective_constant, y


def _lp(model: MILP):
    """The LP relaxation solved by HiGHS dual simplex; returns the scipy result and row masks."""
    from scipy.optimize import linprog

    A, lo, hi = model.A, model.lb_row, model.ub_row
    eq = lo == hi
    up = ~eq & np.isfinite(hi)
    dn = ~eq & np.isfinite(lo)
    A_ub = sp.vstack([A[up], -A[dn]]).tocsr()
    b_ub = np.concatenate([hi[up], -lo[dn]])
    bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b)
              for a, b in zip(model.lb.tolist(), model.ub.tolist())]
    r = linprog(model.c, A_ub=A_ub if A_ub.shape[0] else None, b_ub=b_ub if A_ub.shape[0] else None,
                A_eq=A[eq] if eq.any() else None, b_eq=hi[eq] if eq.any() else None,
                bounds=bounds, method="highs-ds", options={"disp": _VERBOSE.get()})
    if r.status == 2:
        raise InfeasibleError("the LP relaxation is infeasible")
    if r.status != 0:
        raise SolverError(f"HiGHS LP relaxation failed: {r.message}")
    return r, (eq, up, dn)


def solve(model: MILP, solver: str = "scip", time_limit: float | None = None, gap: float = 1e-9,
          threads: int = 1, verbose: bool = False, node_limit: int | None = None,
          start: np.ndarray | None = None, emphasis: str | None = None) -> MILPResult:
    """Solve ``model`` with the chosen back-end.

    Parameters
    ----------
    model : MILP
    solver : {"scip", "highs"}
    time_limit : float, optional
        Seconds; ``None`` means no limit.
    gap : float
        Relative optimality gap at which to stop (``limits/gap`` / ``mip_rel_gap``).
    threads : int
        LP threads for SCIP (``lp/threads``); HiGHS via scipy ignores it.
    verbose : bool
        Show solver output (also on inside a :func:`verbose` block).
    node_limit : int, optional
        Stop after this many branch-and-bound nodes (status ``"node_limit"``); deterministic,
        unlike a time limit.
    start : ndarray, shape (n,), optional
        A feasible solution handed to SCIP as the first incumbent (ignored by HiGHS).
    emphasis : str, optional
        SCIP parameter emphasis, e.g. ``"hardlp"`` or ``"optimality"`` (ignored by HiGHS).

    Returns
    -------
    MILPResult
        A limit hit with an incumbent issues :class:`~edgefm.errors.TimeLimitWarning`.
        Infeasibility does not raise; call :meth:`MILPResult.raise_for_status`.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    verbose = bool(verbose) or _VERBOSE.get()
    t0 = time.perf_counter()
    trivial = _check_empty_rows(model)
    if trivial is not None:
        res = MILPResult("infeasible", float("nan"), float("nan"), float("nan"),
                         time.perf_counter() - t0, 0, None, solver, trivial)
        return res
    if solver == "scip":
        res = _solve_scip(model, time_limit, gap, threads, verbose, node_limit, start, emphasis)
    else:
        res = _solve_highs(model, time_limit, gap, verbose, node_limit)
    if res.status == "infeasible" and model.row_names is not None:
        res = replace(res, message=res.message + "; " + _diagnose(model))
    res = replace(res, seconds=time.perf_counter() - t0)
    if res.status in ("time_limit", "node_limit") and res.ok:
        warnings.warn(f"{solver} stopped at its {res.status.replace('_', ' ')} with relative gap "
                      f"{res.gap:.3g} (objective {res.objective:.6g}, bound {res.bound:.6g})",
                      TimeLimitWarning, stacklevel=2)
    return res


def _check_empty_rows(model: MILP) -> str | None:
    empty = np.diff(model.A.indptr) == 0
    bad = empty & ((model.lb_row > 0) | (model.ub_row < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        nm = model.row_names[i] if model.row_names else f"row {i}"
        return f"constraint {nm} has no variables but needs {model.lb_row[i]} <= 0 <= {model.ub_row[i]}"
    if np.any(model.lb > model.ub):
        k = int(np.flatnonzero(model.lb > model.ub)[0])
        return f"variable {k} has lower bound {model.lb[k]} > upper bound {model.ub[k]}"
    return None


def _family(name: str) -> str:
    return name.split("[", 1)[0]


def _diagnose(model: MILP, max_families: int = 20, max_nnz: int = 2_000_000) -> str:
    """Name the constraint families whose removal makes the LP relaxation feasible."""
    from scipy.optimize import linprog

    if model.A.nnz > max_nnz:
        return "model too large to diagnose"
    fam = np.array([_family(r) for r in model.row_names])
    names = list(dict.fromkeys(fam.tolist()))
    if len(names) > max_families:
        return "too many constraint families to diagnose"

    def lp_feasible(keep: np.ndarray) -> bool:
        A = model.A[keep]
        lo, hi = model.lb_row[keep], model.ub_row[keep]
        fin_hi, fin_lo = np.isfinite(hi), np.isfinite(lo)
        A_ub = sp.vstack([A[fin_hi], -A[fin_lo]]).tocsr()
        b_ub = np.concatenate([hi[fin_hi], -lo[fin_lo]])
        bounds = np.column_stack([np.where(np.isfinite(model.lb), model.lb, np.nan),
                                  np.where(np.isfinite(model.ub), model.ub, np.nan)])
        bounds = [(None if np.isnan(a) else a, None if np.isnan(b) else b) for a, b in bounds]
        r = linprog(np.zeros(model.n_vars), A_ub=A_ub if A_ub.shape[0] else None,
                    b_ub=b_ub if A_ub.shape[0] else None, bounds=bounds, method="highs")
        return r.status == 0

    if lp_feasible(np.ones(model.n_rows, dtype=bool)):
        return "the LP relaxation is feasible, so integrality makes the model infeasible"
    culprits = [f for f in names if lp_feasible(fam != f)]
    if not culprits:
        return f"no single constraint family ({', '.join(names)}) explains the infeasibility"
    return "dropping constraint family " + " or ".join(f"'{f}'" for f in culprits) + \
        " makes the LP relaxation feasible"


# ---------------------------------------------------------------- SCIP back-end
_SCIP_LIMITS = {"timelimit": "time_limit", "nodelimit": "node_limit", "totalnodelimit": "node_limit",
                "stallnodelimit": "node_limit"}


def _build_scip(model: MILP, obj: bool = True):
    from pyscipopt import Model
    from pyscipopt.scip import Expr, ExprCons, Term

    M = Model()
    n = model.n_vars
    vtype = np.where(model.integrality, "I", "C")
    bin_ = model.integrality & (model.lb >= 0) & (model.ub <= 1)
    vtype[bin_] = "B"
    lb = np.where(np.isfinite(model.lb), model.lb, None)
    ub = np.where(np.isfinite(model.ub), model.ub, None)
    X = M.addMatrixVar((n,), name="x", vtype=vtype, lb=lb, ub=ub,
                       obj=model.c if obj else np.zeros(n))
    xs = list(X.flat) if n else []
    terms = [Term(v) for v in xs]
    A = model.A
    ip, ix, dv = A.indptr.tolist(), A.indices.tolist(), A.data.tolist()
    lo = [None if not np.isfinite(v) else float(v) for v in model.lb_row]
    hi = [None if not np.isfinite(v) else float(v) for v in model.ub_row]
    names = model.row_names
    for i in range(model.n_rows):
        s, e = ip[i], ip[i + 1]
        if s == e or (lo[i] is None and hi[i] is None):
            continue  # empty rows were checked in solve()
        expr = Expr({terms[ix[k]]: dv[k] for k in range(s, e)})
        M.addCons(ExprCons(expr, lhs=lo[i], rhs=hi[i]), name=names[i] if names else f"r{i}")
    if obj and model.objective_constant:
        M.addObjoffset(model.objective_constant)
    return M, xs


def _solve_scip(model, time_limit, gap, threads, verbose, node_limit, start=None,
                emphasis=None) -> MILPResult:
    try:
        import pyscipopt  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on environment
        raise SolverError("solver='scip' needs PySCIPOpt: pip install pyscipopt") from exc
    M, xs = _build_scip(model)
    if emphasis is not None:
        from pyscipopt import SCIP_PARAMEMPHASIS
        try:
            M.setEmphasis(getattr(SCIP_PARAMEMPHASIS, emphasis.upper()))
        except AttributeError:
            raise ValueError(f"unknown SCIP emphasis {emphasis!r}") from None
    _scip_params(M, time_limit, gap, threads, verbose, node_limit)
    if start is not None:
        sol = M.createSol()
        for v, val in zip(xs, np.asarray(start, float).tolist()):
            if val != 0.0:
                M.setSolVal(sol, v, val)
        M.addSol(sol, free=True)
    M.optimize()
    st = M.getStatus()
    has_sol = M.getNSols() > 0
    x = None
    if has_sol:
        sol = M.getBestSol()
        x = np.array([M.getSolVal(sol, v) for v in xs], dtype=float)
        x[model.integrality] = np.round(x[model.integrality])
        x += 0.0  # no negative zeros
    obj = M.getObjVal() if has_sol else float("nan")
    bound = M.getDualbound()
    msg = f"SCIP status {st}"
    if st == "optimal":
        status = "optimal"
    elif st == "gaplimit":
        status, msg = "optimal", f"SCIP status gaplimit: optimal within relative gap {gap:g}"
    elif st in _SCIP_LIMITS:
        status = _SCIP_LIMITS[st]
    elif st == "infeasible":
        status = "infeasible"
    elif st == "unbounded":
        status = "unbounded"
    elif st == "inforunbd":
        # Decide by re-solving the feasibility problem (zero objective).
        F, _ = _build_scip(model, obj=False)
        _scip_params(F, time_limit, gap, threads, verbose, node_limit)
        F.optimize()
        status = "unbounded" if F.getNSols() > 0 else "infeasible"
        msg = f"SCIP status inforunbd, feasibility re-solve says {status}"
    else:
        status = "error"
    if status in ("infeasible", "unbounded"):
        x, obj = None, float("nan")
    if not np.isfinite(bound) or abs(bound) >= 1e19:
        bound = float("nan")
    nodes = int(M.getNNodes())
    return MILPResult(status, float(obj), float(bound), rel_gap(obj, bound), M.getSolvingTime(),
                      nodes, x, "scip", msg)


def _scip_params(M, time_limit, gap, threads, verbose, node_limit):
    if not verbose:
        M.hideOutput()
    if time_limit is not None:
        M.setParam("limits/time", float(max(time_limit, 0.0)))
    if node_limit is not None:
        M.setParam("limits/nodes", int(node_limit))
    M.setParam("limits/gap", float(gap))
    try:
        M.setParam("lp/threads", int(threads))
    except Exception:  # pragma: no cover - parameter absent in some builds
        pass


# --------------------------------------------------------------- HiGHS back-end
def _solve_highs(model, time_limit, gap, verbose, node_limit) -> MILPResult:
    from scipy.optimize import Bounds, LinearConstraint, milp

    opts = {"disp": bool(verbose), "mip_rel_gap": float(gap)}
    if time_limit is not None:
        opts["time_limit"] = float(max(time_limit, 1e-3))
    if node_limit is not None:
        opts["node_limit"] = int(node_limit)
    cons = [LinearConstraint(model.A, model.lb_row, model.ub_row)] if model.n_rows else []
    t0 = time.perf_counter()
    r = milp(model.c, integrality=model.integrality.astype(int),
             bounds=Bounds(model.lb, model.ub), constraints=cons, options=opts)
    secs = time.perf_counter() - t0
    msg = f"HiGHS: {r.message}"
    x = None if r.x is None else np.asarray(r.x, dtype=float)
    if x is not None:
        x[model.integrality] = np.round(x[model.integrality])
        x += 0.0  # no negative zeros
    if r.status == 0:
        status = "optimal"
    elif r.status == 1 or (r.status == 4 and "limit reached" in str(r.message).lower()):
        # HiGHS reports its node limit as "Solution limit reached" (status 16).
        low = str(r.message).lower()
        status = "time_limit" if "time" in low or node_limit is None else "node_limit"
    elif r.status == 2:
        status = "infeasible"
    elif r.status == 3:
        status = "unbounded"
    elif "unbounded or infeasible" in str(r.message).lower() and model.c.any():
        # Decide by re-solving the feasibility problem (zero objective).
        f = _solve_highs(replace(model, c=np.zeros(model.n_vars)), time_limit, gap, False, node_limit)
        status = "unbounded" if f.ok else "infeasible"
        msg += f"; feasibility re-solve says {status}"
    else:
        status = "error"
    if status in ("infeasible", "unbounded"):
        x = None
    obj = float(model.c @ x + model.objective_constant) if x is not None else float("nan")
    db = getattr(r, "mip_dual_bound", None)
    if db is None or not np.isfinite(db):
        # A pure LP has no MIP dual bound; at optimality the LP value is the bound.
        bound = obj if status == "optimal" and not model.integrality.any() else float("nan")
    else:
        bound = float(db) + model.objective_constant
    nodes = getattr(r, "mip_node_count", None)
    nodes = -1 if nodes is None else int(nodes)
    return MILPResult(status, obj, bound, rel_gap(obj, bound), secs, nodes, x, "highs", msg)
