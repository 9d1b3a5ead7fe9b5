"""The inspector's ports section: a card per input (name, source, kind, mode, optional) and per
output (name, kind, format, register_as, destination), with add, rename and remove.

Renaming is one engine RenamePort, so argument templates and downstream `from:` follow in one
undo step. Field edits are pushed with merge keys so typing in a field is one step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.document import Document
from designer.inspector_fields import set_problem_style
from designer.theme import bind_icon
from engine.pipeline import changes as ch
from engine.pipeline import registry
from engine.pipeline.model import InputPort, OutputPort, Ref, output_names, valid_name

_HELP = {
    "name": "The port's name: arguments refer to it as {inputs.NAME} / {outputs.NAME}.",
    "source": "The node (and output) this input reads.",
    "kind": "tabular: rows read with a format; file: the files themselves, passed as paths.",
    "mode": "direct: the path/URI as is; mount: the original path, checked for changes; "
    "download: a private copy in the step's working folder.",
    "optional": "The step runs even when this input is not connected.",
    "format": "How the step writes this output (Spark writes a folder of part files).",
    "register_as": "Register the completed output as a new version of this dataset name.",
    "destination": "Also publish the completed output at this path in the datastore.",
}


PORT_INDENT = 10
LABEL_WIDTH = 116 - PORT_INDENT  # fields line up with the inspector's main form


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setFixedWidth(LABEL_WIDTH)
    return label


class ValueCombo(QComboBox):
    """A fixed list of choices; a value not among them is shown as "(unknown)"."""

    def __init__(self, items: list[tuple[str, object]]):
        super().__init__()
        for text, data in items:
            self.addItem(text, data)
        self._known = self.count()

    def set_current(self, value: object) -> None:
        while self.count() > self._known:  # a previous port's unknown value
            self.removeItem(self.count() - 1)
        if value is not None and self.findData(value) < 0:
            self.addItem(f"{value} (unknown)", value)
        self.setCurrentIndex(max(0, self.findData(value)))


class SourceCombo(QComboBox):
    """An input's `from:` choices, listed when the popup opens: a node of a large pipeline
    has thousands of possible sources, and most cards are never opened."""

    def __init__(self, choices: Callable[[], list[str]], current: str | None):
        super().__init__()
        self._choices = choices
        self._filled = False
        self.set_current(current)

    def rebind(self, value: str | None) -> None:
        """Another port's source: its choices are listed again when the popup opens."""
        self.blockSignals(True)
        self.clear()
        self._filled = False
        self.blockSignals(False)
        self.set_current(value)

    def set_current(self, value: str | None) -> None:
        self.blockSignals(True)
        if self.findData(value) < 0 and value is not None:
            self.addItem(value, value)
        if self.count() == 0 or self.itemData(0) is not None:
            self.insertItem(0, "Not connected", None)
        self.setCurrentIndex(self.findData(value) if value is not None else 0)
        self.blockSignals(False)

    def fill(self) -> None:
        """Add every possible source (once); a dangling current one is marked unknown."""
        if self._filled:
            return
        self._filled = True
        current = self.currentData()
        choices = self._choices()
        self.blockSignals(True)
        self.clear()
        self.addItem("Not connected", None)
        self.addItems(choices)
        for i, text in enumerate(choices, start=1):
            self.setItemData(i, text)
        if current is not None and current not in choices:
            self.addItem(f"{current} (unknown)", current)
        self.setCurrentIndex(max(0, self.findData(current)))
        self.blockSignals(False)

    def showPopup(self) -> None:
        self.fill()
        super().showPopup()


class PortCard(QFrame):
    """One port's fields. `widgets[field]` is the editor of that field. A card is bound to a port
    and rebound to another when the inspector shows another node (widgets are kept)."""

    def __init__(self, section: PortsSection, direction: str):
        super().__init__()
        self.setObjectName("portCard")
        self.section = section
        self.direction = direction
        self.port_name = ""
        self.widgets: dict[str, QWidget] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 6, 0, 8)
        outer.setSpacing(4)
        top = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip(_HELP["name"])
        self.name_edit.editingFinished.connect(self._rename)
        self.widgets["name"] = self.name_edit
        remove = QToolButton()
        bind_icon(remove, "delete")
        remove.clicked.connect(lambda: section.remove_port(direction, self.port_name))
        self.remove_button = remove
        top.addWidget(self.name_edit, 1)
        top.addWidget(remove)
        outer.addLayout(top)
        form = QFormLayout()
        form.setContentsMargins(PORT_INDENT, 0, 0, 0)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(form)
        if direction == "in":
            self._input_fields(form)
        else:
            self._output_fields(form)
        for field, w in self.widgets.items():
            if field != "name":
                w.setToolTip(_HELP.get(field, ""))

    def bind(self, port: InputPort | OutputPort) -> None:
        """Show `port` (no edits are pushed)."""
        self.port_name = port.name
        kind = "input" if self.direction == "in" else "output"
        self.remove_button.setToolTip(f"Remove {kind} {port.name}")
        self.update_field("name", port.name)
        if isinstance(port, InputPort):
            source = self.widgets["source"]
            source.rebind(str(port.source) if port.source else None)
            fields = ("kind", "mode", "optional")
        else:
            fields = ("kind", "format", "register_as", "destination")
        for field in fields:
            self.update_field(field, getattr(port, field))

    # -- inputs --------------------------------------------------------------------
    def _input_fields(self, form: QFormLayout) -> None:
        rules = self.section.rules()
        src = SourceCombo(self.section.source_choices, None)
        src.activated.connect(lambda i: self._set("source", src.itemData(i)))
        kind = ValueCombo([("Same as source", None)] + [(k, k) for k in rules.input_kinds])
        kind.activated.connect(lambda i: self._set("kind", kind.itemData(i)))
        modes = [(f"Default ({rules.default_mode})", None)] + [(m, m) for m in rules.input_modes]
        mode = ValueCombo(modes)
        mode.activated.connect(lambda i: self._set("mode", mode.itemData(i)))
        optional = QCheckBox()
        optional.toggled.connect(lambda on: self._set("optional", bool(on)))
        for label, field, w in (
            ("From", "source", src),
            ("As", "kind", kind),
            ("Mode", "mode", mode),
            ("Optional", "optional", optional),
        ):
            self.widgets[field] = w
            form.addRow(_label(label), w)

    # -- outputs -------------------------------------------------------------------
    def _output_fields(self, form: QFormLayout) -> None:
        rules = self.section.rules()
        kind = ValueCombo([(k, k) for k in rules.output_kinds])
        kind.activated.connect(lambda i: self._set("kind", kind.itemData(i)))
        fmt = ValueCombo([("Default", None)] + [(f, f) for f in registry.FORMATS])
        fmt.activated.connect(lambda i: self._set_format(fmt.itemData(i)))
        register = QLineEdit()
        register.setPlaceholderText("not registered")
        register.textEdited.connect(lambda t: self._set("register_as", t or None, merge=True))
        dest = QLineEdit()
        dest.setPlaceholderText("run folder only")
        dest.textEdited.connect(lambda t: self._set("destination", t or None, merge=True))
        for label, field, w in (
            ("Kind", "kind", kind),
            ("Format", "format", fmt),
            ("Register as", "register_as", register),
            ("Destination", "destination", dest),
        ):
            self.widgets[field] = w
            form.addRow(_label(label), w)

    def _set_format(self, fmt_type: str | None) -> None:
        node = self.section.node()
        port = node.output(self.port_name) if node else None
        if port is None:
            return
        fmt = dict(port.format or {})
        if fmt_type is None:
            fmt.pop("type", None)
        else:
            fmt["type"] = fmt_type
        self._set("format", fmt)

    # -- edits ---------------------------------------------------------------------
    def _set(self, field: str, value, merge: bool = False) -> None:
        self.section.set_field(self.direction, self.port_name, field, value, merge)

    def _rename(self) -> None:
        new = self.name_edit.text().strip()
        if new == self.port_name:
            set_problem_style(self.name_edit, None, _HELP["name"])
            return
        error = self.section.rename_port(self.direction, self.port_name, new)
        set_problem_style(self.name_edit, error, _HELP["name"])

    def update_field(self, field: str, value) -> None:
        """Show a field's new value without emitting (undo/redo, edits elsewhere)."""
        w = self.widgets.get(field)
        if w is None:
            return
        w.blockSignals(True)
        if isinstance(w, QLineEdit):
            text = "" if value is None else str(value)
            if w.text() != text:
                w.setText(text)
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, SourceCombo):
            w.set_current(str(value) if value is not None else None)
        elif isinstance(w, ValueCombo):
            data = value.get("type") if field == "format" and isinstance(value, dict) else value
            w.set_current(data)
        w.blockSignals(False)


class _PortGroup(QWidget):
    """The inputs (or outputs) of the inspected node: a heading, a card per port (cards are
    kept and rebound, so showing another node creates no widgets), and an add button."""

    def __init__(self, section: PortsSection, direction: str):
        super().__init__()
        self.section = section
        self.direction = direction
        self.pool: list[PortCard] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        title = "Inputs" if direction == "in" else "Outputs"
        heading = QLabel(title.upper())
        heading.setObjectName("sectionTitle")
        self._layout.addWidget(heading)
        self.empty = QLabel(f"No {title.lower()}")
        self.empty.setObjectName("helpLine")
        self._layout.addWidget(self.empty)
        self.add = QPushButton(f"Add {'input' if direction == 'in' else 'output'}")
        self.add.setObjectName(f"add_{direction}")
        bind_icon(self.add, "add")
        self.add.clicked.connect(lambda _=False: section.add_port(direction))
        row = QHBoxLayout()
        row.setContentsMargins(0, 2, 0, 4)
        row.addWidget(self.add)
        row.addStretch(1)
        self._layout.addLayout(row)

    def show_ports(self, ports: list, allowed: bool) -> list[PortCard]:
        while len(self.pool) < len(ports):
            card = PortCard(self.section, self.direction)
            self._layout.insertWidget(1 + len(self.pool), card)
            self.pool.append(card)
        for card, port in zip(self.pool, ports, strict=False):
            card.bind(port)
            card.setVisible(True)
        for card in self.pool[len(ports) :]:
            card.setVisible(False)
        self.empty.setVisible(not ports)
        self.add.setEnabled(allowed)
        return self.pool[: len(ports)]


class PortsSection(QWidget):
    """Inputs and outputs of the inspected node."""

    def __init__(self, document: Callable[[], Document], node: Callable[[], str | None]):
        super().__init__()
        self._document = document
        self._node_name = node
        self.cards: dict[tuple[str, str], PortCard] = {}  # the shown ports' cards
        self._groups: dict[str, _PortGroup] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)

    def document(self) -> Document:
        return self._document()

    def node(self):
        name = self._node_name()
        return self.document().pipeline.nodes.get(name) if name else None

    def rules(self) -> registry.PortRules:
        node = self.node()
        s = registry.spec(node.type) if node else None
        return s.ports if s else registry.PortRules(inputs=True, outputs=True)

    def source_choices(self) -> list[str]:
        """``node`` or ``node.output`` of every other node's outputs."""
        me = self._node_name()
        found = []
        for other in self.document().pipeline.nodes.values():
            if other.name == me:
                continue
            if other.type == "dataset":
                found.append(other.name)
            else:
                found += [str(Ref(other.name, out)) for out in output_names(other)]
        return found

    def rebuild(self) -> None:
        """Show the node's ports now (after selection, or a port added, removed, renamed)."""
        self.cards = {}
        node = self.node()
        if node is None:
            return
        rules = self.rules()
        for direction, allowed, ports in (
            ("in", rules.inputs, node.inputs),
            ("out", rules.outputs, node.outputs),
        ):
            group = self._groups.get(direction)
            if not allowed and not ports:
                if group is not None:
                    group.setVisible(False)
                continue
            if group is None:
                group = self._groups[direction] = _PortGroup(self, direction)
                self._layout.insertWidget(0 if direction == "in" else self._layout.count(), group)
            for card in group.show_ports(ports, allowed):
                self.cards[(direction, card.port_name)] = card
            group.setVisible(True)

    # -- edits ---------------------------------------------------------------------
    def add_port(self, direction: str) -> str:
        node = self.node()
        base = "input" if direction == "in" else "output"
        taken = {p.name for p in node.ports(direction)}
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        port = InputPort(name) if direction == "in" else OutputPort(name)
        self.document().push(ch.AddPort(node.name, direction, port), f"Add {base} {name}")
        card = self.cards.get((direction, name))
        if card is not None:
            card.name_edit.setFocus()
            card.name_edit.selectAll()
        return name

    def remove_port(self, direction: str, name: str) -> None:
        node = self.node()
        if node is not None:
            self.document().push(ch.RemovePort(node.name, direction, name), f"Remove port {name}")

    def rename_port(self, direction: str, old: str, new: str) -> str | None:
        """Rename; returns an error message instead when `new` cannot be used."""
        node = self.node()
        if node is None:
            return None
        if not valid_name(new):
            return (
                f"{new!r} is not a valid name: letters, digits, _ and -, not starting with a digit"
            )
        try:
            self.document().push(
                ch.RenamePort(node.name, direction, old, new), f"Rename port {old} to {new}"
            )
        except ValueError as e:
            return str(e)
        return None

    def set_field(self, direction: str, port: str, field: str, value, merge: bool) -> None:
        node = self.node()
        if node is None:
            return
        current = getattr(node.ports(direction)[node.port_index(direction, port)], field)
        if field == "source":
            value = Ref.parse(value) if value else None
        if current == value:
            return
        change = ch.SetPortField(node.name, direction, port, field, value)
        if field == "source":
            change.label = "Connect" if value else "Disconnect"
        key = (node.name, direction, port, field) if merge else None
        self.document().push(change, f"Edit {port} {field}", merge_key=key)

    # -- observation ---------------------------------------------------------------
    def port_changed(self, direction: str, name: str, field: str, value) -> None:
        card = self.cards.get((direction, name))
        if card is not None:
            card.update_field(field, value)

    def set_problems(self, problems: list[tuple[str, str]]) -> None:
        """Mark the fields of cards whose port has problems (field ``inputs.X[.from]``...)."""
        target_of = {"from": "source", "as": "kind", "mode": "mode", "format": "format"}
        for (direction, name), card in self.cards.items():
            prefix = f"{'inputs' if direction == 'in' else 'outputs'}.{name}"
            by_widget: dict[str, list[str]] = {}
            for field, message in problems:
                if field != prefix and not field.startswith(prefix + "."):
                    continue
                sub = field[len(prefix) + 1 :].split(".")[0] if field != prefix else ""
                widget = target_of.get(sub, sub if sub in card.widgets else "name")
                by_widget.setdefault(widget, []).append(message)
            for field, w in card.widgets.items():
                msgs = by_widget.get(field)
                set_problem_style(w, "\n".join(msgs) if msgs else None, _HELP.get(field, ""))
