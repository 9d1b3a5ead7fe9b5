"""The Pipeline tab's "Test connection": every compute contacted at once, off the GUI thread,
with the same report as `pipeloom computes FILE --check` (reachable or not, versions, cores,
memory, Ray resources)."""

from __future__ import annotations

import copy
import html
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.backends.reachability import ComputeReport


class _Relay(QObject):
    """Carries the reports from the checking thread to the GUI thread."""

    done = Signal(object)


class ConnectionTester(QWidget):
    """A "Test connection" button and the per-compute results under it."""

    def __init__(self, computes: Callable[[], list], parent=None):
        super().__init__(parent)
        self._computes = computes
        self._relay = _Relay(self)
        self._relay.done.connect(self._show)
        self.button = QPushButton("Test connection", self)
        self.button.setToolTip(
            "Contact every compute (at most 10 s each): reachable or not, Spark version, "
            "cores and memory offered, Ray resources"
        )
        self.button.clicked.connect(self.start)
        self.result = QLabel(self)
        self.result.setObjectName("connectionResult")
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setWordWrap(True)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reports: list[ComputeReport] = []
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.result)
        layout.addStretch(1)

    @property
    def running(self) -> bool:
        return not self.button.isEnabled()

    def start(self) -> None:
        computes = [copy.deepcopy(c) for c in self._computes()]  # the thread reads a copy
        if not computes:
            self.result.setText("No computes to test.")
            return
        self.button.setEnabled(False)
        self.result.setText(f"Contacting {len(computes)} compute(s)…")

        def work() -> None:
            from engine.cli.computes import check_all

            self._relay.done.emit(check_all(computes))

        threading.Thread(target=work, name="pipeloom-test-connection", daemon=True).start()

    def _show(self, reports: list[ComputeReport]) -> None:
        self.reports = reports
        rows = []
        for r in reports:
            mark = "✔" if r.reachable else "✘"
            state = "reachable" if r.reachable else "unreachable"
            rows.append(
                f"<b>{mark} {html.escape(r.name)}</b> ({html.escape(r.kind)}, "
                f"{html.escape(r.address)}): {state} — {html.escape(r.detail)}"
            )
        self.result.setText("<br>".join(rows))
        self.button.setEnabled(True)
