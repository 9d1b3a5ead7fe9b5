"""The inspector's editors for collections: lists (arguments, pip packages, py_files...) with
add / remove / reorder and an "insert template" menu, and key/value mappings (spark.conf)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
)

from designer.inspector_fields import VALUE_ROLE, FieldEditor, format_scalar, parse_scalar
from designer.theme import bind_icon
from engine.pipeline.model import output_names


class ListField(FieldEditor):
    """list: one row per item, editable in place, with add / remove / move buttons and, for
    arguments, an "insert template" menu of the node's ports and the pipeline's parameters."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        column = QVBoxLayout()
        column.setSpacing(4)
        self.list = QListWidget(self)
        self.list.setObjectName("listEditor")
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._watch_focus(self.list)
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        for name, tip in (
            ("add", "Add an item"),
            ("remove", "Remove the selected item"),
            ("up", "Move up"),
            ("down", "Move down"),
        ):
            b = QToolButton(self)
            b.setToolTip(tip)
            bind_icon(b, name)
            buttons.addWidget(b)
            self.buttons[name] = b
        buttons.addStretch(1)
        self.template_button: QToolButton | None = None
        if spec.name == "arguments":
            self.template_button = QToolButton(self)
            self.template_button.setText("Template")
            self.template_button.setToolTip(
                "Insert {inputs.X}, {outputs.Y} or {parameters.Z} after the selected argument"
            )
            self.template_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            bind_icon(self.template_button, "template")
            self.template_menu = QMenu(self.template_button)
            self.template_menu.aboutToShow.connect(self._fill_template_menu)
            self.template_button.setMenu(self.template_menu)
            self.template_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            buttons.addWidget(self.template_button)
        column.addWidget(self.list)
        column.addLayout(buttons)
        self._layout.addLayout(column)
        self._setting = False
        self.buttons["add"].clicked.connect(self.add_item)
        self.buttons["remove"].clicked.connect(self.remove_item)
        self.buttons["up"].clicked.connect(lambda: self.move_item(-1))
        self.buttons["down"].clicked.connect(lambda: self.move_item(1))
        self.list.itemChanged.connect(self._on_item_changed)
        self._fit_height()

    def main_widget(self):
        return self.list

    def _fit_height(self) -> None:
        """As tall as its items (one spare row), between two and six rows."""
        row = self.list.sizeHintForRow(0) if self.list.count() else 0
        row = row if row > 0 else self.list.fontMetrics().height() + 10
        rows = max(2, min(6, self.list.count() + 1))
        self.list.setFixedHeight(rows * row + 2 * self.list.frameWidth() + 6)

    def value(self) -> list:
        return [self.list.item(i).data(VALUE_ROLE) for i in range(self.list.count())]

    def set_value(self, value):
        values = list(value or [])
        if values == self.value():
            return
        row = self.list.currentRow()
        self._setting = True
        self.list.clear()
        for v in values:
            self._new_item(v)
        self._setting = False
        self._fit_height()
        if 0 <= row < self.list.count():
            self.list.setCurrentRow(row)

    def _new_item(self, value: Any, row: int | None = None) -> QListWidgetItem:
        item = QListWidgetItem(format_scalar(value))
        item.setData(VALUE_ROLE, value)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        if row is None:
            self.list.addItem(item)
        else:
            self.list.insertItem(row, item)
        return item

    def _emit(self) -> None:
        self._fit_height()
        values = self.value()
        self.edited.emit(values if values else None)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._setting:
            return
        old = item.data(VALUE_ROLE)
        if item.text() != format_scalar(old):
            self._setting = True
            item.setData(VALUE_ROLE, item.text())
            self._setting = False
            self._emit()

    def insert_values(self, values: list[Any], edit: bool = False) -> None:
        """Insert after the current row (or append), select the last one, apply."""
        row = self.list.currentRow()
        at = row + 1 if row >= 0 else self.list.count()
        self._setting = True
        for i, v in enumerate(values):
            item = self._new_item(v, at + i)
        self._setting = False
        self.list.setCurrentItem(item)
        self._emit()
        if edit:
            self.list.editItem(item)

    def add_item(self) -> None:
        self.insert_values([""], edit=True)

    def remove_item(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        self._setting = True
        self.list.takeItem(row)
        self._setting = False
        self._emit()

    def move_item(self, step: int) -> None:
        row = self.list.currentRow()
        to = row + step
        if row < 0 or not 0 <= to < self.list.count():
            return
        self._setting = True
        item = self.list.takeItem(row)
        self.list.insertItem(to, item)
        self.list.setCurrentRow(to)
        self._setting = False
        self._emit()

    def templates(self) -> list[tuple[str, list[str]]]:
        """(section title, templates) available to this node's arguments."""
        p = self.context.pipeline()
        node = p.nodes.get(self.context.node() or "")
        sections = []
        if node is not None:
            sections.append(("Inputs", [f"{{inputs.{x.name}}}" for x in node.inputs]))
            outs = output_names(node) if node.type != "dataset" else []
            sections.append(("Outputs", [f"{{outputs.{x}}}" for x in outs]))
        sections.append(("Parameters", [f"{{parameters.{x}}}" for x in p.parameters]))
        return [(title, items) for title, items in sections if items]

    def _fill_template_menu(self) -> None:
        self.template_menu.clear()
        sections = self.templates()
        if not sections:
            none = self.template_menu.addAction("No ports or parameters yet")
            none.setEnabled(False)
        for title, items in sections:
            self.template_menu.addSection(title)
            for text in items:
                action = QAction(text, self.template_menu)
                action.triggered.connect(lambda _=False, t=text: self.insert_values([t]))
                self.template_menu.addAction(action)


class MappingField(FieldEditor):
    """mapping: a key/value table (e.g. spark.conf); values keep numbers and booleans."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        column = QVBoxLayout()
        column.setSpacing(4)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["Key", "Value"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._watch_focus(self.table)
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        self.add_button = QToolButton(self)
        self.add_button.setToolTip("Add a setting")
        bind_icon(self.add_button, "add")
        self.remove_button = QToolButton(self)
        self.remove_button.setToolTip("Remove the selected setting")
        bind_icon(self.remove_button, "remove")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        column.addWidget(self.table)
        column.addLayout(buttons)
        self._layout.addLayout(column)
        self._setting = False
        self.table.itemChanged.connect(self._on_changed)
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_row)
        self._fit_height()

    def main_widget(self):
        return self.table

    def _fit_height(self) -> None:
        header = self.table.horizontalHeader().sizeHint().height()
        row = self.table.verticalHeader().defaultSectionSize()
        rows = max(1, min(5, self.table.rowCount()))
        self.table.setFixedHeight(header + rows * row + 2 * self.table.frameWidth() + 4)

    def value(self) -> dict:
        out = {}
        for r in range(self.table.rowCount()):
            key_item, value_item = self.table.item(r, 0), self.table.item(r, 1)
            key = key_item.text().strip() if key_item else ""
            if key:
                out[key] = value_item.data(VALUE_ROLE) if value_item else None
        return out

    def set_value(self, value):
        mapping = dict(value or {})
        if mapping == self.value():  # rows still being typed (no key yet) stay
            return
        self._setting = True
        self.table.setRowCount(0)
        for k, v in mapping.items():
            self._append(str(k), v)
        self._setting = False
        self._fit_height()

    def _append(self, key: str, value: Any) -> int:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self._fit_height()
        self.table.setItem(r, 0, QTableWidgetItem(key))
        item = QTableWidgetItem(format_scalar(value))
        item.setData(VALUE_ROLE, value)
        self.table.setItem(r, 1, item)
        return r

    def _on_changed(self, item: QTableWidgetItem) -> None:
        if self._setting:
            return
        if item.column() == 1 and item.text() != format_scalar(item.data(VALUE_ROLE)):
            self._setting = True
            item.setData(VALUE_ROLE, parse_scalar(item.text()))
            self._setting = False
        self.edited.emit(self.value() or None)

    def add_row(self) -> None:
        self._setting = True
        r = self._append("", "")
        self._setting = False
        self.table.setCurrentCell(r, 0)
        self.table.editItem(self.table.item(r, 0))

    def remove_row(self) -> None:
        r = self.table.currentRow()
        if r >= 0:
            self._setting = True
            self.table.removeRow(r)
            self._setting = False
            self._fit_height()
            self.edited.emit(self.value() or None)
