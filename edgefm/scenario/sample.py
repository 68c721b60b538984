"""Draw a concrete scenario from a spec (Table I sampling, docs/model.md §8.1).

Every range-valued field consumes exactly one uniform draw from the
``"scenario"`` stream of the seed, in a fixed order, whether or not the range is
degenerate. Changing one range in a file therefore never shifts the values
drawn for the other fields, and the same seed always gives the same scenario,
bit for bit. The load multiplier only scales the arrival rates, so the same
seed at loads 1, 1.5 and 2 gives the same draw under heavier demand (paired
comparisons).
"""
from __future__ import annotations

from pathlib import Path

from ..rng import stream
from .schema import Link, Microservice, Node, Scenario, TaskType, User
from .spec import Range, ScenarioSpec, check_load, load_spec

__all__ = ["sample_scenario", "load_scenario"]


class _Drawer:
    def __init__(self, seed: int):
        self.rng = stream(seed, "scenario")

    def __call__(self, r: Range | None) -> float | None:
        u = float(self.rng.random())  # always consumed: keeps streams aligned
        return None if r is None else r.draw(u)


def sample_scenario(spec: ScenarioSpec | str | Path, seed: int = 0, load: float | None = None) -> Scenario:
    """Sample one concrete :class:`Scenario` from a spec.

    Parameters
    ----------
    spec : ScenarioSpec or path
        A validated spec, or a YAML file path (validated on load).
    seed : int
        Scenario seed (non-negative).
    load : float, optional
        Load multiplier on every arrival rate; defaults to the file's ``load``. A finite number in
        [0, :data:`~edgefm.scenario.schema.MAX_LOAD`], else :class:`~edgefm.errors.ScenarioError`.

    Examples
    --------
    >>> from edgefm import sample_scenario, data_path
    >>> s1 = sample_scenario(data_path("scenarios/paper.yaml"), seed=3)
    >>> s2 = sample_scenario(data_path("scenarios/paper.yaml"), seed=3)
    >>> s1 == s2
    True
    """
    if not isinstance(spec, ScenarioSpec):
        spec = load_spec(spec)
    d = _Drawer(seed)
    nodes = tuple(Node(n.name, n.kind, tuple(d(r) for r in n.capacity)) for n in spec.nodes)
    idx = {n.name: i for i, n in enumerate(spec.nodes)}
    links = tuple(Link(idx[lk.u], idx[lk.v], d(lk.rate), d(lk.propagation)) for lk in spec.links)
    mss = tuple(
        Microservice(
            name=m.name, kind=m.kind,
            resources=tuple(d(r) for r in m.resources),
            work=d(m.work), output=d(m.output),
            rate=d(m.rate), shape=d(m.shape), scale=d(m.scale),
            cost_deploy=m.cost_deploy, cost_maintain=m.cost_maintain, cost_parallel=m.cost_parallel,
        )
        for m in spec.microservices
    )
    ms_idx = {m.name: i for i, m in enumerate(spec.microservices)}
    types = tuple(
        TaskType(t.name, tuple(ms_idx[s] for s in t.stages), t.child, d(t.input_mb), d(t.deadline_ms))
        for t in spec.task_types
    )
    users = tuple(User(u.name, idx[u.gateway], tuple(d(r) for r in u.rates)) for u in spec.users)
    return Scenario(
        name=spec.name, nodes=nodes, links=links, microservices=mss, task_types=types, users=users,
        slot_ms=spec.slot_ms, horizon_slots=spec.horizon_slots,
        load=float(spec.load if load is None else check_load(load)),
        uplink=spec.uplink, placement=spec.placement, control=spec.control,
        seed=int(seed), source=spec.source,
    )


def load_scenario(path: str | Path, seed: int = 0, load: float | None = None) -> Scenario:
    """Load, validate and sample a scenario file in one call."""
    return sample_scenario(load_spec(path), seed=seed, load=load)


