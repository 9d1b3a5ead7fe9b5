"""Scenarios 1 and 2 for script steps: `kill -9`, SIGINT and SIGTERM of `pipeloom run` while a
step runs that has a child and a grandchild that left its session (setsid)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest
from faultkit import Background, marked, pipeloom, survivors, tree, wait_until, write_project

PIPELINE = """\
pipeloom: 1
name: faults
computes:
  pool: {{type: cpu-pool, workers: 2}}
parameters:
  mode: {{type: string, default: hang}}
nodes:
  raw: {{type: dataset, kind: file, path: data/in.txt}}
  first:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {{inp: {{from: raw, as: file}}}}
    outputs: {{out: {{kind: file, register_as: firsts, destination: shared/first}}}}
  slow:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {{inp: {{from: first.out}}}}
    outputs: {{out: {{kind: file, register_as: slows, destination: shared/slow}}}}
    arguments: [--mode, "{{parameters.mode}}", --pids, "{pids}"]
"""


@pytest.fixture
def project(tmp_path):
    write_project(tmp_path, PIPELINE.format(pids=tmp_path / "pids.txt"))
    return tmp_path


def start_hanging(project, cleanup_pids) -> tuple[Background, set[int]]:
    """A run whose `slow` step hangs; returns it with every process it has at that moment."""
    run = Background(project, "run", "pipeline.yaml")
    cleanup_pids.add(run.pid)
    run.wait_for("MARKER hanging")
    pids_file = project / "pids.txt"
    step, child, escaped = (int(p) for p in pids_file.read_text().split())
    seen = tree(run.pid) | set(marked(run.run_id())) | {step, child, escaped}
    cleanup_pids.update(seen)
    wait_until(lambda: os.getsid(escaped) == escaped, 10, "the grandchild's setsid")
    return run, seen


def test_kill_9_leaves_nothing_running_and_loses_nothing_completed(project, cleanup_pids):
    run, seen = start_hanging(project, cleanup_pids)
    run_id = run.run_id()
    os.kill(run.pid, signal.SIGKILL)
    run.wait(10)
    assert survivors(seen, 10) == [], "processes outlived the killed run by 10 s"
    assert marked(run_id) == []

    runs = pipeloom("runs", "pipeline.yaml", cwd=project)
    assert runs.returncode == 0 and "Interrupted" in runs.stdout, runs.stdout + runs.stderr
    steps = pipeloom("runs", "pipeline.yaml", run_id, cwd=project).stdout
    assert "first  Completed" in steps and "slow   Interrupted" in steps, steps

    store = project / ".pipeloom"
    datastore = store / "datastore"
    assert (
        (datastore / "runs" / run_id / "first" / "out" / "part-0.txt")
        .read_text()
        .startswith("hello")
    )
    assert not (datastore / "runs" / run_id / "slow").exists()  # the partial output is not there
    assert (datastore / "shared" / "first" / "part-0.txt").exists()
    assert not (datastore / "shared" / "slow").exists()
    datasets = pipeloom("datasets", "pipeline.yaml", cwd=project).stdout
    assert "firsts" in datasets and "slows" not in datasets

    again = pipeloom("run", "pipeline.yaml", "--param", "mode=ok", cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "== first: Reused" in again.stdout and "== slow: Completed" in again.stdout
    assert not (datastore / "tmp" / run_id).exists()  # the dead run's temp outputs are gone
    with sqlite3.connect(store / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        versions = db.execute("SELECT name, version FROM datasets ORDER BY 1, 2").fetchall()
    assert versions == [("firsts", 1), ("slows", 1)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_cancels_exits_130_and_stops_everything_within_5_s(project, cleanup_pids, signum):
    run, seen = start_hanging(project, cleanup_pids)
    run_id = run.run_id()
    sent = time.monotonic()
    os.kill(run.pid, signum)
    assert run.wait(30) == 130, run.output()[-2000:]
    left = survivors(seen - {run.pid}, max(0.0, 5.0 - (time.monotonic() - sent)))
    assert left == [], "processes outlived the cancel by 5 s"
    assert marked(run_id) == []
    assert not [line for line in run.output().splitlines() if line.startswith("Traceback")]
    steps = pipeloom("runs", "pipeline.yaml", run_id, cwd=project).stdout
    assert steps.startswith(f"run {run_id}  Canceled"), steps
    assert "first  Completed" in steps and "slow   Canceled" in steps
    assert not (project / ".pipeloom" / "datastore" / "runs" / run_id / "slow").exists()
    assert not (project / ".pipeloom" / "datastore" / "shared" / "slow").exists()
