"""Editors for the pipeline's computes, environments and parameters: a tab per section, a
table per tab. Cells edit through engine changes (SetEntry; renames through RenameEntry and
RenameParameter, so the nodes and templates that use a name follow), each one undo step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.compute_check import ConnectionTester
from designer.document import Document
from designer.env_builds import EnvironmentBuildPanel, EnvironmentStates
from designer.inspector_fields import FieldContext, format_scalar, parse_scalar
from designer.inspector_lists import ListField
from designer.theme import bind_icon
from engine.pipeline import changes as ch
from engine.pipeline.model import Compute, Environment, Event, Parameter, valid_name
from engine.pipeline.registry import COMPUTE_TYPES, PARAMETER_TYPES, ParamSpec

STATE_HELP = (
    "Built (with its size) when a run will find the environment ready; runs build it when "
    "they need it, or press Build."
)


@dataclass(frozen=True)
class Column:
    field: str
    title: str
    help: str
    choices: tuple[str, ...] = ()


def _split_words(text: str) -> list[str]:
    return text.split()


def _parse_conf(text: str) -> dict[str, Any]:
    """``a=1 b=true`` -> {"a": 1, "b": True}."""
    conf: dict[str, Any] = {}
    for pair in text.split():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"Spark conf entries look like key=value, not {pair!r}")
        conf[key] = parse_scalar(value)
    return conf


def _typed_default(param: Parameter, text: str) -> Any:
    if not text.strip():
        return None
    value = parse_scalar(text)
    if param.type == "string":
        return text
    if param.type == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if param.type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if isinstance(value, int) else value
    if param.type == "boolean" and isinstance(value, bool):
        return value
    raise ValueError(f"{text!r} is not a {param.type}")


SECTIONS: dict[str, tuple[str, type, tuple[Column, ...]]] = {
    "computes": (
        "compute",
        Compute,
        (
            Column("name", "Name", "Steps name their compute."),
            Column(
                "type",
                "Type",
                "spark: runs Spark steps. cpu-pool: runs script steps.",
                COMPUTE_TYPES,
            ),
            Column(
                "master",
                "Master",
                "Spark master: local[*], spark://HOST:7077, yarn, k8s://…, sc://HOST:15002; "
                "cpu-pool: empty (this machine) or ray://HOST:10001 (a Ray cluster)",
            ),
            Column("workers", "Workers", "cpu-pool: how many scripts run at once."),
            Column(
                "token_env",
                "Token variable",
                "sc:// servers: environment variable holding the token.",
            ),
            Column(
                "conf",
                "Spark conf",
                "Static Spark settings of this compute as key=value pairs separated by spaces "
                "(spark.sql.shuffle.partitions=8).",
            ),
        ),
    ),
    "environments": (
        "env",
        Environment,
        (
            Column("name", "Name", "Steps name their environment."),
            Column("pip", "Pip packages", "Requirement specifiers separated by spaces."),
            Column(
                "requirements_file",
                "Requirements file",
                "A requirements.txt, relative to the pipeline file.",
            ),
            Column(
                "python",
                "Python",
                "Interpreter to run the steps (default: the one running Pipeloom).",
            ),
        ),
    ),
    "parameters": (
        "param",
        Parameter,
        (
            Column("name", "Name", "Arguments use it as {parameters.NAME}."),
            Column("type", "Type", "The value's type.", PARAMETER_TYPES),
            Column("default", "Default", "Value used when a run does not set it."),
            Column("description", "Description", "What it controls."),
        ),
    ),
}


class SectionTable(QWidget):
    """One pipeline section as a table with add and remove buttons."""

    def __init__(
        self, section: str, document: Callable[[], Document], report: Callable[[str], None]
    ):
        super().__init__()
        self.section = section
        self._document = document
        self._report = report
        self.stem, self.cls, self.columns = SECTIONS[section]
        self.states = EnvironmentStates()
        # environments get a read-only State column after their fields (built or not, size)
        titles = [c.title for c in self.columns] + (["State"] if section == "environments" else [])
        self.table = QTableWidget(0, len(titles), self)
        self.table.setHorizontalHeaderLabels(titles)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for i, c in enumerate(self.columns):
            self.table.horizontalHeaderItem(i).setToolTip(c.help)
        if section == "environments":
            self.table.horizontalHeaderItem(len(self.columns)).setToolTip(STATE_HELP)
        self.add_button = QToolButton(self)
        self.add_button.setToolTip(
            f"Add a {self.stem if section != 'environments' else 'environment'}"
        )
        bind_icon(self.add_button, "add")
        self.remove_button = QToolButton(self)
        self.remove_button.setToolTip("Remove the selected row")
        bind_icon(self.remove_button, "remove")
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(4)
        column.addWidget(self.table)
        column.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(12)
        layout.addLayout(column, 3)
        self.tester: ConnectionTester | None = None
        if section == "computes":  # beside the table: contact every compute
            self.tester = ConnectionTester(lambda: list(self.entries().values()), self)
            layout.addWidget(self.tester, 2)
        self.pip_editor: ListField | None = None
        self.build_panel: EnvironmentBuildPanel | None = None
        if section == "environments":
            self.pip_editor = self._pip_editor()
            self.pip_title = QLabel("PIP PACKAGES")
            self.pip_title.setObjectName("sectionTitle")
            self.build_panel = EnvironmentBuildPanel(document, self.states, self)
            self.build_panel.built.connect(lambda _name: self.refresh())
            details = QVBoxLayout()
            details.setSpacing(4)
            details.addWidget(self.pip_title)
            details.addWidget(self.pip_editor, 2)
            details.addWidget(self.build_panel, 3)
            layout.addLayout(details, 2)
            self.table.currentCellChanged.connect(lambda *_: self._show_pip())
        self._filling = False
        self.table.itemChanged.connect(self._on_item_changed)
        self.add_button.clicked.connect(self.add_entry)
        self.remove_button.clicked.connect(self.remove_selected)

    def _pip_editor(self) -> ListField:
        """The selected environment's pip packages, one per row (add, remove, reorder)."""
        spec = ParamSpec(
            "pip", "list", "Pip packages", "One requirement per row, e.g. scikit-learn>=1.4."
        )
        context = FieldContext(
            pipeline=lambda: self._document().pipeline,
            node=lambda: None,
            base_dir=lambda _param: self._document().base_dir,
            dialogs=lambda: None,
        )
        editor = ListField(spec, context)
        editor.setEnabled(False)
        editor.edited.connect(self._on_pip_edited)
        return editor

    def selected_name(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _show_pip(self) -> None:
        name = self.selected_name()
        entry = self.entries().get(name) if name else None
        self.build_panel.show_environment(name if entry is not None else None)
        self.pip_editor.setEnabled(entry is not None)
        self.pip_title.setText(f"PIP PACKAGES OF {name.upper()}" if entry else "PIP PACKAGES")
        self.pip_editor.set_value(entry.pip if entry is not None else [])

    def _on_pip_edited(self, packages) -> None:
        name = self.selected_name()
        if name is None:
            return
        entry = copy.deepcopy(self.entries()[name])
        entry.pip = [str(p) for p in packages or [] if str(p).strip()]
        if entry.pip != self.entries()[name].pip:
            self._document().push(
                ch.SetEntry("environments", name, entry),
                f"Edit {name} packages",
                merge_key=("environments", name, "pip"),
            )

    def entries(self) -> dict:
        return getattr(self._document().pipeline, self.section)

    def refresh(self) -> None:
        selected = self.selected_name()
        self._filling = True
        self.table.setRowCount(0)
        for name, entry in self.entries().items():
            r = self.table.rowCount()
            self.table.insertRow(r)
            for c, col in enumerate(self.columns):
                item = QTableWidgetItem(self._display(entry, col))
                item.setData(Qt.ItemDataRole.UserRole, name)
                item.setToolTip(col.help)
                self.table.setItem(r, c, item)
            if self.section == "environments":
                self.table.setItem(r, len(self.columns), self._state_item(name))
        self.table.resizeColumnsToContents()
        names = list(self.entries())
        if selected in names:
            self.table.setCurrentCell(names.index(selected), 0)
        self._filling = False
        if self.pip_editor is not None:
            self._show_pip()

    def _state_item(self, name: str) -> QTableWidgetItem:
        state = self.states.state(self._document(), name)
        item = QTableWidgetItem(self.states.describe(state) if state else "")
        item.setData(Qt.ItemDataRole.UserRole, name)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        item.setToolTip(state.problem or state.path if state else STATE_HELP)
        return item

    @staticmethod
    def _display(entry, col: Column) -> str:
        value = getattr(entry, col.field)
        if col.field == "pip":
            return " ".join(value)
        if col.field == "conf":
            return " ".join(f"{k}={format_scalar(v)}" for k, v in (value or {}).items())
        return format_scalar(value)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() >= len(self.columns):
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        col = self.columns[item.column()]
        try:
            self.apply_edit(name, col.field, item.text())
        except ValueError as e:
            self._report(str(e))
        QTimer.singleShot(0, self.refresh)  # shows the stored value (or the old one on error)

    def apply_edit(self, name: str, field: str, text: str) -> None:
        """Change `field` of entry `name` to what `text` says (raises ValueError when invalid)."""
        doc = self._document()
        text = text.strip()
        if field == "name":
            if text == name:
                return
            if not valid_name(text):
                raise ValueError(f"{text!r} is not a valid name")
            change = (
                ch.RenameParameter(name, text)
                if self.section == "parameters"
                else ch.RenameEntry(self.section, name, text)
            )
            doc.push(change, f"Rename {name} to {text}")
            return
        entry = copy.deepcopy(self.entries()[name])
        col = next(c for c in self.columns if c.field == field)
        if col.choices and text not in col.choices:
            raise ValueError(f"{field} is one of: {', '.join(col.choices)}")
        if field == "pip":
            value: Any = _split_words(text)
        elif field == "conf":
            value = _parse_conf(text)
        elif field == "workers":
            if text and not text.isdigit():
                raise ValueError(f"workers is a whole number, not {text!r}")
            value = int(text) if text else None
            if value is not None and value < 1:
                raise ValueError("workers must be at least 1")
        elif field == "default":
            value = _typed_default(entry, text)
        else:
            value = text or None
        if getattr(entry, field) == value:
            return
        setattr(entry, field, value)
        doc.push(ch.SetEntry(self.section, name, entry), f"Edit {name} {field}")

    def add_entry(self) -> str:
        entries = self.entries()
        name, i = self.stem, 2
        while name in entries:
            name, i = f"{self.stem}{i}", i + 1
        if self.section == "computes":
            entry: Any = Compute(name, "cpu-pool", workers=2)
        elif self.section == "environments":
            entry = Environment(name)
        else:
            entry = Parameter(name, "string", "")
        self._document().push(ch.SetEntry(self.section, name, entry), f"Add {name}")
        return name

    def remove_selected(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        name = self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        self._document().push(ch.SetEntry(self.section, name, None), f"Remove {name}")


class PipelineEditors(QWidget):
    """Tabs for computes, environments and parameters of the window's document."""

    def __init__(self, report: Callable[[str], None] | None = None, parent=None):
        super().__init__(parent)
        self.document: Document | None = None
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        report = report or (lambda _m: None)
        self.tables: dict[str, SectionTable] = {}
        for section, title in (
            ("computes", "Computes"),
            ("environments", "Environments"),
            ("parameters", "Parameters"),
        ):
            table = SectionTable(section, lambda: self.document, report)
            self.tables[section] = table
            self.tabs.addTab(table, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def set_document(self, document: Document) -> None:
        if self.document is not None:
            self.document.modelEvent.disconnect(self._on_event)
        self.document = document
        document.modelEvent.connect(self._on_event)
        for t in self.tables.values():
            t.refresh()

    def _on_event(self, event: Event) -> None:
        if event.kind == "pipeline_changed":
            table = self.tables.get(event.data.get("section"))
            if table is not None:
                QTimer.singleShot(0, table.refresh)
