"""User modules on the command line: ``--plugin MODULE`` imports a module (which may register
methods with :func:`edgefm.register_method`), and method names are checked against the registry
before any work starts."""
from __future__ import annotations

import importlib

from ..errors import UsageError

__all__ = ["load_plugins", "method_name"]


def load_plugins(modules) -> None:
    """Import every module named in ``modules`` (dotted names on ``sys.path``).

    Raises
    ------
    UsageError
        A module cannot be found or fails to import (one line naming it).
    """
    for name in modules or ():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            raise UsageError(f"argument --plugin: no module named {exc.name!r} (is it on PYTHONPATH?)") from None
        except Exception as exc:  # a user's module: report it in one line
            raise UsageError(f"argument --plugin: importing {name!r} failed: {type(exc).__name__}: {exc}") from None


def method_name(name: str) -> str:
    """``name`` if it is a registered method, else a :class:`UsageError` listing the choices."""
    from ..control import REGISTRY

    if name not in REGISTRY:
        raise UsageError(f"argument --method: unknown method {name!r} (choose from {', '.join(REGISTRY)}, or "
                         f"register one with --plugin)")
    return name
