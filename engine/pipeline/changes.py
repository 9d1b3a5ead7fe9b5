"""Reversible changes to a Pipeline: the only way the model is edited.

Each Change records, when applied, what it needs to be reverted exactly (indexes, old values,
which references a rename rewrote). `Group` makes several changes one. The designer wraps each
Change in a QUndoCommand; the engine and its tests use them directly:

    change = pipeline.apply(SetParam("dataprep", "file", "prep.py"))
    change.revert(pipeline)
"""

from __future__ import annotations

import copy
from typing import Any

from engine.pipeline.model import (
    TEMPLATE_RE,
    Compute,
    Environment,
    InputPort,
    Node,
    OutputPort,
    Parameter,
    Pipeline,
    Ref,
)

_MISSING = object()


class Change:
    label = "Edit"

    def apply(self, p: Pipeline) -> None:
        raise NotImplementedError

    def revert(self, p: Pipeline) -> None:
        raise NotImplementedError


class Group(Change):
    """Several changes applied in order and reverted in reverse order, as one."""

    def __init__(self, changes: list[Change] | None = None, label: str = "Edit"):
        self.changes = list(changes or [])
        self.label = label

    def apply(self, p: Pipeline) -> None:
        p.emit("batch_begin", label=self.label)
        done = []
        try:
            for c in self.changes:
                c.apply(p)
                done.append(c)
        except Exception:
            for c in reversed(done):
                c.revert(p)
            raise
        finally:
            p.emit("batch_end", label=self.label)

    def revert(self, p: Pipeline) -> None:
        p.emit("batch_begin", label=self.label)
        try:
            for c in reversed(self.changes):
                c.revert(p)
        finally:
            p.emit("batch_end", label=self.label)


# -- nodes ------------------------------------------------------------------------------


def _reorder(p: Pipeline, items: list[tuple[str, Node]]) -> None:
    p.nodes.clear()
    p.nodes.update(items)


class AddNode(Change):
    """Insert `node` at `index` (None = at the end)."""

    label = "Add node"

    def __init__(self, node: Node, index: int | None = None):
        self.node = node
        self.index = index

    def apply(self, p: Pipeline) -> None:
        if self.node.name in p.nodes:
            raise ValueError(f"a node named {self.node.name!r} already exists")
        items = list(p.nodes.items())
        index = len(items) if self.index is None else max(0, min(self.index, len(items)))
        if index == len(items):
            p.nodes[self.node.name] = self.node
        else:
            items.insert(index, (self.node.name, self.node))
            _reorder(p, items)
        self._at = index
        p.emit("node_added", self.node.name, index=index)

    def revert(self, p: Pipeline) -> None:
        del p.nodes[self.node.name]
        p.emit("node_removed", self.node.name, index=self._at)


class RemoveNode(Change):
    """Remove a node; inputs that read it are disconnected (and restored on revert)."""

    label = "Remove node"

    def __init__(self, name: str):
        self.name = name

    def apply(self, p: Pipeline) -> None:
        node = p.node(self.name)
        self.index = p.index_of(self.name)
        self.node = node
        self.disconnects = [
            SetPortField(other.name, "in", port.name, "source", None)
            for other, port in p.consumers(self.name)
            if other.name != self.name
        ]
        for c in self.disconnects:
            c.apply(p)
        del p.nodes[self.name]
        p.emit("node_removed", self.name, index=self.index)

    def revert(self, p: Pipeline) -> None:
        items = list(p.nodes.items())
        items.insert(self.index, (self.name, self.node))
        _reorder(p, items)
        p.emit("node_added", self.name, index=self.index)
        for c in reversed(self.disconnects):
            c.revert(p)


class RenameNode(Change):
    """Rename a node and every `from:` that reads it, as one change."""

    label = "Rename node"

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new

    def apply(self, p: Pipeline) -> None:
        if self.new == self.old:
            self.rewired = []
            return
        if self.new in p.nodes:
            raise ValueError(f"a node named {self.new!r} already exists")
        node = p.node(self.old)
        self.rewired = [(other.name, port.name) for other, port in p.consumers(self.old)]
        node.name = self.new
        _reorder(p, [((self.new if k == self.old else k), v) for k, v in p.nodes.items()])
        for target, port in self.rewired:
            target = self.new if target == self.old else target
            inp = p.nodes[target].input(port)
            inp.source = Ref(self.new, inp.source.output)
        p.emit("node_renamed", self.new, old=self.old)

    def revert(self, p: Pipeline) -> None:
        if self.new == self.old:
            return
        node = p.node(self.new)
        node.name = self.old
        _reorder(p, [((self.old if k == self.new else k), v) for k, v in p.nodes.items()])
        for target, port in self.rewired:
            target = self.old if target == self.new else target
            inp = p.nodes[target].input(port)
            inp.source = Ref(self.old, inp.source.output)
        p.emit("node_renamed", self.old, old=self.new)


class MoveNode(Change):
    label = "Move"

    def __init__(self, name: str, position: tuple[float, float] | None):
        self.name = name
        self.position = None if position is None else (float(position[0]), float(position[1]))

    def apply(self, p: Pipeline) -> None:
        node = p.node(self.name)
        self.old = node.position
        node.position = self.position
        p.emit("node_moved", self.name, old=self.old, new=self.position)

    def revert(self, p: Pipeline) -> None:
        node = p.node(self.name)
        node.position = self.old
        p.emit("node_moved", self.name, old=self.position, new=self.old)


class SetParam(Change):
    """Set a node parameter (by ParamSpec name, e.g. ``spark.driver_memory``); None unsets.

    The key ``description`` sets the node's description.
    """

    label = "Edit property"

    def __init__(self, node: str, key: str, value: Any):
        self.node, self.key, self.value = node, key, value

    def _get(self, n: Node) -> Any:
        if self.key == "description":
            return n.description if n.description is not None else _MISSING
        return n.params.get(self.key, _MISSING)

    def _set(self, p: Pipeline, n: Node, value: Any) -> None:
        old = self._get(n)
        if self.key == "description":
            n.description = None if value is _MISSING else value
        elif value is _MISSING or value is None:
            n.params.pop(self.key, None)
        else:
            n.params[self.key] = value
        p.emit(
            "node_changed",
            n.name,
            key=self.key,
            old=None if old is _MISSING else old,
            new=None if value is _MISSING else value,
        )

    def apply(self, p: Pipeline) -> None:
        n = p.node(self.node)
        self.old = self._get(n)
        self._set(p, n, copy.deepcopy(self.value))

    def revert(self, p: Pipeline) -> None:
        self._set(p, p.node(self.node), self.old)


# -- ports --------------------------------------------------------------------------------


class AddPort(Change):
    label = "Add port"

    def __init__(
        self, node: str, direction: str, port: InputPort | OutputPort, index: int | None = None
    ):
        if direction not in ("in", "out"):
            raise ValueError("direction is 'in' or 'out'")
        self.node, self.direction, self.port, self.index = node, direction, port, index

    def apply(self, p: Pipeline) -> None:
        n = p.node(self.node)
        ports = n.ports(self.direction)
        if any(x.name == self.port.name for x in ports):
            raise ValueError(f"{self.node} already has a port named {self.port.name!r}")
        self._at = len(ports) if self.index is None else max(0, min(self.index, len(ports)))
        ports.insert(self._at, self.port)
        p.emit(
            "port_added", self.node, direction=self.direction, name=self.port.name, index=self._at
        )

    def revert(self, p: Pipeline) -> None:
        ports = p.node(self.node).ports(self.direction)
        del ports[self._at]
        p.emit(
            "port_removed", self.node, direction=self.direction, name=self.port.name, index=self._at
        )


class RemovePort(Change):
    """Remove a port; for an output, inputs reading it are disconnected (restored on revert)."""

    label = "Remove port"

    def __init__(self, node: str, direction: str, name: str):
        self.node, self.direction, self.name = node, direction, name

    def apply(self, p: Pipeline) -> None:
        n = p.node(self.node)
        self.index = n.port_index(self.direction, self.name)
        self.disconnects = []
        if self.direction == "out":
            self.disconnects = [
                SetPortField(o.name, "in", port.name, "source", None)
                for o, port in p.consumers(self.node, self.name)
            ]
        for c in self.disconnects:
            c.apply(p)
        self.port = n.ports(self.direction).pop(self.index)
        p.emit(
            "port_removed", self.node, direction=self.direction, name=self.name, index=self.index
        )

    def revert(self, p: Pipeline) -> None:
        p.node(self.node).ports(self.direction).insert(self.index, self.port)
        p.emit("port_added", self.node, direction=self.direction, name=self.name, index=self.index)
        for c in reversed(self.disconnects):
            c.revert(p)


def _rewrite_templates(value: Any, section: str, old: str, new: str) -> Any:
    def sub(text: str) -> str:
        return TEMPLATE_RE.sub(
            lambda m: (
                f"{{{section}.{new}}}"
                if m.group(1) == section and m.group(2) == old
                else m.group(0)
            ),
            text,
        )

    if isinstance(value, str):
        return sub(value)
    if isinstance(value, list):
        return [_rewrite_templates(v, section, old, new) for v in value]
    return value


class _TemplateRewrites:
    """Rewrite `{section.old}` to `{section.new}` in the given nodes' arguments; revert exactly."""

    def __init__(self, nodes: list[str], section: str, old: str, new: str):
        self.nodes, self.section, self.old, self.new = nodes, section, old, new
        self.saved: list[tuple[str, Any]] = []

    def apply(self, p: Pipeline) -> None:
        self.saved = []
        for name in self.nodes:
            n = p.nodes[name]
            args = n.params.get("arguments")
            if args is None:
                continue
            new_args = _rewrite_templates(args, self.section, self.old, self.new)
            if new_args != args:
                self.saved.append((name, args))
                n.params["arguments"] = new_args
                p.emit("node_changed", name, key="arguments", old=args, new=new_args)

    def revert(self, p: Pipeline) -> None:
        for name, args in self.saved:
            n = p.nodes[name]
            cur = n.params.get("arguments")
            n.params["arguments"] = args
            p.emit("node_changed", name, key="arguments", old=cur, new=args)


class RenamePort(Change):
    """Rename a port; its node's argument templates and, for outputs, downstream `from:` follow."""

    label = "Rename port"

    def __init__(self, node: str, direction: str, old: str, new: str):
        self.node, self.direction, self.old, self.new = node, direction, old, new

    def apply(self, p: Pipeline) -> None:
        n = p.node(self.node)
        if self.new == self.old:
            self.rewired, self.templates = [], None
            return
        if any(x.name == self.new for x in n.ports(self.direction)):
            raise ValueError(f"{self.node} already has a port named {self.new!r}")
        port = n.ports(self.direction)[n.port_index(self.direction, self.old)]
        self.rewired = []
        if self.direction == "out":
            # only explicit `node.output` references name the port; `from: node` keeps working
            self.rewired = [
                (o.name, inp.name)
                for o, inp in p.consumers(self.node, self.old)
                if inp.source.output == self.old
            ]
        port.name = self.new
        for target, inp_name in self.rewired:
            p.nodes[target].input(inp_name).source = Ref(self.node, self.new)
        section = "inputs" if self.direction == "in" else "outputs"
        self.templates = _TemplateRewrites([self.node], section, self.old, self.new)
        p.emit("port_renamed", self.node, direction=self.direction, old=self.old, new=self.new)
        self.templates.apply(p)

    def revert(self, p: Pipeline) -> None:
        if self.new == self.old:
            return
        self.templates.revert(p)
        n = p.node(self.node)
        n.ports(self.direction)[n.port_index(self.direction, self.new)].name = self.old
        for target, inp_name in self.rewired:
            p.nodes[target].input(inp_name).source = Ref(self.node, self.old)
        p.emit("port_renamed", self.node, direction=self.direction, old=self.new, new=self.old)


_PORT_FIELDS = {
    "in": {"source", "kind", "mode", "optional"},
    "out": {"kind", "format", "register_as", "destination"},
}


class SetPortField(Change):
    """Set one field of a port: an input's source (the wiring), kind, mode; an output's kind,
    format, register_as, destination."""

    label = "Edit port"

    def __init__(self, node: str, direction: str, name: str, field: str, value: Any):
        if field not in _PORT_FIELDS[direction]:
            raise ValueError(f"ports of direction {direction!r} have no field {field!r}")
        if field == "source" and isinstance(value, str):
            value = Ref.parse(value)
        self.node, self.direction, self.name, self.field, self.value = (
            node,
            direction,
            name,
            field,
            value,
        )

    def _port(self, p: Pipeline):
        n = p.node(self.node)
        return n.ports(self.direction)[n.port_index(self.direction, self.name)]

    def _set(self, p: Pipeline, value: Any) -> None:
        port = self._port(p)
        old = getattr(port, self.field)
        setattr(port, self.field, copy.deepcopy(value))
        p.emit(
            "port_changed",
            self.node,
            direction=self.direction,
            name=self.name,
            field=self.field,
            old=old,
            new=value,
        )

    def apply(self, p: Pipeline) -> None:
        self.old = copy.deepcopy(getattr(self._port(p), self.field))
        self._set(p, self.value)

    def revert(self, p: Pipeline) -> None:
        self._set(p, self.old)


def connect(p: Pipeline, source: str, output: str | None, target: str, input: str) -> Change:
    """A change wiring `source.output` into `target.input`, adding that input when missing."""
    n = p.node(target)
    ref = Ref(source, output)
    if n.input(input) is None:
        return Group(
            [
                AddPort(target, "in", InputPort(input)),
                SetPortField(target, "in", input, "source", ref),
            ],
            label="Connect",
        )
    c = SetPortField(target, "in", input, "source", ref)
    c.label = "Connect"
    return c


def disconnect(target: str, input: str) -> Change:
    c = SetPortField(target, "in", input, "source", None)
    c.label = "Disconnect"
    return c


# -- pipeline sections ------------------------------------------------------------------

_SECTIONS = {"computes": Compute, "environments": Environment, "parameters": Parameter}
_META = {"name", "description", "datastore", "export"}


class SetEntry(Change):
    """Add, replace (value) or remove (None) an entry of computes/environments/parameters,
    keeping its position when replaced; or set a meta field (name, description, datastore,
    export) when `section` is ``meta``."""

    label = "Edit pipeline"

    def __init__(self, section: str, key: str, value: Any, index: int | None = None):
        if section != "meta" and section not in _SECTIONS:
            raise ValueError(f"unknown section {section!r}")
        if section == "meta" and key not in _META:
            raise ValueError(f"unknown pipeline field {key!r}")
        self.section, self.key, self.value, self.index = section, key, value, index

    def _read(self, p: Pipeline) -> tuple[Any, int | None]:
        if self.section == "meta":
            return getattr(p, self.key), None
        d = getattr(p, self.section)
        if self.key in d:
            return d[self.key], list(d).index(self.key)
        return _MISSING, None

    def _write(self, p: Pipeline, value: Any, index: int | None) -> None:
        old, _ = self._read(p)
        if self.section == "meta":
            setattr(p, self.key, copy.deepcopy(value))
        else:
            d = getattr(p, self.section)
            items = [(k, v) for k, v in d.items() if k != self.key]
            if value is not _MISSING and value is not None:
                value = copy.deepcopy(value)
                if hasattr(value, "name"):
                    value.name = self.key
                at = len(items) if index is None else min(index, len(items))
                items.insert(at, (self.key, value))
            d.clear()
            d.update(items)
        p.emit(
            "pipeline_changed",
            section=self.section,
            key=self.key,
            old=None if old is _MISSING else old,
            new=None if value is _MISSING else value,
        )

    def apply(self, p: Pipeline) -> None:
        self.old, self.old_index = self._read(p)
        index = self.index if self.index is not None else self.old_index
        self._write(p, self.value, index)

    def revert(self, p: Pipeline) -> None:
        self._write(p, self.old, self.old_index)


class RenameParameter(Change):
    """Rename a pipeline parameter and every ``{parameters.X}`` template that uses it."""

    label = "Rename parameter"

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new

    def apply(self, p: Pipeline) -> None:
        if self.new in p.parameters:
            raise ValueError(f"a parameter named {self.new!r} already exists")
        param = p.parameters[self.old]
        index = list(p.parameters).index(self.old)
        self.entry_remove = SetEntry("parameters", self.old, None)
        renamed = copy.deepcopy(param)
        renamed.name = self.new
        self.entry_add = SetEntry("parameters", self.new, renamed, index=index)
        self.templates = _TemplateRewrites(list(p.nodes), "parameters", self.old, self.new)
        for c in (self.entry_remove, self.entry_add, self.templates):
            c.apply(p)

    def revert(self, p: Pipeline) -> None:
        for c in (self.templates, self.entry_add, self.entry_remove):
            c.revert(p)


class RenameEntry(Change):
    """Rename a compute or environment and every node that uses it."""

    label = "Rename"

    def __init__(self, section: str, old: str, new: str):
        if section not in ("computes", "environments"):
            raise ValueError("RenameEntry renames computes or environments")
        self.section, self.old, self.new = section, old, new

    def apply(self, p: Pipeline) -> None:
        d = getattr(p, self.section)
        if self.new in d:
            raise ValueError(f"{self.section[:-1]} {self.new!r} already exists")
        index = list(d).index(self.old)
        renamed = copy.deepcopy(d[self.old])
        renamed.name = self.new
        key = "compute" if self.section == "computes" else "environment"
        self.parts: list[Change] = [
            SetEntry(self.section, self.old, None),
            SetEntry(self.section, self.new, renamed, index=index),
        ] + [
            SetParam(n.name, key, self.new)
            for n in p.nodes.values()
            if n.params.get(key) == self.old
        ]
        for c in self.parts:
            c.apply(p)

    def revert(self, p: Pipeline) -> None:
        for c in reversed(self.parts):
            c.revert(p)
