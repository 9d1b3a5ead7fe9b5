"""CanvasView: zoom to the cursor, pan (middle-drag or Space-drag), fit, rubber-band select,
Tab quick-add, keyboard delete, clipboard, and drops from the palette or the file manager.

The main window's menu actions call the public methods here (zoom_in, fit_to_view, copy, ...).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QMouseEvent, QPainter
from PySide6.QtWidgets import QApplication, QGraphicsView, QMenu

from engine.problems import PipelineError

from . import commands
from .contextmenu import context_menu
from .items import GRID
from .minimap import Minimap
from .quickadd import QuickAddPopup
from .rename import RenameEditor
from .scene import PipelineScene, snap
from .wires import FAR_LOD

NODE_TYPE_MIME = "application/x-pipeloom-node-type"  # what the palette drags
MIN_ZOOM, MAX_ZOOM = 0.05, 4.0
ZOOM_STEP = 1.25
PASTE_OFFSET = 40.0
_NUDGE = {
    Qt.Key.Key_Left: (-1, 0),
    Qt.Key.Key_Right: (1, 0),
    Qt.Key.Key_Up: (0, -1),
    Qt.Key.Key_Down: (0, 1),
}
AUTOSCROLL_MARGIN = 28  # px from the edge where a drag starts scrolling the view
AUTOSCROLL_STEP = 14


class CanvasView(QGraphicsView):
    message = Signal(str)  # refusals and hints, for the status bar
    zoomChanged = Signal(float)

    def __init__(self, scene: PipelineScene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlags(
            QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing
            | QGraphicsView.OptimizationFlag.DontSavePainterState
        )
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.viewport().setMouseTracking(True)  # hover feedback over ports
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._space_held = False
        self._fitted: tuple | None = None  # (names, zoom, centre) of the last fit_to_view
        self._paste_count = 0
        self.quick_add: QuickAddPopup | None = None
        self.context_menu: QMenu | None = None
        scene.message.connect(self.message)
        scene.quickAddRequested.connect(self._on_wire_dropped)
        scene.quickAddUpstreamRequested.connect(self._on_input_wire_dropped)
        scene.graphChanged.connect(self._on_graph_changed)
        self.minimap = Minimap(self)
        self.minimap.hide()
        self._graph_changed = QTimer(self)
        self._graph_changed.setSingleShot(True)
        self._graph_changed.setInterval(100)
        self._graph_changed.timeout.connect(self._after_graph_changed)
        self._autoscroll = QTimer(self)  # dragging near an edge scrolls the view that way
        self._autoscroll.setInterval(30)
        self._autoscroll.timeout.connect(self._autoscroll_step)
        self._autoscroll_to = QPoint()

    def _autoscroll_step(self) -> None:
        if not QApplication.mouseButtons() & Qt.MouseButton.LeftButton:
            self._autoscroll.stop()
            return
        r = self.viewport().rect()
        pos = self._autoscroll_to
        dx = dy = 0
        if pos.x() < AUTOSCROLL_MARGIN:
            dx = -AUTOSCROLL_STEP
        elif pos.x() > r.width() - AUTOSCROLL_MARGIN:
            dx = AUTOSCROLL_STEP
        if pos.y() < AUTOSCROLL_MARGIN:
            dy = -AUTOSCROLL_STEP
        elif pos.y() > r.height() - AUTOSCROLL_MARGIN:
            dy = AUTOSCROLL_STEP
        if not dx and not dy:
            return
        self._scroll_by(dx, dy)
        # a synthetic move lets the dragged nodes or wire follow the scrolled view
        move = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(pos),
            QPointF(self.viewport().mapToGlobal(pos)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton,
            QApplication.keyboardModifiers(),
        )
        QApplication.sendEvent(self.viewport(), move)
        self._after_view_change()

    @property
    def pipeline_scene(self) -> PipelineScene:
        return self.scene()

    # -- zoom and pan -----------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Scale by `factor`, keeping the scene point under `anchor` (viewport pos) in place."""
        current = self.zoom()
        factor = max(MIN_ZOOM / current, min(MAX_ZOOM / current, factor))
        if abs(factor - 1.0) < 1e-6:
            return
        anchor = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        self.scale(factor, factor)
        moved = QPointF(self.mapFromScene(before)) - anchor
        self._scroll_by(moved.x(), moved.y())
        self._after_view_change()
        self.zoomChanged.emit(self.zoom())

    def set_zoom(self, level: float) -> None:
        self.zoom_by(level / self.zoom())

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def reset_zoom(self) -> None:
        self.set_zoom(1.0)

    def fit_to_view(self, names=None) -> None:
        """Show every node (or the given ones), at most at 100%.

        The fit holds until the view is zoomed or panned: a resize refits (a window opened
        on a pipeline is fitted before it has its final size)."""
        rect = self.pipeline_scene.nodes_rect(names)
        if rect.isEmpty():
            return
        rect = rect.adjusted(-40, -40, 40, 40)
        self.resetTransform()
        view = self.viewport().rect()
        scale = min(view.width() / rect.width(), view.height() / rect.height(), 1.0)
        scale = max(MIN_ZOOM, scale)
        self.scale(scale, scale)
        self.centerOn(rect.center())
        self._fitted = (names, self.zoom(), self._centre())
        self._after_view_change()
        self.zoomChanged.emit(self.zoom())

    def _centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def _still_fitted(self) -> bool:
        """Neither zoomed nor panned since the last fit_to_view."""
        if self._fitted is None:
            return False
        _names, zoom, centre = self._fitted
        moved = (self._centre() - centre).manhattanLength() * zoom
        return abs(self.zoom() - zoom) < 1e-9 and moved < 3

    def reveal_node(self, name: str) -> None:
        """Select a node and bring it into view (used by the problems panel)."""
        item = self.pipeline_scene.nodes.get(name)
        if item is None:
            return
        self.pipeline_scene.select_nodes([name])
        self.ensureVisible(item.sceneBoundingRect(), 60, 60)
        self._after_view_change()

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and not (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self._pan_by(QPointF(delta / 2, 0))
        elif delta:
            self.zoom_by(pow(1.0015, delta), event.position())
        event.accept()

    def _pan_by(self, delta: QPointF) -> None:
        self._scroll_by(-delta.x(), -delta.y())
        self._after_view_change()

    def _scroll_by(self, dx: float, dy: float) -> None:
        # scrolling (not translating) lets Qt move the pixels and repaint only the new strip
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(dx))
        v.setValue(v.value() + round(dy))

    def _after_view_change(self) -> None:
        self.pipeline_scene.set_far(self.zoom() < FAR_LOD)
        if self.minimap.isVisible():
            self.minimap.update()
        self._update_minimap_visibility()

    def _on_graph_changed(self) -> None:
        self._graph_changed.start()  # a burst of edits measures the graph once

    def _after_graph_changed(self) -> None:
        self._update_minimap_visibility()
        if self.minimap.isVisible():
            self.minimap.schedule()

    def _update_minimap_visibility(self) -> None:
        """The minimap shows when the graph does not fit in the view."""
        nodes = self.pipeline_scene.nodes_rect()
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        want = len(self.pipeline_scene.nodes) > 1 and not visible.contains(nodes)
        if want != self.minimap.isVisible():
            self.minimap.setVisible(want)
            if want:
                self.minimap.schedule()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        m = 12
        self.minimap.move(
            self.viewport().width() - self.minimap.width() - m,
            self.viewport().height() - self.minimap.height() - m,
        )
        self._update_minimap_visibility()
        if self._still_fitted():
            self.fit_to_view(self._fitted[0])

    # -- mouse ------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and self._pan_from is None:
            self._autoscroll_to = event.position().toPoint()
            if not self._autoscroll.isActive():
                self._autoscroll.start()
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self._pan_by(QPointF(delta))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        self._autoscroll.stop()
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self.viewport().setCursor(
                Qt.CursorShape.OpenHandCursor if self._space_held else Qt.CursorShape.ArrowCursor
            )
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- keyboard ---------------------------------------------------------------------------------
    def event(self, event) -> bool:
        # Tab would move focus to the next widget; on the canvas it opens quick-add
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab:
            if not self._editing_text():
                self.open_quick_add(self._cursor_scene_pos())
                return True
        return super().event(event)

    def _editing_text(self) -> bool:
        return isinstance(self.scene().focusItem(), RenameEditor)

    def keyPressEvent(self, event) -> None:
        if self._editing_text():
            super().keyPressEvent(event)
            return
        key = event.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selection()
        elif key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif key == Qt.Key.Key_Escape:
            self.pipeline_scene.cancel_gesture()
            self.scene().clearSelection()
        elif key == Qt.Key.Key_F2:
            names = self.pipeline_scene.selected_nodes()
            if len(names) == 1:
                self.pipeline_scene.start_rename(names[0])
        elif key == Qt.Key.Key_Home:
            self.fit_to_view()
        elif event.matches(QKeySequence.StandardKey.Copy):
            self.copy()
        elif event.matches(QKeySequence.StandardKey.Cut):
            self.cut()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste_at_cursor()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.pipeline_scene.select_all()
        elif key == Qt.Key.Key_D and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.duplicate()
        elif event.matches(QKeySequence.StandardKey.ZoomIn) or key in (
            Qt.Key.Key_Plus,
            Qt.Key.Key_Equal,
        ):
            self.zoom_in()
        elif event.matches(QKeySequence.StandardKey.ZoomOut) or key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key in _NUDGE and self.pipeline_scene.selected_nodes():
            dx, dy = _NUDGE[key]
            step = GRID * (5 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1)
            self.pipeline_scene.nudge_selection(dx * step, dy * step)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            if self._pan_from is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _cursor_scene_pos(self, exact: bool = False) -> QPointF | None:
        """The scene point under the mouse; outside the view: its centre (None if exact)."""
        pos = self.viewport().mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(pos):
            if exact:
                return None
            pos = self.viewport().rect().center()
        return self.mapToScene(pos)

    # -- context menu -------------------------------------------------------------------------------
    def contextMenuEvent(self, event) -> None:
        self.context_menu = context_menu(self, self.mapToScene(event.pos()))
        self.context_menu.popup(event.globalPos())
        event.accept()

    # -- quick-add --------------------------------------------------------------------------------
    def open_quick_add(
        self,
        scene_pos: QPointF,
        source: str | None = None,
        output: str | None = None,
        types: list[str] | None = None,
    ) -> QuickAddPopup:
        """The searchable type list at `scene_pos`; the pick is added there (and wired to
        source.output when given), as one undo step."""
        if self.quick_add is not None:
            self.quick_add.close()
        title = f"Add a node reading {source}.{output}…" if source else "Add node…"
        popup = QuickAddPopup(types, title, self)
        popup.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(node_type: str) -> None:
            if source is not None:
                self.pipeline_scene.add_connected_node(node_type, scene_pos, source, output)
            else:
                self.pipeline_scene.add_node(node_type, scene_pos)
            popup.close()

        popup.chosen.connect(chosen)
        popup.destroyed.connect(lambda *_: setattr(self, "quick_add", None))
        self.quick_add = popup
        popup.popup_at(self.viewport().mapToGlobal(self.mapFromScene(scene_pos)))
        return popup

    def _on_input_wire_dropped(self, pos: QPointF, target: str, inp: str) -> None:
        types = commands.feeding_types(self.pipeline_scene.document.pipeline, target, inp)
        if self.quick_add is not None:
            self.quick_add.close()
        popup = QuickAddPopup(types, f"Add a node feeding {target}.{inp}…", self)
        popup.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(node_type: str) -> None:
            self.pipeline_scene.add_feeding_node(node_type, pos, target, inp)
            popup.close()

        popup.chosen.connect(chosen)
        popup.destroyed.connect(lambda *_: setattr(self, "quick_add", None))
        self.quick_add = popup
        popup.popup_at(self.viewport().mapToGlobal(self.mapFromScene(pos)))

    def _on_wire_dropped(self, pos: QPointF, source: str, output: str, types: list) -> None:
        if not types:
            self.message.emit(f"No node type can read {source}.{output}")
            return
        self.open_quick_add(pos, source, output, types)

    # -- edits ------------------------------------------------------------------------------------
    def delete_selection(self) -> bool:
        return self.pipeline_scene.delete_selection()

    def copy(self) -> bool:
        """Put the selected nodes on the system clipboard (MIME fragment + text)."""
        names = self.pipeline_scene.selected_nodes()
        if not names:
            return False
        text = commands.copy_text(self.pipeline_scene.document.pipeline, names)
        data = QMimeData()
        data.setData(commands.CLIPBOARD_MIME, text.encode("utf-8"))
        data.setText(text)
        QGuiApplication.clipboard().setMimeData(data)
        self._paste_count = 0
        return True

    def cut(self) -> bool:
        if not self.copy():
            return False
        return self.pipeline_scene.delete_selection()

    def paste(self, text: str | None = None, at: QPointF | None = None) -> list[str]:
        """Paste the clipboard's nodes as one undo step: with their top-left at `at` (a scene
        point) when given, else shifted from where they were copied so pastes do not stack."""
        if text is None:
            data = QGuiApplication.clipboard().mimeData()
            if data is None:
                return []
            if data.hasFormat(commands.CLIPBOARD_MIME):
                text = bytes(data.data(commands.CLIPBOARD_MIME)).decode("utf-8")
            elif data.hasText():
                text = data.text()
            else:
                return []
        self._paste_count += 1
        offset = (PASTE_OFFSET * self._paste_count, PASTE_OFFSET * self._paste_count)
        where = None if at is None else (snap(at.x()), snap(at.y()))
        try:
            change, names = commands.paste_change(
                self.pipeline_scene.document.pipeline, text, offset, where
            )
        except PipelineError as exc:  # the clipboard holds something that is not a fragment
            self.message.emit(str(exc.problems[0].message if exc.problems else exc))
            return []
        if not self.pipeline_scene.push(change):
            return []
        self.pipeline_scene.select_nodes(names)
        return names

    def paste_at_cursor(self) -> list[str]:
        """Paste under the mouse when it is over the canvas (a shortcut), else shifted (a menu)."""
        return self.paste(at=self._cursor_scene_pos(exact=True))

    def duplicate(self) -> list[str]:
        names = self.pipeline_scene.selected_nodes()
        if not names:
            return []
        text = commands.copy_text(self.pipeline_scene.document.pipeline, names)
        self._paste_count = 0
        return self.paste(text)

    def auto_layout(self) -> bool:
        done = self.pipeline_scene.auto_layout()
        if done:
            self.fit_to_view()
        return done

    # -- drops from the palette and the file manager ------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME) or event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME) or event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        data = event.mimeData()
        pos = self.mapToScene(event.position().toPoint())
        if data.hasFormat(NODE_TYPE_MIME):
            node_type = bytes(data.data(NODE_TYPE_MIME)).decode()
            self.pipeline_scene.add_node(node_type, pos)
            event.acceptProposedAction()
            return
        if data.hasUrls():
            paths = [u.toLocalFile() for u in data.urls() if u.isLocalFile()]
            if paths and self.add_datasets(paths, pos):
                event.acceptProposedAction()
                return
        super().dropEvent(event)

    def add_datasets(self, paths: list[str], pos: QPointF) -> list[str]:
        """Dataset nodes for dropped files/folders (paths relative to the pipeline file)."""
        scene = self.pipeline_scene
        change, names = commands.datasets_change(
            scene.document.pipeline, paths, scene.document.base_dir, (snap(pos.x()), snap(pos.y()))
        )
        if change is not None and scene.push(change):
            scene.select_nodes(names)
            return names
        return []

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()
