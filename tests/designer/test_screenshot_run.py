"""`pipeloom-designer FILE --screenshot OUT.png --run`: the finished run captured, on real script
steps in real processes with a real run store (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from designer import app
from designer.screenshot_run import HeadlessDialogs, RunNotFinished, run_and_wait, show_run_docks
from engine.events import Status
from engine.fileformat import yamlio
from engine.pipeline.model import Compute, InputPort, Node, OutputPort, Pipeline, Ref
from engine.storage.store import RunStore
from tests.designer.test_screenshot import distinct_colours, run_designer

STEP = r"""
import os, sys, time
from engine.step import context

name = sys.argv[1]
print(f"hello from {name}", flush=True)
if name == "fail":
    print("fail: giving up", file=sys.stderr, flush=True)
    sys.exit(3)
if name == "sleep":
    time.sleep(600)
for out in context().outputs.values():
    os.makedirs(out.path)
    with open(os.path.join(out.path, "part-0.txt"), "w") as f:
        f.write(name)
"""


def project(root: Path, first: str = "a") -> Path:
    """Two script steps, `first` then `b` reading its output."""
    (root / "code").mkdir(parents=True)
    (root / "code" / "step.py").write_text(STEP)
    pipeline = Pipeline("shots")
    pipeline.computes["pool"] = Compute("pool", "cpu-pool", workers=2)

    def step(name, arg, inputs=()):
        settings = {"source_directory": "code", "script": "step.py", "compute": "pool"}
        return Node(
            name,
            "script-step",
            {**settings, "arguments": [arg]},
            inputs=[InputPort("inp", Ref.parse(i), kind="file") for i in inputs],
            outputs=[OutputPort("out", kind="file")],
        )

    pipeline.nodes[first] = step(first, first)
    pipeline.nodes["b"] = step("b", "b", [f"{first}.out"])
    path = root / "pipeline.yaml"
    yamlio.save(pipeline, str(path))
    return path


@pytest.fixture
def dialogs():
    return HeadlessDialogs()


def test_the_finished_run_is_on_the_canvas_and_in_both_docks(qtbot, window, tmp_path):
    assert window.files.open(project(tmp_path / "p"))
    finished = run_and_wait(window, timeout=120)
    assert finished.completed
    show_run_docks(window)

    pills = {name: item.run_status() for name, item in window.scene.nodes.items()}
    assert pills == {"a": "Completed", "b": "Completed"}
    assert window.runs_panel.selected_run() == finished.summary.run_id
    assert window.runs_panel.step_rows() == [("a", "Completed"), ("b", "Completed")]
    assert "hello from a" in window.logs_panel.text()
    assert "hello from b" in window.logs_panel.text()
    # one above the other, both on screen, not two tabs of which one is hidden
    runs, logs = window.runs_dock, window.logs_dock
    assert runs.isVisible() and logs.isVisible()
    assert logs not in window.tabifiedDockWidgets(runs)
    assert runs.geometry().bottom() < logs.geometry().top()
    window.run_commands.shutdown()


def test_a_run_that_cannot_start_is_an_error_not_a_dialog(qtbot, window, tmp_path):
    path = project(tmp_path / "p")
    path.write_text(path.read_text().replace("script: step.py", "script: missing.py"))
    assert window.files.open(path)
    with pytest.raises(RunNotFinished, match="did not start: Cannot run: 2 errors"):
        run_and_wait(window, timeout=120)
    assert not window.run_commands.controller.busy


def test_a_pipeline_without_steps_says_there_is_nothing_to_run(qtbot, window, tmp_path):
    path = project(tmp_path / "p")
    pipeline = yamlio.load(str(path))
    pipeline.nodes.clear()
    yamlio.save(pipeline, str(path))
    assert window.files.open(path)
    with pytest.raises(RunNotFinished, match="did not start: Nothing to run"):
        run_and_wait(window, timeout=120)


def test_a_run_still_going_at_the_timeout_is_canceled(qtbot, window, tmp_path):
    assert window.files.open(project(tmp_path / "p", first="sleep"))
    with pytest.raises(RunNotFinished, match="did not finish within 1 s; it was canceled"):
        run_and_wait(window, timeout=1)
    assert not window.run_commands.controller.busy  # its steps were stopped and waited for
    store = RunStore(tmp_path / "p" / ".pipeloom")
    try:
        (run,) = store.runs()
        assert run.status is Status.CANCELED
    finally:
        store.close()


def test_command_line_captures_a_failed_run_and_says_so(tmp_path):
    path = project(tmp_path / "p", first="fail")
    out = tmp_path / "run.png"
    done = run_designer(
        [str(path), "--screenshot", str(out), "--run", "--size", "1000x700"], tmp_path
    )
    assert done.returncode == 1, done.stderr
    assert "the run failed" in done.stderr and "Traceback" not in done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1000, 700)
    assert distinct_colours(image) > 50
    store = RunStore(tmp_path / "p" / ".pipeloom")
    try:
        (run,) = store.runs()
        statuses = {c.step: c.status for c in store.child_runs(run.id)}
    finally:
        store.close()
    assert statuses == {"fail": Status.FAILED, "b": Status.SKIPPED}


def test_run_needs_a_file_a_screenshot_and_a_positive_timeout(capsys):
    for argv, message in (
        (["--run"], "--run needs a FILE and --screenshot"),
        (["p.yaml", "--run"], "--run needs a FILE and --screenshot"),
        (["p.yaml", "--screenshot", "x.png", "--run", "--run-timeout", "0"], "--run-timeout must"),
    ):
        with pytest.raises(SystemExit) as exited:
            app.parse_args(argv)
        assert exited.value.code == 2 and message in capsys.readouterr().err
    args = app.parse_args(["p.yaml", "--screenshot", "x.png", "--run", "--run-timeout", "30"])
    assert args.run and args.run_timeout == 30
