"""Scenario 8: the disk fills while a step writes its output, and while a completed output is
published at its destination. The step fails clearly, nothing partial is published, the run
store stays consistent. The datastore is a 3 MB tmpfs (root); elsewhere RLIMIT_FSIZE on the
run stands in for a full disk."""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess

import pytest
from faultkit import pipeloom, write_project

MB = 1024 * 1024
PIPELINE = """\
pipeloom: 1
name: full
computes:
  pool: {{type: cpu-pool, workers: 1}}
nodes:
  raw: {{type: dataset, kind: file, path: data/in.txt}}
  small:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {{inp: {{from: raw, as: file}}}}
    outputs: {{out: {{kind: file, register_as: smalls, destination: shared/small}}}}
  {name}:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {{inp: {{from: small.out}}}}
    outputs: {{out: {{kind: file, register_as: {name}s, destination: shared/{name}}}}}
    arguments: [--mode, big-write, --bytes, "{size}"]
"""


def mount_tmpfs(folder, size: str) -> str | None:
    """Mount a tmpfs of `size` at `folder`; the reason when that is impossible here."""
    if os.geteuid() != 0:
        return "not root"
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    return None if done.returncode == 0 else done.stderr.decode(errors="replace").strip()


@pytest.fixture
def full_disk(tmp_path):
    """(project, preexec for the run or None): a datastore that holds 3 MB."""
    datastore = tmp_path / ".pipeloom" / "datastore"
    why = mount_tmpfs(datastore, "3m")
    if why is None:
        yield tmp_path, None
        subprocess.run(["umount", str(datastore)], check=True)
        return

    def limit():  # every file the run and its steps write stays under 3 MB
        resource.setrlimit(resource.RLIMIT_FSIZE, (3 * MB, 3 * MB))

    yield tmp_path, limit


def run(project, preexec):
    return pipeloom("run", "pipeline.yaml", cwd=project, preexec_fn=preexec)


def check_store(project, run_id, failed: str) -> None:
    store = project / ".pipeloom"
    with sqlite3.connect(store / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = [r[0] for r in db.execute("SELECT name FROM datasets")]
        status, outputs = db.execute(
            "SELECT status, outputs FROM child_runs WHERE run_id=? AND step=?", (run_id, failed)
        ).fetchone()
    assert names == ["smalls"] and status == "Failed" and outputs == "{}"
    datastore = store / "datastore"
    assert (datastore / "shared" / "small" / "part-0.txt").exists()
    assert not (datastore / "shared" / failed).exists()
    leftovers = [p.name for p in (datastore / "shared").iterdir() if p.name.startswith(".")]
    assert [n for n in leftovers if n.endswith((".tmp", ".old"))] == []  # no partial copy
    assert not (datastore / "tmp" / run_id).exists()


def test_a_step_that_fills_the_disk_fails_and_publishes_nothing(full_disk):
    project, preexec = full_disk
    write_project(project, PIPELINE.format(name="big", size=8 * MB))
    result = run(project, preexec)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "== small: Completed" in result.stdout
    assert "== big: Failed" in result.stdout
    assert "No space left on device" in result.stdout or "File too large" in result.stdout
    run_id = result.stdout.split("run ", 1)[1].split(":", 1)[0]
    assert not (project / ".pipeloom" / "datastore" / "runs" / run_id / "big").exists()
    check_store(project, run_id, "big")


def test_a_full_disk_while_publishing_leaves_no_partial_copy(full_disk):
    project, preexec = full_disk
    if preexec is not None:
        pytest.skip("needs a small filesystem: RLIMIT_FSIZE limits files, not a destination copy")
    # the output fits once (1.8 MB of 3 MB), its published copy does not
    write_project(project, PIPELINE.format(name="mid", size=int(1.8 * MB)))
    result = run(project, preexec)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "== mid: Failed" in result.stdout and "No space left on device" in result.stdout
    run_id = result.stdout.split("run ", 1)[1].split(":", 1)[0]
    check_store(project, run_id, "mid")
