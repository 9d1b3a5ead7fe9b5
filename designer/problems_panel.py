"""The problems panel: the document's validation problems, plus those of a file that failed to open.

Double-click or Enter on a problem asks the window to select and reveal its node.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QStackedLayout,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.theme import ThemeManager, icon
from engine.problems import Problem

PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 1


class ProblemsPanel(QWidget):
    """A list of problems with severity icons; `revealRequested(node, field)` on activation."""

    revealRequested = Signal(str, str)  # node, field ("" when none)
    countsChanged = Signal(int, int)  # errors, warnings

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Problem", "Where", "Line"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(1, header.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, header.ResizeMode.ResizeToContents)
        self.empty = QLabel("No problems found", self)
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedLayout()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tree)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.stack)
        self.tree.itemActivated.connect(self._on_activated)
        self._problems: list[Problem] = []
        self._file_problems: list[Problem] = []
        self._file_path: str | None = None
        ThemeManager.instance().themeChanged.connect(self._on_theme)

    # -- content -------------------------------------------------------------------
    def set_problems(self, problems: list[Problem]) -> None:
        """The current document's problems (replaces the previous list)."""
        self._problems = list(problems)
        self._rebuild()

    def set_file_problems(self, path: str | None, problems: list[Problem]) -> None:
        """Problems of a file that could not be opened; kept until cleared or another opens."""
        self._file_path = path
        self._file_problems = list(problems)
        self._rebuild()

    def problems(self) -> list[Problem]:
        return self._file_problems + self._problems

    def _rebuild(self) -> None:
        self.tree.clear()
        file_name = Path(self._file_path).name if self._file_path else ""
        icons = {True: icon("error"), False: icon("warning")}
        items = [
            self._item(p, f"{file_name}: {p.where()}" if file_name else p.where(), icons)
            for p in self._file_problems
        ]
        items += [self._item(p, p.where(), icons) for p in self._problems]
        self.tree.addTopLevelItems(items)  # one insertion: thousands of problems stay quick
        errors = sum(p.is_error for p in self.problems())
        warnings = len(self.problems()) - errors
        self.stack.setCurrentWidget(self.tree if self.problems() else self.empty)
        self.countsChanged.emit(errors, warnings)

    @staticmethod
    def _item(p: Problem, where: str, icons: dict) -> QTreeWidgetItem:
        item = QTreeWidgetItem([p.message, where, str(p.line) if p.line else ""])
        item.setIcon(0, icons[p.is_error])
        item.setData(0, PROBLEM_ROLE, p)
        item.setToolTip(0, p.message)
        item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    def _on_theme(self, _name: str) -> None:
        self._rebuild()  # severity icons follow the theme

    def items(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    def _on_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        problem: Problem = item.data(0, PROBLEM_ROLE)
        if problem is not None and problem.node and problem not in self._file_problems:
            self.revealRequested.emit(problem.node, problem.field or "")
