"""Display tables of a concrete scenario (one pandas DataFrame per part).

For notebooks and reports only: nothing in the package consumes these tables.
Units follow :mod:`edgefm.scenario.schema`: ms, MB, MB/ms, tasks/ms.
"""
from __future__ import annotations

from .schema import RESOURCES, Scenario

__all__ = ["scenario_tables"]


def scenario_tables(scenario: Scenario) -> dict:
    """The scenario as a dict of :class:`pandas.DataFrame`.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    dict
        ``"nodes"`` (name, kind, one column per resource of R_{v,k});
        ``"links"`` (u, v, rate w_e in MB/ms, propagation p_e in ms);
        ``"microservices"`` (kind, r_{m,k}, a_m, b_m, f_m or Gamma k_m and β_m, the
        mean rate f̄_m, mean service time a_m / f̄_m, costs c_dp, c_mt, c_pl of E6–E7);
        ``"task_types"`` (stages as ``parent -> child`` edges, number of stages, A_n, D_n);
        ``"users"`` (gateway node and λ_{u,n} in tasks/ms per task type, load included).

    Examples
    --------
    >>> import edgefm
    >>> s = edgefm.load_scenario(edgefm.data_path("scenarios", "paper.yaml"), seed=0)
    >>> scenario_tables(s)["nodes"].shape
    (10, 5)
    """
    import pandas as pd

    s = scenario
    nodes = pd.DataFrame(
        [{"name": n.name, "kind": n.kind, **dict(zip(RESOURCES, n.capacity))} for n in s.nodes])
    links = pd.DataFrame(
        [{"u": s.nodes[lk.u].name, "v": s.nodes[lk.v].name, "rate_mb_per_ms": lk.rate,
          "propagation_ms": lk.propagation} for lk in s.links],
        columns=["u", "v", "rate_mb_per_ms", "propagation_ms"])
    mss = pd.DataFrame([
        {"name": m.name, "kind": m.kind, **dict(zip(RESOURCES, m.resources)),
         "a_mb": m.work, "b_mb": m.output, "f_mb_per_ms": m.rate, "k": m.shape, "beta": m.scale,
         "mean_rate": m.mean_rate, "mean_service_ms": m.mean_service_ms,
         "c_dp": m.cost_deploy, "c_mt": m.cost_maintain, "c_pl": m.cost_parallel}
        for m in s.microservices])
    types = []
    for t in s.task_types:
        name = [s.microservices[m].name for m in t.stages]
        edges = [f"{name[i]} -> {name[c]}" for i, c in enumerate(t.child) if c >= 0]
        types.append({"name": t.name, "stages": t.n_stages, "sink": name[t.sink],
                      "edges": "; ".join(edges) if edges else name[0],
                      "A_mb": t.input_mb, "D_ms": t.deadline_ms})
    users = pd.DataFrame(
        [{"name": u.name, "gateway": s.nodes[u.gateway].name,
          **{f"rate_{t.name}": float(x) for t, x in zip(s.task_types, s.arrival_rates[i])}}
         for i, u in enumerate(s.users)])
    return {
        "nodes": nodes.set_index("name"),
        "links": links,
        "microservices": mss.set_index("name"),
        "task_types": pd.DataFrame(types).set_index("name"),
        "users": users.set_index("name"),
    }
