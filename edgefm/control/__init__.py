"""Tier-2 controllers (docs/model.md §6–7): one class per method, one registry entry each.

>>> from edgefm.control import METHODS, REGISTRY
>>> METHODS
('proposed', 'propavg', 'lbrr', 'ga', 'hpa', 'static', 'edgefm')
>>> REGISTRY["lbrr"].placement
'greedy'

``make_controller(name, scenario, **overrides)`` builds a fresh controller;
the spec's ``placement`` names the core placement solver the method uses with
:func:`edgefm.placement.place` ("scip": the paper's E14; "greedy": least-loaded), or
"edgefm": the provisioning program E24 (:func:`edgefm.placement.provision.provision`),
whose plan the runner hands to the controller ("edgefm-n1": the same with N−1 core capacity).
Importing this package imports no solver (the exact reference lives in
:mod:`edgefm.control.exact` and imports PySCIPOpt inside its functions).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from inspect import signature

from .base import Controller, Decision, RunContext, State

__all__ = ["Controller", "Decision", "RunContext", "State", "MethodSpec", "REGISTRY", "METHODS",
           "make_controller"]


@dataclass(frozen=True)
class MethodSpec:
    """A compared method: its controller class (``module:Class``), fixed
    constructor arguments, and the core placement solver it runs on. A non-empty
    ``version`` enters the sweep cache key of the method's cells, so changing the
    method (and its version) re-runs them instead of reusing stale rows."""

    name: str
    target: str | type
    placement: str
    defaults: dict = field(default_factory=dict)
    description: str = ""
    version: str = ""

    def make(self, scenario=None, **overrides):
        """A new controller. ``scenario`` is accepted for symmetry (controllers
        read it at ``reset``); ``overrides`` go to the constructor."""
        return self.controller_class()(**{**self.defaults, **overrides})

    def controller_class(self) -> type:
        """The controller class: ``target`` itself when it is a class, else ``"module:Class"`` with
        a built-in module of :mod:`edgefm.control` (``"lbrr:LBRRController"``) or any importable
        module (``"mypkg.ctrl:MyController"``)."""
        if isinstance(self.target, type):
            return self.target
        mod, _, cls = self.target.partition(":")
        if "." not in mod and find_spec(f"{__name__}.{mod}") is not None:
            mod = f"{__name__}.{mod}"
        return getattr(import_module(mod), cls)

    def parameters(self) -> tuple[str, ...] | None:
        """Names the constructor accepts as overrides; ``None`` when it takes any (``**kwargs``)."""
        sig = signature(self.controller_class().__init__)
        ps = [p for n, p in sig.parameters.items() if n != "self"]
        if any(p.kind is p.VAR_KEYWORD for p in ps):
            return None
        return tuple(p.name for p in ps if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


#: Every runnable method by name, as a :class:`MethodSpec` (controller class, fixed arguments, core
#: placement solver). :func:`~edgefm.control.register.register_method` adds more.
#:
#: :meta hide-value:
REGISTRY: dict[str, MethodSpec] = {
    "proposed": MethodSpec("proposed", "proposed:ProposedController", "scip", {"kind": "ec", "fallback": False},
                           "E14 placement + Algorithm 1 with the EC delay g_eps (E18-E21)"),
    "proposed+fallback": MethodSpec("proposed+fallback", "proposed:ProposedController", "scip",
                                    {"kind": "ec", "fallback": True},
                                    "proposed with the mean-time fallback where g_eps has no theta* (not the paper's rule)"),
    "propavg": MethodSpec("propavg", "proposed:ProposedController", "scip", {"kind": "avg"},
                          "E14 placement + Algorithm 1 with the mean delay g_avg"),
    "lbrr": MethodSpec("lbrr", "lbrr:LBRRController", "greedy", {},
                       "least-loaded placement, least-utilised scaling, round-robin routing"),
    "ga": MethodSpec("ga", "ga:GAController", "greedy", {},
                     "least-loaded placement, per-slot genetic algorithm over light counts"),
    "hpa": MethodSpec("hpa", "hpa:HPAController", "scip", {},
                      "E14 placement, Kubernetes HPA per light MS and node"),
    "static": MethodSpec("static", "static:StaticController", "scip", {},
                         "E14 placement, fixed light instances sized from mean rates"),
    "edgefm": MethodSpec("edgefm", "deadline:EdgeFMController", "edgefm", {},
                         "queue-sized network-aware provisioning (E22-E24) + admission, shedding, "
                         "standing light pool, earliest-finish routing (E25-E27)", version="8"),
    "edgefm+n1": MethodSpec("edgefm+n1", "deadline:EdgeFMController", "edgefm-n1", {"survivable": True},
                            "edgefm on the N-1 plan (E24 survivable): rides out the loss of any one node, "
                            "at the price of the reserve instances", version="8"),
}

#: Method names in reporting order. Variants registered as ``base+option`` (``proposed+fallback``)
#: are runnable by name everywhere but are not in this list of compared methods.
METHODS: tuple[str, ...] = tuple(k for k in REGISTRY if "+" not in k)


def make_controller(name: str, scenario=None, **overrides):
    """Build the controller of method ``name`` (see :data:`REGISTRY`)."""
    try:
        spec = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}") from None
    return spec.make(scenario, **overrides)
