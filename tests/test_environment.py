"""environment.yml (conda) and pyproject.toml (pip) pin the same versions."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def _pip_pins():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = proj["dependencies"] + [r for extra in proj["optional-dependencies"].values() for r in extra]
    pins = {}
    for r in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^;\s]+)", r.strip())
        assert m, f"pyproject.toml: dependency {r!r} is not pinned exactly (name==version)"
        pins[_norm(m.group(1))] = m.group(2)
        if "[distributed]" in m.group(1):
            pins["distributed"] = m.group(2)
    return pins


def _conda_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for d in env["dependencies"]:
        if isinstance(d, dict):
            for p in d["pip"]:
                name, ver = p.split("==")
                pins[_norm(name)] = ver
        else:
            name, _, ver = d.partition("=")
            if name not in ("python", "pip"):
                assert ver, f"environment.yml: {d!r} is not pinned"
                pins[_norm(name)] = ver
    return pins, env


def test_environment_matches_pyproject():
    pip, (conda, env) = _pip_pins(), _conda_pins()
    assert pip == conda, {k: (pip.get(k), conda.get(k)) for k in set(pip) | set(conda) if pip.get(k) != conda.get(k)}
    assert "conda-forge" in env["channels"]
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_installed_versions_match_pins():
    from importlib.metadata import version

    for name, ver in _pip_pins().items():
        assert version(name) == ver, f"{name}: installed {version(name)}, pinned {ver}"
