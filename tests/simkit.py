"""Small hand-made scenarios and arrivals for simulator tests."""
from __future__ import annotations

import numpy as np

from edgefm.scenario import sample_scenario, spec_from_dict
from edgefm.workload import Arrivals

CAP = {"cpu": 100, "ram": 100, "gpu": 100, "vram": 100}
RES = {"cpu": 1, "ram": 1, "gpu": 1, "vram": 1}


def tiny_doc(ms, edges, *, link_rate=0.5, deadline=50.0, input_mb=2.0, gateway="ED1", horizon=10, rate=0.1,
             single=None):
    """One ED and one ES joined by one link; one task type over ``ms``."""
    tt = {"name": "task", "input_mb": input_mb, "deadline_ms": deadline}
    if edges:
        tt["edges"] = edges
    else:
        tt["stages"] = single
    return {
        "name": "tiny",
        "slot_ms": 1.0,
        "horizon_slots": horizon,
        "node_classes": {"N": {"kind": "ES", "capacity": CAP}},
        "nodes": [{"name": "ES1", "class": "N"}, {"name": "ED1", "kind": "ED", "capacity": CAP}],
        "links": {"rate": link_rate, "propagation": 0.0, "edges": [["ED1", "ES1"]]},
        "ms_classes": {},
        "microservices": ms,
        "task_types": {"types": [tt]},
        "users": {"list": [{"name": "u", "gateway": gateway}], "rate_per_ms": rate},
    }


def core_ms(name, work, rate, output=0.4):
    return {"name": name, "kind": "core", "resources": RES, "work_mb": work, "output_mb": output, "rate": rate,
            "cost": {"deploy": 20, "maintain": 4}}


def light_ms(name, work, mean_rate, output=0.5, shape=1e12):
    """A light MS whose Gamma rate is (almost) deterministic: shape huge, scale = mean/shape."""
    return {"name": name, "kind": "light", "resources": RES, "work_mb": work, "output_mb": output,
            "shape": shape, "scale": mean_rate / shape, "cost": {"deploy": 4, "maintain": 1, "parallel": 0.5}}


def scenario(doc, seed=0):
    return sample_scenario(spec_from_dict(doc, source="tiny"), seed=seed)


def arrivals_at(sc, slots, n_slots, input_mb=None):
    slots = np.asarray(slots, dtype=np.int64)
    k = len(slots)
    inp = np.full(k, sc.task_types[0].input_mb if input_mb is None else input_mb)
    return Arrivals(slot=slots, user=np.zeros(k, np.int32), ttype=np.zeros(k, np.int32), input_mb=inp,
                    work_scale=np.ones(k), n_slots=n_slots, slot_ms=sc.slot_ms, n_users=1, n_types=1,
                    process="manual")
