"""The logs panel: every line the steps of a run print, live or loaded from the run store.

Monospace, one line per row with its time and step; stderr lines tinted, the engine's own
notes dimmed. A step filter shows one step; the view follows the tail unless the user has
scrolled up to read something.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFontDatabase, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from designer.theme import ThemeManager
from engine.events import LogLine

MAX_LINES = 50_000  # per run kept in memory and shown; older lines drop off the top
MAX_FILE_BYTES = 8 * 1024 * 1024  # a stored log larger than this is read from its tail
ALL_STEPS = ""
FLUSH_MS = 60  # live lines are drawn at most this often
_STORED_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) (\w+): (.*)$")
# (light, dark) colours for each part of a line
_COLOURS = {
    "time": ("#8a919b", "#7b828c"),
    "step": ("#3b6ef5", "#7aa2ff"),
    "text": ("#1f2328", "#d9dce1"),
    "stderr": ("#c4343a", "#ff8a8f"),
    "stderr_bg": ("#fff1f1", "#3a2326"),
    "pipeloom": ("#6b7280", "#9aa1ab"),
}


@dataclass(frozen=True)
class Line:
    time: float
    step: str
    stream: str  # stdout | stderr | pipeloom | server
    text: str


def read_stored_log(path: str | Path, step: str) -> list[Line]:
    """The lines of one step's log file (``<time> <stream>: <text>``), oldest first."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size > MAX_FILE_BYTES:
                f.seek(size - MAX_FILE_BYTES)
                f.readline()  # drop the partial first line
            data = f.read()
    except OSError:
        return []
    lines: list[Line] = []
    last = 0.0
    # lines end at "\n" only (as the runner wrote them): a step's \r or \f stays in its line
    for raw in data.decode("utf-8", errors="replace").removesuffix("\n").split("\n"):
        if not raw:
            continue
        m = _STORED_LINE.match(raw)
        if m is None:  # not written by the runner: keep it as text of the previous time
            lines.append(Line(last, step, "stdout", raw))
            continue
        last = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        lines.append(Line(last, step, m.group(2), m.group(3)))
    return lines


class LogsPanel(QWidget):
    """Lines of one run (live or stored), filtered by step."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.caption = QLabel("No run yet", self)
        self.caption.setObjectName("logsCaption")
        self.step_filter = QComboBox(self)
        self.step_filter.setObjectName("logsStepFilter")
        self.step_filter.setToolTip("Show the lines of one step")
        self.step_filter.setMinimumContentsLength(14)
        self.step_filter.addItem("All steps", ALL_STEPS)
        self.view = QPlainTextEdit(self)
        self.view.setObjectName("logsView")
        self.view.setReadOnly(True)
        self.view.setUndoRedoEnabled(False)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlaceholderText("The output of each step appears here while it runs.")
        self.view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 6)
        bar.addWidget(self.caption, 1)
        bar.addWidget(QLabel("Step:", self))
        bar.addWidget(self.step_filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.run_id: str | None = None  # the run shown
        self.live_run_id: str | None = None  # the run started in this window
        self.live = False  # that run is still going
        self.showing_live = False
        self._live_lines: list[Line] = []
        self._live_steps: list[str] = []
        self._live_status = ""
        self._lines: list[Line] = []  # the shown run's lines
        self._pending: list[Line] = []  # live lines not drawn yet
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self._steps: list[str] = []
        self._formats: dict[str, QTextCharFormat] = {}
        self._make_formats(ThemeManager.instance().name)
        self.step_filter.currentIndexChanged.connect(lambda _i: self._render())
        ThemeManager.instance().themeChanged.connect(self._on_theme)

    # -- content -------------------------------------------------------------------
    def start_live(self, steps: list[str]) -> None:
        """A new run begins: show its lines from now on, offer its steps in the filter."""
        self.live_run_id = None
        self.live = True
        self._live_lines = []
        self._live_steps = list(steps)
        self._live_status = "live"
        self.show_live()

    def set_live_run(self, run_id: str) -> None:
        self.live_run_id = run_id
        if self.showing_live:
            self.run_id = run_id
            self.caption.setText(self._live_caption())

    def end_live(self, status: str) -> None:
        self.live = False
        self._flush_timer.stop()
        self._flush()  # the last lines at once
        self._live_status = status
        if self.showing_live:
            self.caption.setText(self._live_caption())

    def append(self, events: list[LogLine]) -> None:
        """Live lines of the current run (a batch, in order)."""
        new = [Line(e.time, e.step, e.stream, e.text) for e in events]
        for line in new:
            if line.step not in self._live_steps:
                self._live_steps.append(line.step)
        self._live_lines.extend(new)
        if len(self._live_lines) > MAX_LINES * 2:  # trim in chunks, not per line
            del self._live_lines[: len(self._live_lines) - MAX_LINES]
        if self.showing_live:
            self._pending.extend(new)
            if not self._flush_timer.isActive():
                self._flush_timer.start()

    def _flush(self) -> None:
        """Write the lines that came since the last flush (a flood is drawn a few times a
        second, not once per batch; lines past the view's limit are not drawn at all)."""
        if self.visibleRegion().isEmpty():  # a hidden or background tab: drawn when shown
            del self._pending[:-MAX_LINES]
            return
        pending, self._pending = self._pending, []
        if not self.showing_live:
            return
        self._set_steps(self._live_steps)
        wanted = self.current_step()
        self._write([ln for ln in pending if not wanted or ln.step == wanted])

    def show_live(self) -> None:
        """Back to the lines of the run started in this window."""
        self.showing_live = True
        self.run_id = self.live_run_id
        self._lines = self._live_lines
        self._set_steps(self._live_steps)
        self.caption.setText(self._live_caption())
        self._render()

    def _live_caption(self) -> str:
        if self.live_run_id is None:
            return "Starting run…" if self.live else "The run did not start"
        return f"Run {self.live_run_id} · {self._live_status}"

    def show_stored(
        self, run_id: str, status: str, steps: list[tuple[str, str | None, str]]
    ) -> None:
        """A run's stored logs: steps are (step, log_path, note); the live run stays live."""
        if run_id == self.live_run_id and self.live:
            self.show_live()
            return
        self.showing_live = False
        self.run_id = run_id
        lines: list[Line] = []
        for step, log_path, note in steps:
            if note:
                lines.append(Line(0.0, step, "pipeloom", note))
            if log_path:
                lines.extend(read_stored_log(log_path, step))
        lines.sort(key=lambda ln: ln.time)  # stable: a step's lines keep their order
        self._lines = lines[-MAX_LINES:]
        self._set_steps([s for s, _, _ in steps])
        self.caption.setText(f"Run {run_id} · {status}")
        self._render()

    def shown(self) -> None:
        """The panel came into view (its dock's tab was picked): draw what waited."""
        if self._pending:
            self._flush_timer.start()

    def lines(self) -> list[Line]:
        return list(self._lines)

    def steps(self) -> list[str]:
        return list(self._steps)

    def current_step(self) -> str:
        return self.step_filter.currentData() or ALL_STEPS

    def set_step_filter(self, step: str) -> None:
        i = self.step_filter.findData(step or ALL_STEPS)
        if i >= 0:
            self.step_filter.setCurrentIndex(i)

    def text(self) -> str:
        return self.view.toPlainText()

    # -- drawing -------------------------------------------------------------------
    def _set_steps(self, steps: list[str]) -> None:
        if steps == self._steps:
            return
        current = self.current_step()
        self._steps = list(steps)
        self.step_filter.blockSignals(True)
        self.step_filter.clear()
        self.step_filter.addItem("All steps", ALL_STEPS)
        for step in self._steps:
            self.step_filter.addItem(step, step)
        self.step_filter.setCurrentIndex(max(0, self.step_filter.findData(current)))
        self.step_filter.blockSignals(False)

    def _render(self) -> None:
        self._pending = []  # every line of the shown run is drawn below
        self.view.clear()
        wanted = self.current_step()
        self._write([ln for ln in self._lines if not wanted or ln.step == wanted], follow=True)

    def _write(self, lines: list[Line], follow: bool | None = None) -> None:
        if not lines:
            return
        bar = self.view.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        keep = bar.value()
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        show_step = not self.current_step()
        width = max((len(s) for s in self._steps), default=0)
        f = self._formats
        first = self.view.document().isEmpty()
        plain, tinted = QTextBlockFormat(), self._stderr_block
        last_second, stamp = -1, ""
        for line in lines:
            error = line.stream in ("stderr", "server")
            if first:
                cursor.setBlockFormat(tinted if error else plain)
            else:
                cursor.insertBlock(tinted if error else plain)
            first = False
            second = int(line.time)
            if second != last_second:
                last_second = second
                stamp = dt.datetime.fromtimestamp(second).strftime("%H:%M:%S") if second else ""
                stamp = f"{stamp:8}  "
            cursor.insertText(stamp, f["time"])
            if show_step:
                cursor.insertText(f"{line.step:<{width}}  ", f["step"])
            kind = line.stream if line.stream in ("stderr", "pipeloom") else "text"
            if line.stream == "server":
                kind = "stderr"
            cursor.insertText(line.text, f[kind])
        cursor.endEditBlock()
        if follow or at_end:
            bar.setValue(bar.maximum())
        else:
            bar.setValue(keep)

    def _make_formats(self, theme: str) -> None:
        i = 1 if theme == "dark" else 0

        def fmt(key: str, italic: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(_COLOURS[key][i]))
            f.setFontItalic(italic)
            return f

        self._stderr_block = QTextBlockFormat()  # the whole row tinted, not just its text
        self._stderr_block.setBackground(QColor(_COLOURS["stderr_bg"][i]))
        self._formats = {
            "time": fmt("time"),
            "step": fmt("step"),
            "text": fmt("text"),
            "stderr": fmt("stderr"),
            "pipeloom": fmt("pipeloom", italic=True),
        }

    def _on_theme(self, name: str) -> None:
        self._make_formats(name)
        self._render()
