"""Scenario 5: steps that fail half-way after writing part of an output, exit 0 without their
output, print 300,000 lines, a 10 MB line without a newline, invalid UTF-8 and binary bytes.
The CLI and the designer survive, nothing partial is committed, `pipeloom logs` has it all."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest
from faultkit import cli_env, pipeloom, pipeloom_argv, write_project

from tests.designer.conftest import (  # noqa: F401 - fixtures the designer tests use too
    ScriptedDialogs,
    _clipboard_emptied_at_exit,
    isolated_settings,
)

FLOOD_LINES = 300_000
LONG_LINE = 10 * 1024 * 1024
STEPS = {
    "half": ("fail-half", 1000),
    "empty": ("no-output", 0),
    "flood": ("flood", FLOOD_LINES),
    "longline": ("long-line", LONG_LINE),
    "binary": ("binary", 0),
}


def pipeline_text() -> str:
    text = """\
pipeloom: 1
name: noisy
computes:
  pool: {type: cpu-pool, workers: 2}
nodes:
  raw: {type: dataset, kind: file, path: data/in.txt}
"""
    for name, (mode, size) in STEPS.items():
        text += f"""\
  {name}:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {{inp: {{from: raw, as: file}}}}
    outputs: {{out: {{kind: file}}}}
    arguments: [--mode, {mode}, --bytes, "{size}"]
"""
    return text


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """The noisy pipeline run once by the CLI: (project, result, run id)."""
    root = tmp_path_factory.mktemp("noisy")
    write_project(root, pipeline_text())
    result = pipeloom("run", "pipeline.yaml", cwd=root, timeout=600)
    run_id = result.stdout.split("run ", 1)[1].split(":", 1)[0]
    return root, result, run_id


def test_the_cli_reports_each_fault_and_commits_nothing_partial(noisy):
    root, result, run_id = noisy
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stderr == ""
    out = result.stdout
    assert "== half: Failed (exited with code 4)" in out
    assert "== empty: Failed (step 'empty' completed but did not write its output(s) out)" in out
    for ok in ("flood", "longline", "binary"):
        assert f"== {ok}: Completed" in out
    assert out.count("[flood] line ") == FLOOD_LINES
    runs = root / ".pipeloom" / "datastore" / "runs" / run_id
    assert sorted(p.name for p in runs.iterdir()) == ["binary", "flood", "longline"]
    assert not (root / ".pipeloom" / "datastore" / "tmp" / run_id).exists()
    with sqlite3.connect(root / ".pipeloom" / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def logs(root, run_id, step) -> str:
    """`pipeloom logs` output as bytes decoded here: text mode would turn \r into \n."""
    result = subprocess.run(
        pipeloom_argv("logs", "pipeline.yaml", run_id, step),
        cwd=root,
        capture_output=True,
        timeout=300,
        env=cli_env(),
    )
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    return result.stdout.decode("utf-8")


def test_pipeloom_logs_has_every_line_of_every_step(noisy):
    root, _result, run_id = noisy
    flood = logs(root, run_id, "flood").splitlines()
    body = [line.split("stdout: ", 1)[1] for line in flood if "stdout: line " in line]
    assert body == [f"line {i}" for i in range(FLOOD_LINES)]
    long = logs(root, run_id, "longline").split("\n")
    assert any(("L" * LONG_LINE + "step longline done") in line for line in long)
    binary = logs(root, run_id, "binary").split("\n")
    assert any(line.endswith("stdout: bad utf8 \ufffd\ufffd\ufffd( end") for line in binary)
    assert any(line.endswith("stderr: \ufffd(\ufffd on stderr") for line in binary)
    # a step's own \r, \v, \f and \x1c-\x1e stay inside its line
    control = next(line for line in binary if "\x0b\x0c" in line)  # bytes 11..255
    assert "\r\x0e" in control and "\x1c\x1d\x1e" in control and control.endswith("\ufffd")
    assert any(line.endswith("stdout: step binary done") for line in binary)
    half = logs(root, run_id, "half")
    assert "stderr: wrote half, now failing" in half and "failed: exited with code 4" in half


@pytest.fixture
def window(qtbot, tmp_path):
    from designer.mainwindow import MainWindow

    w = MainWindow(dialogs=ScriptedDialogs(), recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.document.undo_stack.setClean()


def test_the_designer_survives_the_same_steps(qtbot, window, noisy, tmp_path):
    """The same steps from the designer, the whole flood included: 300,000 lines are more
    than the logs view keeps (designer.logs_panel.MAX_LINES), so old rows drop off its top
    while the step's log file keeps every line."""
    from engine.events import Status

    source, _result, _run_id = noisy
    root = tmp_path / "copy"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".pipeloom", ".*.out"))
    (root / "pipeline.yaml").write_text(pipeline_text())
    assert window.files.open(root / "pipeline.yaml")
    runs = window.run_commands
    with qtbot.waitSignal(runs.controller.runEnded, timeout=600_000):
        window.window_actions.run.trigger()
    assert runs.last_error is None, runs.last_error
    assert runs.last_summary.status is Status.FAILED
    pills = {name: item.run_status() for name, item in window.scene.nodes.items()}
    assert pills == {
        "raw": None,
        "half": "Failed",
        "empty": "Failed",
        "flood": "Completed",
        "longline": "Completed",
        "binary": "Completed",
    }
    assert window.logs_panel.text().endswith("step flood done")  # the live view kept up
    run_id = runs.last_summary.run_id
    window.runs_panel.select_run(run_id)  # the stored logs of the run, one step at a time
    window.logs_panel.set_step_filter("binary")
    text = window.logs_panel.text()
    assert "bad utf8 \ufffd\ufffd\ufffd( end" in text and "step binary done" in text
    window.logs_panel.set_step_filter("longline")
    assert "L" * 1000 in window.logs_panel.text()
    window.logs_panel.set_step_filter("empty")
    assert "did not write its output(s) out" in window.logs_panel.text()
    stored = logs(root, run_id, "flood").splitlines()
    assert sum(1 for line in stored if "stdout: line " in line) == FLOOD_LINES
