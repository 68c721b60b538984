"""Payload-dependent transfer delays over the edge network (MODEL.md §1, E1–E2).

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
        V = scenario.n_nodes
        self.n_nodes = V
        inv = np.full((V, V), np.inf)  # best 1/w between directly linked nodes
        prop = np.zeros((V, V))
        self._links = [(lk.u, lk.v, 1.0 / lk.rate, lk.propagation) for lk in scenario.links]
        self.zero_propagation = all(lk.propagation == 0.0 for lk in scenario.links)
        for u, v, iw, p in self._links:
            for a, b in ((u, v), (v, u)):
                if iw < inv[a, b]:
                    inv[a, b], prop[a, b] = iw, p
        self._inv, self._prop = inv, prop
        self._per_mb = self._shortest(inv + 0.0, prop * 0.0) if self.zero_propagation else None
        self._cache: dict[float, np.ndarray] = {}

    def _shortest(self, inv_rate: np.ndarray, prop: np.ndarray, b: float = 1.0) -> np.ndarray:
        w = np.where(np.isfinite(inv_rate), b * inv_rate + prop, 0.0)
        # csgraph treats 0 as "no edge"; a zero-cost edge (b = 0, p = 0) is nudged to a tiny weight
        linked = np.isfinite(inv_rate)
        w = np.where(linked & (w == 0.0), 1e-300, w)
        d = dijkstra(w, directed=False)
        np.fill_diagonal(d, 0.0)
        return np.where(d < 1e-200, 0.0, d)

    def transfer_matrix(self, b: float) -> np.ndarray:
        """Delays (ms) of moving ``b`` MB between every pair of nodes, shape (V, V). Implements E2."""
        b = float(b)
        if b < 0 or not np.isfinite(b):
            raise ValueError(f"payload must be a finite non-negative size in MB, got {b!r}")
        m = self._cache.get(b)
        if m is None:
            m = b * self._per_mb if self.zero_propagation else self._shortest(self._inv, self._prop, b)
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
