"""The logs panel: every line the steps of a run print, live or loaded from the run store.

Monospace, one line per row with its time and step; stderr lines tinted, the engine's own
notes dimmed. A step filter shows one step; the view follows the tail unless the user has
scrolled up to read something. Lines go straight into a LogView, which draws only the rows in
sight, so a flood of output costs the GUI thread a list append per batch.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from designer.log_view import STEP, TIME, LogView
from designer.theme import ThemeManager
from engine.events import LogLine

MAX_LINES = 200_000  # per run kept in memory and shown; older lines drop off the top
MAX_FILE_BYTES = 8 * 1024 * 1024  # a stored log larger than this is read from its tail
ALL_STEPS = ""
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


Line = tuple[float, str, str, str]  # (time, step, stream, text): a LogView row


def read_stored_log(path: str | Path, step: str) -> list[Line]:
    """The lines of one step's log file (``<time> <stream>: <text>``), oldest first."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size > MAX_FILE_BYTES:
                f.seek(size - MAX_FILE_BYTES)
            data = f.read()
    except OSError:
        return []
    lines: list[Line] = []
    last = 0.0
    if size > MAX_FILE_BYTES:
        skipped = (size - MAX_FILE_BYTES) / 1024 / 1024
        lines.append(
            (
                0.0,
                step,
                "pipeloom",
                f"... the first {skipped:.1f} MB of this step's log are not "
                "shown here (`pipeloom logs` prints all of it)",
            )
        )
        if not data.startswith(b"\n"):
            data = b"... " + data  # the tail begins inside a line: its end is shown
    seconds: dict[str, float] = {}  # strptime once per second of the log, not once per line
    # lines end at "\n" only (as the runner wrote them): a step's \r or \f stays in its line
    for raw in data.decode("utf-8", errors="replace").removesuffix("\n").split("\n"):
        if not raw:
            continue
        m = _STORED_LINE.match(raw)
        if m is None:  # not written by the runner: keep it as text of the previous time
            lines.append((last, step, "stdout", raw))
            continue
        stamp = m.group(1)
        second = seconds.get(stamp[:19])
        if second is None:
            second = dt.datetime.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S").timestamp()
            seconds[stamp[:19]] = second
        last = second + int(stamp[20:]) / 1000
        lines.append((last, step, m.group(2), m.group(3)))
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
        self.view = LogView(self)
        self.view.setObjectName("logsView")
        self.view.placeholder = "The output of each step appears here while it runs."
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
        self._live_trimmed = False  # the live run's oldest lines dropped off (its files have them)
        self._live_printers: set[str] = set()  # the steps that printed lines in the live run
        self._lines: list = []  # the shown run's lines (Line or LogLine)
        self._steps: list[str] = []
        self._make_formats(ThemeManager.instance().name)
        self.step_filter.currentIndexChanged.connect(lambda _i: self._render())
        ThemeManager.instance().themeChanged.connect(self._on_theme)

    # -- content -------------------------------------------------------------------
    def start_live(self, steps: list[str]) -> None:
        """A new run begins: show its lines from now on, offer its steps in the filter."""
        self.live_run_id = None
        self.live = True
        self._live_lines = []
        self._live_trimmed = False
        self._live_printers = set()
        self._live_steps = list(steps)
        self._live_status = "live"
        self.show_live()

    def set_live_run(self, run_id: str) -> None:
        self.live_run_id = run_id
        if self.live and not self.showing_live and self.run_id == run_id:
            self.show_live()  # the run was picked in the runs panel before its id arrived here
        elif self.showing_live:
            self.run_id = run_id
            self.caption.setText(self._live_caption())

    def end_live(self, status: str) -> None:
        self.live = False
        self._live_status = status
        if self.showing_live:
            self.caption.setText(self._live_caption())

    @property
    def live_trimmed(self) -> bool:
        """The live run's oldest lines dropped out of memory and its log files would show more:
        a flood pushed out another step's lines. When one step printed them all, memory holds
        its latest MAX_LINES lines, more than the tail of its file that is read back."""
        return self._live_trimmed and len(self._live_printers) > 1

    def append(self, events: list[LogLine]) -> None:
        """Live lines of the current run (a batch, in order), shown at once if on view."""
        rows = [(e.time, e.step, e.stream, e.text) for e in events]  # tuples: see LogView
        steps = self._live_steps
        printed = {row[STEP] for row in rows}
        self._live_printers |= printed
        for step in printed:
            if step not in steps:
                steps.append(step)
        self._live_lines.extend(rows)
        if len(self._live_lines) > MAX_LINES + MAX_LINES // 10:  # trim in chunks
            del self._live_lines[: len(self._live_lines) - MAX_LINES]
            self._live_trimmed = True
        if self.showing_live:
            if steps != self._steps:
                self._set_steps(steps)
                self._render()
                return
            wanted = self.current_step()
            self.view.append_rows(
                rows if not wanted else [r for r in rows if r[STEP] == wanted], MAX_LINES
            )

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
        """A run's stored logs: steps are (step, log_path, note); the live run stays live, and
        stays shown from memory when it ends (its files hold the same lines) unless a flood
        pushed lines out of memory: then its files, where every step keeps its own lines."""
        kept = self.showing_live and not self.live_trimmed
        if run_id == self.live_run_id and (self.live or kept):
            self.show_live()
            return
        self.showing_live = False
        self.run_id = run_id
        lines: list[Line] = []
        for step, log_path, note in steps:
            if note:
                lines.append((0.0, step, "pipeloom", note))
            if log_path:
                lines.extend(read_stored_log(log_path, step))
        lines.sort(key=lambda ln: ln[TIME])  # stable: a step's lines keep their order
        self._lines = lines  # each file is read from its last MAX_FILE_BYTES at most
        self._set_steps([s for s, _, _ in steps])
        self.caption.setText(f"Run {run_id} · {status}")
        self._render()

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
        return self.view.text()

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
        wanted = self.current_step()
        rows = [ln for ln in self._lines if ln[STEP] == wanted] if wanted else self._lines
        self.view.set_rows(
            rows[-MAX_LINES:],  # a step's own lines, even when another step flooded the run
            show_step=not wanted,
            step_width=max((len(s) for s in self._steps), default=0),
        )

    def _make_formats(self, theme: str) -> None:
        i = 1 if theme == "dark" else 0
        self.view.set_colours({key: pair[i] for key, pair in _COLOURS.items()})

    def _on_theme(self, name: str) -> None:
        self._make_formats(name)
