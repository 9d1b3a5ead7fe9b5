"""`pipeloom-designer FILE --screenshot OUT.png --run`: run the pipeline first, then capture.

The window runs the saved file as F5 would, waits until the run has ended (statuses on the
canvas, the run in the Runs dock, its lines in the Logs dock), shows the Runs dock above the Logs
dock and lets the caller render it. Nothing asks a question: a run that cannot start
or does not finish in time is a one-line error, never a dialog nobody can answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from designer.dialogs import Dialogs, SaveAnswer
from engine.events import RunSummary, Status

CANCEL_GRACE = 60.0  # seconds a canceled run has to stop its steps and record its statuses
LOGS_DOCK_HEIGHT = 270  # a dozen log lines


class HeadlessDialogs(Dialogs):
    """Answers without showing anything (a modal dialog would never close offscreen): keep
    the file as it is, refuse every confirmation, remember error messages."""

    def __init__(self):
        super().__init__()
        self.errors: list[str] = []

    def ask_save_changes(self, name):
        return SaveAnswer.DISCARD

    def ask_open_file(self, directory=""):
        return None

    def ask_save_file(self, suggested=""):
        return None

    def ask_path(self, title, directory, folder=False):
        return None

    def ask_restore(self, name, saved_at):
        return False

    def ask_text(self, title, label, text=""):
        return None

    def confirm(self, title, text, accept):
        return False

    def info(self, title, text):
        pass

    def error(self, title, text, details=None):
        self.errors.append(f"{title}: {text}")


class RunNotFinished(Exception):
    """The run could not start or did not end in time; the message says which and why."""


@dataclass(frozen=True)
class FinishedRun:
    summary: RunSummary

    @property
    def completed(self) -> bool:
        return self.summary.status is Status.COMPLETED


def run_and_wait(window, timeout: float) -> FinishedRun:
    """Start a run of the window's (saved, unmodified) pipeline and process events until it
    ends. Raises RunNotFinished when it cannot start or is still going after `timeout` s
    (then it is canceled and its steps stopped before this returns)."""
    commands = window.run_commands
    ended: list[RunSummary | None] = []
    loop = QEventLoop()

    def on_end(summary) -> None:
        ended.append(summary)
        loop.quit()

    commands.controller.runEnded.connect(on_end)
    try:
        shown = commands.status_text
        if not commands.run():
            raise RunNotFinished(f"the run did not start: {_refusal(window, shown)}")
        if not _wait(loop, ended, timeout):
            commands.cancel()  # stops the steps' process trees; the run then ends Canceled
            if not _wait(loop, ended, CANCEL_GRACE):
                commands.controller.close()
            raise RunNotFinished(f"the run did not finish within {timeout:g} s; it was canceled")
    finally:
        commands.controller.runEnded.disconnect(on_end)
    summary = ended[0]
    if summary is None:
        raise RunNotFinished(f"the run did not start: {_refusal(window, shown)}")
    for _ in range(3):  # queued refreshes of the runs and logs panels
        QApplication.processEvents()
    return FinishedRun(summary)


def _refusal(window, shown_before: str) -> str:
    """Why the run did not start, as the window told the user (error, status or message)."""
    commands = window.run_commands
    if commands.last_error is not None:
        return commands.last_error.message
    if commands.status_text and commands.status_text != shown_before:
        return commands.status_text  # e.g. "Cannot run: 2 errors (see Problems)"
    return window.statusBar().currentMessage() or "the pipeline was not saved"


def _wait(loop: QEventLoop, ended: list, seconds: float) -> bool:
    """Process events until the run has ended (True) or `seconds` have passed (False)."""
    if ended:
        return True
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(int(seconds * 1000))
    loop.exec()
    timer.stop()
    return bool(ended)


def show_run_docks(window) -> None:
    """The Runs dock (the finished run and its steps) above the Logs dock (its lines), both
    the bottom area's full width, instead of two tabs of which one is hidden."""
    window.runs_dock.show()
    window.runs_dock.raise_()
    window.removeDockWidget(window.logs_dock)
    window.addDockWidget(
        Qt.DockWidgetArea.BottomDockWidgetArea, window.logs_dock, Qt.Orientation.Vertical
    )
    window.logs_dock.show()
    QApplication.processEvents()  # the new layout first, else the sizes below are ignored
    # the Runs dock keeps the height of its tab group (the Pipeline tables' minimum)
    window.resizeDocks([window.logs_dock], [LOGS_DOCK_HEIGHT], Qt.Orientation.Vertical)
    QApplication.processEvents()
    window.logs_panel.show_live()  # drawn again now that it is visible
