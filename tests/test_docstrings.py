"""Every Examples block in the package's docstrings runs and prints what it shows."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import edgefm

MODULES = sorted(m.name for m in pkgutil.walk_packages(edgefm.__path__, "edgefm.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, extraglobs={"np": np}, report=True,
                          optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples failed in {name}"
