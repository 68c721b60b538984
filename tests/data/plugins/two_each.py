"""A controller written outside edgefm, registered through the front door (the README's example)."""
import numpy as np

import edgefm
from edgefm.control.static import route_earliest_finish, spread_instances


class TwoEach:
    """Two instances of every light MS, spread once over the free capacity; earliest-finish routing."""

    name = "two_each"

    def __init__(self, per_ms: int = 2):
        self.per_ms = per_ms

    def reset(self, ctx):
        sc = self.sc = ctx.scenario
        need = np.zeros(sc.n_ms, dtype=int)
        need[list(sc.light_ms)] = self.per_ms
        self.counts = spread_instances(sc, need, sc.capacity - ctx.core_x @ sc.demand)
        self.y = np.full(self.counts.shape, sc.control.y_max)
        self.service = np.array([m.mean_service_ms for m in sc.microservices])

    def decide(self, state):
        counts = np.maximum(np.where(state.node_up[:, None], self.counts, 0), state.busy_counts)
        route = route_earliest_finish(state, self.sc, counts, self.y, self.service)
        return edgefm.Decision(light_counts=counts, parallelism=self.y, route=route)


edgefm.register_method("two_each", TwoEach, placement="greedy", replace=True,
                       description="greedy placement, two instances of each light MS")
