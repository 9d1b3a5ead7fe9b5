"""Keeping the scene's items equal to the model: build once, then apply model events.

A mixin of PipelineScene (plain Python, so Qt's single QObject base stays the scene's). Events
inside a Group are collected and applied at its end, so a 1,000-node change is one pass.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF

from engine.pipeline import layout as engine_layout
from engine.pipeline.model import Event, output_kind

from .items import GRID, NodeItem
from .wires import WireItem

_NO_SOURCES: dict = {}


def snap(value: float, step: float = GRID) -> float:
    return round(value / step) * step


class ModelMirror:
    """Needs from the scene: document, nodes, wires, _out, _auto_positions, _problems,
    _batch, _dirty, _added, _nodes_rect, graphChanged, _wires_changed, addItem, removeItem."""

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        """Items for the whole pipeline. Each input is resolved once here (the items and
        wires reuse it) and wires are routed from plain coordinates: a 5,000-node file is
        built in a few tenths of a second."""
        p = self.document.pipeline
        sources: dict[str, dict[str, tuple]] = {}  # node -> input -> (source node, output)
        used: dict[str, set[str]] = {}  # node -> its outputs feeding a wire
        for name, node in p.nodes.items():
            mine = None
            for port in node.inputs:
                if port.source is not None:
                    resolved = p.resolve_output(port.source)
                    if mine is None:
                        mine = sources[name] = {}
                    mine[port.name] = resolved
                    if resolved is not None and resolved[0].name != name:
                        self._out.setdefault(resolved[0].name, set()).add((name, port.name))
                        used.setdefault(resolved[0].name, set()).add(resolved[1])
        for name, node in p.nodes.items():
            item = NodeItem(node, p, used.get(name), sources.get(name, _NO_SOURCES))
            self.nodes[name] = item
            if node.position is not None:
                item.setPos(node.position[0], node.position[1])
            self.addItem(item)
        self._place_unplaced()
        nodes = self.nodes
        for source, keys in self._out.items():
            src_item = nodes[source]
            src_x, src_y = src_item.x(), src_item.y()
            for target, inp in keys:
                src, output = sources[target][inp]
                wire = WireItem(source, output, target, inp, output_kind(src, output))
                x0, y0 = src_item.port_offset("out", output)
                item = nodes[target]
                x1, y1 = item.port_offset("in", inp)
                wire.set_end_coords(src_x + x0, src_y + y0, item.x() + x1, item.y() + y1)
                self.wires[(target, inp)] = wire
                self.addItem(wire)
        self._wires_changed()

    def _place_unplaced(self, names: list[str] | None = None) -> None:
        """Nodes without a saved position are laid out (view only) beside the placed ones."""
        p = self.document.pipeline
        unplaced = names or [n for n, node in p.nodes.items() if node.position is None]
        if not unplaced:
            return
        placed = [self.nodes[n] for n, node in p.nodes.items() if node.position is not None]
        origin = (0.0, 0.0)
        if placed:
            bottom = max(i.pos().y() + i.rect().height() for i in placed)
            left = min(i.pos().x() for i in placed)
            origin = (left, snap(bottom + 3 * GRID))
        sub = p.copy()
        keep = set(unplaced)
        for n in list(sub.nodes):
            if n not in keep:
                del sub.nodes[n]
        sizes = {n: self.nodes[n].size() for n in unplaced}
        for n, (x, y) in engine_layout.layout(sub, sizes, origin=origin).items():
            pos = (snap(x), snap(y))
            self._auto_positions[n] = pos
            self.nodes[n].setPos(*pos)

    def _connected_outputs(self, name: str) -> set[str]:
        return {self._wire_output(k) for k in self._out.get(name, ())}

    def _wire_output(self, key: tuple[str, str]) -> str:
        wire = self.wires.get(key)
        if wire is not None:
            return wire.output
        port = self.document.pipeline.nodes[key[0]].input(key[1])
        resolved = self.document.pipeline.resolve_output(port.source)
        return resolved[1] if resolved else ""

    def _make_wire(self, source: str, target: str, inp: str) -> WireItem | None:
        p = self.document.pipeline
        port = p.nodes[target].input(inp)
        resolved = p.resolve_output(port.source) if port and port.source else None
        if resolved is None or resolved[0].name not in self.nodes or target not in self.nodes:
            return None
        src, output = resolved
        wire = WireItem(src.name, output, target, inp, output_kind(src, output))
        wire.set_ends(
            self.nodes[src.name].port_scene_pos("out", output),
            self.nodes[target].port_scene_pos("in", inp),
        )
        self.wires[(target, inp)] = wire
        self._out.setdefault(src.name, set()).add((target, inp))
        self.addItem(wire)
        wire.invalidate_drawing()
        self._wires_changed()
        return wire

    def _remove_wire(self, key: tuple[str, str]) -> None:
        wire = self.wires.pop(key, None)
        if wire is None:
            return
        outs = self._out.get(wire.source)
        if outs is not None:
            outs.discard(key)
        self._dirty.add(wire.source)
        wire.invalidate_drawing()
        self.removeItem(wire)
        self._wires_changed()

    # -- model events -----------------------------------------------------------------------
    def _on_model_event(self, event: Event) -> None:
        kind = event.kind
        if kind == "batch_begin":
            self._batch += 1
            return
        if kind == "batch_end":
            self._batch = max(0, self._batch - 1)
        elif kind == "node_renamed":
            self._rename_items(event.data["old"], event.node)
        elif kind == "node_added":
            self._added.add(event.node)
            self._dirty.add(event.node)
        elif kind == "port_changed" and event.data.get("field") == "source":
            self._dirty.add(event.node)
            for ref in (event.data.get("old"), event.data.get("new")):
                if ref is not None:
                    self._dirty.add(ref.node)
        elif kind in ("node_moved", "node_changed", "node_removed") or kind.startswith("port_"):
            self._dirty.add(event.node)
        else:
            return
        if self._batch == 0:
            self._flush()

    def _rename_items(self, old: str, new: str) -> None:
        item = self.nodes.pop(old, None)
        if item is not None:
            item.name = new
            self.nodes[new] = item
        if old in self._problems:
            self._problems[new] = self._problems.pop(old)
        for key in [k for k in self.wires if k[0] == old]:
            wire = self.wires.pop(key)
            wire.target = new
            self.wires[(new, key[1])] = wire
            if wire.source in self._out:
                self._out[wire.source].discard(key)
                self._out[wire.source].add((new, key[1]))
        outs = self._out.pop(old, set())
        for key in outs:
            self.wires[key].source = new
        if outs:
            self._out[new] = outs
        if old in self._auto_positions:
            self._auto_positions[new] = self._auto_positions.pop(old)
        self._dirty.add(new)
        self._dirty.update(k[0] for k in outs)

    def _flush(self) -> None:
        p = self.document.pipeline
        dirty, self._dirty = self._dirty, set()
        added, self._added = self._added, set()
        for name in dirty:  # items first, so wires find both ends
            node = p.nodes.get(name)
            item = self.nodes.get(name)
            if node is None and item is not None:
                for key in self._input_wire_keys(item):
                    self._remove_wire(key)
                for key in list(self._out.get(name, ())):
                    self._remove_wire(key)
                self._out.pop(name, None)
                self.removeItem(item)
                del self.nodes[name]
                self._auto_positions.pop(name, None)
            elif node is not None and item is None:
                item = NodeItem(node, p)
                self.nodes[name] = item
                self.addItem(item)
        unplaced = []
        for name in dirty:
            node = p.nodes.get(name)
            if node is None:
                continue
            item = self.nodes[name]
            if node.position is not None:
                if item.pos() != QPointF(*node.position):
                    item.setPos(*node.position)
            elif name in self._auto_positions:
                item.setPos(*self._auto_positions[name])
            else:
                unplaced.append(name)
        if unplaced:
            self._place_unplaced(unplaced)
        touched = set(dirty)
        for name in added:  # inputs elsewhere that were waiting for this node
            for other, _port in p.consumers(name):
                touched.add(other.name)
        for name in list(touched):
            node = p.nodes.get(name)
            if node is None:
                continue
            item = self.nodes.get(name)
            for key in self._input_wire_keys(item) if item is not None else ():
                if node.input(key[1]) is None:  # the input was removed or renamed
                    self._remove_wire(key)
            for port in node.inputs:
                touched |= self._sync_wire(name, port.name)
            for key in list(self._out.get(name, ())):
                touched |= self._sync_wire(*key)
        touched |= self._dirty
        self._dirty = set()
        for name in touched:
            node = p.nodes.get(name)
            if node is not None and name in self.nodes:
                self.nodes[name].sync(node, p, self._connected_outputs(name))
                for key in self._out.get(name, ()):  # an output's kind colours its wires
                    wire = self.wires.get(key)
                    if wire is not None and wire.kind != output_kind(node, wire.output):
                        wire.kind = output_kind(node, wire.output)
                        wire.invalidate_drawing()
                        self._wires_changed()
                self._update_wire_ends(name)
        for name in added:  # a node back from undo shows its last known problems at once
            if name in self.nodes and name in self._problems:
                self.nodes[name].set_problems(self._problems[name])
        self._nodes_rect = None
        self.graphChanged.emit()

    def _input_wire_keys(self, item: NodeItem) -> list[tuple[str, str]]:
        """Wires into `item` as it is drawn now (its ports are the model's before this flush)."""
        return [
            (item.name, pv.name)
            for pv in item.ports
            if pv.direction == "in" and (item.name, pv.name) in self.wires
        ]

    def _sync_wire(self, target: str, inp: str) -> set[str]:
        """Make the wire into target.inp match the model; returns the nodes whose look changed."""
        p = self.document.pipeline
        node = p.nodes.get(target)
        port = node.input(inp) if node else None
        resolved = p.resolve_output(port.source) if port is not None and port.source else None
        want = None
        if resolved is not None and resolved[0].name in self.nodes and resolved[0].name != target:
            want = (resolved[0].name, resolved[1])
        wire = self.wires.get((target, inp))
        have = (wire.source, wire.output) if wire else None
        if want == have:
            return set()
        changed = {target}
        if wire is not None:
            changed.add(wire.source)
            self._remove_wire((target, inp))
        if want is not None:
            self._make_wire(want[0], target, inp)
            changed.add(want[0])
        return changed

    def _update_wire_ends(self, name: str) -> None:
        item = self.nodes.get(name)
        if item is None:
            return
        self._wires_changed()
        for port in item.ports:
            if port.direction == "in":
                wire = self.wires.get((name, port.name))
                if wire is not None:
                    wire.set_ends(
                        self.nodes[wire.source].port_scene_pos("out", wire.output),
                        item.mapToScene(port.centre),
                    )
        for key in self._out.get(name, ()):
            wire = self.wires.get(key)
            if wire is not None and wire.target in self.nodes:
                wire.set_ends(
                    item.port_scene_pos("out", wire.output),
                    self.nodes[wire.target].port_scene_pos("in", wire.input),
                )
