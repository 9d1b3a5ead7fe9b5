"""Wires: a cubic bezier from an output port to an input port, and the wire being dragged."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyle

from . import style

WIRE_WIDTH = 2.0
HIT_WIDTH = 10.0


def bezier(p0: QPointF, p1: QPointF) -> QPainterPath:
    """A left-to-right S curve; a wire going backwards loops out so it stays readable."""
    dx = p1.x() - p0.x()
    reach = max(40.0, abs(dx) * 0.5) if dx >= 0 else max(80.0, abs(dx) * 0.35 + 60)
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x() + reach, p0.y()), QPointF(p1.x() - reach, p1.y()), p1)
    return path


class _WirePens:
    def __init__(self) -> None:
        c = style.colors()
        self.generation = style.generation()
        self.kinds = {}
        for kind in ("tabular", "file", None):
            col = QColor(c.port_color(kind))
            mixed = QColor(c.wire)
            t = 0.45
            col = QColor.fromRgbF(
                mixed.redF() * (1 - t) + col.redF() * t,
                mixed.greenF() * (1 - t) + col.greenF() * t,
                mixed.blueF() * (1 - t) + col.blueF() * t,
            )
            pen = QPen(col, WIRE_WIDTH)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            self.kinds[kind] = pen
        self.thin = {k: QPen(p.color(), 0) for k, p in self.kinds.items()}  # cosmetic when far out
        self.selected = QPen(QColor(c.wire_selected), WIRE_WIDTH + 1.2)
        self.selected.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.dragging = QPen(QColor(c.wire_selected), WIRE_WIDTH, Qt.PenStyle.DashLine)
        self.dragging.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.dragging_ok = QPen(QColor(c.compatible), WIRE_WIDTH + 0.5)
        self.dragging_ok.setCapStyle(Qt.PenCapStyle.RoundCap)


_PENS: _WirePens | None = None


def pens() -> _WirePens:
    global _PENS
    if _PENS is None or _PENS.generation != style.generation():
        _PENS = _WirePens()
    return _PENS


class WireItem(QGraphicsItem):
    """source.output -> target.input. Keyed by (target, input): an input has one source."""

    Type = QGraphicsItem.UserType + 2

    def __init__(self, source: str, output: str, target: str, input: str, kind: str | None):
        super().__init__()
        self.source, self.output, self.target, self.input = source, output, target, input
        self.kind = kind
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1.0)
        self._path = QPainterPath()
        self._bounds = QRectF()
        self._shape: QPainterPath | None = None

    def type(self) -> int:
        return WireItem.Type

    @property
    def key(self) -> tuple[str, str]:
        return (self.target, self.input)

    def set_ends(self, p0: QPointF, p1: QPointF) -> None:
        self.prepareGeometryChange()
        self._path = bezier(p0, p1)
        self._bounds = self._path.controlPointRect().adjusted(
            -HIT_WIDTH, -HIT_WIDTH, HIT_WIDTH, HIT_WIDTH
        )
        self._shape = None

    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(HIT_WIDTH)
            self._shape = stroker.createStroke(self._path)
        return self._shape

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pn = pens()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.setPen(pn.selected)
        elif option.levelOfDetailFromTransform(painter.worldTransform()) < 0.4:
            painter.setPen(pn.thin.get(self.kind, pn.thin[None]))
        else:
            painter.setPen(pn.kinds.get(self.kind, pn.kinds[None]))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)


class DragWire(QGraphicsItem):
    """The wire following the cursor while connecting; solid green over a valid target."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(10.0)
        self.valid = False
        self._path = QPainterPath()
        self._bounds = QRectF()

    def set_ends(self, p0: QPointF, p1: QPointF) -> None:
        self.prepareGeometryChange()
        self._path = bezier(p0, p1)
        self._bounds = self._path.controlPointRect().adjusted(-4, -4, 4, 4)

    def set_valid(self, valid: bool) -> None:
        if valid != self.valid:
            self.valid = valid
            self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pn = pens()
        painter.setPen(pn.dragging_ok if self.valid else pn.dragging)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
