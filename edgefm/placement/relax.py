"""Low-complexity E14: LP relaxation, reweighted ℓ1 support selection, rounding and repair (docs/model.md §5.8).

1. **LP relaxation** (cvxpy, HiGHS or CLARABEL): x ∈ [0, cap], b ∈ [0, 1] with every row of E14
   (capacity, demand, linking b ≤ x ≤ cap·b, Σ b ≥ κ, options) plus the valid site knapsack
   Σ_m r_{m,k} b_{v,m} ≤ R_{v,k}. Its optimum is a valid lower bound.
   With ``kappa=None`` (search) κ is chosen by the rule of E17 applied to the LP values, which are
   non-decreasing in κ: the largest κ with LP(κ) ≤ LP(0) + (1 − ρ)|LP(0)| (bisection).
2. **Reweighted ℓ1** (Candès, Wakin & Boyd 2008): re-solve min cᵀx + μ Σ_p w_p x_p with
   w_p = 1/(x_p + ε) from the previous iterate, a few times. The term is a concave (log) surrogate of
   the number of used pairs: it sweeps fractional dust off weakly used pairs, so rounding has fewer
   pairs to round up. The floor Σ b ≥ κ of E17 stays a hard constraint, so the sparsity push can never
   take the support below κ; it only decides *which* pairs carry the diversity.
3. **Rounding and repair**: x ← ⌊x⌋ (cannot break capacity since r ≥ 0); then add instances, best
   coefficient first, until Σ_v x ≥ N_m, ‖X‖₀ ≥ κ and (option) 2 nodes per MS, making room on a node by
   removing surplus instances when needed; finally single-instance local search (add an instance with a
   negative coefficient, remove one with a positive coefficient) while it improves and stays feasible.
   Both the plain LP point and the reweighted point are rounded; the better result is returned.

The result reports ``bound`` = LP optimum and ``gap`` to it, and ``info["gap_to_exact"]`` when an exact
optimum is supplied.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import InfeasibleError, SolverError
from ..scenario.schema import RESOURCES, Scenario
from .milp import is_verbose, native_output
from .model import E14Data, Placement, make_placement, check_necessary, e14_data, max_support
from .profile import MeanProfile, mean_profile

__all__ = ["relaxed_placement", "lp_relaxation"]


def _cvx_solver():
    import cvxpy as cp

    inst = cp.installed_solvers()
    for s in ("HIGHS", "CLARABEL"):
        if s in inst:
            return s
    raise SolverError("cvxpy has neither HiGHS nor CLARABEL installed; pip install highspy or clarabel")


class _LP:
    """The E14 LP relaxation as a parametrised cvxpy problem (κ and the ℓ1 weights are parameters)."""

    def __init__(self, scenario: Scenario, data: E14Data, max_sites, survivable):
        import cvxpy as cp
        import scipy.sparse as sp

        P, V, K = data.n_pairs, scenario.n_nodes, len(RESOURCES)
        self.x = cp.Variable(P, nonneg=True)
        self.b = cp.Variable(P, nonneg=True)
        self.kappa = cp.Parameter(nonneg=True, value=0.0)
        self.w = cp.Parameter(P, nonneg=True, value=np.zeros(P))
        rows, cols, vals, rhs = [], [], [], []
        for v in range(V):
            at = np.flatnonzero(data.pv == v)
            for k in range(K):
                if at.size and np.any(data.r[data.pm[at], k] > 0):
                    rows += [len(rhs)] * at.size
                    cols += list(at)
                    vals += list(data.r[data.pm[at], k])
                    rhs.append(data.R[v, k])
        Acap = sp.csr_matrix((vals, (rows, cols)), shape=(len(rhs), P))
        D = sp.csr_matrix(np.array([(data.pm == m).astype(float) for m in data.core]))
        cons = [Acap @ self.x <= np.array(rhs), Acap @ self.b <= np.array(rhs), D @ self.x >= data.N[list(data.core)],
                self.x <= data.cap, self.b <= 1, self.b <= self.x,
                self.x <= cp.multiply(data.cap.astype(float), self.b), cp.sum(self.b) >= self.kappa]
        if survivable:
            cons.append(D @ self.b >= 2)
        if max_sites is not None:
            cons.append(cp.sum(self.b) <= max_sites)
        self.problem = cp.Problem(cp.Minimize(data.coef @ self.x + self.w @ self.x), cons)
        self.solver = _cvx_solver()

    def solve(self, kappa: float, w=None):
        import cvxpy as cp

        self.kappa.value = float(kappa)
        self.w.value = np.zeros(self.x.shape[0]) if w is None else w
        try:
            # HiGHS prints its banner from C on the first solve: on stderr with the log in a verbose block
            with native_output(to_stderr=is_verbose()):
                self.problem.solve(solver=self.solver, verbose=is_verbose())
        except cp.error.SolverError as exc:
            raise SolverError(f"cvxpy/{self.solver} failed on the E14 relaxation: {exc}") from None
        if self.problem.status in ("infeasible", "infeasible_inaccurate"):
            return None
        if self.problem.status not in ("optimal", "optimal_inaccurate"):
            raise SolverError(f"cvxpy/{self.solver} returned {self.problem.status} on the E14 relaxation")
        return np.clip(self.x.value, 0, None), float(self.problem.value)


def lp_relaxation(scenario: Scenario, kappa: int = 0, variant: str | None = None, max_sites=None,
                  survivable=False, profile: MeanProfile | None = None) -> tuple[np.ndarray, float]:
    """Solve the LP relaxation of E14: (x over pairs, LP optimum = lower bound)."""
    data = e14_data(scenario, profile, variant)
    out = _LP(scenario, data, max_sites, survivable).solve(kappa)
    if out is None:
        raise InfeasibleError(f"the LP relaxation of E14 is infeasible at kappa = {kappa}")
    return out


# --------------------------------------------------------------------------- rounding + repair
class _Repair:
    def __init__(self, data: E14Data, kappa: int, max_sites, survivable):
        self.d, self.kappa, self.max_sites, self.surv = data, kappa, max_sites, survivable
        self.r = data.r[data.pm]  # (P, K)
        self.R = data.R
        self._at: dict = {}  # node -> its pairs, ascending

    def load(self, x):
        used = np.zeros_like(self.R)
        np.add.at(used, self.d.pv, x[:, None] * self.r)
        return used

    def node_load(self, x, v):
        """``load(x)[v]`` bit for bit (the same products summed in the same pair order), computed
        from node v's pairs only: :meth:`fits` needs one node, and the whole table made the repair
        of a large program quadratic (issue 13)."""
        at = self._at.get(v)
        if at is None:
            at = self._at[v] = np.flatnonzero(self.d.pv == v)
        used = np.zeros((1, self.R.shape[1]), dtype=self.R.dtype)
        np.add.at(used, np.zeros(at.size, dtype=np.intp), x[at][:, None] * self.r[at])
        return used[0]

    def fits(self, x, p, used=None):
        if not x[p] < self.d.cap[p]:
            return False
        v = self.d.pv[p]
        u = self.node_load(x, v) if used is None else used[v]
        return np.all(u + self.r[p] <= self.R[v] + 1e-9)

    def surplus(self, x, m):
        return int(x[self.d.pm == m].sum()) - int(self.d.N[m])

    def removable(self, x, q):
        """Whether one instance of pair q may go without breaking demand, κ or survivability."""
        d = self.d
        if x[q] < 1 or self.surplus(x, d.pm[q]) < 1:
            return False
        if x[q] == 1:
            if np.count_nonzero(x) <= self.kappa:
                return False
            if self.surv and np.count_nonzero(x[d.pm == d.pm[q]]) <= 2:
                return False
        return True

    def add(self, x, candidates):
        """Add one instance on the best-coefficient candidate pair, making room if needed."""
        for p in sorted(candidates, key=lambda p: self.d.coef[p]):
            if self.fits(x, p):
                x[p] += 1
                return True
        for p in sorted(candidates, key=lambda p: self.d.coef[p]):
            if x[p] >= self.d.cap[p]:
                continue
            y = x.copy()
            same = [q for q in np.flatnonzero(self.d.pv == self.d.pv[p]) if q != p]
            for q in sorted(same, key=lambda q: -self.d.coef[q]):
                while self.removable(y, q) and not self.fits(y, p):
                    y[q] -= 1
                if self.fits(y, p):
                    y[p] += 1
                    x[:] = y
                    return True
        return False

    def run(self, x):
        d = self.d
        x = x.copy()
        for m in d.core:
            of = np.flatnonzero(d.pm == m)
            while x[of].sum() < d.N[m]:
                if not self.add(x, of):
                    return None
            if self.surv:
                while np.count_nonzero(x[of]) < 2:
                    if not self.add(x, [p for p in of if x[p] == 0]):
                        return None
        while np.count_nonzero(x) < self.kappa:
            if not self.add(x, np.flatnonzero(x == 0)):
                return None
        if self.max_sites is not None and np.count_nonzero(x) > self.max_sites:
            return None
        # local search: single-instance adds (negative coefficient) and removals (positive)
        improved = True
        while improved:
            improved = False
            used = self.load(x)
            for p in np.argsort(d.coef):
                if d.coef[p] >= 0:
                    break
                if (x[p] > 0 or self.max_sites is None or np.count_nonzero(x) < self.max_sites) \
                        and self.fits(x, p, used):
                    x[p] += 1
                    used[d.pv[p]] += self.r[p]
                    improved = True
            for p in np.argsort(-d.coef):
                if d.coef[p] <= 0:
                    break
                while self.removable(x, p):
                    x[p] -= 1
                    improved = True
            improved |= self.swap(x)
        return x

    def swap(self, x) -> bool:
        """One improving exchange on a node: drop an instance of pair q, add one of a cheaper pair p."""
        d = self.d
        for v in np.unique(d.pv):
            at = np.flatnonzero(d.pv == v)
            for q in sorted(at, key=lambda q: -d.coef[q]):
                if not self.removable(x, q):
                    continue
                for p in sorted(at, key=lambda p: d.coef[p]):
                    if d.coef[p] >= d.coef[q] or p == q:
                        break
                    if x[p] == 0 and self.max_sites is not None and np.count_nonzero(x) >= self.max_sites:
                        continue
                    x[q] -= 1
                    if self.fits(x, p):
                        x[p] += 1
                        return True
                    x[q] += 1
        return False


def _kappa_search(lp: _LP, rho: float, hi: int) -> int:
    """Largest κ ≤ hi with LP(κ) ≤ LP(0) + (1 − ρ)|LP(0)| (LP values are non-decreasing in κ)."""
    _, v0 = lp.solve(0)
    thr = v0 + (1 - rho) * abs(v0) + 1e-9 * max(1.0, abs(v0))
    lo, hi = 0, hi + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        out = lp.solve(mid)
        if out is not None and out[1] <= thr:
            lo = mid
        else:
            hi = mid
    return lo


def relaxed_placement(scenario: Scenario, kappa: int | None = None, variant: str | None = None,
                      max_sites: int | None = None, survivable: bool = False,
                      profile: MeanProfile | None = None, exact_objective: float | None = None,
                      iterations: int = 3, epsilon: float = 0.5, weight: float | None = None) -> Placement:
    """E14 by LP relaxation + reweighted ℓ1 + rounding and repair (module docstring).

    Parameters
    ----------
    scenario : Scenario
    kappa : int, optional
        Diversity floor; ``None`` → ``scenario.placement.kappa`` → the LP κ search.
    variant : {"literal", "bounded"}, optional
    max_sites, survivable : as in :func:`~edgefm.placement.e14solve.place`
    profile : MeanProfile, optional
    exact_objective : float, optional
        An exact E14 optimum (e.g. from SCIP) to report ``info["gap_to_exact"]`` against.
    iterations : int
        Reweighting rounds (Candès et al. use a handful).
    epsilon : float
        ε of the weights 1/(x + ε), in instances.
    weight : float, optional
        μ, the scale of the ℓ1 term; default 1 % of the median |coefficient|.

    Returns
    -------
    Placement
        Status ``"heuristic"``; ``bound`` is the LP optimum.
    """
    t0 = time.perf_counter()
    prof = mean_profile(scenario) if profile is None else profile
    data = e14_data(scenario, prof, variant)
    if kappa is None:
        kappa = scenario.placement.kappa
    check_necessary(scenario, data, kappa or 0, max_sites, survivable)
    lp = _LP(scenario, data, max_sites, survivable)
    searched = kappa is None
    if searched:
        hi = max_support(scenario, data)
        hi = hi if max_sites is None else min(hi, max_sites)
        kappa = _kappa_search(lp, scenario.placement.rho, hi)
    while True:
        best, bound, n_iter, x_lp = _round(lp, data, kappa, max_sites, survivable, iterations, epsilon, weight)
        if best is not None or not searched or kappa == 0:
            break
        kappa -= 1  # the LP κ admits no repaired integer placement: step down
    if best is None:
        raise InfeasibleError("relaxation rounding could not repair the placement (capacity too tight for "
                              "N_m / kappa); use solver='scip'")
    obj = float(data.coef @ best)
    info = {"lp_bound": bound, "reweight_iterations": n_iter, "epsilon": epsilon, "kappa_searched": searched}
    if exact_objective is not None:
        info["gap_to_exact"] = (obj - exact_objective) / max(abs(exact_objective), 1e-12)
    gap = (obj - bound) / max(abs(obj), 1e-12)
    return make_placement(scenario, data, best, status="heuristic", bound=bound, gap=gap,
                      seconds=time.perf_counter() - t0, nodes=0, kappa=int(kappa), solver="relax", info=info)


def _round(lp: _LP, data: E14Data, kappa, max_sites, survivable, iterations, epsilon, weight):
    """LP at κ, reweighted ℓ1 iterations, rounding + repair of both points; (x or None, LP bound, iterations)."""
    out = lp.solve(kappa)
    if out is None:
        raise InfeasibleError(f"the LP relaxation of E14 is infeasible (kappa = {kappa}): capacity, demand and "
                              f"the diversity floor cannot hold together")
    x_lp, bound = out
    mu = 0.01 * float(np.median(np.abs(data.coef))) if weight is None else float(weight)
    points = [x_lp]
    x = x_lp
    for _ in range(iterations):
        nxt = lp.solve(kappa, mu / (x + epsilon))
        if nxt is None:
            break
        x = nxt[0]
        points.append(x)
    rep = _Repair(data, kappa, max_sites, survivable)
    best = None
    for pt in (points[0], points[-1]):
        xr = rep.run(np.floor(pt + 1e-6).astype(int))
        if xr is not None and (best is None or data.coef @ xr < data.coef @ best):
            best = xr
    return best, bound, len(points) - 1, x_lp
