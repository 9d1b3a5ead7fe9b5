"""The canvas background: a subtle grid, and the wires.

Unselected wires are drawn here rather than by their items, so the view's background cache
holds them: a repaint that changes no geometry costs a blit. Far out, wires become straight
chords, one drawLines call per colour.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from . import style
from .items import GRID
from .wires import WireItem
from .wires import pens as wire_pens

MIN_GRID_PX = 7  # grid lines closer than this on screen are left out


class BackgroundPainter:
    def __init__(self) -> None:
        self._pens: tuple | None = None
        self._far_lines: dict | None = None

    def theme_changed(self) -> None:
        self._pens = None
        self._far_lines = None

    def wires_changed(self) -> None:
        self._far_lines = None

    def draw(self, scene, painter: QPainter, rect: QRectF) -> None:
        if self._pens is None:
            c = style.colors()
            self._pens = (
                QColor(c.background),
                QPen(QColor(c.grid_minor), 0),
                QPen(QColor(c.grid_major), 0),
            )
        bg, minor, major = self._pens
        painter.fillRect(rect, bg)
        scale = painter.worldTransform().m11()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for step, pen in ((GRID, minor), (GRID * 5, major)):
            if step * scale < MIN_GRID_PX:
                continue
            lines = []
            x = int(rect.left() // step) * step
            while x <= rect.right():
                if step == GRID * 5 or x % (GRID * 5):
                    lines.append(QLineF(x, rect.top(), x, rect.bottom()))
                x += step
            y = int(rect.top() // step) * step
            while y <= rect.bottom():
                if step == GRID * 5 or y % (GRID * 5):
                    lines.append(QLineF(rect.left(), y, rect.right(), y))
                y += step
            painter.setPen(pen)
            painter.drawLines(lines)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if scene.far:
            self._draw_chords(scene, painter)
            return
        for item in scene.items(rect, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
            if isinstance(item, WireItem) and item.isVisible():
                item.draw(painter, rect, scale)

    def _draw_chords(self, scene, painter: QPainter) -> None:
        if self._far_lines is None:
            pn = wire_pens()
            lines: dict = {}
            for wire in scene.wires.values():
                if wire.isVisible():
                    pen = pn.thin.get(wire.kind, pn.thin[None])
                    lines.setdefault(id(pen), (pen, []))[1].append(wire.chord())
            self._far_lines = lines
        for pen, lines in self._far_lines.values():
            painter.setPen(pen)
            painter.drawLines(lines)
