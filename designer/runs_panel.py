"""The runs panel: the run history of the open pipeline from its project's run store.

Left, the runs (newest first) with status, start and duration; right, the steps of the
selected run. Selecting a run shows its logs; activating a step reveals its node.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QSplitter,
    QStackedLayout,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.canvas.style import colors
from engine.events import Status
from engine.problems import PipelineError
from engine.storage.store import ChildRunRecord, RunRecord, RunStore

RUN_ROLE = Qt.ItemDataRole.UserRole + 1
HISTORY_LIMIT = 200
EMPTY_TEXT = "No runs yet. Press F5 to run the pipeline."


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_start(when: float | None) -> str:
    if when is None:
        return ""
    moment = dt.datetime.fromtimestamp(when)
    if moment.date() == dt.date.today():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


_dots: dict[tuple[str, str], QIcon] = {}


def status_icon(status: str) -> QIcon:
    """A dot in the canvas's colour for `status` (the same colours as the node pills)."""
    palette = colors().status
    colour = palette.get(status, palette.get("NotStarted", "#9aa3ae"))
    key = (status, colour)
    if key not in _dots:
        pixmap = QPixmap(QSize(32, 32))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawEllipse(QRectF(7, 7, 18, 18))
        painter.end()
        _dots[key] = QIcon(pixmap)
    return _dots[key]


class RunsPanel(QWidget):
    """Run history of one pipeline file; `runSelected(run_id)`, `stepActivated(run_id, step)`."""

    runSelected = Signal(str)
    stepActivated = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs_tree = self._tree(["Run", "Status", "Started", "Duration"])
        self.steps_tree = self._tree(["Step", "Status", "Duration", "Note"])
        self.runs_tree.setObjectName("runsList")
        self.steps_tree.setObjectName("runSteps")
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.runs_tree)
        splitter.addWidget(self.steps_tree)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 4)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([440, 560])
        header = self.runs_tree.header()  # the id gives way (elided in the middle) to the rest
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(3, header.ResizeMode.ResizeToContents)
        self.runs_tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.empty = QLabel(EMPTY_TEXT, self)
        self.empty.setObjectName("emptyState")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedLayout()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.stack)
        self.path: Path | None = None
        self.pipeline_name = ""
        self._store: RunStore | None = None
        self._runs: list[RunRecord] = []
        self._steps_timer = QTimer(self)  # live step updates are batched
        self._steps_timer.setSingleShot(True)
        self._steps_timer.setInterval(150)
        self._steps_timer.timeout.connect(self._show_steps)
        self.runs_tree.currentItemChanged.connect(lambda *_: self._on_run_changed())
        self.steps_tree.itemActivated.connect(self._on_step_activated)

    def _tree(self, headers: list[str]) -> QTreeWidget:
        tree = QTreeWidget(self)
        tree.setColumnCount(len(headers))
        tree.setHeaderLabels(headers)
        tree.setRootIsDecorated(False)
        tree.setUniformRowHeights(True)
        tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = tree.header()
        header.setStretchLastSection(True)
        for i in range(len(headers) - 1):
            header.setSectionResizeMode(i, header.ResizeMode.ResizeToContents)
        return tree

    # -- source --------------------------------------------------------------------
    def set_pipeline(self, path: str | Path | None, name: str) -> None:
        """Show the history of the pipeline saved at `path` (None: unsaved, no history)."""
        path = Path(path).resolve() if path else None
        if path != self.path:
            self._close_store()
        self.path = path
        self.pipeline_name = name
        self.refresh()

    def _open_store(self) -> RunStore | None:
        """The project's store, opened only once it exists (showing history creates nothing)."""
        if self._store is None and self.path is not None:
            db = self.path.parent / ".pipeloom" / "runs.db"
            if db.exists():
                try:
                    self._store = RunStore(db.parent)
                except PipelineError as e:  # a read-only folder, say: no history, and why
                    self.empty.setText("; ".join(p.message for p in e.problems))
                    return None
                self.empty.setText(EMPTY_TEXT)
        return self._store

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def close_store(self) -> None:
        self._close_store()

    # -- content -------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        """Reload the history; keep (or move to `select`) the selected run."""
        keep = select or self.selected_run()
        store = self._open_store()
        runs = store.runs(limit=HISTORY_LIMIT * 4) if store else []
        mine = str(self.path) if self.path else None
        self._runs = [
            r
            for r in runs
            if (r.pipeline_path == mine if r.pipeline_path else r.pipeline == self.pipeline_name)
        ][:HISTORY_LIMIT]
        tree = self.runs_tree
        tree.blockSignals(True)
        tree.clear()
        current = None
        for run in self._runs:
            item = QTreeWidgetItem(tree, self._run_row(run))
            item.setIcon(1, status_icon(str(run.status)))
            item.setData(0, RUN_ROLE, run.id)
            item.setToolTip(0, run.message or run.id)
            for column in (2, 3):
                item.setTextAlignment(
                    column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
            if run.id == keep:
                current = item
        if current is None and tree.topLevelItemCount():
            current = tree.topLevelItem(0)
        if current is not None:
            tree.setCurrentItem(current)
        tree.blockSignals(False)
        self.stack.setCurrentIndex(1 if self._runs else 0)
        self._show_steps()
        if current is not None and current.data(0, RUN_ROLE) != self._last_emitted():
            self._on_run_changed()

    def _run_row(self, run: RunRecord) -> list[str]:
        start = run.started or run.created
        if run.ended is not None:
            duration = format_duration(run.ended - start)
        elif run.status in (Status.RUNNING, Status.QUEUED, Status.NOT_STARTED):
            duration = format_duration(time.time() - start) + " …"
        else:
            duration = ""
        return [run.id, str(run.status), format_start(start), duration]

    def update_live(self, run_id: str) -> None:
        """The run `run_id` changed (a step status): refresh its steps soon if shown."""
        if run_id == self.selected_run():
            self._steps_timer.start()

    def _show_steps(self) -> None:
        self.steps_tree.clear()
        run_id = self.selected_run()
        store = self._open_store()
        if run_id is None or store is None:
            return
        for child in store.child_runs(run_id):
            item = QTreeWidgetItem(self.steps_tree, self._step_row(child))
            item.setIcon(1, status_icon(str(child.status)))
            item.setData(0, RUN_ROLE, child.step)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(3, item.text(3))

    def _step_row(self, child: ChildRunRecord) -> list[str]:
        if child.reused_from:
            note = f"reused run {child.reused_from}"
        else:
            note = child.message or ""
        duration = child.duration
        if duration is None and child.started and child.status == Status.RUNNING:
            duration = time.time() - child.started
        return [child.step, str(child.status), format_duration(duration), note]

    def _last_emitted(self) -> str | None:
        return getattr(self, "_emitted", None)

    def _on_run_changed(self) -> None:
        self._show_steps()
        run_id = self.selected_run()
        if run_id is not None:
            self._emitted = run_id
            self.runSelected.emit(run_id)

    def _on_step_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        run_id = self.selected_run()
        if run_id is not None:
            self.stepActivated.emit(run_id, item.data(0, RUN_ROLE))

    # -- queries -------------------------------------------------------------------
    def runs(self) -> list[RunRecord]:
        return list(self._runs)

    def run_record(self, run_id: str) -> RunRecord | None:
        return next((r for r in self._runs if r.id == run_id), None)

    def child_runs(self, run_id: str) -> list[ChildRunRecord]:
        store = self._open_store()
        return store.child_runs(run_id) if store else []

    def selected_run(self) -> str | None:
        item = self.runs_tree.currentItem()
        return item.data(0, RUN_ROLE) if item is not None else None

    def select_run(self, run_id: str) -> None:
        for i in range(self.runs_tree.topLevelItemCount()):
            item = self.runs_tree.topLevelItem(i)
            if item.data(0, RUN_ROLE) == run_id:
                self.runs_tree.setCurrentItem(item)
                return

    def step_rows(self) -> list[tuple[str, str]]:
        """(step, status) of the selected run as shown."""
        t = self.steps_tree
        return [
            (t.topLevelItem(i).text(0), t.topLevelItem(i).text(1))
            for i in range(t.topLevelItemCount())
        ]
