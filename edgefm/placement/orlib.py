"""Readers for the OR-Library location benchmarks (J.E. Beasley).

* ``pmed*.txt`` (Beasley 1985): first line ``n m p``; then ``m`` lines ``i j cost`` of an
  undirected graph on nodes ``1..n``. Distances are shortest paths; when an edge appears
  more than once the LAST occurrence wins.
* ``cap*.txt`` (Beasley 1988): ``m n`` (sites, customers); ``m`` pairs ``capacity fixed_cost``;
  then per customer its demand followed by the ``m`` costs of allocating ALL of its demand
  to each site. Values may wrap across lines, so the file is read as a token stream.
* ``pmedopt.txt`` / ``capopt.txt``: lines ``name value``.

Cite: J.E. Beasley, "OR-Library: distributing test problems by electronic mail",
J. Oper. Res. Soc. 41(11), 1990; "A note on solving large p-median problems", EJOR 21, 1985.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgefm.errors import ScenarioError
from edgefm.placement.facility import capacitated_facility_location, pmedian
from edgefm.placement.facility_solve import FacilityResult, solve_facility

__all__ = ["PMedInstance", "CapInstance", "read_pmed", "read_cap", "read_optima",
           "solve_pmed_file", "solve_cap_file"]


@dataclass(frozen=True, eq=False)
class PMedInstance:
    """A p-median instance: ``n`` nodes, ``p`` medians, ``dist`` (n x n shortest paths)."""

    n: int
    p: int
    dist: np.ndarray
    name: str = ""


@dataclass(frozen=True, eq=False)
class CapInstance:
    """A capacitated facility-location instance with ``m`` sites and ``n`` customers.

    ``capacity`` and ``fixed_cost`` have shape (m,), ``demand`` (n,), ``alloc_cost`` (m, n)
    (cost of serving ALL of customer ``j``'s demand at site ``i``).
    """

    capacity: np.ndarray
    fixed_cost: np.ndarray
    demand: np.ndarray
    alloc_cost: np.ndarray
    name: str = ""


def _lines(path) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror}", source=str(path)) from exc


def _ints(line: str, k: int, lineno: int, src: str) -> list[int]:
    tok = line.split()
    if len(tok) != k:
        raise ScenarioError(f"line {lineno}: expected {k} integers, got {len(tok)}", source=src)
    try:
        return [int(t) for t in tok]
    except ValueError:
        raise ScenarioError(f"line {lineno}: expected {k} integers, got {line.strip()!r}",
                            source=src) from None


def read_pmed(path) -> PMedInstance:
    """Read an OR-Library ``pmed`` file into an :class:`PMedInstance` (shortest-path distances).

    Raises
    ------
    ScenarioError
        Malformed header or edge line, node out of range, negative cost, too few edges.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    src = str(path)
    raw = _lines(path)
    body = [(k + 1, ln) for k, ln in enumerate(raw) if ln.strip()]
    if not body:
        raise ScenarioError("file is empty; expected a header 'n m p'", source=src)
    n, m, p = _ints(body[0][1], 3, body[0][0], src)
    if n < 1 or m < 0 or not 1 <= p <= n:
        raise ScenarioError(f"line {body[0][0]}: need n >= 1, m >= 0, 1 <= p <= n, got n={n} m={m} p={p}",
                            source=src)
    if len(body) - 1 < m:
        raise ScenarioError(f"expected {m} edge lines after the header, got {len(body) - 1}", source=src)
    edges = {}
    for lineno, ln in body[1:m + 1]:
        i, j, c = _ints(ln, 3, lineno, src)
        if not (1 <= i <= n and 1 <= j <= n):
            raise ScenarioError(f"line {lineno}: node out of range 1..{n} in edge ({i}, {j})", source=src)
        if c < 0:
            raise ScenarioError(f"line {lineno}: edge cost must be >= 0, got {c}", source=src)
        if i != j:
            key = (min(i, j) - 1, max(i, j) - 1)
            edges.pop(key, None)  # the LAST occurrence wins
            edges[key] = c
    if edges:
        a, b = np.array(list(edges), dtype=int).T
        w = np.array(list(edges.values()), dtype=float)
    else:
        a = b = np.zeros(0, int)
        w = np.zeros(0)
    # csgraph drops explicit zeros of a sparse graph, so zero-cost edges get a tiny
    # placeholder weight that is removed again below (distances are integers).
    eps = 1e-9
    g = csr_matrix((np.where(w > 0, w, eps), (a, b)), shape=(n, n))
    dist = shortest_path(g, method="D", directed=False)
    fin = np.isfinite(dist)
    dist[fin] = np.round(dist[fin])
    return PMedInstance(n=n, p=p, dist=dist, name=Path(path).stem)


def _tokens(path) -> list[tuple[str, int]]:
    return [(t, k + 1) for k, ln in enumerate(_lines(path)) for t in ln.split()]


def read_cap(path) -> CapInstance:
    """Read an OR-Library ``cap`` file (token stream) into a :class:`CapInstance`.

    Raises
    ------
    ScenarioError
        Malformed header, a non-numeric value, too few values, negative data.
    """
    src = str(path)
    tok = _tokens(path)
    if len(tok) < 2:
        raise ScenarioError("file too short; expected a header 'm n'", source=src)
    try:
        m, n = int(tok[0][0]), int(tok[1][0])
    except ValueError:
        raise ScenarioError(f"line {tok[0][1]}: expected 2 integers 'm n' in the header",
                            source=src) from None
    if m < 1 or n < 1:
        raise ScenarioError(f"line {tok[0][1]}: need m >= 1 and n >= 1, got m={m} n={n}", source=src)
    need = 2 * m + n * (1 + m)
    vals = tok[2:]
    if len(vals) < need:
        last = vals[-1][1] if vals else tok[1][1]
        raise ScenarioError(f"expected {need} numbers after the header for m={m} sites and n={n} "
                            f"customers, got {len(vals)} (file ends at line {last})", source=src)
    if len(vals) > need:
        raise ScenarioError(f"line {vals[need][1]}: unexpected extra value {vals[need][0]!r} "
                            f"after {need} numbers", source=src)
    out = np.empty(need)
    for k, (t, lineno) in enumerate(vals):
        try:
            out[k] = float(t)
        except ValueError:
            raise ScenarioError(f"line {lineno}: expected a number, got {t!r}", source=src) from None
        if not np.isfinite(out[k]) or out[k] < 0:
            raise ScenarioError(f"line {lineno}: expected a finite number >= 0, got {t!r}", source=src)
    head = out[:2 * m].reshape(m, 2)
    cust = out[2 * m:].reshape(n, 1 + m)
    return CapInstance(capacity=head[:, 0].copy(), fixed_cost=head[:, 1].copy(),
                       demand=cust[:, 0].copy(), alloc_cost=cust[:, 1:].T.copy(),
                       name=Path(path).stem)


def read_optima(path) -> dict[str, float]:
    """Read ``pmedopt.txt`` / ``capopt.txt``: one ``name value`` pair per line."""
    src = str(path)
    out: dict[str, float] = {}
    for k, ln in enumerate(_lines(path), start=1):
        tok = ln.split()
        if not tok:
            continue
        if len(tok) != 2:
            raise ScenarioError(f"line {k}: expected 'name value', got {len(tok)} fields", source=src)
        try:
            out[tok[0]] = float(tok[1])
        except ValueError:
            raise ScenarioError(f"line {k}: expected a number, got {tok[1]!r}", source=src) from None
    return out


def solve_pmed_file(path, solver: str = "scip", time_limit: float | None = None,
                    gap: float = 1e-9, verbose: bool = False) -> FacilityResult:
    """Read a ``pmed`` file and solve its p-median problem (see :func:`pmedian`)."""
    inst = read_pmed(path)
    return solve_facility(pmedian(inst.dist, inst.p), solver=solver, time_limit=time_limit,
                          gap=gap, verbose=verbose)


def solve_cap_file(path, solver: str = "scip", time_limit: float | None = None,
                   gap: float = 1e-9, verbose: bool = False) -> FacilityResult:
    """Read a ``cap`` file and solve it with splittable demand (published optima assume so)."""
    inst = read_cap(path)
    prob = capacitated_facility_location(inst.capacity, inst.fixed_cost, inst.demand,
                                         inst.alloc_cost)
    return solve_facility(prob, solver=solver, time_limit=time_limit, gap=gap, verbose=verbose)
