"""Running pipelines from the designer: real script steps in real processes, a real run store,
the real main window offscreen. Statuses on the canvas, live logs, run history, cancel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from designer.dialogs import SaveAnswer
from engine.events import Status
from engine.fileformat import yamlio
from engine.pipeline import changes as ch
from engine.pipeline.model import Compute, InputPort, Node, OutputPort, Pipeline, Ref
from engine.procs import alive
from tests.designer.conftest import ScriptedDialogs

WAIT_MS = 60_000

STEP_SCRIPT = r"""
import argparse, os, subprocess, sys, time
from engine.step import context

parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("--fail", action="store_true")
parser.add_argument("--sleep-forever", metavar="PIDFILE")
args = parser.parse_args()
ctx = context()
print(f"hello from {args.name}", flush=True)
print(f"{args.name} writes to stderr", file=sys.stderr, flush=True)
if args.sleep_forever:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(args.sleep_forever, "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    print("MARKER sleeping", flush=True)
    time.sleep(600)
if args.fail:
    sys.exit(3)
for out in ctx.outputs.values():
    os.makedirs(out.path)
    with open(os.path.join(out.path, "part-0.txt"), "w") as f:
        f.write(args.name)
print(f"{args.name} done", flush=True)
"""


class RunDialogs(ScriptedDialogs):
    def __init__(self):
        super().__init__()
        self.confirm_answer = True

    def confirm(self, title, text, accept):
        self.asked.append(("confirm", title, accept))
        return self.confirm_answer


@pytest.fixture
def dialogs():
    return RunDialogs()


def step(name: str, args: list[str], inputs: dict[str, str] | None = None) -> Node:
    return Node(
        name,
        "script-step",
        {"source_directory": "code", "script": "step.py", "compute": "pool", "arguments": args},
        inputs=[InputPort(k, Ref.parse(v), kind="file") for k, v in (inputs or {}).items()],
        outputs=[OutputPort("out", kind="file")],
    )


def write_project(root: Path, nodes: list[Node]) -> Path:
    (root / "code").mkdir(parents=True)
    (root / "code" / "step.py").write_text(STEP_SCRIPT)
    pipeline = Pipeline("runproj")
    pipeline.computes["pool"] = Compute("pool", "cpu-pool", workers=2)
    for node in nodes:
        pipeline.nodes[node.name] = node
    path = root / "pipeline.yaml"
    yamlio.save(pipeline, str(path))
    return path


@pytest.fixture
def chain(tmp_path) -> Path:
    return write_project(tmp_path / "chain", [step("a", ["a"]), step("b", ["b"], {"inp": "a.out"})])


def pills(window) -> dict[str, str | None]:
    return {name: item.run_status() for name, item in window.scene.nodes.items()}


def run_and_wait(qtbot, window, action) -> None:
    runs = window.run_commands
    with qtbot.waitSignal(runs.controller.runEnded, timeout=WAIT_MS):
        action.trigger()
    assert runs.last_error is None, runs.last_error


def test_run_from_the_menu_shows_statuses_logs_and_history(qtbot, window, chain):
    assert window.files.open(chain)
    actions = window.window_actions
    run_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Run")
    assert actions.run in run_menu.actions() and actions.cancel_run in run_menu.actions()
    assert actions.run.shortcut().toString() == "F5"
    assert not actions.cancel_run.isEnabled()

    shown = []  # every pill the canvas was asked to show, in order
    real = window.scene.set_run_status
    window.scene.set_run_status = lambda node, status: (
        shown.append((node, status)),
        real(node, status),
    )
    run_and_wait(qtbot, window, actions.run)

    assert window.run_commands.last_summary.status is Status.COMPLETED
    assert pills(window) == {"a": "Completed", "b": "Completed"}
    assert shown.index(("a", "Running")) < shown.index(("a", "Completed"))
    assert shown.index(("a", "Completed")) < shown.index(("b", "Running"))
    text = window.logs_panel.text()
    assert "hello from a" in text and "hello from b" in text and "b done" in text
    window.logs_panel.set_step_filter("b")
    assert "hello from b" in window.logs_panel.text()
    assert "hello from a" not in window.logs_panel.text()

    runs = window.runs_panel.runs()
    assert len(runs) == 1 and runs[0].status is Status.COMPLETED
    assert window.runs_panel.selected_run() == runs[0].id
    assert window.runs_panel.step_rows() == [("a", "Completed"), ("b", "Completed")]
    assert "Run completed" in window.run_commands.status_text
    assert actions.run.isEnabled() and not actions.cancel_run.isEnabled()

    first_run = runs[0].id
    # a second run reuses both steps; regenerated outputs run them again
    run_and_wait(qtbot, window, actions.run)
    assert pills(window) == {"a": "Reused", "b": "Reused"}
    assert f"reused outputs of run {first_run}" in window.logs_panel.text()
    run_and_wait(qtbot, window, actions.run_regenerated)
    assert pills(window) == {"a": "Completed", "b": "Completed"}
    assert [r.status for r in window.runs_panel.runs()] == [Status.COMPLETED] * 3

    # selecting the first run again shows its stored logs
    first = window.runs_panel.runs()[-1].id
    window.runs_panel.select_run(first)
    assert window.logs_panel.run_id == first
    window.logs_panel.set_step_filter("")
    assert "hello from a" in window.logs_panel.text()
    # a past run's statuses go back on the idle canvas; a step of it shows its log and node
    reused_run = window.runs_panel.runs()[1].id
    window.runs_panel.select_run(reused_run)
    assert pills(window) == {"a": "Reused", "b": "Reused"}
    steps = window.runs_panel.steps_tree
    steps.itemActivated.emit(steps.topLevelItem(1), 0)
    assert window.logs_panel.current_step() == "b"
    assert window.scene.selected_nodes() == ["b"]


def test_logs_arrive_live_and_stderr_lines_are_tinted(qtbot, window, tmp_path):
    pidfile = tmp_path / "pids"
    path = write_project(tmp_path / "p", [step("slow", ["slow", "--sleep-forever", str(pidfile)])])
    assert window.files.open(path)
    window.window_actions.run.trigger()
    qtbot.waitUntil(lambda: "MARKER sleeping" in window.logs_panel.text(), timeout=WAIT_MS)
    assert window.scene.nodes["slow"].run_status() == "Running"
    assert "slow writes to stderr" in window.logs_panel.text()
    assert "Running" in window.run_commands.status_text
    # editing stays possible during the run, and changes nothing in it
    window.document.push(ch.SetParam("slow", "description", "edited while running"))
    assert window.document.modified and window.run_commands.controller.busy
    assert window.run_commands.controller.runner.pipeline.nodes["slow"].description != (
        "edited while running"
    )
    assert window.window_actions.cancel_run.isEnabled()
    assert not window.window_actions.run.isEnabled()
    view = window.logs_panel.view

    def row_of(containing: str) -> int:
        return next(i for i in range(view.row_count()) if containing in view.row_text(i))

    assert view.is_tinted(row_of("writes to stderr"))
    assert not view.is_tinted(row_of("hello from slow"))

    pids = [int(p) for p in pidfile.read_text().split()]
    with qtbot.waitSignal(window.run_commands.controller.runEnded, timeout=WAIT_MS):
        window.window_actions.cancel_run.trigger()
    assert window.scene.nodes["slow"].run_status() == "Canceled"
    assert window.run_commands.last_summary.status is Status.CANCELED
    for pid in pids:
        assert not alive(pid), f"process {pid} survived the cancel"
    assert window.runs_panel.runs()[0].status is Status.CANCELED


def test_failed_step_skips_downstream(qtbot, window, tmp_path):
    path = write_project(
        tmp_path / "p",
        [
            step("bad", ["bad", "--fail"]),
            step("after", ["after"], {"inp": "bad.out"}),
            step("good", ["good"]),
        ],
    )
    assert window.files.open(path)
    run_and_wait(qtbot, window, window.window_actions.run)
    assert pills(window) == {"bad": "Failed", "after": "Skipped", "good": "Completed"}
    assert window.run_commands.last_summary.status is Status.FAILED
    assert "bad: exited with code 3" in window.run_commands.status_text
    assert ("after", "Skipped") in window.runs_panel.step_rows()
    window.logs_panel.set_step_filter("bad")
    assert "failed: exited with code 3" in window.logs_panel.text()


def test_run_selected_only_and_from_selected(qtbot, window, tmp_path):
    path = write_project(
        tmp_path / "p",
        [
            step("a", ["a"]),
            step("b", ["b"], {"inp": "a.out"}),
            step("c", ["c"], {"inp": "b.out"}),
        ],
    )
    assert window.files.open(path)
    actions = window.window_actions
    assert not actions.run_selected.isEnabled()
    run_and_wait(qtbot, window, actions.run)

    from designer.canvas.contextmenu import context_menu

    item = window.scene.nodes["b"]  # right-click on b: run it, or from it
    menu = context_menu(window.view, item.mapToScene(item.rect().center()))
    assert window.scene.selected_nodes() == ["b"]
    assert {actions.run_selected, actions.run_from_selected} <= set(menu.actions())
    assert actions.run_selected.isEnabled()
    run_and_wait(qtbot, window, actions.run_selected)
    assert pills(window) == {"a": "Reused", "b": "Completed", "c": None}

    window.scene.select_nodes(["b"])
    run_and_wait(qtbot, window, actions.run_from_selected)
    assert pills(window) == {"a": "Reused", "b": "Completed", "c": "Completed"}


def test_unsaved_document_is_saved_first(qtbot, window, dialogs, chain, tmp_path):
    assert window.files.open(chain)
    window.scene.select_nodes(["b"])
    window.view.delete_selection()
    assert window.document.modified

    dialogs.confirm_answer = False  # declined: nothing runs, nothing saved
    window.window_actions.run.trigger()
    assert ("confirm", "Save before running", "Save and Run") in dialogs.asked
    assert not window.run_commands.controller.busy and window.document.modified

    dialogs.confirm_answer = True
    run_and_wait(qtbot, window, window.window_actions.run)
    assert not window.document.modified
    assert list(yamlio.load(str(chain)).nodes) == ["a"]
    assert pills(window) == {"a": "Completed"}


def test_untitled_document_asks_for_a_path(qtbot, window, dialogs, tmp_path):
    source = write_project(tmp_path / "src", [step("a", ["a"])])
    fragment = yamlio.load(str(source))
    window.document.pipeline.computes["pool"] = fragment.computes["pool"]
    window.document.push(ch.AddNode(fragment.nodes["a"]))
    target = tmp_path / "src" / "saved.yaml"
    dialogs.save_path = str(target)
    dialogs.save_answer = SaveAnswer.SAVE
    run_and_wait(qtbot, window, window.window_actions.run)
    assert ("save_as", dialogs.asked[-1][1]) in dialogs.asked
    assert target.exists() and window.document.path == target
    assert pills(window) == {"a": "Completed"}


def test_validation_errors_refuse_the_run(qtbot, window, tmp_path):
    path = write_project(tmp_path / "p", [step("a", ["a"])])
    text = path.read_text().replace("script: step.py", "script: missing.py")
    path.write_text(text)
    assert window.files.open(path)
    window.window_actions.run.trigger()
    assert not window.run_commands.controller.busy
    assert "Cannot run" in window.run_commands.status_text
    assert any("missing.py" in p.message for p in window.problems_panel.problems())
    assert not (tmp_path / "p" / ".pipeloom" / "runs.db").exists()


def test_no_process_of_the_run_is_left(qtbot, window, chain):
    assert window.files.open(chain)
    run_and_wait(qtbot, window, window.window_actions.run)
    children = os.popen(f"pgrep -P {os.getpid()}").read().split()
    commands = [
        Path(f"/proc/{pid}/cmdline").read_text()
        for pid in children
        if Path(f"/proc/{pid}").exists()
    ]
    assert not any("step.py" in c for c in commands)


SPARK_PIPELINE = """\
pipeloom: 1
name: sparkgui
computes:
  spark: {type: spark, master: "local[*]"}
nodes:
  slow_sum:
    type: spark-step
    compute: spark
    backend: connect
    source_directory: code
    file: slow_sum.py
"""

SLOW_SUM = """
import time
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.getOrCreate()

@F.udf("long")
def slow(x):
    time.sleep(0.4)
    return x

total = spark.range(0, 24, numPartitions=12).select(slow("id").alias("v")).agg(F.sum("v")).first()[0]
print("total", total, flush=True)
"""


@pytest.mark.spark
@pytest.mark.timeout(900)
def test_spark_step_shows_progress_and_keeps_the_server_warm(
    qtbot, window, tmp_path, spark_connect_server
):
    from engine.backends.connect_server import ServerKey
    from engine.backends.server_pool import POOL

    root = tmp_path / "spark"
    (root / "code").mkdir(parents=True)
    (root / "code" / "slow_sum.py").write_text(SLOW_SUM)
    (root / "pipeline.yaml").write_text(SPARK_PIPELINE)
    assert window.files.open(root / "pipeline.yaml")
    progress = []
    real = window.scene.set_run_progress
    window.scene.set_run_progress = lambda node, f: (progress.append(f), real(node, f))
    with qtbot.waitSignal(window.run_commands.controller.runEnded, timeout=600_000):
        window.window_actions.run.trigger()
    log = window.logs_panel.text()
    assert pills(window) == {"slow_sum": "Completed"}, log[-3000:]
    assert "total 276" in log
    assert any(f is not None and 0 < f <= 1 for f in progress)
    assert window.scene.nodes["slow_sum"].run_progress() is None

    key = ServerKey.of("local[*]", {}, spark_connect_server.key.python)
    holders = POOL._holders.get(key, 0)  # the session fixture's hold plus the window's
    assert holders >= 2 and spark_connect_server.alive()
    window.run_commands.shutdown()  # what closing the window does
    assert POOL._holders.get(key, 0) == holders - 1


def test_missing_java_is_one_clear_message(qtbot, window, tmp_path, monkeypatch, without_pip_java):
    root = tmp_path / "nojava"
    (root / "code").mkdir(parents=True)
    (root / "code" / "slow_sum.py").write_text(SLOW_SUM)
    text = SPARK_PIPELINE.replace("backend: connect", "backend: submit")
    (root / "pipeline.yaml").write_text(text.replace('"local[*]"', '"local[1]"'))
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-such-java"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert window.files.open(root / "pipeline.yaml")
    run_and_wait(qtbot, window, window.window_actions.run)
    assert pills(window) == {"slow_sum": "Failed"}
    status = window.run_commands.status_text
    assert "Spark needs Java 17 or newer" in status and "JAVA_HOME" in status
    assert "Traceback" not in window.logs_panel.text() and "Traceback" not in status


def test_closing_the_window_during_a_run_cancels_it(qtbot, window, dialogs, tmp_path):
    pidfile = tmp_path / "pids"
    path = write_project(tmp_path / "p", [step("slow", ["slow", "--sleep-forever", str(pidfile)])])
    assert window.files.open(path)
    window.window_actions.run.trigger()
    qtbot.waitUntil(lambda: "MARKER sleeping" in window.logs_panel.text(), timeout=WAIT_MS)
    pids = [int(p) for p in pidfile.read_text().split()]

    dialogs.confirm_answer = False  # keep the window and the run
    assert not window.close()
    assert window.isVisible() and window.run_commands.controller.busy

    dialogs.confirm_answer = True
    assert window.close()
    assert ("confirm", "Cancel the run?", "Cancel Run and Close") in dialogs.asked
    qtbot.waitUntil(lambda: all(not alive(p) for p in pids), timeout=WAIT_MS)
    runner = window.run_commands.controller.runner
    assert runner.summary is not None and runner.summary.status is Status.CANCELED


def test_a_plan_that_cannot_run_is_one_clear_message(qtbot, window, dialogs, chain):
    assert window.files.open(chain)
    window.scene.select_nodes(["b"])  # b reads a, which never ran: nothing to reuse
    with qtbot.waitSignal(window.run_commands.controller.runEnded, timeout=WAIT_MS):
        window.window_actions.run_selected.trigger()
    errors = [a for a in dialogs.asked if a[0] == "error"]
    assert len(errors) == 1 and "run it first" in errors[0][2]
    assert "Traceback" not in errors[0][2]
    assert "Cannot run" in window.run_commands.status_text
    assert window.logs_panel.caption.text() == "The run did not start"
    assert pills(window) == {"a": None, "b": None}
    assert window.window_actions.run.isEnabled()


def test_runs_made_by_the_cli_show_up_when_the_runs_panel_is_shown(qtbot, window, chain):
    import subprocess
    import sys

    assert window.files.open(chain)
    window.problems_dock.raise_()
    assert window.runs_panel.runs() == []
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(chain), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    window.runs_dock.raise_()
    qtbot.waitUntil(lambda: len(window.runs_panel.runs()) == 1, timeout=WAIT_MS)
    assert window.runs_panel.step_rows() == [("a", "Completed"), ("b", "Completed")]


def test_lines_that_came_while_the_logs_tab_was_hidden_show_when_it_is_picked(qtbot, window, chain):
    assert window.files.open(chain)
    runs = window.run_commands
    runs.controller.busyChanged.connect(lambda busy: busy and window.runs_dock.raise_())
    run_and_wait(qtbot, window, window.window_actions.run)
    assert window.logs_panel.visibleRegion().isEmpty()
    window.logs_dock.raise_()
    qtbot.waitUntil(lambda: "b done" in window.logs_panel.text(), timeout=WAIT_MS)
    assert window.logs_panel.text().count("hello from a") == 1
