"""Minimap: an overview of the whole graph in a view corner; click or drag to navigate.

It paints node rects from the scene's items into a cached image, rebuilt (debounced) when the
graph changes, so it costs nothing while the user pans.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from . import style

MINIMAP_SIZE = QSize(190, 124)
MARGIN = 8.0


class Minimap(QWidget):
    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.setFixedSize(MINIMAP_SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._image: QImage | None = None
        self._world = QRectF()
        self._scale = 1.0
        self._offset = QPointF()
        self._rebuild = QTimer(self)
        self._rebuild.setSingleShot(True)
        self._rebuild.setInterval(150)
        self._rebuild.timeout.connect(self.rebuild)
        self._first = QTimer(self)  # the first image: right after the paint that asked for it
        self._first.setSingleShot(True)
        self._first.setInterval(0)
        self._first.timeout.connect(self.rebuild)
        self._stop_theme = style.on_theme_changed(self.schedule)
        self.destroyed.connect(lambda *_: self._stop_theme())

    def schedule(self) -> None:
        self._rebuild.start()

    def world_rect(self) -> QRectF:
        return self._world

    def rebuild(self) -> None:
        """Redraw the node overview from the scene (positions and kinds)."""
        scene = self.view.scene()
        c = style.colors()
        ratio = self.devicePixelRatioF()
        image = QImage(self.size() * ratio, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(Qt.GlobalColor.transparent)
        world = scene.nodes_rect() if scene is not None else QRectF()
        if world.isEmpty():
            world = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        world = world.adjusted(-40, -40, 40, 40)
        self._world = world
        w, h = self.width() - 2 * MARGIN, self.height() - 2 * MARGIN
        self._scale = min(w / max(world.width(), 1.0), h / max(world.height(), 1.0))
        self._offset = QPointF(
            MARGIN + (w - world.width() * self._scale) / 2 - world.left() * self._scale,
            MARGIN + (h - world.height() * self._scale) / 2 - world.top() * self._scale,
        )
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(c.minimap_fill)
        fill.setAlpha(235)
        p.setPen(QPen(QColor(c.node_border), 1))
        p.setBrush(fill)
        p.drawRoundedRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), 6, 6)
        p.setPen(Qt.PenStyle.NoPen)
        if scene is not None:  # one batch of rects per node kind
            scale, dx, dy = self._scale, self._offset.x(), self._offset.y()
            by_kind: dict[str, list[QRectF]] = {}
            for item in scene.nodes.values():
                w, h = item.size()
                by_kind.setdefault(item.node_type, []).append(
                    QRectF(
                        item.x() * scale + dx,
                        item.y() * scale + dy,
                        max(1.5, w * scale),
                        max(1.5, h * scale),
                    )
                )
            for kind, rects in by_kind.items():
                p.setBrush(QColor(c.accent(kind)))
                p.drawRects(rects)
        p.end()
        self._image = image
        self.update()

    def _to_map(self, r: QRectF) -> QRectF:
        return QRectF(
            r.left() * self._scale + self._offset.x(),
            r.top() * self._scale + self._offset.y(),
            max(1.5, r.width() * self._scale),
            max(1.5, r.height() * self._scale),
        )

    def map_to_scene(self, pos: QPointF) -> QPointF:
        return QPointF(
            (pos.x() - self._offset.x()) / self._scale, (pos.y() - self._offset.y()) / self._scale
        )

    def paintEvent(self, event) -> None:
        if self._image is None:  # drawn just after: a new canvas paints first, then this
            self._first.start()
            return
        p = QPainter(self)
        p.drawImage(0, 0, self._image)
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        c = style.colors()
        colour = QColor(c.minimap_view)
        p.setPen(QPen(colour, 1.5))
        colour.setAlpha(18)
        p.setBrush(colour)
        rect = self._to_map(visible).intersected(QRectF(1, 1, self.width() - 2, self.height() - 2))
        p.drawRect(rect)
        p.end()

    def mousePressEvent(self, event) -> None:
        self.view.centerOn(self.map_to_scene(event.position()))
        self.update()
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self.map_to_scene(event.position()))
            self.update()
        event.accept()
