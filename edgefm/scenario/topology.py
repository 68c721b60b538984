"""Scenario families on real topologies (Internet Topology Zoo, SNDlib via ``topohub``).

Every node of the topology becomes an edge site (ES) with a cluster of edge
devices (ED) attached, one user per ED; backbone links take their propagation
delay from the link length (light in fibre, about 200 km/ms) and a rate drawn
from ``backbone_rate``. Microservices, task DAGs and the Table I ranges come from a
base scenario file (the paper's by default); ``n_fm > 1`` replicates its
foundation model (every MS and task type, suffixed ``_2``, ``_3`` …) so that
larger instances have more core MSs (6 per FM in the paper scenario).

Topologies: Knight et al., "The Internet Topology Zoo", IEEE JSAC 2011; Orlowski
et al., "SNDlib 1.0", Networks 2010 — shipped offline by the ``topohub`` package.
"""
from __future__ import annotations

import copy
from pathlib import Path

from ..errors import ScenarioError

__all__ = ["topology_doc", "topology_spec", "FIBRE_KM_PER_MS"]

#: Signal speed in optical fibre (km per ms), about two thirds of c.
FIBRE_KM_PER_MS = 200.0


def _load_topology(name: str) -> dict:
    import topohub

    try:
        return topohub.get(name)
    except Exception as exc:  # topohub raises plain errors for unknown names
        raise ScenarioError(f"unknown topohub network ({exc.__class__.__name__}: {exc})", field="topology",
                            source=name) from None


def topology_doc(name: str, *, ed_per_site: int = 1, n_fm: int = 1, base: str | Path | None = None,
                 backbone_rate=(1.0, 5.0), access_rate=(0.1, 1.0), rate_per_ms=None) -> dict:
    """A scenario document (for :func:`edgefm.scenario.spec_from_dict`) on topology ``name``.

    Parameters
    ----------
    name : str
        A topohub network, e.g. ``"topozoo/Abilene"`` or ``"sndlib/germany50"``.
    ed_per_site : int
        Edge devices attached to every site (each with one user).
    n_fm : int
        Copies of the base scenario's foundation model (MSs and task types).
    base : path, optional
        Scenario file supplying MS classes, MSs, task types, user rates and
        parameters (default ``data/scenarios/paper.yaml``).
    backbone_rate, access_rate : (lo, hi)
        Link rate ranges (MB/ms) of backbone (site–site) and access (ED–site) links.
    rate_per_ms : float or (lo, hi), optional
        Per-(user, type) arrival rate; default the base file's.
    """
    from ..paths import data_path
    from .yamlfile import load_yaml

    if ed_per_site < 0 or n_fm < 1:
        raise ScenarioError("ed_per_site must be >= 0 and n_fm >= 1", field="topology")
    base = Path(base) if base is not None else data_path("scenarios", "paper.yaml")
    doc = load_yaml(base.read_text(encoding="utf-8"))
    topo = _load_topology(name)
    ids = [str(n["id"]) for n in topo["nodes"]]
    site = {i: f"S{k}" for k, i in enumerate(ids)}
    es_class = next(k for k, v in doc["node_classes"].items() if v["kind"] == "ES")
    ed_class = next(k for k, v in doc["node_classes"].items() if v["kind"] == "ED")
    nodes = [{"name": site[i], "class": es_class} for i in ids]
    edges, seen = [], set()
    for e in topo["edges"]:
        u, v = site[str(e["source"])], site[str(e["target"])]
        if u == v or (u, v) in seen or (v, u) in seen:
            continue
        seen.add((u, v))
        edges.append({"u": u, "v": v, "rate": list(backbone_rate),
                      "propagation": round(float(e.get("dist", 0.0)) / FIBRE_KM_PER_MS, 6)})
    users = []
    for i in ids:
        for c in range(ed_per_site):
            ed = f"{site[i]}_ED{c + 1}"
            nodes.append({"name": ed, "class": ed_class})
            edges.append({"u": ed, "v": site[i], "rate": list(access_rate), "propagation": 0.0})
            users.append({"name": f"u_{ed}", "gateway": ed})
    if not users:  # no EDs: users sit on the sites
        users = [{"name": f"u_{site[i]}", "gateway": site[i]} for i in ids]
    mss = list(doc["microservices"])
    types = list(doc["task_types"]["types"])
    for k in range(2, n_fm + 1):
        suf = f"_{k}"
        mss += [{**m, "name": m["name"] + suf} for m in doc["microservices"]]
        for t in doc["task_types"]["types"]:
            t2 = copy.deepcopy(t)
            t2["name"] = t["name"] + suf
            if "edges" in t2:
                t2["edges"] = [[p + suf, c + suf] for p, c in t2["edges"]]
            if "stages" in t2:
                t2["stages"] = [s + suf for s in t2["stages"]]
            types.append(t2)
    out = {k: v for k, v in doc.items() if k not in ("nodes", "links", "users", "microservices", "task_types")}
    out["name"] = f"{doc['name']}@{name}"
    out["description"] = f"{doc.get('description', '')} on {name}, {ed_per_site} ED per site, {n_fm} FM(s)"
    out["nodes"] = nodes
    out["links"] = {"edges": edges}
    out["microservices"] = mss
    out["task_types"] = {**{k: v for k, v in doc["task_types"].items() if k != "types"}, "types": types}
    rate = doc["users"].get("rate_per_ms") if rate_per_ms is None else rate_per_ms
    out["users"] = {"list": users, "rate_per_ms": list(rate) if isinstance(rate, (list, tuple)) else rate}
    return out


def topology_spec(name: str, **kw):
    """:func:`topology_doc` validated into a :class:`~edgefm.scenario.spec.ScenarioSpec`."""
    from .spec import spec_from_dict

    return spec_from_dict(topology_doc(name, **kw), source=name)
