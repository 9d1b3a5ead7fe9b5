"""A step that prints a flood of short lines: the step alone, under `pipeloom run`, and in the
designer (main window offscreen, live logs panel), plus the logs panel drawing the same lines.

    .venv/bin/python benchmarks/log_flood.py [--lines 300000] [--quick] [--no-write]

Baseline: the same script with its output read by a plain pipe reader (no runner), in the
same run. The CLI stores and prints every line; the designer stores them and shows them live.
Found by the fault suite (tests/faults/test_noisy_steps.py, docs/reliability.md): nothing is
lost; the designer once took much longer than the CLI, until its logs panel drew only the rows
in sight (designer/log_view.py). Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import table, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

FLOOD = """\
import os, sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    out.write(f"line {i}\\n")
out.flush()
context = os.environ.get("PIPELOOM_STEP_CONTEXT")
if context:
    from engine.step import context as step_context
    os.makedirs(step_context().outputs["out"].path)
"""

PIPELINE = """\
pipeloom: 1
name: flood
computes:
  pool: {{type: cpu-pool, workers: 1}}
nodes:
  flood:
    type: script-step
    compute: pool
    source_directory: code
    script: flood.py
    outputs: {{out: {{kind: file}}}}
    arguments: ["{lines}"]
"""


def project(root: Path, lines: int) -> Path:
    (root / "code").mkdir(parents=True)
    (root / "code" / "flood.py").write_text(FLOOD)
    (root / "pipeline.yaml").write_text(PIPELINE.format(lines=lines))
    return root / "pipeline.yaml"


def step_alone(root: Path, lines: int) -> float:
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-u", str(root / "code" / "flood.py"), str(lines)],
        stdout=subprocess.PIPE,
    ) as proc:
        for _ in iter(proc.stdout.readline, b""):  # read line by line, as the runner does
            pass
    return time.perf_counter() - start


def cli_run(path: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(path), "--regenerate-outputs"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"pipeloom run failed: {done.stderr}")
    return time.perf_counter() - start


def designer_run(path: Path, lines: int) -> tuple[float, float]:
    """(run in the main window, logs panel drawing `lines` lines by itself)."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    QCoreApplication.setApplicationName("Pipeloom Benchmarks")  # the user's settings stay
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    settings = str(path.parent / "settings")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings)
    from designer.logs_panel import LogsPanel
    from designer.mainwindow import MainWindow
    from engine.events import LogLine

    window = MainWindow(recovery_dir=path.parent / "recovery")
    window.resize(1280, 800)
    window.show()
    assert window.files.open(path)
    loop = QEventLoop()
    ended = []
    window.run_commands.controller.runEnded.connect(lambda s: (ended.append(s), loop.quit()))
    start = time.perf_counter()
    QTimer.singleShot(0, window.window_actions.run_regenerated.trigger)
    loop.exec()
    run_seconds = time.perf_counter() - start
    if not ended or ended[0] is None or str(ended[0].status) != "Completed":
        raise SystemExit(f"the designer's run did not complete: {ended}")
    window.document.undo_stack.setClean()
    window.close()

    panel = LogsPanel()
    panel.resize(900, 600)
    panel.show()
    panel.start_live(["flood"])
    now = time.time()
    events = [LogLine("flood", "stdout", now, f"line {i}") for i in range(lines)]
    start = time.perf_counter()
    for i in range(0, lines, 2000):  # batches as the run controller delivers them
        panel.append(events[i : i + 2000])
        app.processEvents()
    draw_seconds = time.perf_counter() - start
    panel.close()
    return run_seconds, draw_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--quick", action="store_true", help="20,000 lines")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    opts = parser.parse_args()
    lines = 20_000 if opts.quick else opts.lines
    with tempfile.TemporaryDirectory(prefix="pipeloom-flood-") as tmp:
        path = project(Path(tmp), lines)
        alone = step_alone(Path(tmp), lines)
        cli = cli_run(path)
        designer, draw = designer_run(path, lines)
    rows = [
        ["the step alone, its pipe read line by line (baseline)", f"{alone:.1f}", "1.0x"],
        ["`pipeloom run` (stores and prints every line)", f"{cli:.1f}", f"{cli / alone:.1f}x"],
        ["the designer's run (live logs panel)", f"{designer:.1f}", f"{designer / alone:.1f}x"],
        ["the logs panel drawing the lines alone", f"{draw:.1f}", f"{draw / alone:.1f}x"],
    ]
    body = (
        f"A script step printing {lines:,} short lines.\n\n"
        + table(["what", "seconds", "vs baseline"], rows)
        + "\n\nThe logs panel appends each batch to a view that draws only the rows in sight "
        f"(designer/log_view.py: {draw / lines * 1e6:.1f} us a line here, batches of 2,000 "
        "lines as the run controller delivers them). Nothing is lost either way: the stored "
        "log is complete."
    )
    print(body)
    if not opts.no_write and not opts.quick:
        command = ".venv/bin/python benchmarks/log_flood.py" + (
            f" --lines {lines}" if lines != 300_000 else ""
        )
        write_section("log_flood.py", command, body)


if __name__ == "__main__":
    main()
