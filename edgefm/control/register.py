"""Your own controller through the front door: :func:`register_method`.

A method is a controller class (``reset(ctx)`` and ``decide(state) -> Decision``, see
:mod:`edgefm.control.base`) plus the core placement it runs on. Registering it makes it a name
like the built-in ones, usable by :func:`edgefm.run_method`, ``edgefm simulate --method NAME
--plugin MODULE`` and sweep files (``plugins: [MODULE]``, then ``methods: [NAME]``)::

    # my_ctrl.py (importable: on PYTHONPATH or installed)
    import numpy as np
    import edgefm

    class OnePerNode:
        name = "one_per_node"

        def reset(self, ctx):
            self.light = list(ctx.scenario.light_ms)

        def decide(self, state):
            counts = np.zeros_like(state.light_counts)
            counts[:, self.light] = 1
            return edgefm.Decision(light_counts=counts, route=np.full(state.n_waiting, -1))

    edgefm.register_method("one_per_node", OnePerNode, placement="greedy")

The placement is ``"scip"`` (the paper's E14, as ``proposed``), ``"greedy"`` (least loaded, as
``lbrr``) or a callable ``placement(scenario) -> Placement | (V, M) array``.
"""
from __future__ import annotations

import re

from . import REGISTRY, MethodSpec

__all__ = ["register_method", "unregister_method", "PLACEMENTS"]

#: Named core placements a method can run on (besides a callable): those of the built-in methods.
PLACEMENTS = tuple(dict.fromkeys(s.placement for s in REGISTRY.values() if isinstance(s.placement, str)))
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


def register_method(name: str, controller, placement="scip", *, description: str = "", version: str = "",
                    replace: bool = False, **defaults) -> MethodSpec:
    """Register a tier-2 method under ``name``.

    Parameters
    ----------
    name : str
        Letters, digits, ``_`` or ``-``, starting with a letter.
    controller : type or str
        The controller class, or ``"module:Class"`` for one imported when a run builds it.
    placement : str or callable
        The core placement the method runs on: one of :data:`PLACEMENTS` (``"scip"``: E14 as
        ``proposed``; ``"greedy"``: least loaded as ``lbrr``), or a callable that gets the scenario and returns a
        :class:`~edgefm.placement.model.Placement` or a (V, M) instance-count array.
    description : str
    version : str
        Change it when the method changes: it enters the sweep cache key of the method's cells, so
        a sweep re-runs them instead of reusing rows of the old method.
    replace : bool
        Allow re-registering an existing name (never a built-in one).
    **defaults
        Constructor arguments of the controller (a run's overrides take precedence).

    Returns
    -------
    MethodSpec

    Raises
    ------
    ValueError
        A bad name, placement or controller, or a name already taken.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"method name must be letters, digits, _ or -, starting with a letter, got {name!r}")
    if name in REGISTRY and (not replace or name in _BUILTIN):
        raise ValueError(f"method {name!r} is already registered" + ("" if name in _BUILTIN else
                                                                      "; pass replace=True to replace it"))
    if not (callable(placement) or placement in PLACEMENTS):
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)} or a callable, got {placement!r}")
    if isinstance(controller, str):
        if not re.match(r"^[\w.]+:\w+$", controller):
            raise ValueError(f"controller must be a class or 'module:Class', got {controller!r}")
    elif not isinstance(controller, type):
        raise ValueError(f"controller must be a class or 'module:Class', got {controller!r}")
    else:
        for attr in ("reset", "decide"):
            if not callable(getattr(controller, attr, None)):
                raise ValueError(f"controller {controller.__name__} has no {attr}() method")
    spec = MethodSpec(name, controller, placement, dict(defaults), description, version=str(version))
    REGISTRY[name] = spec
    return spec


def unregister_method(name: str) -> None:
    """Remove a method added by :func:`register_method` (built-in methods stay)."""
    if name in _BUILTIN:
        raise ValueError(f"{name!r} is a built-in method")
    REGISTRY.pop(name, None)


_BUILTIN = frozenset(REGISTRY)
