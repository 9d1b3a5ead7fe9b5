"""Editors of single values for the inspector's generated forms (collections: inspector_lists).

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
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from designer.theme import bind_icon
from engine.pipeline import registry
from engine.pipeline.model import Pipeline
from engine.pipeline.registry import ParamSpec

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
    tip = f"⚠ {message}\n\n{help_text}".strip() if flagged else help_text
    if widget.toolTip() != tip:
        widget.setToolTip(tip)


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
        self.box.lineEdit().setTextMargins(5, 0, 0, 0)  # line up with line edits (QSS can't)
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
        self._shown: tuple | None = None  # (options, value) the combo lists now
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
        options = self.options()
        self._shown = (options, self._value)
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(self._unset_label(), None)
        for option in options:
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
        if self._shown != (self.options(), value):  # another node of this type: often the same
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
        if spec.name == "path":  # a dataset is a file or a folder (Parquet, part files)
            menu = QMenu(self.browse)
            menu.addAction("File…", lambda: self.choose(folder=False))
            menu.addAction("Folder…", lambda: self.choose(folder=True))
            self.browse.setMenu(menu)
            self.browse.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        else:
            self.browse.clicked.connect(lambda: self.choose())

    def choose(self, folder: bool | None = None) -> None:
        base = self.context.base_dir(self.spec.name)
        current = self.edit.text().strip()
        start = base / current if current else base
        while not start.exists() and start != base and start.parent != start:
            start = start.parent  # the nearest folder that exists
        if not start.exists():
            start = base
        if folder is None:
            folder = self.spec.kind == "directory"
        if folder and start.is_file():
            start = start.parent
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
