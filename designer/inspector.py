"""The inspector: a form generated from the selected node's ParamSpecs, plus its ports.

With nothing selected it edits the pipeline's own name, description and datastore. Every edit is
an engine change pushed on the document's undo stack (typing in one field merges into one step);
the form observes the document, so undo/redo and edits made elsewhere show up here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from designer.document import Document
from designer.inspector_fields import (
    BoolField,
    ChoiceField,
    FieldContext,
    FieldEditor,
    IntegerField,
    LineField,
    MemoryField,
    NumberField,
    PathField,
    TextField,
    set_problem_style,
)
from designer.inspector_lists import ListField, MappingField
from designer.inspector_ports import PortsSection
from designer.theme import ThemeManager
from engine.pipeline import changes as ch
from engine.pipeline import registry
from engine.pipeline.model import Event, valid_name
from engine.pipeline.registry import ParamSpec
from engine.problems import Problem

DESCRIPTION = ParamSpec(
    "description", "text", "Description", "What this node is for (saved in the file)."
)
PIPELINE_FIELDS = (
    ParamSpec("name", "string", "Name", "The pipeline's name.", required=True),
    ParamSpec("description", "text", "Description", "What the pipeline does."),
    ParamSpec(
        "datastore",
        "directory",
        "Datastore",
        "Folder for run outputs and registered datasets, relative to the pipeline file "
        "(default .pipeloom/datastore).",
        default=".pipeloom/datastore",
    ),
)
EDITORS: dict[str, type[FieldEditor]] = {  # ParamSpec kind -> editor
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
LABEL_WIDTH = 116  # one label column across every group of the form
_STRUCTURAL = {"port_added", "port_removed", "port_renamed", "node_added", "node_removed"}


@dataclass
class _Page:
    """A built form: its widget, editors by ParamSpec name and ports section."""

    widget: QWidget
    editors: dict[str, FieldEditor]
    ports: PortsSection | None


def _by_node(problems: list[Problem]) -> dict[str | None, list[Problem]]:
    """Problems grouped by node, so showing a node does not scan a big pipeline's list."""
    grouped: dict[str | None, list[Problem]] = {}
    for p in problems:
        grouped.setdefault(p.node, []).append(p)
    return grouped


def _section_title(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setObjectName("sectionTitle")
    return label


class Inspector(QWidget):
    """Edits the selected node (or the pipeline when none is selected)."""

    def __init__(self, dialogs: Callable[[], Any], parent=None):
        super().__init__(parent)
        self._dialogs = dialogs
        self.document: Document | None = None
        self.node_name: str | None = None
        self.editors: dict[str, FieldEditor] = {}
        self.ports: PortsSection | None = None
        self._problems: dict[str | None, list[Problem]] = {}  # by node (None: the pipeline)
        self._rebuild_pending = False
        self._multi = 0
        self._pages: dict[str, _Page] = {}
        self._shown_page: QWidget | None = None
        self._icon_shown: tuple[str, str] | None = None
        self._icons: dict[tuple[str, str], object] = {}  # (theme, icon) -> header pixmap

        self.icon_label = QLabel(self)
        self.icon_label.setFixedSize(28, 28)
        self.title = QLineEdit(self)
        self.title.setObjectName("inspectorTitle")
        self.title.setToolTip("The node's name; wires and `from:` references follow a rename.")
        self.title.editingFinished.connect(self._rename_node)
        self.title_label = QLabel(self)
        self.title_label.setObjectName("inspectorTitle")
        self.subtitle = QLabel(self)
        self.subtitle.setObjectName("inspectorSubtitle")
        self.subtitle.setWordWrap(True)
        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        names = QVBoxLayout()
        names.setSpacing(2)
        names.addWidget(self.title)
        names.addWidget(self.title_label)
        names.addWidget(self.subtitle)
        head.addLayout(names, 1)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._container = QWidget()
        self._pages_layout = QVBoxLayout(self._container)
        self._pages_layout.setContentsMargins(0, 0, 0, 0)
        self.scroll.setWidget(self._container)
        self.help_line = QLabel(self)
        self.help_line.setObjectName("helpLine")
        self.help_line.setWordWrap(True)
        self.help_line.setMinimumHeight(34)
        self.help_line.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        line = QFrame(self)
        line.setObjectName("separator")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 8, 8)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(line)
        layout.addWidget(self.help_line)
        ThemeManager.instance().themeChanged.connect(self._on_theme)
        self._rebuild()

    # -- wiring --------------------------------------------------------------------
    def set_document(self, document: Document | None) -> None:
        if self.document is not None:
            self.document.modelEvent.disconnect(self._on_model_event)
            self.document.problemsChanged.disconnect(self._on_problems)
        self._drop_pages()  # forms hold editors bound to the previous document's choices
        self.document = document
        self.node_name = None
        self._problems = _by_node(document.problems if document else [])
        if document is not None:
            document.modelEvent.connect(self._on_model_event)
            document.problemsChanged.connect(self._on_problems)
        self._rebuild()

    def set_selection(self, names: list[str]) -> None:
        """The canvas selection: one node is inspected; none shows the pipeline."""
        name = names[0] if len(names) == 1 else None
        multi = len(names) if len(names) > 1 else 0
        if name != self.node_name or multi != self._multi:
            self.node_name, self._multi = name, multi
            self._rebuild()

    def node(self):
        if self.document is None or self.node_name is None:
            return None
        return self.document.pipeline.nodes.get(self.node_name)

    def _context(self) -> FieldContext:
        return FieldContext(
            pipeline=lambda: self.document.pipeline,
            node=lambda: self.node_name,
            base_dir=self._base_dir,
            dialogs=self._dialogs,
        )

    def _base_dir(self, param: str) -> Path:
        """Entry files and dependency lists are relative to the source directory."""
        base = self.document.base_dir
        node = self.node()
        s = registry.spec(node.type) if node else None
        if s is not None and s.is_step and param != "source_directory":
            return base / str(node.params.get("source_directory") or ".")
        return base

    # -- building ------------------------------------------------------------------
    def _rebuild(self) -> None:
        """Show the form for the current selection: a node type's form is built once and
        reused (values refreshed) for every node of that type, which keeps selection fast."""
        self._rebuild_pending = False
        node = self.node()
        if self.document is None or self._multi:
            key = None
        elif node is None:
            key = "pipeline"
        else:
            key = f"node:{node.type}" if registry.spec(node.type) else None
        page = self._pages.get(key) if key else None
        if page is None:
            page = self._build_page(node)
            if key:
                self._pages[key] = page
        else:
            self._refresh_page(page, node)
        self.editors, self.ports = page.editors, page.ports
        self._show_page(page.widget)
        self.scroll.verticalScrollBar().setValue(0)
        self._update_header()
        self._apply_problems()
        self.help_line.setText("")

    def _build_page(self, node) -> _Page:
        self.editors = {}
        self.ports = None
        body = QWidget()
        self._body_layout = QVBoxLayout(body)
        self._body_layout.setContentsMargins(0, 0, 6, 12)
        self._body_layout.setSpacing(4)
        if self.document is None:
            pass
        elif self._multi:
            self._empty_state(f"{self._multi} nodes selected")
        elif node is None:
            self._build_pipeline_form()
        else:
            self._build_node_form(node)
        self._body_layout.addStretch(1)
        return _Page(body, self.editors, self.ports)

    def _refresh_page(self, page: _Page, node) -> None:
        for key, editor in page.editors.items():
            if isinstance(editor, MemoryField):
                editor.local_problem = None
            if node is None:
                editor.set_value(getattr(self.document.pipeline, key))
            elif key == "description":
                editor.set_value(node.description)
            else:
                editor.set_value(node.params.get(key))
        if page.ports is not None:
            page.ports.rebuild()

    def _show_page(self, widget: QWidget) -> None:
        """Pages live side by side in one container (switching reparents and re-styles
        nothing); only the shown one is visible, so the scroll range fits it."""
        if widget is self._shown_page:
            return
        self._shown_page = widget
        if widget.parentWidget() is not self._container:
            self._pages_layout.addWidget(widget)
        cached = {p.widget for p in self._pages.values()}
        for i in reversed(range(self._pages_layout.count())):
            other = self._pages_layout.itemAt(i).widget()
            if other is widget:
                continue
            if other in cached:
                other.hide()
            else:  # a one-off page (several nodes selected, unknown type)
                self._pages_layout.removeWidget(other)
                other.hide()  # deleteLater waits for the event loop; it must not show till then
                other.deleteLater()
        widget.show()

    def _drop_pages(self) -> None:
        for i in reversed(range(self._pages_layout.count())):
            widget = self._pages_layout.itemAt(i).widget()
            self._pages_layout.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self._pages = {}
        self._shown_page = None

    def _empty_state(self, text: str) -> None:
        label = QLabel(text)
        label.setObjectName("emptyState")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._body_layout.addSpacing(24)
        self._body_layout.addWidget(label)

    def _form(self, title: str) -> QFormLayout:
        self._body_layout.addWidget(_section_title(title))
        form = QFormLayout()
        form.setContentsMargins(0, 2, 0, 6)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(7)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self._body_layout.addLayout(form)
        return form

    def _add_editor(self, form: QFormLayout, spec: ParamSpec, value, on_edit) -> FieldEditor:
        editor = EDITORS.get(spec.kind, LineField)(spec, self._context())
        editor.set_value(value)
        editor.edited.connect(on_edit)
        editor.focused.connect(self.help_line.setText)
        label = QLabel(spec.label + (" *" if spec.required else ""))
        label.setToolTip(spec.help)
        label.setWordWrap(True)
        label.setFixedWidth(LABEL_WIDTH)
        label.setBuddy(editor.main_widget())
        if spec.kind in ("list", "mapping", "text"):
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            label.setContentsMargins(0, 6, 0, 0)
        form.addRow(label, editor)
        self.editors[spec.name] = editor
        return editor

    def _build_node_form(self, node) -> None:
        s = registry.spec(node.type)
        form = self._form("General")
        self._add_editor(form, DESCRIPTION, node.description, self._edit_param("description"))
        if s is None:
            self._empty_state(f"Unknown node type {node.type!r}: its settings cannot be edited.")
            return
        groups: dict[str, list[ParamSpec]] = {}
        for p in s.params:
            groups.setdefault(p.group, []).append(p)
        for group, params in groups.items():
            form = form if group == "General" else self._form(group)
            for p in params:
                self._add_editor(form, p, node.params.get(p.name), self._edit_param(p.name))
        if s.ports.inputs or s.ports.outputs or node.inputs or node.outputs:
            self.ports = PortsSection(lambda: self.document, lambda: self.node_name)
            self.ports.rebuild()
            self._body_layout.addWidget(self.ports)

    def _build_pipeline_form(self) -> None:
        p = self.document.pipeline
        form = self._form("Pipeline")
        for spec in PIPELINE_FIELDS:
            self._add_editor(form, spec, getattr(p, spec.name), self._edit_meta(spec.name))
        hint = QLabel(
            "Select a node on the canvas to edit it. Computes, environments and parameters "
            "are in the Pipeline panel."
        )
        hint.setObjectName("helpLine")
        hint.setWordWrap(True)
        self._body_layout.addSpacing(8)
        self._body_layout.addWidget(hint)

    def _on_theme(self, _name: str) -> None:
        self._update_header()

    def _update_header(self) -> None:
        node = self.node()
        editable = node is not None
        if self.title.isHidden() == editable:  # a visibility change relayouts the panel
            self.title.setVisible(editable)
            self.title_label.setVisible(not editable)
        theme = ThemeManager.instance()
        if node is not None:
            s = registry.spec(node.type)
            if self.title.text() != node.name:
                self.title.setText(node.name)
            self.subtitle.setText(s.title if s else f"Unknown type {node.type}")
            self.subtitle.setToolTip(s.description if s else "")
            icon_name = s.icon.removesuffix(".svg") if s else "pipeline"
        else:
            self.title_label.setText(
                self.document.pipeline.name if self.document else "No pipeline"
            )
            self.subtitle.setText("Pipeline settings" if self.document else "")
            icon_name = "pipeline"
        key = (theme.name, icon_name)
        if key not in self._icons:
            self._icons[key] = theme.icon(icon_name).pixmap(28, 28)
        if self._icon_shown != key:
            self._icon_shown = key
            self.icon_label.setPixmap(self._icons[key])

    # -- edits ---------------------------------------------------------------------
    def _edit_param(self, key: str):
        def push(value) -> None:
            node = self.node()
            if node is None:
                return
            current = node.description if key == "description" else node.params.get(key)
            if value == current and type(value) is type(current):
                return
            label = DESCRIPTION.label if key == "description" else self._label_of(node, key)
            self.document.push(
                ch.SetParam(node.name, key, value),
                f"Edit {label} of {node.name}",
                merge_key=(node.name, key),
            )

        return push

    @staticmethod
    def _label_of(node, key: str) -> str:
        s = registry.spec(node.type)
        p = s.param(key) if s else None
        return p.label if p else key

    def _edit_meta(self, key: str):
        def push(value) -> None:
            if key == "name" and not value:
                self.editors[key].set_problem("The pipeline needs a name")
                return
            if getattr(self.document.pipeline, key) == value:
                return
            self.document.push(
                ch.SetEntry("meta", key, value), f"Edit pipeline {key}", merge_key=("meta", key)
            )

        return push

    def _rename_node(self) -> None:
        node = self.node()
        new = self.title.text().strip()
        if node is None or new == node.name:
            set_problem_style(self.title, None)
            return
        if not valid_name(new):
            error = f"{new!r} is not a valid name: letters, digits, _ and -"
        elif new in self.document.pipeline.nodes:
            error = f"a node named {new!r} already exists"
        else:
            old = node.name
            self.document.push(ch.RenameNode(old, new), f"Rename {old} to {new}")
            error = None
        set_problem_style(self.title, error)

    # -- observation ---------------------------------------------------------------
    def _on_model_event(self, event: Event) -> None:
        kind, data = event.kind, event.data
        if kind in ("batch_begin", "batch_end", "node_moved"):
            return
        if kind == "node_renamed" and data.get("old") == self.node_name:
            self.node_name = event.node
            self._update_header()
            return
        if kind == "node_removed" and event.node == self.node_name:
            self.node_name = None
            self._schedule_rebuild()
            return
        if self.node_name is None:
            if kind == "pipeline_changed" and data.get("section") == "meta":
                editor = self.editors.get(data.get("key"))
                if editor is not None:
                    editor.set_value(data.get("new"))
                self._update_header()
            return
        if kind == "node_changed" and event.node == self.node_name:
            editor = self.editors.get(data.get("key"))
            if editor is not None:
                editor.set_value(data.get("new"))
        elif kind == "port_changed" and event.node == self.node_name and self.ports:
            self.ports.port_changed(data["direction"], data["name"], data["field"], data["new"])
        elif kind in _STRUCTURAL or kind == "node_renamed":
            # sources offered to inputs list other nodes' outputs; rebuild once per burst
            if self.ports is not None:
                self._schedule_rebuild(ports_only=True)
        elif kind == "pipeline_changed" and data.get("section") in ("computes", "environments"):
            for editor in self.editors.values():
                if isinstance(editor, ChoiceField):
                    editor.refresh_options()

    def _schedule_rebuild(self, ports_only: bool = False) -> None:
        if self._rebuild_pending:
            return
        self._rebuild_pending = True
        QTimer.singleShot(0, self._rebuild_ports if ports_only else self._rebuild)

    def _rebuild_ports(self) -> None:
        self._rebuild_pending = False
        if self.ports is not None and self.node() is not None:
            self.ports.rebuild()
            self._apply_problems()
        else:
            self._rebuild()

    def flush(self) -> None:
        """Run a pending rebuild now (tests, and before reading the form)."""
        if self._rebuild_pending:
            self._rebuild_ports() if self.ports is not None else self._rebuild()

    def _on_problems(self, problems: list[Problem]) -> None:
        self._problems = _by_node(problems)
        self._apply_problems()

    def _apply_problems(self) -> None:
        mine = self._problems.get(self.node_name, [])
        if self.node_name is None:
            mine = [p for p in mine if p.field in {s.name for s in PIPELINE_FIELDS}]
        for key, editor in self.editors.items():
            if isinstance(editor, MemoryField) and editor.local_problem:
                continue
            msgs = [
                p.message
                for p in mine
                if p.field and (p.field == key or p.field.startswith(key + "."))
            ]
            editor.set_problem("\n".join(msgs) if msgs else None)
        if self.ports is not None:
            self.ports.set_problems([(p.field, p.message) for p in mine if p.field])

    def reveal_field(self, field: str) -> bool:
        """Scroll to the editor of a problem's field (``spark.driver_memory``, ``inputs.x.from``)."""
        self.flush()
        widget = None
        for key, editor in self.editors.items():
            if field == key or field.startswith(key + "."):
                widget = editor.main_widget()
        if widget is None and self.ports is not None:
            for (direction, name), card in self.ports.cards.items():
                prefix = f"{'inputs' if direction == 'in' else 'outputs'}.{name}"
                if field == prefix or field.startswith(prefix + "."):
                    widget = card.name_edit
        if widget is None:
            return False
        self.scroll.ensureWidgetVisible(widget, 20, 40)
        return True

    def field_problem(self, key: str) -> bool:
        editor = self.editors.get(key)
        return bool(editor and editor.main_widget().property("problem"))
