"""Wire-drag gestures: from an output (or a wire picked up by its input end) to a drop, and
from an unconnected input back to an output.

While dragging, every input is marked compatible or refused (kind, mode, cycle) and the port
under the cursor is the snap target; the drop becomes one undo step: connect, replace a
source, add an input on a node body, disconnect (a picked-up wire dropped on nothing), or
quick-add (a new wire dropped on empty canvas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QPointF, SignalInstance
from PySide6.QtWidgets import QGraphicsItem

from engine.pipeline import changes as ch

from . import commands
from .wires import DragWire

if TYPE_CHECKING:
    from designer.document import Document

    from .items import NodeItem, PortView


class PipelineScene(Protocol):
    """What a drag uses of the scene it happens on (designer.canvas.scene.PipelineScene, which
    starts the drags: a protocol, so the two modules do not import each other)."""

    document: Document
    nodes: dict[str, NodeItem]
    message: SignalInstance
    quickAddRequested: SignalInstance
    quickAddUpstreamRequested: SignalInstance

    def addItem(self, item: QGraphicsItem) -> None: ...

    def removeItem(self, item: QGraphicsItem) -> None: ...

    def push(self, change: Any, text: str | None = None) -> bool: ...

    def connect_ports(self, source: str, output: str, target: str, inp: str) -> bool: ...

    def port_at(self, pos: QPointF) -> tuple[NodeItem, PortView | None] | None: ...

    def show_wire(self, key: tuple[str, str], visible: bool) -> None: ...

    def drag_ended(self, drag: WireDrag | ReverseWireDrag) -> None: ...


class WireDrag:
    def __init__(self, scene: PipelineScene, source: str, output: str, pos: QPointF, picked=None):
        self.scene = scene
        self.source, self.output, self.picked = source, output, picked
        p = scene.document.pipeline
        self.upstream = commands.upstream_of(p, source)  # wiring into these makes a cycle
        self.reasons: dict[tuple[str, str], str | None] = {}
        self.hover: tuple | None = None
        for name, item in scene.nodes.items():
            marks = {}
            for port in item.ports:
                if port.direction != "in":
                    continue
                if picked is not None and (name, port.name) == picked:
                    marks[("in", port.name)] = "ok"  # while held, its old input counts as free
                    continue
                why = commands.check_input(p, source, output, name, port.name, self.upstream)
                self.reasons[(name, port.name)] = why
                marks[("in", port.name)] = "refused" if why else "ok"
            if marks:
                item.set_marks(marks)
        if picked is not None:
            scene.show_wire(picked, False)
        self.wire = DragWire()
        scene.addItem(self.wire)
        self.start = scene.nodes[source].port_scene_pos("out", output)
        self.update(pos)

    def drop_target(self, pos: QPointF):
        """('port' | 'same', item, input, reason) or ('body', item, None, reason) or None."""
        hit = self.scene.port_at(pos)
        if hit is None:
            return None
        item, port = hit
        if port is not None and port.direction == "in":
            if self.picked == (item.name, port.name):
                return ("same", item, port.name, None)
            return ("port", item, port.name, self.reasons.get((item.name, port.name)))
        why = commands.check_input(
            self.scene.document.pipeline, self.source, self.output, item.name, None, self.upstream
        )
        return ("body", item, None, why)

    def update(self, pos: QPointF) -> None:
        target = self.drop_target(pos)
        end, valid, hover = pos, False, None
        if target is not None and target[0] in ("port", "same"):
            item, name, why = target[1], target[2], target[3]
            end = item.port_scene_pos("in", name)
            valid = why is None
            hover = (item.name, name, why)
        elif target is not None:
            hover = (target[1].name, None, target[3])
            valid = target[3] is None
        self.wire.set_ends(self.start, end)
        self.wire.set_valid(valid)
        if hover != self.hover:
            self._set_hover(hover)

    def _set_hover(self, hover: tuple | None) -> None:
        nodes = self.scene.nodes
        old = self.hover
        if old is not None and old[0] in nodes:
            item = nodes[old[0]]
            marks = dict(item._marks)
            if old[1] is not None:
                marks[("in", old[1])] = "refused" if old[2] else "ok"
            item.set_marks(marks, None)
        if hover is not None:
            item = nodes[hover[0]]
            marks = dict(item._marks)
            if hover[1] is not None:
                if not hover[2]:
                    marks[("in", hover[1])] = "target"
                item.set_marks(marks, None)
            else:
                item.set_marks(marks, "ok" if not hover[2] else "refused")
            if hover[2] and hover[0] != self.source:  # passing over its own node says nothing
                self.scene.message.emit(hover[2])
        self.hover = hover

    def finish(self, pos: QPointF) -> None:
        target = self.drop_target(pos)
        self.cancel()
        scene = self.scene
        p = scene.document.pipeline
        source, output, picked = self.source, self.output, self.picked
        if target is None:
            if picked is not None:
                scene.push(ch.disconnect(*picked), f"Disconnect {picked[0]}.{picked[1]}")
                return
            types = commands.compatible_types(p, source, output)
            scene.quickAddRequested.emit(pos, source, output, types)
            return
        kind, item, name, why = target
        if kind == "same":
            return
        if why:
            scene.message.emit(why)
            return
        try:
            if kind == "port":
                if picked is not None:
                    change = commands.move_wire_change(p, picked[0], picked[1], item.name, name)
                else:
                    change = commands.connect_change(p, source, output, item.name, name)
            else:
                change, _ = commands.connect_new_input_change(p, source, output, item.name)
                if picked is not None:
                    change = ch.Group([ch.disconnect(*picked), change], label=change.label)
        except commands.ConnectionRefused as exc:
            scene.message.emit(str(exc))
            return
        scene.push(change)

    def cancel(self) -> None:
        scene = self.scene
        if self.wire is not None:
            scene.removeItem(self.wire)
            self.wire = None
        for item in scene.nodes.values():
            if item._marks or item._body_mark:
                item.set_marks({}, None)
        if self.picked is not None:
            scene.show_wire(self.picked, True)
        scene.drag_ended(self)


class ReverseWireDrag:
    """From an unconnected input towards an output: outputs are marked, a drop on an output
    (or on a node with one output) connects, a drop on empty canvas opens quick-add for a node
    that feeds this input."""

    def __init__(self, scene: PipelineScene, target: str, input: str, pos: QPointF):
        import networkx as nx

        from engine.pipeline.graph import build_graph

        self.scene, self.target, self.input = scene, target, input
        p = scene.document.pipeline
        g = build_graph(p)
        self.downstream = nx.descendants(g, target) | {target}  # reading from these: a cycle
        self.reasons: dict[tuple[str, str], str | None] = {}
        self.hover: tuple | None = None
        for name, item in scene.nodes.items():
            marks = {}
            for port in item.ports:
                if port.direction == "out":
                    why = self._why(name, port.name)
                    self.reasons[(name, port.name)] = why
                    marks[("out", port.name)] = "refused" if why else "ok"
            if marks:
                item.set_marks(marks)
        self.wire = DragWire()
        scene.addItem(self.wire)
        self.end = scene.nodes[target].port_scene_pos("in", input)
        self.update(pos)

    def _why(self, source: str, output: str) -> str | None:
        if source == self.target:
            return "a node cannot read its own output"
        if source in self.downstream:
            return f"connecting {source} to {self.target} would make a cycle"
        p = self.scene.document.pipeline
        return commands.check_input(p, source, output, self.target, self.input, upstream=set())

    def drop_target(self, pos: QPointF):
        """(item, output, reason) or None; a node body counts when it has one output."""
        hit = self.scene.port_at(pos)
        if hit is None:
            return None
        item, port = hit
        if port is not None and port.direction == "out":
            return (item, port.name, self.reasons.get((item.name, port.name)))
        outs = [pv.name for pv in item.ports if pv.direction == "out"]
        if port is None and len(outs) == 1:
            return (item, outs[0], self.reasons.get((item.name, outs[0])))
        return None

    def update(self, pos: QPointF) -> None:
        target = self.drop_target(pos)
        start, valid, hover = pos, False, None
        if target is not None:
            item, output, why = target
            start = item.port_scene_pos("out", output)
            valid = why is None
            hover = (item.name, output, why)
        self.wire.set_ends(start, self.end)
        self.wire.set_valid(valid)
        if hover != self.hover:
            nodes = self.scene.nodes
            if self.hover is not None and self.hover[0] in nodes:
                item = nodes[self.hover[0]]
                marks = dict(item._marks)
                marks[("out", self.hover[1])] = "refused" if self.hover[2] else "ok"
                item.set_marks(marks)
            if hover is not None:
                item = nodes[hover[0]]
                if not hover[2]:
                    item.set_marks({**item._marks, ("out", hover[1]): "target"})
                else:
                    self.scene.message.emit(hover[2])
            self.hover = hover

    def finish(self, pos: QPointF) -> None:
        target = self.drop_target(pos)
        self.cancel()
        scene = self.scene
        if target is None:
            if scene.port_at(pos) is None:
                scene.quickAddUpstreamRequested.emit(pos, self.target, self.input)
            return
        item, output, why = target
        if why:
            scene.message.emit(why)
            return
        scene.connect_ports(item.name, output, self.target, self.input)

    def cancel(self) -> None:
        scene = self.scene
        if self.wire is not None:
            scene.removeItem(self.wire)
            self.wire = None
        for item in scene.nodes.values():
            if item._marks or item._body_mark:
                item.set_marks({}, None)
        scene.drag_ended(self)
