"""Payload-dependent transfer delays over the edge network (docs/model.md §1, E1–E2).

Moving b MB from node u to node v costs

    transfer(b, u→v) = Σ_{e on the path} (b / w_e + p_e)          (E2)

store-and-forward, with no link contention, along the path that minimises this
very delay for the payload b (0 when u = v). With zero propagation delays
(the paper scenario) the best path does not depend on b and the delay is b
times a per-MB matrix; otherwise each payload size gets its own shortest-path
computation. Matrices are cached per payload.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .scenario.schema import Scenario

__all__ = ["Network", "network", "transfer_delay", "uplink_delay"]


class Network:
    """Transfer-delay tables of one scenario.

    Parameters
    ----------
    scenario : Scenario

    Examples
    --------
    >>> import edgefm
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios/paper.yaml"), seed=0)
    >>> net = Network(s)
    >>> net.transfer(1.0, 0, 0)
    0.0
    """

    def __init__(self, scenario: Scenario):
        V = self.n_nodes = scenario.n_nodes
        # every link in both directions; parallel links are all kept (the best one depends on b)
        u = np.array([lk.u for lk in scenario.links], dtype=np.int64)
        v = np.array([lk.v for lk in scenario.links], dtype=np.int64)
        inv = np.array([1.0 / lk.rate for lk in scenario.links], dtype=float)
        prop = np.array([lk.propagation for lk in scenario.links], dtype=float)
        self._src = np.concatenate([u, v])
        self._dst = np.concatenate([v, u])
        self._inv = np.concatenate([inv, inv])
        self._prop = np.concatenate([prop, prop])
        self._key = self._src * V + self._dst
        self.zero_propagation = bool(np.all(prop == 0.0))
        self._per_mb = self._shortest(1.0) if self.zero_propagation else None
        self._cache: dict[float, np.ndarray] = {}

    def _shortest(self, b: float) -> np.ndarray:
        """All-pairs minimum of Σ (b / w_e + p_e), as an exactly symmetric (V, V) array."""
        V = self.n_nodes
        w = b * self._inv + self._prop
        # one edge per ordered pair: the cheapest of the parallel links for this payload
        order = np.lexsort((w, self._key))
        key, w = self._key[order], w[order]
        first = np.ones(key.shape, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        key, w = key[first], w[first]
        # a sparse graph keeps explicit zeros as (zero-cost) edges; a dense one would drop them
        graph = csr_matrix((w, (key // V, key % V)), shape=(V, V))
        d = dijkstra(graph, directed=True)
        d = np.minimum(d, d.T)
        np.fill_diagonal(d, 0.0)
        return d

    def transfer_matrix(self, b: float) -> np.ndarray:
        """Delays (ms) of moving ``b`` MB between every pair of nodes, shape (V, V). Implements E2."""
        b = float(b)
        if b < 0 or not np.isfinite(b):
            raise ValueError(f"payload must be a finite non-negative size in MB, got {b!r}")
        m = self._cache.get(b)
        if m is None:
            m = b * self._per_mb if self.zero_propagation else self._shortest(b)
            m.setflags(write=False)
            self._cache[b] = m
        return m

    def transfer(self, b: float, u: int, v: int) -> float:
        """Delay (ms) of moving ``b`` MB from node ``u`` to node ``v`` (E2)."""
        return float(self.transfer_matrix(b)[u, v])

    @property
    def per_mb(self) -> np.ndarray:
        """ms per MB between nodes when propagation is zero (else the b = 1 MB matrix)."""
        return self.transfer_matrix(1.0)


@lru_cache(maxsize=64)
def network(scenario: Scenario) -> Network:
    """The cached :class:`Network` of a scenario (one per scenario object value)."""
    return Network(scenario)


def transfer_delay(scenario: Scenario, b: float, u: int, v: int) -> float:
    """Shortcut for ``network(scenario).transfer(b, u, v)`` (E2)."""
    return network(scenario).transfer(b, u, v)


def uplink_delay(input_mb, bandwidth: float, snr: float, nakagami_m: float, omega: float, rng) -> np.ndarray:
    """Wireless uplink delay τ_ul = A / (bandwidth · log2(1 + snr · g)) (E1).

    The power gain g of a Nakagami-m channel is Gamma(m, Ω/m) distributed.
    ``input_mb`` may be an array; one fading draw per element. ``rng`` is a
    :class:`numpy.random.Generator` (use the ``"channel"`` stream).
    """
    a = np.asarray(input_mb, dtype=float)
    g = rng.gamma(nakagami_m, omega / nakagami_m, size=a.shape)
    return a / (bandwidth * np.log2(1.0 + snr * g))
