"""The Run menu's commands for one main window: save first, refuse an invalid pipeline, start
the run, and show it while it goes — statuses and Spark progress on the canvas, lines in the
logs panel, the history in the runs panel, elapsed time in the status bar.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import networkx as nx
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel

from designer.run_controller import RunController, RunNotStarted
from designer.runs_panel import format_duration, status_icon
from engine.events import LogLine, Progress, RunFinished, RunSummary, Status, StatusChanged
from engine.pipeline.graph import build_graph
from engine.planning.plan import PlanOptions

if TYPE_CHECKING:
    from designer.window_parts import RunWindow

STEP_TYPES = ("spark-step", "script-step")
# how a step's status reads on its node; the engine's NotStarted means waiting for upstream
SHOWN_STATUS = {Status.NOT_STARTED: "Waiting"}


class RunCommands(QObject):
    """Run, Run Selected Only, Run From Selected, Run With Regenerated Outputs, Cancel Run."""

    def __init__(self, window: RunWindow):
        super().__init__(window)
        self.window = window
        self.controller = RunController(self)
        self.controller.eventsArrived.connect(self._on_events)
        self.controller.notStarted.connect(self._on_not_started)
        self.controller.runEnded.connect(self._on_run_ended)
        self.controller.busyChanged.connect(lambda _busy: self.update_actions())
        self.run_id: str | None = None
        self.statuses: dict[str, Status] = {}
        self.last_summary: RunSummary | None = None
        self.last_error: RunNotStarted | None = None
        self._document = None  # the document the run was started from
        self._started = 0.0
        self.status_icon = QLabel()
        self.status_label = QLabel()
        self.status_label.setObjectName("runStatus")
        self.status_text = ""  # the whole message (the label may elide it)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._show_progress)

    # -- commands ------------------------------------------------------------------
    def run(self) -> bool:
        return self.start(PlanOptions())

    def run_selected(self) -> bool:
        steps = self.selected_steps()
        return bool(steps) and self.start(PlanOptions(only=steps))

    def run_from_selected(self) -> bool:
        steps = self.selected_steps()
        if not steps:
            return False
        if len(steps) == 1:
            return self.start(PlanOptions(from_step=steps[0]))
        graph = build_graph(self.window.document.pipeline)  # from several: each and downstream
        chosen = set(steps).union(*(nx.descendants(graph, s) for s in steps))
        nodes = self.window.document.pipeline.nodes
        return self.start(PlanOptions(only=[n for n in nodes if n in chosen]))

    def run_regenerated(self) -> bool:
        return self.start(PlanOptions(regenerate_outputs=True))

    def cancel(self) -> None:
        if self.controller.busy:
            self.controller.cancel()
            self._show("Canceling: stopping the running steps…", "Canceled")

    def selected_steps(self) -> list[str]:
        scene, pipeline = self.window.scene, self.window.document.pipeline
        names = scene.selected_nodes() if scene else []
        # during an undo the selection may still name a node just removed
        return [n for n in names if n in pipeline.nodes and pipeline.nodes[n].type in STEP_TYPES]

    # -- starting ------------------------------------------------------------------
    def start(self, options: PlanOptions) -> bool:
        """Save if needed, validate, then run the saved pipeline in the background."""
        w = self.window
        if self.controller.busy:
            w.show_message("A run is in progress (Shift+F5 cancels it)")
            return False
        if not self._saved():
            return False
        problems = w.document.validate_now()
        errors = [p for p in problems if p.is_error]
        if errors:
            w.problems_dock.show()
            w.problems_dock.raise_()
            n = len(errors)
            self._show(f"Cannot run: {n} error{'s' * (n != 1)} (see Problems)", "Failed")
            return False
        pipeline = w.document.pipeline
        if not any(node.type in STEP_TYPES for node in pipeline.nodes.values()):
            w.show_message("Nothing to run: add a Spark step or a script step")
            return False
        self._document = w.document
        self.run_id = None
        self.statuses = {}
        self.last_summary = None
        self.last_error = None
        w.scene.clear_run_status()
        w.logs_dock.show()
        w.logs_dock.raise_()
        w.logs_panel.start_live(
            [n for n, node in pipeline.nodes.items() if node.type in STEP_TYPES]
        )
        self._started = time.monotonic()
        if not self.controller.start(pipeline, options):
            return False
        self._ticker.start()
        self._show_progress()
        return True

    def _saved(self) -> bool:
        """The run reads the saved file: save unsaved work first (Untitled asks for a path)."""
        w = self.window
        doc = w.document
        if doc.path is not None and not doc.modified:
            return True
        asked = w.dialogs.confirm(
            "Save before running",
            f"Save “{doc.display_name()}” before running? A run uses the saved pipeline file.",
            "Save and Run",
        )
        return asked and w.files.save()

    # -- events --------------------------------------------------------------------
    def _showing_run_document(self) -> bool:
        return self._document is not None and self.window.document is self._document

    def _on_events(self, events: list) -> None:
        w = self.window
        lines, others = [], []  # a flood is nearly all lines: one type test per event
        for e in events:
            if type(e) is LogLine:
                lines.append(e)
            else:
                others.append(e)
                if isinstance(e, StatusChanged) and e.status is Status.REUSED and e.message:
                    # a reused step prints nothing: say whose outputs
                    lines.append(LogLine(e.step, "pipeloom", e.time, e.message))
        if lines:
            w.logs_panel.append(lines)
        paint = self._showing_run_document()
        changed = False
        for e in others:
            if isinstance(e, StatusChanged):
                if e.step is None:
                    if e.status is Status.RUNNING:
                        self.run_id = e.run_id
                        w.logs_panel.set_live_run(e.run_id)
                        if paint:
                            w.runs_panel.refresh(select=e.run_id)
                    continue
                self.statuses[e.step] = e.status
                changed = True
                if paint:
                    w.scene.set_run_status(e.step, SHOWN_STATUS.get(e.status, str(e.status)))
                    if e.status.finished:
                        w.scene.set_run_progress(e.step, None)
            elif isinstance(e, Progress) and paint and e.total > 0:
                if self.statuses.get(e.step) is Status.RUNNING:
                    w.scene.set_run_progress(e.step, e.done / e.total)
            elif isinstance(e, RunFinished):
                self.last_summary = e.summary
        if changed and self.run_id:
            w.runs_panel.update_live(self.run_id)
            self._show_progress()

    def _on_not_started(self, failure: RunNotStarted) -> None:
        self.last_error = failure
        w = self.window
        self._show(f"Cannot run: {failure.message}", "Failed")
        w.dialogs.error("Cannot run the pipeline", failure.message)

    def _on_run_ended(self, summary: RunSummary | None) -> None:
        self._ticker.stop()
        w = self.window
        if summary is None:
            w.logs_panel.end_live("not started")
            self.update_actions()
            return
        self.last_summary = summary
        w.logs_panel.end_live(str(summary.status))
        if self._showing_run_document():
            w.runs_panel.refresh(select=summary.run_id)
            if w.logs_panel.showing_live and w.logs_panel.live_trimmed:
                self.show_run(summary.run_id)  # every step's lines, from its log file
        counts: dict[Status, int] = {}
        for step in summary.steps:
            counts[step.status] = counts.get(step.status, 0) + 1
        parts = [f"{n} {status.lower()}" for status, n in counts.items()]
        text = f"Run {summary.status.lower()} in {format_duration(summary.duration)}"
        if parts:
            text += " · " + ", ".join(parts)
        failed = next((s for s in summary.steps if s.status is Status.FAILED), None)
        if failed is not None and failed.message:
            text += f" · {failed.step}: {failed.message}"
        self._show(text, str(summary.status))
        self.update_actions()

    # -- status bar and actions ----------------------------------------------------
    def _show_progress(self) -> None:
        if not self.controller.busy:
            return
        elapsed = time.monotonic() - self._started
        minutes, seconds = divmod(int(elapsed), 60)
        total = len(self.statuses)
        done = sum(1 for s in self.statuses.values() if s.finished)
        running = [n for n, s in self.statuses.items() if s is Status.RUNNING]
        text = f"Running {minutes}:{seconds:02d}"
        if total:
            text += f" · {done} of {total} steps done"
        if running:
            text += " · " + ", ".join(running[:3]) + ("…" if len(running) > 3 else "")
        self._show(text, "Running")

    def _show(self, text: str, status: str) -> None:
        self.status_icon.setPixmap(status_icon(status).pixmap(14, 14))
        # elided: a long message must not widen the window; the tooltip has all of it
        metrics = self.status_label.fontMetrics()
        self.status_label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, 640))
        self.status_label.setToolTip(text)
        self.status_text = text
        self.status_icon.show()
        self.status_label.show()

    def update_actions(self) -> None:
        a = self.window.window_actions
        busy = self.controller.busy
        has_steps = bool(self.selected_steps()) if self.window.scene else False
        a.run.setEnabled(not busy)
        a.run_regenerated.setEnabled(not busy)
        a.run_selected.setEnabled(not busy and has_steps)
        a.run_from_selected.setEnabled(not busy and has_steps)
        a.cancel_run.setEnabled(busy)

    # -- the window ----------------------------------------------------------------
    def document_changed(self) -> None:
        """Another document is shown: its history; a run of the old one keeps going."""
        doc = self.window.document
        self.window.runs_panel.set_pipeline(doc.path, doc.pipeline.name)

    def show_run(self, run_id: str) -> None:
        """A run picked in the runs panel: its logs, and its statuses on an idle canvas."""
        w = self.window
        record = w.runs_panel.run_record(run_id)
        children = w.runs_panel.child_runs(run_id)
        w.logs_panel.show_stored(
            run_id,
            str(record.status) if record else "",
            [
                (
                    c.step,
                    None if c.reused_from else c.log_path,
                    f"reused the outputs of run {c.reused_from}" if c.reused_from else "",
                )
                for c in children
            ],
        )
        if not self.controller.busy and w.scene is not None:
            w.scene.clear_run_status()
            for c in children:
                if c.step in w.document.pipeline.nodes:
                    w.scene.set_run_status(c.step, SHOWN_STATUS.get(c.status, str(c.status)))

    def show_step(self, run_id: str, step: str) -> None:
        self.window.logs_panel.set_step_filter(step)
        self.window.logs_dock.raise_()
        self.window.reveal_node(step)

    def confirm_close(self) -> bool:
        """May the window close? A run still going is canceled then (the user is asked)."""
        return not self.controller.busy or self.window.dialogs.confirm(
            "Cancel the run?",
            "A pipeline run is in progress. Closing the window cancels it.",
            "Cancel Run and Close",
        )

    def shutdown(self) -> None:
        """The window closes: cancel and wait for a run still going, stop warm servers."""
        self._ticker.stop()
        self.controller.close()
        self.window.runs_panel.close_store()
