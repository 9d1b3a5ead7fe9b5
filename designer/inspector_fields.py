"""One editor per ParamSpec kind, for the inspector's generated forms.

An editor shows a value (`set_value`, which never emits) and emits `edited(value)` when the user
changes it (None = unset, so the node type's default applies). `set_problem(message)` marks it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.theme import bind_icon
from engine import registry
from engine.model import Pipeline, output_names
from engine.registry import ParamSpec

VALUE_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass
class FieldContext:
    """What an editor needs besides its value: the pipeline and where relative paths start."""

    pipeline: Callable[[], Pipeline]
    node: Callable[[], str | None]
    base_dir: Callable[[str], Path]  # ParamSpec name -> folder its relative paths start from
    dialogs: Callable[[], Any]


def set_problem_style(widget: QWidget, message: str | None, help_text: str = "") -> None:
    """Red border (QSS ``[problem="true"]``) and the message as tooltip; clear with None."""
    flagged = bool(message)
    if widget.property("problem") != flagged:
        widget.setProperty("problem", flagged)
        widget.style().unpolish(widget)
        widget.style().polish(widget)
    widget.setToolTip(f"⚠ {message}\n\n{help_text}".strip() if flagged else help_text)


def parse_scalar(text: str) -> Any:
    """A mapping value typed by the user: ints, floats and true/false keep their YAML type."""
    t = text.strip()
    if re.fullmatch(r"-?\d+", t):
        return int(t)
    if re.fullmatch(r"-?\d+\.\d*([eE][-+]?\d+)?", t):
        return float(t)
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    return text


def format_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class FieldEditor(QWidget):
    """Base: a value editor for one ParamSpec."""

    edited = Signal(object)
    focused = Signal(str)  # help text, when the editor gains focus

    def __init__(self, spec: ParamSpec, context: FieldContext, parent=None):
        super().__init__(parent)
        self.spec = spec
        self.context = context
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)

    def main_widget(self) -> QWidget:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def set_problem(self, message: str | None) -> None:
        set_problem_style(self.main_widget(), message, self.spec.help)

    def _watch_focus(self, widget: QWidget) -> None:
        widget.installEventFilter(self)
        widget.setToolTip(self.spec.help)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn:
            self.focused.emit(self.spec.help)
        return False


class LineField(FieldEditor):
    """string / dataset: one line of text; empty unsets."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        self.edit = QLineEdit(self)
        if spec.kind == "dataset":
            self.edit.setPlaceholderText("dataset:NAME[@VERSION]")
        elif spec.default is not None:
            self.edit.setPlaceholderText(str(spec.default))
        self._layout.addWidget(self.edit)
        self._watch_focus(self.edit)
        self.edit.textEdited.connect(lambda t: self.edited.emit(t if t else None))

    def main_widget(self):
        return self.edit

    def set_value(self, value):
        text = format_scalar(value)
        if self.edit.text() != text:
            self.edit.setText(text)


class MemoryField(LineField):
    """memory: ``7g``, ``512m``; an invalid entry is flagged and not applied."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        self.edit.setPlaceholderText("default (e.g. 4g, 512m)")
        self.edit.textEdited.disconnect()
        self.edit.textEdited.connect(self._on_text)
        self.local_problem: str | None = None

    def _on_text(self, text: str) -> None:
        text = text.strip()
        if text and not registry.valid_memory(text):
            self.local_problem = f"{text!r} is not a size: use a number and a unit, e.g. 7g, 512m"
            self.set_problem(self.local_problem)
            return
        self.local_problem = None
        self.set_problem(None)
        self.edited.emit(text or None)


class TextField(FieldEditor):
    """text: several lines."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        self.edit = QPlainTextEdit(self)
        self.edit.setFixedHeight(64)
        self.edit.setTabChangesFocus(True)
        self._layout.addWidget(self.edit)
        self._watch_focus(self.edit)
        self._setting = False
        self.edit.textChanged.connect(self._on_text)

    def _on_text(self):
        if not self._setting:
            text = self.edit.toPlainText()
            self.edited.emit(text if text else None)

    def main_widget(self):
        return self.edit

    def set_value(self, value):
        text = "" if value is None else str(value)
        if self.edit.toPlainText() != text:
            self._setting = True
            self.edit.setPlainText(text)
            self._setting = False


class IntegerField(FieldEditor):
    """integer: a spin box whose lowest entry means "default" (unset)."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        self.box = QSpinBox(self)
        self.floor = int(spec.minimum if spec.minimum is not None else 0) - 1
        self.box.setRange(self.floor, 1_000_000)
        self.box.setSpecialValueText("Default")
        self.box.setAccelerated(True)
        self._layout.addWidget(self.box)
        self._watch_focus(self.box)
        self.box.valueChanged.connect(
            lambda v: self.edited.emit(None if v == self.floor else int(v))
        )

    def main_widget(self):
        return self.box

    def set_value(self, value):
        v = self.floor if not isinstance(value, int) or isinstance(value, bool) else value
        if self.box.value() != v:
            self.box.blockSignals(True)
            self.box.setValue(v)
            self.box.blockSignals(False)


class NumberField(LineField):
    """number: text parsed as a number; empty unsets."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        self.edit.textEdited.disconnect()
        self.edit.textEdited.connect(self._on_text)

    def _on_text(self, text):
        value = parse_scalar(text) if text.strip() else None
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            self.set_problem(f"{text!r} is not a number")
            return
        self.set_problem(None)
        self.edited.emit(value)


class BoolField(FieldEditor):
    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        self.box = QCheckBox(self)
        self._layout.addWidget(self.box)
        self._watch_focus(self.box)
        self.box.toggled.connect(lambda on: self.edited.emit(bool(on)))

    def main_widget(self):
        return self.box

    def set_value(self, value):
        on = bool(self.spec.default) if value is None else bool(value)
        if self.box.isChecked() != on:
            self.box.blockSignals(True)
            self.box.setChecked(on)
            self.box.blockSignals(False)


class ChoiceField(FieldEditor):
    """choice / compute / environment: a drop-down; its first entry unsets."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        self.combo = QComboBox(self)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self._layout.addWidget(self.combo)
        self._watch_focus(self.combo)
        self._value: Any = None
        self.combo.activated.connect(self._on_activated)

    def options(self) -> list[str]:
        if self.spec.kind == "compute":
            computes = self.context.pipeline().computes.values()
            fit = [c.name for c in computes if c.type == self.spec.compute_type]
            return fit or [c.name for c in computes]
        if self.spec.kind == "environment":
            return list(self.context.pipeline().environments)
        return list(self.spec.choices)

    def _unset_label(self) -> str:
        if self.spec.default is not None:
            return f"Default ({self.spec.default})"
        return "None" if self.spec.kind in ("compute", "environment") else "Default"

    def refresh_options(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(self._unset_label(), None)
        for option in self.options():
            self.combo.addItem(option, option)
        if self._value is not None and self.combo.findData(self._value) < 0:
            self.combo.addItem(f"{self._value} (missing)", self._value)
        self.combo.setCurrentIndex(max(0, self.combo.findData(self._value)))
        self.combo.blockSignals(False)

    def _on_activated(self, index: int) -> None:
        value = self.combo.itemData(index)
        if value != self._value:
            self._value = value
            self.edited.emit(value)

    def main_widget(self):
        return self.combo

    def set_value(self, value):
        self._value = value
        self.refresh_options()


class PathField(FieldEditor):
    """file / directory: text plus a browse button; picked paths are made relative."""

    def __init__(self, spec, context, parent=None):
        super().__init__(spec, context, parent)
        self.edit = QLineEdit(self)
        if spec.default is not None:
            self.edit.setPlaceholderText(str(spec.default))
        self.browse = QToolButton(self)
        self.browse.setToolTip("Choose…")
        bind_icon(self.browse, "browse")
        self._layout.addWidget(self.edit, 1)
        self._layout.addWidget(self.browse)
        self._watch_focus(self.edit)
        self.edit.textEdited.connect(lambda t: self.edited.emit(t if t else None))
        self.browse.clicked.connect(self.choose)

    def choose(self) -> None:
        base = self.context.base_dir(self.spec.name)
        current = self.edit.text().strip()
        start = base / current if current else base
        if not start.exists():
            start = base
        folder = self.spec.kind == "directory"
        picked = self.context.dialogs().ask_path(f"Choose {self.spec.label}", str(start), folder)
        if not picked:
            return
        value = relative_to(Path(picked), base)
        self.set_value(value)
        self.edited.emit(value)

    def main_widget(self):
        return self.edit

    def set_value(self, value):
        text = format_scalar(value)
        if self.edit.text() != text:
            self.edit.setText(text)


def relative_to(path: Path, base: Path) -> str:
    """`path` relative to `base` (with ../ when close by), absolute when on another root."""
    try:
        rel = os.path.relpath(path.absolute(), base.absolute())
    except ValueError:
        return str(path)
    return Path(rel).as_posix()


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


EDITORS: dict[str, type[FieldEditor]] = {
    "string": LineField,
    "dataset": LineField,
    "text": TextField,
    "integer": IntegerField,
    "number": NumberField,
    "boolean": BoolField,
    "choice": ChoiceField,
    "compute": ChoiceField,
    "environment": ChoiceField,
    "memory": MemoryField,
    "list": ListField,
    "mapping": MappingField,
    "file": PathField,
    "directory": PathField,
}


def editor_for(spec: ParamSpec, context: FieldContext, parent=None) -> FieldEditor:
    return EDITORS.get(spec.kind, LineField)(spec, context, parent)
