"""Notebooks saved in JupyterLab never commit outputs (issue 15, item 8): the nbstrip clean filter,
the Makefile's set-up of it, and ``make lab``."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from edgefm.cli.nbstrip import strip, strip_text

ROOT = Path(__file__).resolve().parent.parent
NB = ROOT / "notebooks" / "00_system_model.ipynb"


def with_outputs(text: str) -> str:
    """A notebook as Lab saves it after a run: outputs, counts, view state, widget metadata."""
    doc = json.loads(text)
    for i, c in enumerate(doc["cells"]):
        if c["cell_type"] == "code":
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]
            c["execution_count"] = i
            c["metadata"]["scrolled"] = True
            c["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    doc["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    doc["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python"}
    return json.dumps(doc, indent=1)


def test_strip_removes_outputs_and_view_state_and_keeps_tags():
    dirty = json.loads(with_outputs(NB.read_text()))
    clean = strip(dirty)
    code = [c for c in clean["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert code[0]["metadata"] == {"tags": ["parameters"]}
    assert all(c["metadata"] == {} for c in code[1:])
    assert clean["metadata"] == {"kernelspec": dirty["metadata"]["kernelspec"]}
    assert [c["source"] for c in clean["cells"]] == [c["source"] for c in dirty["cells"]]


@pytest.mark.parametrize("nb", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_committed_notebooks_pass_through_byte_for_byte(nb):
    text = nb.read_text(encoding="utf-8")
    assert strip_text(text) == text
    assert strip_text(with_outputs(text)) == text


def _git(repo, *args, **kw):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, **kw).stdout


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_makefile_installs_the_filter_and_git_never_stages_outputs(tmp_path):
    repo = tmp_path / "clone"
    (repo / "notebooks").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    (repo / "edgefm").symlink_to(ROOT / "edgefm")  # the filter runs the clone's own module ...
    (repo / ".venv").symlink_to(Path(sys.executable).parent.parent)  # ... with the clone's venv
    out = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(repo), "nbfilter"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "installed" in out.stdout, out.stderr
    nb = repo / "notebooks" / NB.name
    shutil.copy(NB, nb)
    _git(repo, "add", ".gitattributes", "notebooks")
    _git(repo, "commit", "-qm", "clean")
    nb.write_text(with_outputs(NB.read_text()))  # "run all" and save in Lab
    assert _git(repo, "diff", "--stat", "notebooks") == ""  # only outputs changed: no difference to commit
    _git(repo, "add", "notebooks")
    assert _git(repo, "status", "--porcelain", "notebooks") == ""  # staged = committed
    staged = json.loads(_git(repo, "show", f":notebooks/{NB.name}"))
    assert all(not c.get("outputs") for c in staged["cells"])
    assert _git(repo, "show", f":notebooks/{NB.name}") == NB.read_text()
    # a real edit still shows, without its outputs
    doc = json.loads(with_outputs(NB.read_text()))
    doc["cells"][0]["source"].append("# edited\n")
    nb.write_text(json.dumps(doc))
    diff = _git(repo, "diff", "notebooks")
    assert "# edited" in diff and "hello" not in diff and "execution_count\": 1" not in diff


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_serves_the_project_root_with_notebooks_in_view(tmp_path):
    port, token = _free_port(), "edgefm-test"
    args = f"--allow-root --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={token}"
    dry = subprocess.run(["make", "-n", "-C", str(ROOT), "lab", f"LAB_ARGS={args}"], capture_output=True, text=True,
                         check=True).stdout
    cmd = [ln for ln in dry.splitlines() if "jupyter lab" in ln]
    assert len(cmd) == 1 and "--ServerApp.root_dir=" in cmd[0] and "/lab/tree/notebooks" in cmd[0]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    proc = subprocess.Popen(cmd[0], shell=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def get(path):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.geturl(), r.read()

        for _ in range(120):
            try:
                get("/api/status")
                break
            except OSError:
                time.sleep(0.5)
        names = {c["name"] for c in json.loads(get("/api/contents")[2])["content"]}
        assert {"notebooks", "data", "pyproject.toml"} <= names  # the project root, results/ and data/ reachable
        assert NB.name in {c["name"] for c in json.loads(get("/api/contents/notebooks")[2])["content"]}
        status, url, _ = get("/")
        assert status == 200 and url.endswith("/lab/tree/notebooks")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
