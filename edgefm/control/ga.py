"""``ga``: a per-slot genetic algorithm over light instance counts (MODEL.md §7).

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
``policy`` stream, so runs are reproducible. Per-MS delay terms are memoised
within a slot (the fitness separates by MS once counts are fixed).
"""
from __future__ import annotations

import numpy as np

from .base import Decision, RunContext, State
from .lyapunov import unassigned_penalty
from .proposed import delay_tables, route_levels, slot_problem, _levels

__all__ = ["GAController", "ga_minimize"]


def ga_minimize(fitness, lo, hi, rng, population: int = 10, generations: int = 30, mutation: float = 0.1,
                seeds=(), repair=None):
    """Minimise ``fitness`` over integer vectors in the box [lo, hi] with an elitist GA.

    Returns ``(best, best_fitness, history)`` where ``history[g]`` is the best
    fitness after generation g (index 0 = initial population); it is
    non-increasing because the best individual is always kept.
    """
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    n = lo.size
    fix = repair if repair is not None else (lambda z: z)
    pop = [fix(np.clip(np.asarray(s, dtype=np.int64), lo, hi)) for s in seeds][:population]
    while len(pop) < population:
        pop.append(fix(rng.integers(lo, hi + 1)))
    fit = np.array([fitness(p) for p in pop])
    history = [float(fit.min())]
    for _ in range(generations):
        e = int(np.argmin(fit))
        new, nf = [pop[e].copy()], [fit[e]]
        while len(new) < population:
            a, b = rng.integers(0, population, size=2), rng.integers(0, population, size=2)
            pa = pop[a[0]] if fit[a[0]] <= fit[a[1]] else pop[a[1]]
            pb = pop[b[0]] if fit[b[0]] <= fit[b[1]] else pop[b[1]]
            child = np.where(rng.random(n) < 0.5, pa, pb)
            mut = rng.random(n) < mutation
            if mut.any():
                child = child + np.where(mut, rng.choice((-1, 1), size=n), 0)
            child = fix(np.clip(child, lo, hi))
            new.append(child)
            nf.append(fitness(child))
        pop, fit = new, np.array(nf)
        history.append(float(fit.min()))
    e = int(np.argmin(fit))
    return pop[e], float(fit[e]), history


class GAController:
    """Per-slot GA over light instance counts (the GA baseline of MODEL.md §7).

    Attributes
    ----------
    history : list of float
        Best fitness per generation in the last slot that ran the GA.
    """

    name = "ga"

    def __init__(self, population=None, generations=None, mutation=None, y_max=None):
        self._pop, self._gen, self._mut, self._y = population, generations, mutation, y_max

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

    def decide(self, state: State) -> Decision:
        sc, y = self.sc, self.y
        busy = np.asarray(state.busy_counts, dtype=np.int64)
        busy = np.where(state.node_up[:, None], busy, 0)
        route = np.full(state.n_waiting, -1, dtype=np.int64)
        if state.n_waiting == 0:
            return Decision(light_counts=busy, parallelism=y, route=route)
        tasks = np.asarray(state.stage_task, dtype=np.int64)
        ones = np.ones(state.n_waiting)
        P = slot_problem(state, sc, ones, self.pen_task[tasks], busy, 1.0, y)
        slack = (self.deadline - (state.now - self.arrival))[tasks]  # D − age per state row
        dem = sc.demand
        genes = []  # (m, v)
        hi = []
        for m, (rows, *_rest) in P.groups.items():
            fitn = np.floor(np.min(np.where(dem[m] > 0, P.avail / np.where(dem[m] > 0, dem[m], 1), np.inf),
                                   axis=1) + 1e-9)
            for v in np.flatnonzero(P.up).tolist():
                cap = int(min(fitn[v], len(rows)))
                if cap > 0 or busy[v, m] > 0:
                    genes.append((m, v))
                    hi.append(busy[v, m] + max(cap, 0))
        gm = np.array([m for m, _ in genes], dtype=np.int64)
        gvn = np.array([v for _, v in genes], dtype=np.int64)
        lo = busy[gvn, gm]
        hi = np.array(hi, dtype=np.int64)
        memo: dict = {}
        gcache: dict = {}
        grows = {m: self.g[m].tolist() for m in P.groups}

        def node_g(m, v, c, limit):
            key = (m, v, c)
            if key not in gcache:
                occ = P.occ.get(m)
                base = list(occ[v]) if occ is not None else []
                base += [0] * (c - len(base))
                gcache[key] = [grows[m][lv] for lv in _levels(base, y, limit)]
            return gcache[key]

        def ms_delay(m, col, want=False):
            key = (m, col)
            if key in memo and not want:
                return memo[key]
            rows, R, _, pen = P.groups[m]
            V = len(col)
            gv = [node_g(m, v, col[v], len(rows)) for v in range(V)]
            hosts = [v for v in range(V) if gv[v]]
            _, nodes, _, dh = route_levels(R, [1.0] * len(rows), pen, gv, hosts, want_route=True)
            dh = np.array(dh)
            val = float(dh.sum() + np.maximum(0.0, dh - slack[rows]).sum())
            memo[key] = val
            return (val, nodes) if want else val

        def counts(z):
            x = busy.copy()
            x[gvn, gm] = z
            return x

        def fitness(z):
            x = counts(z)
            return P.cost(x) + sum(ms_delay(m, tuple(x[:, m].tolist())) for m in P.groups)

        def repair(z):
            x = counts(z)
            over = (x - busy) @ dem - P.avail
            for v in np.flatnonzero((over > 1e-9).any(axis=1)).tolist():
                idx = np.flatnonzero((gvn == v))
                while ((z[idx] - lo[idx]) @ dem[gm[idx]] - P.avail[v] > 1e-9).any():
                    j = idx[np.argmax(z[idx] - lo[idx])]
                    z[j] -= 1
            return z

        cur = np.asarray(state.light_counts, dtype=np.int64)[gvn, gm]
        need = lo.copy()
        for m, (rows, *_r) in P.groups.items():  # one more instance per y waiting stages, best-ready node
            sel = np.flatnonzero(gm == m)
            if len(sel):
                need[sel[np.argmax(hi[sel] - lo[sel])]] += -(-len(rows) // y)
        best, _, self.history = ga_minimize(fitness, lo, hi, self.rng, self.pop, self.gens, self.mut,
                                            seeds=(lo, cur, need), repair=repair)
        x = counts(best)
        for m, (rows, *_r) in P.groups.items():
            _, nodes = ms_delay(m, tuple(x[:, m].tolist()), want=True)
            route[rows] = nodes
        return Decision(light_counts=x, parallelism=y, route=route)
