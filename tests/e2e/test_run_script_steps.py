"""`pipeloom run/runs/logs/datasets` end to end: a YAML project of script steps, the real CLI
in a subprocess, real step processes, exit codes, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from scriptproject import STEP_SCRIPT  # noqa: E402

from engine.procs import alive  # noqa: E402

PIPELINE = """\
pipeloom: 1
name: scripts
computes:
  pool: {type: cpu-pool, workers: 2}
environments:
  missing: {pip: ["surely-not-installed-pkg>=2"]}
parameters:
  tag: {type: string, default: x}
nodes:
  raw:
    type: dataset
    kind: file
    path: data/in.txt
  clean:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs:
      inp: {from: raw, as: file, mode: download}
    outputs:
      out: {kind: file, register_as: cleaned, destination: shared/cleaned}
    arguments: [--tag, "{parameters.tag}"]
  report:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs:
      inp: {from: clean.out, as: file}
    outputs:
      out: {kind: file}
"""


def pipeloom(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_id(result: subprocess.CompletedProcess) -> str:
    return result.stdout.split("run ", 1)[1].split(":", 1)[0]


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "step.py").write_text(STEP_SCRIPT)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.txt").write_text("hello\n")
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    return tmp_path


def test_run_then_rerun_reuses_and_history_logs_datasets_show_it(project):
    first = pipeloom("run", "pipeline.yaml", "--param", "tag=A", cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "[clean] step clean read 6 chars" in out
    assert "== clean: Completed" in out and "== report: Completed" in out
    assert "registered as cleaned v1" in out
    assert "\x1b[" not in out  # not a terminal: plain lines only
    table = out[out.index("step  ") :]
    assert "clean   Completed" in table and "report  Completed" in table

    second = pipeloom("run", "pipeline.yaml", "--param", "tag=A", cwd=project)
    assert second.returncode == 0
    assert "== clean: Reused" in second.stdout and "== report: Reused" in second.stdout
    assert "step clean read" not in second.stdout

    third = pipeloom("run", "pipeline.yaml", "--param", "tag=B", cwd=project)
    assert "== clean: Completed" in third.stdout and "== report: Completed" in third.stdout

    reused_logs = pipeloom("logs", "pipeline.yaml", run_id(second), cwd=project)
    assert f"[clean] reused the outputs of run {run_id(first)}" in reused_logs.stdout

    runs = pipeloom("runs", "pipeline.yaml", cwd=project)
    assert runs.returncode == 0 and runs.stdout.count("Completed") == 3
    first_id = run_id(first)
    steps = pipeloom("runs", "pipeline.yaml", first_id, cwd=project)
    assert "clean" in steps.stdout and "parameters: tag=A" in steps.stdout
    logs = pipeloom("logs", "pipeline.yaml", first_id, "clean", cwd=project)
    assert "stdout: step clean read 6 chars" in logs.stdout
    assert "stdout: step clean done" in logs.stdout
    datasets = pipeloom("datasets", "pipeline.yaml", cwd=project)
    assert datasets.stdout.count("cleaned") >= 2 and "clean.out" in datasets.stdout
    published = project / ".pipeloom" / "datastore" / "shared" / "cleaned" / "part-0.txt"
    assert published.read_text() == "hello\ncleanB\n"


def test_a_failing_step_exits_1_and_skips_downstream(project):
    text = PIPELINE.replace('arguments: [--tag, "{parameters.tag}"]', "arguments: [--fail]")
    (project / "pipeline.yaml").write_text(text)
    result = pipeloom("run", "pipeline.yaml", cwd=project)
    assert result.returncode == 1
    assert "== clean: Failed (exited with code 3)" in result.stdout
    assert "== report: Skipped (upstream clean did not complete)" in result.stdout
    assert "[clean] about to fail" in result.stdout


def test_bad_input_exits_2_with_the_problems(project):
    (project / "pipeline.yaml").write_text(PIPELINE.replace("from: clean.out", "from: clan.out"))
    result = pipeloom("run", "pipeline.yaml", cwd=project)
    assert result.returncode == 2
    assert "clan" in result.stderr and "Traceback" not in result.stderr
    result = pipeloom("run", "pipeline.yaml", "--param", "nope=1", cwd=project)
    assert result.returncode == 2
    (project / "pipeline.yaml").write_text(PIPELINE)
    result = pipeloom("run", "pipeline.yaml", "--only", "report", cwd=project)
    assert result.returncode == 2 and "run it first" in result.stderr


def test_an_unbuildable_environment_fails_before_the_step_starts(project):
    text = PIPELINE.replace(
        "    script: step.py\n    inputs:\n      inp: {from: raw",
        "    script: step.py\n    environment: missing\n    inputs:\n      inp: {from: raw",
        1,
    )
    (project / "pipeline.yaml").write_text(text)
    result = pipeloom("run", "pipeline.yaml", cwd=project)
    assert result.returncode == 1
    assert "environment 'missing' could not be built" in result.stdout
    assert "surely-not-installed-pkg" in result.stdout
    assert "step clean read" not in result.stdout


def test_ctrl_c_cancels_kills_the_tree_and_exits_130(project):
    pidfile = project / "child.pid"
    text = PIPELINE.replace(
        'arguments: [--tag, "{parameters.tag}"]',
        f"arguments: [--child, {str(pidfile)!r}, --sleep, '600']",
    )
    (project / "pipeline.yaml").write_text(text)
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", "pipeline.yaml"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "MARKER child started" in line:
            break
    child = int(pidfile.read_text())
    os.kill(proc.pid, signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "== clean: Canceled" in rest and "== report: Canceled" in rest
    assert not alive(child)
    datastore = project / ".pipeloom" / "datastore"
    assert not list((datastore / "runs").glob("*/clean")) if (datastore / "runs").exists() else True
    assert not list((datastore / "tmp").glob("*/*")) if (datastore / "tmp").exists() else True


def test_a_terminal_gets_a_live_status_line(project):
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", "pipeline.yaml"],
        cwd=project,
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the other side closed
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(leader)
    shown = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "\r\x1b[K[" in shown and "done" in shown and "running: clean" in shown
    assert "[clean] step clean read 6 chars" in shown


def test_logs_follow_prints_until_the_run_ends(project):
    text = PIPELINE.replace('arguments: [--tag, "{parameters.tag}"]', "arguments: [--sleep, '2']")
    (project / "pipeline.yaml").write_text(text)
    run = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", "pipeline.yaml"],
        cwd=project,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in run.stdout:
        if "step clean read" in line:
            break
    follow = pipeloom("logs", "pipeline.yaml", "latest", "--follow", cwd=project)
    run.communicate(timeout=60)
    assert follow.returncode == 0
    assert "[clean]" in follow.stdout and "stdout: step report done" in follow.stdout


def test_validation_warnings_are_shown_and_do_not_stop_the_run(project):
    text = PIPELINE.replace(
        'arguments: [--tag, "{parameters.tag}"]', 'arguments: [--tag, "{outputs.out}"]'
    )
    (project / "pipeline.yaml").write_text(text)
    result = pipeloom("run", "pipeline.yaml", cwd=project)
    assert result.returncode == 0
    assert "warning: clean.inputs.inp: input 'inp' is not passed in the arguments" in result.stdout
