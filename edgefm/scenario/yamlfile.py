"""YAML as users write it: ``yaml.safe_load`` with the YAML 1.2 float rule.

PyYAML follows YAML 1.1, where a float needs a dot (``5.0e-4``): ``5e-4`` and ``1e3`` are read as
strings, and a scenario field then fails with "must be a number, got '5e-4'". :func:`load_yaml`
resolves them as floats, as YAML 1.2 (and every other YAML library) does; everything else is
``safe_load``.
"""
from __future__ import annotations

import re

import yaml

__all__ = ["Loader", "load_yaml"]


class Loader(yaml.SafeLoader):
    """``SafeLoader`` whose implicit floats follow YAML 1.2 (``5e-4``, ``1E3``, ``.5``, ``.inf``)."""


_FLOAT_12 = re.compile(r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)

Loader.yaml_implicit_resolvers = {k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:float"]
                                  for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))
# integers keep their own resolver; a float pattern must not swallow them (tried first)
for _k, _v in Loader.yaml_implicit_resolvers.items():
    _v.sort(key=lambda t: t[0] == "tag:yaml.org,2002:float")


def load_yaml(text: str):
    """Parse YAML text with :class:`Loader` (safe: plain data only).

    Examples
    --------
    >>> load_yaml("a: 5e-4\\nb: 3\\nc: 1.5\\nd: '5e-4'")
    {'a': 0.0005, 'b': 3, 'c': 1.5, 'd': '5e-4'}
    """
    return yaml.load(text, Loader=Loader)
