"""The model of the paper's static core placement: E14 with E15–E17 as a mixed-integer program (docs/model.md §5.1–5.5).

This module holds the program and imports no solver: its data (:class:`E14Data`), the MILP it
builds (:func:`build_e14`), its objective, cost and constraint checks, and the :class:`Placement`
result. The solvers import it; :func:`edgefm.placement.e14solve.place` chooses among them.

Variables, for every core MS m and node v where one instance fits (a *pair* p = (v, m)):
x_{v,m} ∈ ℕ instances and b_{v,m} ∈ {0, 1} (the pair is used). The program is

    min   Σ x_{v,m} (c_dp_m + c_mt_m − ξ Q_{v,m})                         (E14)
    s.t.  Σ_m r_{m,k} x_{v,m} ≤ R_{v,k} (1 − reserve)        ∀ v, k       capacity
          Σ_v x_{v,m} ≥ N_m                                  ∀ core m     demand
          b_{v,m} ≤ x_{v,m} ≤ U_{v,m} b_{v,m}                 ∀ pairs     linking
          Σ b_{v,m} ≥ κ                                                   diversity floor (E17)
          [Σ b_{v,m} ≤ K]                                                 consolidation (option)
          [Σ_v b_{v,m} ≥ 2                                   ∀ core m]    survivability (option)

with U_{v,m} = min_k ⌊R_{v,k}(1 − reserve) / r_{m,k}⌋. With b = [x ≥ 1] forced by the linking rows,
Σ b = ‖X‖₀ counts the distinct (node, MS) pairs in use.

Variants (``PlacementParams.variant``):

* ``"literal"`` — as printed. The reward −ξQx is linear, so every pair with ξQ > c_dp + c_mt is
  filled to capacity (docs/model.md §10, "E14 fills pairs to capacity").
* ``"bounded"`` — x_{v,m} ≤ min(U_{v,m}, ⌈occ_{v,m}⌉ + spare) where occ_{v,m} = z̃_{v,m}/Δ · a_m/f_m
  is the mean occupancy the pair is expected to serve. Because the E15 weights are normalised
  over nodes, Σ_v occ_{v,m} is the MS's total occupancy, so Σ_v ⌈occ_{v,m}⌉ ≥ N_m whenever
  N_m > 1; where the capacity cap U breaks that, the caps of the pairs with the largest occ are
  raised (up to U) until Σ_v cap ≥ N_m again.

κ search (E17, ``kappa=None``, run by :mod:`edgefm.placement.e14solve`): κ* is the largest κ whose optimum stays within (1 − ρ)|OPT₀| of
the κ = 0 optimum, objective(κ) ≤ OPT₀ + (1 − ρ)|OPT₀|. The feasible sets are nested in κ, so
objective(κ) is non-decreasing and the largest admissible κ is found by bisection between the
support of the κ = 0 optimum (admissible: it attains OPT₀) and the number of pairs + 1
(infeasible by counting).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InfeasibleError
from ..scenario.schema import RESOURCES, Scenario
from .profile import MeanProfile, mean_profile

__all__ = ["Placement", "E14Data", "e14_data", "build_e14", "e14_objective", "core_cost", "violations",
           "make_placement", "max_support", "check_necessary"]


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class Placement:
    """A core placement (Tier 1) and how it was found.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"time_limit"``, ``"node_limit"`` (exact solvers), ``"heuristic"``
        (greedy, relaxation).
    objective : float
        E14 objective Σ x (c_dp + c_mt − ξQ) of ``x``.
    bound, gap : float
        Proven lower bound and relative gap (nan when none).
    seconds : float
        Solver time of the returned solve; a κ search's total is ``info["search_seconds"]``.
    nodes : int
        Branch-and-bound nodes of the returned solve (0 when not applicable).
    kappa : int or None
        The diversity floor κ used (E17).
    variant, solver : str
    x : ndarray, shape (V, M) int
        Instances per node and MS (zeros in the light-MS columns).
    cost_core : float
        E6 core cost Σ x (c_dp + T c_mt) over the horizon T.
    score : float
        Σ ξ Q x, the QoS part of the objective.
    node_names, ms_names : tuple of str
    info : dict
        Method-specific extras (κ search trace, LP bound, gap to an exact optimum, ...).
    """

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    nodes: int
    kappa: int | None
    variant: str
    solver: str
    x: np.ndarray
    cost_core: float
    score: float
    node_names: tuple[str, ...] = ()
    ms_names: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)

    @property
    def n_instances(self) -> int:
        return int(self.x.sum())

    @property
    def sites(self) -> int:
        """‖X‖₀, the number of (node, MS) pairs with at least one instance."""
        return int(np.count_nonzero(self.x))

    def per_ms(self) -> dict[str, int]:
        """Instances per MS name (core MSs only have non-zero counts)."""
        return {m: int(c) for m, c in zip(self.ms_names, self.x.sum(axis=0)) if c}

    def instances(self) -> list[dict]:
        """One ``{ms, node, count}`` dict per used (node, MS) pair, by MS then node index."""
        out = []
        V, M = self.x.shape
        for m in range(M):
            for v in range(V):
                if self.x[v, m]:
                    out.append({"ms": self.ms_names[m], "node": self.node_names[v], "count": int(self.x[v, m])})
        return out

    def to_dict(self) -> dict:
        """A JSON-ready summary (floats, ints, strings, lists; nan → None)."""
        def f(a):
            return None if a is None or not np.isfinite(a) else float(a)

        info = {k: v for k, v in self.info.items() if isinstance(v, (int, float, str, list, type(None)))}
        return {
            "status": self.status, "objective": f(self.objective), "bound": f(self.bound), "gap": f(self.gap),
            "seconds": float(self.seconds), "nodes": int(self.nodes), "kappa": self.kappa,
            "variant": self.variant, "solver": self.solver, "cost_core": float(self.cost_core),
            "score": float(self.score), "n_instances": self.n_instances, "sites": self.sites,
            "instances": self.instances(), "info": info,
        }


# --------------------------------------------------------------------------- model data
@dataclass(frozen=True, eq=False)
class E14Data:
    """The numbers of one E14 instance, indexed by pair p = (pv[p], pm[p]).

    ``coef`` is c_dp + c_mt − ξQ, ``cap`` the upper bound on x (U, or the bounded cap), ``U`` the
    capacity bound, ``N`` the demand (M,), ``R`` the usable capacity (V, K), ``r`` the demand (M, K).
    """

    pv: np.ndarray
    pm: np.ndarray
    coef: np.ndarray
    cap: np.ndarray
    U: np.ndarray
    N: np.ndarray
    R: np.ndarray
    r: np.ndarray
    core: tuple[int, ...]
    variant: str
    profile: MeanProfile

    @property
    def n_pairs(self) -> int:
        return len(self.pv)


def _U(R: np.ndarray, r: np.ndarray) -> np.ndarray:
    """U_{v,m} = min_k ⌊R_{v,k}/r_{m,k}⌋ over k with r > 0, shape (V, M); 10⁴ if r_m = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(r[None, :, :] > 0, np.floor(R[:, None, :] / np.where(r > 0, r, 1.0)[None] + 1e-9), np.inf)
    u = q.min(axis=2)
    return np.where(np.isfinite(u), np.maximum(u, 0), 1e4).astype(int)


def e14_data(scenario: Scenario, profile: MeanProfile | None = None, variant: str | None = None,
             reserve: float | None = None, spare: int | None = None) -> E14Data:
    """Assemble the pair-indexed data of E14 (coefficients, bounds, demand) for a variant."""
    pp = scenario.placement
    variant = pp.variant if variant is None else variant
    if variant not in ("literal", "bounded"):
        raise ValueError(f"variant must be 'literal' or 'bounded', got {variant!r}")
    reserve = pp.reserve if reserve is None else reserve
    spare = pp.spare if spare is None else int(spare)
    prof = mean_profile(scenario) if profile is None else profile
    R = scenario.capacity * (1.0 - reserve)
    r = scenario.demand
    U = _U(R, r)  # (V, M)
    core = tuple(m for m in scenario.core_ms if m in scenario.used_ms)  # an unused MS gets no pairs
    N = np.zeros(scenario.n_ms, dtype=int)
    N[list(core)] = prof.n_min[list(core)]
    cost = np.array([m.cost_deploy + m.cost_maintain for m in scenario.microservices])
    coef_vm = cost[None, :] - pp.xi * prof.score
    cap_vm = U.copy()
    if variant == "bounded":
        occ = prof.occupancy
        cap_vm = np.minimum(U, np.ceil(occ - 1e-9).astype(int) + spare)
        for m in core:
            order = np.argsort(-occ[:, m], kind="stable")
            while cap_vm[:, m].sum() < N[m] and (cap_vm[:, m] < U[:, m]).any():
                v = next(v for v in order if cap_vm[v, m] < U[v, m])
                cap_vm[v, m] += 1
    mask = np.zeros_like(U, dtype=bool)
    mask[:, list(core)] = True
    mask &= cap_vm >= 1
    pv, pm = np.nonzero(mask)
    order = np.lexsort((pv, pm))  # by MS, then node
    pv, pm = pv[order], pm[order]
    return E14Data(pv=pv, pm=pm, coef=coef_vm[pv, pm], cap=cap_vm[pv, pm], U=U[pv, pm], N=N, R=R, r=r,
                   core=core, variant=variant, profile=prof)


def build_e14(scenario: Scenario, data: E14Data, kappa: int = 0, max_sites: int | None = None,
              survivable: bool = False, names: bool = False, cuts: bool = True):
    """E14 as a :class:`~edgefm.placement.milp.MILP`: variables [x_p …, b_p …], rows as in the module doc."""
    import scipy.sparse as sp

    from .milp import MILP

    P, V, K = data.n_pairs, scenario.n_nodes, len(RESOURCES)
    use_b = bool(kappa and kappa > 0) or max_sites is not None or survivable
    cuts = cuts and use_b
    rows, cols, vals, lo, hi, rnames = [], [], [], [], [], []

    def row(cs, vs, low, up, name):
        i = len(lo)
        rows.extend([i] * len(cs))
        cols.extend(cs)
        vals.extend(vs)
        lo.append(low)
        hi.append(up)
        rnames.append(name)

    ids = np.arange(P)
    for v in range(V):
        at = ids[data.pv == v]
        for k in range(K):
            coef = data.r[data.pm[at], k]
            nz = coef > 0
            if nz.any():
                row(list(at[nz]), list(coef[nz]), -np.inf, data.R[v, k], f"cap[{v},{RESOURCES[k]}]")
        # valid inequalities on the sites (x ≥ b makes them implied): the b-knapsack per resource and
        # pairwise conflicts b + b' ≤ 1 of MSs that cannot share v; they tighten the LP bound on ‖X‖₀
        # and make infeasible κ cheap to prove
        for k in range(K if cuts else 0):
            coef = data.r[data.pm[at], k]
            if coef.sum() > data.R[v, k] + 1e-9:
                row(list(P + at), list(coef), -np.inf, data.R[v, k], f"site_cap[{v},{RESOURCES[k]}]")
        for i, p in enumerate(at if cuts else ()):
            for q in at[i + 1:]:
                if np.any(data.r[data.pm[p]] + data.r[data.pm[q]] > data.R[v] + 1e-9):
                    row([P + p, P + q], [1.0, 1.0], -np.inf, 1.0, f"conflict[{p},{q}]")
    for m in data.core:
        of = ids[data.pm == m]
        row(list(of), [1.0] * len(of), float(data.N[m]), np.inf, f"demand[{m}]")
        if survivable:
            row(list(P + of), [1.0] * len(of), 2.0, np.inf, f"survive[{m}]")
    for p in range(P if use_b else 0):
        row([p, P + p], [1.0, -1.0], 0.0, np.inf, f"link_lo[{p}]")
        if max_sites is not None:
            row([p, P + p], [1.0, -float(data.cap[p])], -np.inf, 0.0, f"link_hi[{p}]")
    if kappa and kappa > 0:
        row(list(P + ids), [1.0] * P, float(kappa), np.inf, "kappa")
    if max_sites is not None:
        row(list(P + ids), [1.0] * P, -np.inf, float(max_sites), "max_sites")
    nb = P if use_b else 0
    A = sp.csr_matrix((vals, (rows, cols)), shape=(len(lo), P + nb))
    c = np.concatenate([data.coef, np.zeros(nb)])
    lb = np.zeros(P + nb)
    ub = np.concatenate([data.cap.astype(float), np.ones(nb)])
    integrality = np.ones(P + nb, dtype=int)
    vn = None
    if names:
        vn = [f"x[{scenario.nodes[v].name},{scenario.microservices[m].name}]" for v, m in zip(data.pv, data.pm)]
        vn += [f"b[{scenario.nodes[v].name},{scenario.microservices[m].name}]"
               for v, m in zip(data.pv, data.pm)][:nb]
    return MILP(c, A, np.array(lo), np.array(hi), lb, ub, integrality, var_names=vn, row_names=rnames)


# --------------------------------------------------------------------------- evaluation
def e14_objective(scenario: Scenario, x: np.ndarray, profile: MeanProfile | None = None) -> float:
    """Σ_{v, core m} x_{v,m} (c_dp_m + c_mt_m − ξ Q_{v,m}) for a (V, M) placement (E14)."""
    prof = mean_profile(scenario) if profile is None else profile
    cost = np.array([m.cost_deploy + m.cost_maintain for m in scenario.microservices])
    core = list(scenario.core_ms)
    coef = cost[None, :] - scenario.placement.xi * prof.score
    return float((np.asarray(x)[:, core] * coef[:, core]).sum())


def core_cost(scenario: Scenario, x: np.ndarray) -> float:
    """E6 core cost Σ x_{v,m} (c_dp_m + T c_mt_m), T = ``scenario.horizon_slots``."""
    T = scenario.horizon_slots
    c = np.array([m.cost_deploy + T * m.cost_maintain for m in scenario.microservices])
    core = list(scenario.core_ms)
    return float((np.asarray(x)[:, core] * c[core]).sum())


def violations(scenario: Scenario, x: np.ndarray, n_min=None, kappa: int = 0, reserve: float | None = None,
               survivable: bool = False) -> list[str]:
    """Constraints of E14 that the (V, M) placement ``x`` violates (empty list when feasible)."""
    x = np.asarray(x)
    reserve = scenario.placement.reserve if reserve is None else reserve
    R = scenario.capacity * (1.0 - reserve)
    used = x @ scenario.demand
    out = []
    for v, k in zip(*np.nonzero(used > R + 1e-6)):
        out.append(f"capacity: node {scenario.nodes[v].name} uses {RESOURCES[k]} {used[v, k]:.4g} > {R[v, k]:.4g}")
    n_min = mean_profile(scenario).n_min if n_min is None else n_min
    for m in scenario.core_ms:
        if x[:, m].sum() < n_min[m]:
            out.append(f"demand: {scenario.microservices[m].name} has {x[:, m].sum()} < N_m = {n_min[m]}")
        if survivable and np.count_nonzero(x[:, m]) < 2:
            out.append(f"survivability: {scenario.microservices[m].name} on fewer than 2 nodes")
    if np.any(x[:, list(scenario.light_ms)]):
        out.append("light MSs must have no static instances")
    if np.any(x < 0):
        out.append("negative instance counts")
    if np.count_nonzero(x[:, list(scenario.core_ms)]) < kappa:
        out.append(f"diversity: ‖X‖₀ = {np.count_nonzero(x)} < κ = {kappa}")
    return out


def make_placement(scenario, data, x_pairs, *, status, bound, gap, seconds, nodes, kappa, solver,
                   info) -> Placement:
    """The :class:`Placement` of instances per pair ``x_pairs`` (in ``data``'s pair order), with its
    objective, E6 core cost and QoS score computed from the model, and the solve's facts as given."""
    V, M = scenario.n_nodes, scenario.n_ms
    x = np.zeros((V, M), dtype=int)
    x[data.pv, data.pm] = np.rint(np.asarray(x_pairs)[: data.n_pairs]).astype(int)
    x.setflags(write=False)
    obj = float(data.coef @ x[data.pv, data.pm])
    score = float(scenario.placement.xi * (data.profile.score * x).sum())
    return Placement(status=status, objective=obj, bound=float(bound), gap=float(gap), seconds=float(seconds),
                     nodes=int(nodes), kappa=kappa, variant=data.variant, solver=solver, x=x,
                     cost_core=core_cost(scenario, x), score=score,
                     node_names=tuple(n.name for n in scenario.nodes),
                     ms_names=tuple(m.name for m in scenario.microservices), info=dict(info))


# --------------------------------------------------------------------------- necessary conditions
def max_support(scenario: Scenario, data: E14Data, exhaustive_up_to: int = 16) -> int:
    """An upper bound on ‖X‖₀: Σ_v the most distinct core MSs that fit on v together.

    Exact per node (largest subset whose summed demand fits) when v can host at most
    ``exhaustive_up_to`` core MSs, else the number it can host alone.
    """
    import hashlib

    key = hashlib.sha256(b"|".join(np.ascontiguousarray(a).tobytes() + str((a.dtype, a.shape)).encode()
                                   for a in (data.pv, data.pm, data.r, data.R))
                         + f"|{scenario.n_nodes}|{exhaustive_up_to}".encode()).hexdigest()
    if key not in _MAX_SUPPORT:  # one program asks several times (κ search, each solver's checks)
        if len(_MAX_SUPPORT) >= 256:
            _MAX_SUPPORT.clear()
        _MAX_SUPPORT[key] = _max_support(scenario.n_nodes, data, exhaustive_up_to)
    return _MAX_SUPPORT[key]


#: :func:`max_support` by a hash of the arrays it reads (a pure function of them; issue 13: on a large
#: network it took seconds and the placement study asked for the same program's up to 7 times).
_MAX_SUPPORT: dict = {}


def _max_support(n_nodes: int, data: E14Data, exhaustive_up_to: int) -> int:
    from itertools import combinations

    total = 0
    for v in range(n_nodes):
        ms = data.pm[data.pv == v]
        if len(ms) > exhaustive_up_to:
            total += len(ms)
            continue
        best = 0
        for size in range(len(ms), 0, -1):
            if any(np.all(data.r[list(c)].sum(axis=0) <= data.R[v] + 1e-9) for c in combinations(ms, size)):
                best = size
                break
        total += best
    return total


def check_necessary(scenario: Scenario, data: E14Data, kappa: int = 0, max_sites: int | None = None,
                    survivable: bool = False) -> None:
    """Raise :class:`InfeasibleError` when a necessary condition of E14 fails (before any solve)."""
    R, r, N = data.R, data.r, data.N
    mss = scenario.microservices
    for m in data.core:
        if not np.any(data.pm == m):
            # fits nowhere: name the resource that no node can supply, else the closest node
            short = [k for k in range(len(RESOURCES)) if r[m, k] > R[:, k].max() + 1e-9]
            if short:
                k = short[0]
                raise InfeasibleError(
                    f"core MS {mss[m].name!r} needs {RESOURCES[k]} {r[m, k]:.1f} per instance but the largest "
                    f"node has {R[:, k].max():.1f}")
            if data.variant == "bounded" and np.any(data.U[data.pm == m] > 0):
                raise InfeasibleError(f"core MS {mss[m].name!r}: every bounded cap is 0; raise placement.spare")
            lack = {scenario.nodes[v].name: [RESOURCES[k] for k in range(len(RESOURCES)) if r[m, k] > R[v, k]]
                    for v in range(scenario.n_nodes)}
            raise InfeasibleError(
                f"core MS {mss[m].name!r} ({', '.join(f'{k} {q:.1f}' for k, q in zip(RESOURCES, r[m]))}) fits on "
                f"no single node; each lacks some resource: "
                + "; ".join(f"{v}: {'/'.join(ks)}" for v, ks in lack.items()))
    core = list(data.core)
    need = N[core] @ r[core]
    for k in range(len(RESOURCES)):
        if need[k] > R[:, k].sum() + 1e-9:
            lst = ", ".join(f"{mss[m].name} {N[m]}" for m in core)
            raise InfeasibleError(
                f"resource {RESOURCES[k]}: the N_m = [{lst}] instances need {need[k]:.1f} but the nodes hold "
                f"{R[:, k].sum():.1f}")
    for m in core:
        most = int(data.cap[data.pm == m].sum())
        if most < N[m]:
            raise InfeasibleError(f"core MS {mss[m].name!r} needs N_m = {N[m]} instances but at most {most} fit "
                                  f"on all nodes together")
        if survivable and np.count_nonzero(data.pm == m) < 2:
            raise InfeasibleError(f"survivability: core MS {mss[m].name!r} fits on only one node, needs 2")
    P = data.n_pairs
    if kappa > P:
        raise InfeasibleError(f"kappa = {kappa} exceeds the {P} (node, core MS) pairs that can host an instance")
    most = max_support(scenario, data)
    if kappa > most:
        raise InfeasibleError(f"kappa = {kappa} exceeds {most}, the most (node, core MS) pairs that can be used at "
                              f"once (of {P} pairs that can host an instance, nodes cannot hold all their MSs "
                              f"together); lower kappa")
    if max_sites is not None:
        least = len(core) * (2 if survivable else 1)
        if max_sites < least:
            raise InfeasibleError(f"max_sites = {max_sites} < {least}: every core MS needs "
                                  f"{'2 sites' if survivable else 'a site'}")
        if kappa > max_sites:
            raise InfeasibleError(f"kappa = {kappa} exceeds max_sites = {max_sites}")
