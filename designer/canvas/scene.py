"""PipelineScene: items that mirror a Document's pipeline, and the gestures that edit it.

The scene observes `Document.modelEvent` and adds/removes/updates items; it never changes the
model itself: gestures (drag a wire, move, rename, delete) become engine Changes pushed to the
document, one undo step each. Events inside a Group are collected and applied at its end.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsScene, QToolTip

from designer.document import Document
from engine.pipeline import changes as ch
from engine.problems import Problem

from . import commands, style
from .background import BackgroundPainter
from .connecting import ReverseWireDrag, WireDrag
from .items import NodeItem, PortView
from .mirror import ModelMirror, snap
from .rename import RenameEditor
from .wires import DragWire, WireItem

SCENE_EXTENT = 200_000.0  # the scene rect: room to pan anywhere


MAX_LIT_NODES = 50  # selecting more nodes than this does not highlight their wires


class PipelineScene(ModelMirror, QGraphicsScene):
    message = Signal(str)  # a refusal or hint for the status bar
    graphChanged = Signal()  # nodes/wires added, removed or moved (the minimap listens)
    quickAddRequested = Signal(QPointF, str, str, list)  # scene pos, source, output, types
    quickAddUpstreamRequested = Signal(QPointF, str, str)  # scene pos, target, input
    renameStarted = Signal(str)
    nodeActivated = Signal(str)  # double-click on a node's body (e.g. show the inspector)

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.snap_to_grid = True
        self.setSceneRect(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.nodes: dict[str, NodeItem] = {}
        self.wires: dict[tuple[str, str], WireItem] = {}
        self._out: dict[str, set[tuple[str, str]]] = {}
        self._auto_positions: dict[str, tuple[float, float]] = {}
        self._problems: dict[str, list[Problem]] = {}
        self._batch = 0
        self._dirty: set[str] = set()
        self._added: set[str] = set()
        self._press_positions: dict[str, QPointF] = {}
        self._drag: WireDrag | ReverseWireDrag | None = None  # the wire being dragged
        self._over_port = False
        self._nodes_rect: QRectF | None = None
        self._background = BackgroundPainter()
        self.far = False  # zoomed far out: wires are drawn as one batch of chords
        self._build()
        self.selectionChanged.connect(self._raise_selected)
        self._raised: list[NodeItem] = []
        self._selected_wires: list[WireItem] = []
        document.modelEvent.connect(self._on_model_event)
        document.problemsChanged.connect(self.set_problems)
        self._stop_theme = style.on_theme_changed(self._on_theme_changed)
        self.destroyed.connect(lambda *_: self._stop_theme())
        if document.problems:
            self.set_problems(document.problems)

    def _raise_selected(self) -> None:
        """Selected nodes draw above the others (a dragged node never slides under one)."""
        for item in self._raised:
            item.setZValue(0.0)
        self._raised = [i for i in self.selectedItems() if isinstance(i, NodeItem)]
        for item in self._raised:
            item.setZValue(1.0)
        # selected wires, and the wires of selected nodes, draw highlighted on top
        lit = [i for i in self.selectedItems() if isinstance(i, WireItem)]
        if len(self._raised) <= MAX_LIT_NODES:
            for item in self._raised:
                lit += [self.wires[k] for k in self._input_wire_keys(item)]
                lit += [self.wires[k] for k in self._out.get(item.name, ()) if k in self.wires]
        keep = set(map(id, lit))
        for wire in self._selected_wires:
            if id(wire) not in keep:
                wire.set_selected_look(False)
        self._selected_wires = lit
        for wire in lit:
            wire.set_selected_look(True)

    # -- problems and run status --------------------------------------------------------------
    def set_problems(self, problems: list[Problem]) -> None:
        by_node: dict[str, list[Problem]] = {}
        for problem in problems:
            if problem.node:
                by_node.setdefault(problem.node, []).append(problem)
        for name in set(by_node) | set(self._problems):
            item = self.nodes.get(name)
            new = by_node.get(name, [])
            if item is not None and new != self._problems.get(name, []):
                item.set_problems(new)
        self._problems = by_node

    def set_run_status(self, node: str, status: str | None) -> None:
        item = self.nodes.get(node)
        if item is not None:
            item.set_run_status(status)

    def set_run_progress(self, node: str, fraction: float | None) -> None:
        item = self.nodes.get(node)
        if item is not None:
            item.set_run_progress(fraction)

    def clear_run_status(self) -> None:
        """Forget every status pill and progress bar (a new run starts)."""
        for item in self.nodes.values():
            if item.run_status() is not None:
                item.set_run_status(None)
            if item.run_progress() is not None:
                item.set_run_progress(None)

    def _on_theme_changed(self) -> None:
        self._background.theme_changed()
        self.invalidate_background()
        for item in self.items():
            item.update()
        self.update()

    # -- selection ------------------------------------------------------------------------------
    def selected_nodes(self) -> list[str]:
        names = [i.name for i in self.selectedItems() if isinstance(i, NodeItem)]
        if len(names) < 2:  # a click selects one: no need to rank every node
            return names
        order = {n: i for i, n in enumerate(self.document.pipeline.nodes)}
        return sorted(names, key=lambda n: order.get(n, 0))

    def selected_wires(self) -> list[tuple[str, str]]:
        return [i.key for i in self.selectedItems() if isinstance(i, WireItem)]

    def select_nodes(self, names) -> None:
        self.clearSelection()
        for n in names:
            if n in self.nodes:
                self.nodes[n].setSelected(True)

    def select_all(self) -> None:
        for item in self.nodes.values():
            item.setSelected(True)

    def nodes_rect(self, names=None) -> QRectF:
        """The scene rect of the given nodes (all by default; cached: panning asks often)."""
        if names is None and self._nodes_rect is not None:
            return QRectF(self._nodes_rect)
        rect = QRectF()
        for n in names if names is not None else self.nodes:
            if n in self.nodes:
                item = self.nodes[n]
                rect = rect.united(item.sceneBoundingRect())
        if names is None:
            self._nodes_rect = QRectF(rect)
        return rect

    # -- edits ------------------------------------------------------------------------------------
    def push(self, change: ch.Change | None, text: str | None = None) -> bool:
        """Push one undo step; a refused change becomes a message, never a traceback."""
        if change is None:
            return False
        try:
            self.document.push(change, text)
        except (ValueError, KeyError) as exc:
            self.message.emit(str(exc).strip("'\""))
            return False
        return True

    def nudge_selection(self, dx: float, dy: float) -> bool:
        """Move the selected nodes by (dx, dy), one undo step (arrow keys)."""
        moves = {}
        for name in self.selected_nodes():
            pos = self.nodes[name].pos()
            moves[name] = (pos.x() + dx, pos.y() + dy)
        if not moves:
            return False
        label = "Move node" if len(moves) == 1 else f"Move {len(moves)} nodes"
        return self.push(commands.move_change(self._with_unplaced(moves), label))

    def delete_selection(self) -> bool:
        change = commands.delete_change(
            self.document.pipeline, self.selected_nodes(), self.selected_wires()
        )
        return self.push(change)

    def connect_ports(self, source: str, output: str, target: str, inp: str) -> bool:
        try:
            change = commands.connect_change(self.document.pipeline, source, output, target, inp)
        except commands.ConnectionRefused as exc:
            self.message.emit(str(exc))
            return False
        return self.push(change)

    def add_connected_node(
        self, node_type: str, pos: QPointF, source: str, output: str
    ) -> str | None:
        """Quick-add's result: a new node at `pos` reading source.output, one undo step."""
        return self._add_wired_node(
            commands.add_connected_node_change, node_type, pos, source, output
        )

    def add_feeding_node(self, node_type: str, pos: QPointF, target: str, inp: str) -> str | None:
        """Quick-add from an input: a new node at `pos` whose output feeds target.inp."""
        return self._add_wired_node(commands.add_feeding_node_change, node_type, pos, target, inp)

    def _add_wired_node(self, make_change, node_type: str, pos: QPointF, node: str, port: str):
        """Create a node at `pos` wired to node.port by `make_change`; select it; one undo step."""
        pos = self._snapped(pos)
        try:
            change, name = make_change(
                self.document.pipeline, node_type, (pos.x(), pos.y()), node, port
            )
        except commands.ConnectionRefused as exc:
            self.message.emit(str(exc))
            return None
        if self.push(change):
            self.select_nodes([name])
            return name
        return None

    def add_node(self, node_type: str, pos: QPointF) -> str | None:
        pos = self._snapped(pos)
        change, name = commands.add_node_change(
            self.document.pipeline, node_type, (pos.x(), pos.y())
        )
        if self.push(change):
            self.select_nodes([name])
            return name
        return None

    def _snapped(self, pos: QPointF) -> QPointF:
        return QPointF(snap(pos.x()), snap(pos.y())) if self.snap_to_grid else QPointF(pos)

    def auto_layout(self) -> bool:
        from designer.layout import auto_layout_change

        sizes = {n: item.size() for n, item in self.nodes.items()}
        return self.push(auto_layout_change(self.document.pipeline, sizes))

    # -- rename in place ------------------------------------------------------------------------
    def start_rename(self, name: str) -> RenameEditor | None:
        item = self.nodes.get(name)
        if item is None:
            return None
        if item.editor is not None:
            return item.editor
        editor = RenameEditor(item, self.finish_rename)
        self.renameStarted.emit(name)
        return editor

    def finish_rename(self, item: NodeItem, text: str | None) -> None:
        editor, item.editor = item.editor, None
        if editor is not None:
            editor.setParentItem(None)
            self.removeItem(editor)
        item.update()
        if text is None:
            return
        new = text.strip()
        problem = commands.rename_problem(self.document.pipeline, item.name, new)
        if problem:
            self.message.emit(problem)
            return
        if new != item.name:
            change = ch.RenameNode(item.name, new)
            self.push(change, f"Rename {item.name} to {new}")

    # -- mouse: wires and moves -----------------------------------------------------------------
    def port_at(self, pos: QPointF) -> tuple[NodeItem, PortView] | tuple[NodeItem, None] | None:
        """The port (or else the node body) under scene `pos`."""
        around = QRectF(pos.x() - 14, pos.y() - 14, 28, 28)
        body = None
        for it in self.items(around, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
            if isinstance(it, NodeItem):
                port = it.port_at(it.mapFromScene(pos))
                if port is not None:
                    return it, port
                if body is None and it.shape().contains(it.mapFromScene(pos)):
                    body = it
        return (body, None) if body is not None else None

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.port_at(event.scenePos())
            if hit is not None and hit[1] is not None:
                item, port = hit
                if port.direction == "out":
                    self._begin_wire_drag(item.name, port.name, event.scenePos(), None)
                    event.accept()
                    return
                wire = self.wires.get((item.name, port.name))
                if wire is not None:  # pick the wire up by its input end
                    self._begin_wire_drag(
                        wire.source, wire.output, event.scenePos(), (item.name, port.name)
                    )
                    event.accept()
                    return
                self._drag = ReverseWireDrag(self, item.name, port.name, event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)
        self._press_positions = {
            i.name: i.pos() for i in self.selectedItems() if isinstance(i, NodeItem)
        }

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            self._drag.update(event.scenePos())
            event.accept()
            return
        if event.buttons() == Qt.MouseButton.NoButton:
            self._update_port_cursor(event)
        super().mouseMoveEvent(event)
        if self._press_positions and event.buttons() & Qt.MouseButton.LeftButton:
            self._nodes_rect = None
            for name in self._press_positions:  # wires follow the nodes being dragged
                self._update_wire_ends(name)

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag.finish(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self._press_positions:
            self._commit_moves()

    def _update_port_cursor(self, event) -> None:
        """A crosshair over ports says "drag from here to connect"."""
        hit = self.port_at(event.scenePos())
        over_port = hit is not None and hit[1] is not None
        viewport = event.widget()
        if viewport is None or over_port == self._over_port:
            return
        self._over_port = over_port
        if over_port:
            viewport.setCursor(Qt.CursorShape.CrossCursor)
        elif viewport.cursor().shape() == Qt.CursorShape.CrossCursor:
            viewport.unsetCursor()

    def _commit_moves(self) -> None:
        moves = {}
        for name, before in self._press_positions.items():
            item = self.nodes.get(name)
            if item is None or item.pos() == before:
                continue
            pos = self._snapped(item.pos())
            moves[name] = (pos.x(), pos.y())
        self._press_positions = {}
        if not moves:
            return
        label = "Move node" if len(moves) == 1 else f"Move {len(moves)} nodes"
        if not self.push(commands.move_change(self._with_unplaced(moves), label)):
            self._flush_positions(moves)

    def _with_unplaced(self, moves: dict) -> dict:
        """Nodes shown at a computed place get it saved with the first move, so the picture
        the user arranged stays the same when the file is opened again."""
        all_moves = dict(moves)
        for name, node in self.document.pipeline.nodes.items():
            if node.position is None and name not in all_moves and name in self.nodes:
                pos = self.nodes[name].pos()
                all_moves[name] = (pos.x(), pos.y())
        return all_moves

    def _flush_positions(self, names) -> None:
        self._dirty.update(names)
        self._flush()

    def mouseDoubleClickEvent(self, event) -> None:
        hit = self.port_at(event.scenePos())
        if hit is not None and hit[1] is None:
            item = hit[0]
            if item.title_rect().contains(item.mapFromScene(event.scenePos())):
                self.start_rename(item.name)
            else:
                self.nodeActivated.emit(item.name)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def _begin_wire_drag(self, source: str, output: str, pos: QPointF, picked) -> None:
        self._drag = WireDrag(self, source, output, pos, picked)

    def drag_ended(self, drag: WireDrag) -> None:
        if self._drag is drag:
            self._drag = None

    @property
    def _drag_wire(self) -> DragWire | None:
        return self._drag.wire if self._drag is not None else None

    def show_wire(self, key: tuple[str, str], visible: bool) -> None:
        """Hide a wire while it is held by its input end (and show it again)."""
        wire = self.wires.get(key)
        if wire is not None:
            wire.setVisible(visible)
            wire.invalidate_drawing()
            self._wires_changed()

    def cancel_gesture(self) -> None:
        if self._drag is not None:
            self._drag.cancel()

    def helpEvent(self, event) -> None:
        """A node's tooltip is written when asked for, from what it shows now (nodes keep no
        tooltip text: a big pipeline would build thousands that are never read)."""
        for item in self.items(event.scenePos()):
            if isinstance(item, NodeItem):
                QToolTip.showText(event.screenPos(), item.tooltip_text(), event.widget())
                event.accept()
                return
            if item.toolTip():
                break
        super().helpEvent(event)

    # -- background: grid and wires ------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        self._background.draw(self, painter, rect)

    def invalidate_background(self) -> None:
        """Redraw the whole background (views cache it). A null rect would not do: a view
        maps it to an empty area and keeps its cache."""
        self.invalidate(self.sceneRect(), QGraphicsScene.SceneLayer.BackgroundLayer)

    def set_far(self, far: bool) -> None:
        """Below FAR_LOD wires are drawn as straight chords, one call per colour (the zoom of
        the scene's first view decides)."""
        if far == self.far:
            return
        self.far = far
        self._background.wires_changed()
        self.invalidate_background()

    def _wires_changed(self) -> None:
        if self.far:
            self._background.wires_changed()
            self.invalidate_background()
