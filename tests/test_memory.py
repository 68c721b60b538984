"""edgefm.sim.memory: the allocator settings are applied once, opt-out works, and results do not change."""
import os
import platform
import subprocess
import sys

from edgefm.sim.memory import tune_allocator

CODE = """
import edgefm
from edgefm.experiments.runner import run_method
from edgefm.sim import memory
sc = edgefm.load_scenario(edgefm.data_path("scenarios", "paper.yaml"), seed=3, load=1.5)
r = run_method(sc, "proposed", seed=3, n_slots=60)
print(memory._STATE["applied"], r.on_time, r.late, r.unfinished, r.cost_total)
"""


def _run(env_extra):
    env = {k: v for k, v in os.environ.items() if k != "EDGEFM_MALLOC"}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_tune_allocator_is_idempotent():
    first = tune_allocator()
    assert tune_allocator() is first


def test_allocator_settings_change_no_result():
    on, off = _run({}), _run({"EDGEFM_MALLOC": "off"})
    assert off[0] == "False" and on[0] == str(GLIBC)
    assert on[1:] == off[1:]  # the same run, counts and cost, with and without the settings
