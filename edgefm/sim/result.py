"""Run results: every metric of one simulation and the configuration behind it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["RunResult", "summarize"]


@dataclass(frozen=True)
class RunResult:
    """Outcome of one simulation run (docs/model.md §4, §8.3).

    ``on_time_ratio`` = on-time tasks / all arrivals. ``arrivals = on_time +
    late + unfinished + shed`` always (``shed``: tasks a controller dropped
    through :attr:`~edgefm.control.Decision.shed`; 0 for methods that never shed). Costs follow E6–E7: core deployment and
    maintenance (maintenance of every core instance on an up node over every
    simulated slot, the drain after the T arrival slots included, like the light
    instances; ``counters["drain_slots"]`` is the drain's length), light deployment,
    maintenance and parallelism over every simulated slot.
    """

    status: str
    method: str
    seed: int
    load: float
    arrivals: int
    on_time: int
    late: int
    unfinished: int
    shed: int
    on_time_ratio: float
    per_type: dict
    latency_ms: dict
    cost_parts: dict
    cost_total: float
    slots: int
    wall_s: float
    controller_s: float
    decision_ms: dict
    counters: dict
    task_latency: np.ndarray = field(repr=False, compare=False)
    task_type: np.ndarray = field(repr=False, compare=False)
    light_instances: np.ndarray = field(repr=False, compare=False)
    waiting: np.ndarray = field(repr=False, compare=False)
    stages: dict | None = field(default=None, repr=False, compare=False)
    task_shed: np.ndarray | None = field(default=None, repr=False, compare=False)
    core_occupancy: np.ndarray | None = field(default=None, repr=False, compare=False)

    def with_extra(self, method: str | None = None, **counters) -> "RunResult":
        """A copy with a method name and extra counters (e.g. placement time)."""
        from dataclasses import replace

        return replace(self, method=method or self.method, counters={**self.counters, **counters})

    def to_dict(self) -> dict:
        """JSON-ready summary (no per-task arrays)."""
        d = asdict(self)
        for k in ("task_latency", "task_type", "light_instances", "waiting", "stages", "task_shed", "core_occupancy"):
            d.pop(k)
        return d

    def to_row(self) -> dict:
        """One flat row for tidy tables."""
        d = {k: v for k, v in self.to_dict().items() if not isinstance(v, dict)}
        d.update({f"latency_{k}": v for k, v in self.latency_ms.items()})
        d.update({f"cost_{k}": v for k, v in self.cost_parts.items()})
        d.update({f"decision_ms_{k}": v for k, v in self.decision_ms.items()})
        d.update({f"n_{k}": v for k, v in self.counters.items()})
        for name, r in self.per_type.items():
            d[f"on_time_ratio_{name}"] = r["on_time_ratio"]
        return d


def _pct(a, q):
    return float(np.percentile(a, q)) if len(a) else float("nan")


def summarize(eng, slots, wall, t_ctrl, dec_times, cost_parts, stats, light_series, wait_series) -> RunResult:
    lat = eng.task_finish - eng.task_arrival
    done = eng.task_done
    shed = eng.task_shed & ~done
    ontime = done & (lat <= eng.task_deadline + 1e-9)
    late = done & ~ontime
    J = eng.J
    per_type = {}
    for n, tt in enumerate(eng.sc.task_types):
        sel = eng.task_type == n
        k = int(sel.sum())
        per_type[tt.name] = dict(arrivals=k, on_time=int(ontime[sel].sum()), late=int(late[sel].sum()),
                                 unfinished=int((sel & ~done & ~shed).sum()), shed=int((sel & shed).sum()),
                                 on_time_ratio=float(ontime[sel].sum() / k) if k else float("nan"),
                                 latency_mean=float(lat[sel & done].mean()) if (sel & done).any() else float("nan"))
    fin = lat[done]
    # E28: time the core instances of each MS were committed per unit of service (nan: no core stage served)
    M = eng.sc.n_ms
    disp = np.isfinite(eng.st_start) & np.asarray(eng.sc.is_core)[eng.st_ms]
    served = np.bincount(eng.st_ms[disp], weights=(eng.st_finish - eng.st_start)[disp], minlength=M)
    committed = np.bincount(eng.ci_ms, weights=eng.ci_commit, minlength=M)
    with np.errstate(invalid="ignore", divide="ignore"):
        occupancy = np.where(served > 0, committed / served, np.nan)
    return RunResult(
        status="ok", method=getattr(eng.ctrl, "name", type(eng.ctrl).__name__), seed=eng.seed, load=eng.sc.load,
        arrivals=J, on_time=int(ontime.sum()), late=int(late.sum()), unfinished=int((~done & ~shed).sum()),
        shed=int(shed.sum()),
        on_time_ratio=float(ontime.sum() / J) if J else float("nan"),
        per_type=per_type,
        latency_ms=dict(mean=float(fin.mean()) if len(fin) else float("nan"), p95=_pct(fin, 95), p99=_pct(fin, 99)),
        cost_parts=cost_parts, cost_total=float(sum(cost_parts.values())),
        slots=int(slots), wall_s=float(wall), controller_s=float(t_ctrl),
        decision_ms=dict(median=_pct(dec_times * 1e3, 50), p99=_pct(dec_times * 1e3, 99),
                         max=float(dec_times.max() * 1e3) if len(dec_times) else float("nan")),
        counters=dict(stats),
        task_latency=np.where(done, lat, np.inf), task_type=eng.task_type.copy(),
        light_instances=light_series, waiting=wait_series,
        stages=dict(task=eng.st_task, ms=eng.st_ms, node=eng.st_node, start=eng.st_start, finish=eng.st_finish,
                    task_arrival=eng.task_arrival, task_type=eng.task_type, task_deadline=eng.task_deadline,
                    task_slot=eng.task_slot) if eng.options.get("keep_stages") else None,
        task_shed=shed, core_occupancy=occupancy,
    )
