"""``ga``: a per-slot genetic algorithm over light instance counts (docs/model.md §7).

Genes are the instance counts x_{v,m} of the light MSs with waiting stages on
the up nodes, bounded below by the busy count and above by what fits (E8) and
by the number of waiting stages. Fitness (minimised) of a count vector:

    C_light(x) (E7)  +  Σ_s d̂_s  +  Σ_s max(0, age_s + d̂_s − D_n),

where d̂_s comes from the same greedy routing and delay model as Algorithm 1
(:func:`~edgefm.control.proposed.route_levels`) with the mean delay g_avg,
and an unassigned stage pays 2D_n + Δ. Other light MSs keep their busy
instances. The search (:func:`ga_minimize`): population 10, 30 generations,
binary tournaments, uniform crossover, ±1 mutation per gene with probability
0.1, capacity repair, and elitism (the best individual survives unchanged, so
the best fitness never gets worse). All randomness comes from the run's
``policy`` stream, so runs are reproducible.

Speed. Everything is evaluated for a whole population at once:

- the random numbers of a whole search are one ``rng.random`` draw (tournament
  picks, crossover masks, mutation masks and signs all derive from it);
- repair is a matrix product (population × genes) @ (genes × node resources)
  to find over-full nodes, then a closed form of the "decrement the largest
  excess gene" loop for those nodes (:meth:`_SlotEval.repair`);
- the fitness routes the stages of every (individual, MS) pair in lock-step:
  a per-slot table ``T[j, v, c, k]`` holds the g value of the k-th free level
  of MS j's c instances on node v (water-filling, as in ``_levels``), and the
  greedy routing of :func:`~edgefm.control.proposed.route_levels` becomes one
  argmin over ``[unassigned penalty, R_i + cur]`` per stage index — column 0
  (the penalty) wins ties, like the strict ``<`` of the scalar loop.
"""
from __future__ import annotations

import numpy as np

from ._kernels_ga import ga_cache, ga_fitness, ga_search, ga_tables
from .base import Decision, RunContext, State
from .lyapunov import unassigned_penalty
from .proposed import delay_tables, slot_problem

__all__ = ["GAController", "ga_minimize"]


def _batched(fitness, repair, n):
    """Adapt per-individual ``fitness``/``repair`` callables to (k, n) batches."""

    def fit_b(Z):
        return np.array([float(fitness(z)) for z in Z], dtype=float)

    def fix_b(Z):
        if repair is None:
            return Z
        out = np.empty_like(Z)
        for i in range(Z.shape[0]):
            out[i] = repair(Z[i].copy())
        return out

    return fit_b, fix_b


def ga_minimize(fitness, lo, hi, rng, population: int = 10, generations: int = 30, mutation: float = 0.1,
                seeds=(), repair=None, batch: bool = False):
    """Minimise ``fitness`` over integer vectors in the box [lo, hi] with an elitist GA.

    With ``batch=False`` ``fitness(z)`` scores one (n,) vector and ``repair(z)``
    fixes one; with ``batch=True`` both take a (k, n) array of individuals and
    return (k,) scores / a (k, n) array.

    Each generation keeps the best individual and breeds ``population − 1``
    children: two binary tournaments pick the parents, uniform crossover mixes
    them, each gene moves by ±1 with probability ``mutation``, then the child
    is clipped to the box and repaired. All random numbers of the search come
    from a single ``rng.random`` call, so the result depends only on the
    generator state.

    Returns ``(best, best_fitness, history)`` where ``history[g]`` is the best
    fitness after generation g (index 0 = initial population); it is
    non-increasing because the best individual is always kept.
    """
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    n = lo.size
    population = int(population)
    if batch:
        fit_b = fitness
        fix_b = repair if repair is not None else (lambda Z: Z)
    else:
        fit_b, fix_b = _batched(fitness, repair, n)
    seeds = [np.clip(np.asarray(s, dtype=np.int64), lo, hi) for s in seeds][:population]
    k = population - len(seeds)
    parts = [np.asarray(seeds, dtype=np.int64).reshape(len(seeds), n)] if seeds else []
    if k > 0:
        parts.append(rng.integers(lo, hi + 1, size=(k, n)))
    pop = fix_b(np.concatenate(parts, axis=0))
    fit = np.asarray(fit_b(pop), dtype=float)
    history = [float(fit.min())]
    nc = population - 1
    G = int(generations)
    if nc > 0 and G > 0:
        # per child: 4 tournament picks, n crossover, n mutation, n sign uniforms
        U = rng.random((G, nc, 4 + 3 * n))
        picks = (U[:, :, :4] * population).astype(np.int64)  # (G, nc, 4): a0, a1 | b0, b1
        cross = U[:, :, 4:4 + n] < 0.5
        delta = np.where(U[:, :, 4 + n:4 + 2 * n] < mutation, np.where(U[:, :, 4 + 2 * n:] < 0.5, -1, 1), 0)
    for g in range(G):
        e = int(np.argmin(fit))
        if nc <= 0:
            history.append(float(fit.min()))
            continue
        t = picks[g]
        ft = fit[t]
        par = np.where(ft[:, 1::2] < ft[:, 0::2], t[:, 1::2], t[:, 0::2])  # 2 binary tournaments, ties → first
        child = np.where(cross[g], pop[par[:, 0]], pop[par[:, 1]]) + delta[g]
        child = fix_b(np.minimum(np.maximum(child, lo), hi))
        cf = np.asarray(fit_b(child), dtype=float)
        pop = np.concatenate([pop[e:e + 1], child], axis=0)
        fit = np.concatenate([fit[e:e + 1], cf])
        history.append(float(fit.min()))
    e = int(np.argmin(fit))
    return pop[e].copy(), float(fit[e]), history


class _SlotEval:
    """Vectorised repair, fitness and routing of one slot's GA problem.

    Genes ``(gj, gv)``: group index j (the j-th MS of ``P.groups``) and node v.
    """

    def __init__(self, P, g, y, busy, slack, gj, gv, lo, hi_max, tables: bool = True):
        ms = list(P.groups)
        self.ms = ms
        Mg = len(ms)
        V = busy.shape[0]
        dem = P.demand
        K = dem.shape[1]
        self.Mg, self.V, self.gj, self.gv, self.lo = Mg, V, gj, gv, lo
        n = gj.size
        gm = np.asarray(ms, dtype=np.int64)[gj] if n else np.zeros(0, np.int64)
        # --- repair: node usage of the genes beyond busy = (z − lo) @ A
        A = np.zeros((n, V, K))
        if n:
            A[np.arange(n), gv] = dem[gm]
        self.A = A.reshape(n, V * K)
        self.avail = P.avail.reshape(-1)
        self.K = K
        per_node = [np.flatnonzero(gv == v) for v in range(V)]
        gmax = max([len(p) for p in per_node] + [1])
        self.NI = np.full((V, gmax), n, dtype=np.int64)  # pad → column n (a −1 sentinel)
        for v, p in enumerate(per_node):
            self.NI[v, :len(p)] = p
        dpad = np.concatenate([dem[gm], np.zeros((1, K))], axis=0) if n else np.zeros((1, K))
        self.Dn = dpad[self.NI]  # (V, G, K) demand of each node's genes, pad rows 0
        self.avn = np.ascontiguousarray(P.avail, dtype=float)
        self._dem = np.ascontiguousarray(dem, dtype=float)
        self.lop = np.concatenate([lo, [0]]).astype(np.int64)
        # --- cost (E7, light columns): constant part + per-gene terms
        light = P.light
        xb = busy.copy()
        self.cost0 = P.cost(xb)
        self.cdp = (P.c_dp[gm] * light[gm]) if n else np.zeros(0)
        self.crun = (P.c_run[gm] * light[gm]) if n else np.zeros(0)
        self.prevg = P.prev[gv, gm] if n else np.zeros(0, np.int64)
        self.gene0 = float((np.maximum(0, lo - self.prevg) * self.cdp + lo * self.crun).sum()) if n else 0.0
        # --- routing tables
        rows = [P.groups[m][0] for m in ms]
        S = np.array([len(r) for r in rows], dtype=np.int64)
        Smax = int(S.max())
        S1 = Smax + 1
        self.rows, self.S, self.Smax, self.S1 = rows, S, Smax, S1
        V1 = V + 1
        # stage i of group j: column 0 = unassigned penalty, columns 1.. = ready − now (inf on down nodes);
        # padding stages (i ≥ S_j) cost 0 and are never routed
        Rx = np.full((Smax, Mg, V1), np.inf)
        Rx[:, :, 0] = 0.0
        slk = np.full((Smax, Mg), np.inf)
        for j, m in enumerate(ms):
            _, R, _, pen = P.groups[m]
            s = len(R)
            Rx[:s, j, 1:] = np.asarray(R, dtype=float).reshape(s, V)
            Rx[:s, j, 0] = pen
            slk[:s, j] = slack[rows[j]]
        self.Rx = [np.ascontiguousarray(Rx[i]) for i in range(Smax)]
        self.Rx3 = Rx
        self.slack = slk[:, None, :]
        self.slack2 = np.ascontiguousarray(slk)
        self.gm = gm
        # base counts (non-gene pairs keep busy), dummy node 0 = "unassigned"
        bj = busy[:, ms].T  # (Mg, V)
        self.Xb = np.zeros((Mg, V1), dtype=np.int64)
        self.Xb[:, 1:] = bj
        hi_c = int(max(bj.max(initial=0), hi_max))
        C1 = hi_c + 1
        self.C1 = C1
        # B[j, v, L-1] = Σ_{busy instances} max(0, L − o): free levels ≤ L of the busy instances
        Ls = np.arange(1, y + 1)
        B = np.zeros((Mg, V, y), dtype=np.int64)
        for j, m in enumerate(ms):
            occ = P.occ.get(m)
            if occ is None:
                continue
            for v in range(V):
                if occ[v]:
                    B[j, v] = np.maximum(0, Ls[None, :] - np.asarray(occ[v])[:, None]).sum(axis=0)
        gx = np.full((Mg, y + 2), np.inf)
        gx[:, :y + 1] = g[ms]
        self.B, self.bj, self.gx = B, np.ascontiguousarray(bj), gx
        self._rxq = {}
        if not tables:  # the kernel evaluates the table lazily (ga_fitness)
            return
        c = np.arange(C1)
        extra = c[None, None, :] - bj[:, :, None]  # (Mg, V, C1) new empty instances
        N = B[:, :, None, :] + np.maximum(extra, 0)[..., None] * Ls  # (Mg, V, C1, y) levels ≤ L
        ok = (extra >= 0)[..., None] & (N <= Smax)
        cell = np.arange(Mg * V * C1).reshape(Mg, V, C1, 1) * S1
        cnt = np.bincount((cell + N)[ok], minlength=Mg * V * C1 * S1).reshape(Mg, V, C1, S1)
        lev = 1 + np.cumsum(cnt, axis=-1)  # k-th free level (y+1 = none)
        T = np.zeros((Mg, V1, C1, S1))
        T[:, 1:] = gx[np.arange(Mg)[:, None, None, None], lev]
        self.Tf = T.reshape(-1)
        self.cell0 = (np.arange(Mg)[:, None] * V1 + np.arange(V1)[None, :]) * C1  # (Mg, V1)

    # ------------------------------------------------------------------
    def repair(self, Z):
        """Per individual and over-full node, drop one instance of the gene with
        the largest excess over busy (first on ties) until the node fits (E8).

        Closed form of that loop: with excess W ≥ 0 its states are, for caps
        h = max W, …, 1, "min(W, h), then lower the genes at h to h − 1 one at a
        time in gene order". Usage falls along the sequence, so the largest cap
        L* whose state min(W, L*) fits is found first, and then the first gene
        of level L* + 1 after whose lowering the node fits.
        """
        Z = np.array(Z, dtype=np.int64)
        Q, n = Z.shape
        if n == 0:
            return Z
        V, K = self.V, self.K
        W = Z - self.lo
        over = ((W.astype(float) @ self.A - self.avail) > 1e-9).reshape(Q, V, K).any(axis=2)
        if not over.any():
            return Z
        qs, vs = np.nonzero(over)
        gi = self.NI[vs]  # (E, G) gene ids, pad = n
        idx = qs[:, None] * (n + 1) + gi
        Zp = np.concatenate([Z, np.zeros((Q, 1), np.int64)], axis=1).reshape(-1)
        Wp = Zp[idx] - self.lop[gi]  # (E, G), pad 0
        top = int(Wp.max())
        if top <= 0:
            return Z
        Dn = self.Dn[vs]  # (E, G, K)
        av = self.avn[vs][:, None, :]  # (E, 1, K)
        caps = np.minimum(Wp[:, None, :], np.arange(top)[None, :, None]).astype(float)  # (E, L, G)
        ok = ~(((caps @ Dn) - av) > 1e-9).any(axis=2)  # min(W, L) fits, L = 0..top−1
        h = ok.sum(axis=1)[:, None]  # L* + 1: the level being lowered
        start = np.minimum(Wp, h)
        sel = Wp >= h
        use = (start[:, None, :].astype(float) @ Dn) - np.cumsum(sel[..., None] * Dn, axis=1)  # (E, G, K)
        fit = ~((use - av) > 1e-9).any(axis=2) & sel
        g = fit.argmax(axis=1)[:, None]
        newW = start - (sel & (np.arange(gi.shape[1])[None, :] <= g))
        newW[h[:, 0] == 0] = 0  # nothing fits (not even no excess): drop all excess
        Zp[idx] = newW + self.lop[gi]
        return Zp.reshape(Q, n + 1)[:, :n].copy()

    def search(self, lo, hi, rng, population: int, generations: int, mutation: float, seeds):
        """:func:`ga_minimize` with this slot's repair and fitness, as one compiled kernel.

        Draws the same random numbers in the same order (initial individuals,
        then the uniforms of the whole search) and returns the same
        ``(best, best_fitness, history)``.
        """
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
        n = lo.size
        population = int(population)
        seeds = [np.clip(np.asarray(s, dtype=np.int64), lo, hi) for s in seeds][:population]
        k = population - len(seeds)
        parts = [np.asarray(seeds, dtype=np.int64).reshape(len(seeds), n)] if seeds else []
        if k > 0:
            parts.append(rng.integers(lo, hi + 1, size=(k, n)))
        pop0 = np.ascontiguousarray(np.concatenate(parts, axis=0), dtype=np.int64)
        nc = population - 1
        G = int(generations)
        U = rng.random((G, nc, 4 + 3 * n)) if nc > 0 and G > 0 else np.zeros((G, max(nc, 0), 4 + 3 * n))
        best, bf, hist = ga_search(pop0, lo, hi, U, population, float(mutation), self.gv, self.gm, self._dem,
                                   self.avn, self.NI, self.bj, self.gj, self.B, self.gx, self.Rx3,
                                   self.S, self.slack2, float(self.cost0), float(self.gene0), self.prevg,
                                   self.cdp, self.crun)
        return best, float(bf), [float(h) for h in hist]

    def route_of(self, z):
        """Chosen node per stage (Smax, 1, Mg) of one individual (−1 = waiting)."""
        z = np.ascontiguousarray(np.asarray(z, dtype=np.int64).reshape(1, -1))
        _, nodes = ga_fitness(z, self.bj, self.gj, self.gv, self.B, self.gx, self.Rx3, self.S,
                              self.slack2, float(self.cost0), float(self.gene0), self.prevg, self.cdp, self.crun,
                              True, ga_cache(0, 0, 0))
        return nodes

    def counts(self, z, busy):
        x = busy.copy()
        if self.gj.size:
            x[self.gv, np.asarray(self.ms, dtype=np.int64)[self.gj]] = z
        return x

    def _stage_rows(self, Q):
        """Per stage i, the (Q, Mg, V1) ready − now rows (column 0: penalty), and the
        (Q, Mg) flat offsets of the (individual, MS) cells; cached per Q."""
        got = self._rxq.get(Q)
        if got is None:
            rx = [np.ascontiguousarray(np.broadcast_to(Ri, (Q,) + Ri.shape)) for Ri in self.Rx]
            got = self._rxq[Q] = (rx, (np.arange(Q * self.Mg) * (self.V + 1)).reshape(Q, self.Mg))
        return got

    def fitness(self, Z, want_route: bool = False):
        """Fitness of a (Q, n) population (and, with ``want_route``, the (Smax, Q, Mg)
        chosen node per stage, −1 = waiting)."""
        Z = np.asarray(Z, dtype=np.int64)
        Q = Z.shape[0]
        Mg, V1, S1 = self.Mg, self.V + 1, self.S1
        Cnt = np.repeat(self.Xb[None], Q, axis=0)
        if self.gj.size:
            Cnt[:, self.gj, self.gv + 1] = Z
        ptr = ((self.cell0 + Cnt) * S1).reshape(-1)  # flat index of (cell, k) in T, k = 0
        T = self.Tf
        cur = T[ptr]
        cur3 = cur.reshape(Q, Mg, V1)
        rx, base = self._stage_rows(Q)
        dh = np.empty((self.Smax, Q, Mg))
        d = np.empty((Q, Mg, V1))
        d1 = d.reshape(-1)
        nodes = np.empty((self.Smax, Q, Mg), dtype=np.int64) if want_route else None
        for i, Ri in enumerate(rx):
            np.add(Ri, cur3, out=d)
            b = d.argmin(axis=2)
            fi = b + base
            dh[i] = d1[fi]
            ptr[fi] += 1
            cur[fi] = T[ptr[fi]]
            if want_route:
                nodes[i] = b - 1
        delay = (dh + np.maximum(0.0, dh - self.slack)).sum(axis=(0, 2))
        if self.gj.size:
            cost = self.cost0 - self.gene0 + (np.maximum(0, Z - self.prevg) * self.cdp + Z * self.crun).sum(axis=1)
        else:
            cost = np.full(Q, self.cost0)
        f = cost + delay
        return (f, nodes) if want_route else f


class _KernelEval:
    """What the compiled search needs of one slot (the lean counterpart of :class:`_SlotEval`),
    built from the state by :func:`edgefm.control._kernels_ga.ga_tables` and a few numpy lines
    that are :class:`_SlotEval`'s own."""

    def __init__(self, state, sc, g, y, busy, pen, slack):
        up = np.asarray(state.node_up, dtype=bool)
        self.ms, gptr, self.perm, self.Rx3, self.slack2, self.S, self.B = ga_tables(
            np.ascontiguousarray(state.ready, dtype=float), float(state.now), up,
            np.asarray(state.stage_ms, dtype=np.int64), pen, slack, np.asarray(state.inst_node, dtype=np.int64),
            np.asarray(state.inst_ms, dtype=np.int64), np.asarray(state.inst_jobs, dtype=np.int64), busy, y)
        self.rows = [self.perm[gptr[j]:gptr[j + 1]] for j in range(len(self.ms))]
        ms = self.ms
        Mg = len(ms)
        dem = sc.demand
        self.up = up
        self.prev = np.asarray(state.light_counts, dtype=np.int64)
        self.avail = np.where(up[:, None], state.free_capacity + (self.prev - busy) @ dem, 0.0)
        self.gx = np.full((Mg, y + 2), np.inf)
        self.gx[:, :y + 1] = g[ms]
        self.bj = np.ascontiguousarray(busy[:, ms].T)

    def genes(self, sc, busy, gj, gv, lo, c_dp, c_run, light):
        """Fix the genes: per-node gene lists for repair and the E7 cost terms."""
        V = busy.shape[0]
        n = gj.size
        self.gj, self.gv = np.ascontiguousarray(gj), np.ascontiguousarray(gv)
        gm = np.asarray(self.ms, dtype=np.int64)[gj] if n else np.zeros(0, np.int64)
        self.gm = gm
        per_node = [np.flatnonzero(gv == v) for v in range(V)]
        gmax = max([len(p) for p in per_node] + [1])
        self.NI = np.full((V, gmax), n, dtype=np.int64)
        for v, p in enumerate(per_node):
            self.NI[v, :len(p)] = p
        self.avn = np.ascontiguousarray(self.avail, dtype=float)
        self._dem = np.ascontiguousarray(sc.demand, dtype=float)
        inc = np.maximum(0, busy - self.prev)
        per = inc * c_dp + busy * c_run
        self.cost0 = float(per[:, light].sum())
        self.cdp = (c_dp[gm] * light[gm]) if n else np.zeros(0)
        self.crun = (c_run[gm] * light[gm]) if n else np.zeros(0)
        self.prevg = self.prev[gv, gm] if n else np.zeros(0, np.int64)
        self.gene0 = float((np.maximum(0, lo - self.prevg) * self.cdp + lo * self.crun).sum()) if n else 0.0

    search = _SlotEval.search
    route_of = _SlotEval.route_of


class GAController:
    """Per-slot GA over light instance counts (the GA baseline of docs/model.md §7).

    Attributes
    ----------
    history : list of float
        Best fitness per generation in the last slot that ran the GA.

    Parameters
    ----------
    population, generations, mutation, y_max : optional
        Override ``scenario.control``.
    solver : {"kernel", "reference"}
        ``"kernel"`` (default) runs the search as one compiled kernel
        (:meth:`_SlotEval.search`); ``"reference"`` runs :func:`ga_minimize`
        with the numpy repair and fitness. They decide the same, except that
        the kernel sums a node's usage gene by gene where numpy uses a BLAS
        product (a difference only for usage within rounding of the E8
        tolerance).
    """

    name = "ga"

    def __init__(self, population=None, generations=None, mutation=None, y_max=None, solver: str = "kernel"):
        if solver not in ("kernel", "reference"):
            raise ValueError(f"solver must be 'kernel' or 'reference', got {solver!r}")
        self._pop, self._gen, self._mut, self._y = population, generations, mutation, y_max
        self.solver = solver

    def reset(self, ctx: RunContext) -> None:
        sc = ctx.scenario
        c = sc.control
        self.sc = sc
        self.rng = ctx.rng
        self.pop = int(c.ga_population if self._pop is None else self._pop)
        self.gens = int(c.ga_generations if self._gen is None else self._gen)
        self.mut = float(c.ga_mutation if self._mut is None else self._mut)
        self.y = int(c.y_max if self._y is None else self._y)
        self.g, _ = delay_tables(sc, "avg", True, None, self.y)
        self.arrival = np.asarray(ctx.task_arrival_ms, dtype=float)
        self.deadline = np.asarray(ctx.task_deadline_ms, dtype=float)
        self.pen_task = unassigned_penalty(self.deadline, sc.slot_ms)
        self.history: list = []
        self._c_dp = np.array([m.cost_deploy for m in sc.microservices], dtype=float)
        self._c_run = np.array([m.cost_maintain + m.cost_parallel for m in sc.microservices], dtype=float)

    def decide(self, state: State) -> Decision:
        sc, y = self.sc, self.y
        busy = np.asarray(state.busy_counts, dtype=np.int64)
        busy = np.where(state.node_up[:, None], busy, 0)
        route = np.full(state.n_waiting, -1, dtype=np.int64)
        if state.n_waiting == 0:
            return Decision(light_counts=busy, parallelism=y, route=route)
        tasks = np.asarray(state.stage_task, dtype=np.int64)
        slack = (self.deadline - (state.now - self.arrival))[tasks]  # D − age per state row
        dem = sc.demand
        if self.solver == "kernel":
            ev = _KernelEval(state, sc, self.g, y, busy, self.pen_task[tasks], slack)
            ms, S, avail, up = list(ev.ms), ev.S, ev.avail, ev.up
        else:
            ones = np.ones(state.n_waiting)
            P = slot_problem(state, sc, ones, self.pen_task[tasks], busy, 1.0, y)
            ms = list(P.groups)
            S = np.array([len(P.groups[m][0]) for m in ms], dtype=np.int64)
            avail, up = P.avail, P.up
        # genes: (MS, up node) pairs where one more instance fits or some are busy, MS-major
        D = dem[ms]  # (Mg, K)
        pos = D > 0
        ratio = np.where(pos[:, None, :], avail[None, :, :] / np.where(pos, D, 1.0)[:, None, :], np.inf)
        fitn = np.floor(ratio.min(axis=2) + 1e-9)  # (Mg, V)
        cap = np.minimum(fitn, S[:, None].astype(float))
        cap = np.where(np.isfinite(cap), cap, 0).astype(np.int64)  # (no-demand MS: capped by S above)
        bj = busy[:, ms].T  # (Mg, V)
        sel = up[None, :] & ((cap > 0) | (bj > 0))
        gj, gv = np.nonzero(sel)  # row-major = MS-major, nodes ascending
        gm = np.asarray(ms, dtype=np.int64)[gj]
        lo = busy[gv, gm]
        hi = lo + np.maximum(cap[gj, gv], 0)
        if self.solver == "kernel":
            ev.genes(sc, busy, gj, gv, lo, self._c_dp, self._c_run, ~sc.is_core)
        else:
            ev = _SlotEval(P, self.g, y, busy, slack, gj, gv, lo, int(hi.max(initial=0)))

        cur = np.asarray(state.light_counts, dtype=np.int64)[gv, gm]
        need = lo.copy()
        for j in range(len(ms)):  # one more instance per y waiting stages, best-ready node
            s = np.flatnonzero(gj == j)
            if len(s):
                need[s[np.argmax(hi[s] - lo[s])]] += -(-int(S[j]) // y)
        if self.solver == "kernel":
            best, _, self.history = ev.search(lo, hi, self.rng, self.pop, self.gens, self.mut, seeds=(lo, cur, need))
            nodes = ev.route_of(best)
        else:
            best, _, self.history = ga_minimize(ev.fitness, lo, hi, self.rng, self.pop, self.gens, self.mut,
                                                seeds=(lo, cur, need), repair=ev.repair, batch=True)
            _, nodes = ev.fitness(best[None, :], want_route=True)
        x = busy.copy()
        if gj.size:
            x[gv, gm] = best
        for j, rows in enumerate(ev.rows):
            route[rows] = nodes[:len(rows), 0, j]
        return Decision(light_counts=x, parallelism=y, route=route)
