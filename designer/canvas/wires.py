"""Wires: a cubic bezier from an output port to an input port, and the wire being dragged."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from . import style

WIRE_WIDTH = 2.0
HIT_WIDTH = 10.0


def reach(dx: float) -> float:
    """How far a wire's control points stand out from its ends: a left-to-right S curve; a
    wire going backwards (dx < 0) loops out so it stays readable."""
    return max(40.0, dx * 0.5) if dx >= 0 else max(80.0, -dx * 0.35 + 60)


def control_points(p0: QPointF, p1: QPointF) -> tuple[QPointF, QPointF, QPointF, QPointF]:
    r = reach(p1.x() - p0.x())
    return p0, QPointF(p0.x() + r, p0.y()), QPointF(p1.x() - r, p1.y()), p1


def bezier(p0: QPointF, p1: QPointF) -> QPainterPath:
    a, b, c, d = control_points(p0, p1)
    path = QPainterPath(a)
    path.cubicTo(b, c, d)
    return path


def split_cubic(points, pieces: int) -> list[tuple[QPointF, QPointF, QPointF, QPointF]]:
    """The cubic cut into `pieces` exact sub-cubics (de Casteljau at equal t steps)."""
    out = []
    rest = points
    for k in range(pieces, 1, -1):
        t = 1.0 / k
        a, b, c, d = rest
        ab, bc, cd = a + (b - a) * t, b + (c - b) * t, c + (d - c) * t
        abc, bcd = ab + (bc - ab) * t, bc + (cd - bc) * t
        m = abc + (bcd - abc) * t
        out.append((a, ab, abc, m))
        rest = (m, bcd, cd, d)
    out.append(rest)
    return out


FAR_LOD = 0.2  # below this zoom wires are drawn as straight hairlines, in one batch
LONG_WIRE = 900.0  # longer wires are drawn piecewise: only the pieces in view get stroked


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


_WIRE_FLAGS = (  # combined once: a flag `|` is a Python-level enum operation
    QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
    | QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
)


class WireItem(QGraphicsItem):
    """source.output -> target.input. Keyed by (target, input): an input has one source."""

    Type = QGraphicsItem.UserType + 2

    # until routed; class attributes, replaced (never changed in place) per wire
    _ends = (0.0, 0.0, 0.0, 0.0)  # x0, y0, x1, y1 in scene coordinates
    _path: QPainterPath | None = None  # made when first drawn or hit-tested
    _points: tuple | None = None
    _bounds = QRectF()
    _shape: QPainterPath | None = None
    _pieces: list[tuple[QRectF, tuple]] | None = None
    _long = False

    def __init__(self, source: str, output: str, target: str, input: str, kind: str | None):
        super().__init__()
        self.source, self.output, self.target, self.input = source, output, target, input
        self.kind = kind
        self.setFlags(_WIRE_FLAGS)
        self.setZValue(-1.0)

    def type(self) -> int:
        return WireItem.Type

    @property
    def key(self) -> tuple[str, str]:
        return (self.target, self.input)

    def set_ends(self, p0: QPointF, p1: QPointF) -> None:
        self.set_end_coords(p0.x(), p0.y(), p1.x(), p1.y())

    def set_end_coords(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Route the wire between two scene points. Only its bounds are computed here (the
        control points' box, in plain numbers); its path is made when first needed."""
        old = self._bounds
        self.prepareGeometryChange()
        r = reach(x1 - x0)
        left, right = min(x0, x1, x1 - r), max(x1, x0, x0 + r)
        top, bottom = (y0, y1) if y0 <= y1 else (y1, y0)
        w, h = right - left, bottom - top
        self._bounds = QRectF(
            left - HIT_WIDTH, top - HIT_WIDTH, w + 2 * HIT_WIDTH, h + 2 * HIT_WIDTH
        )
        self._ends = (x0, y0, x1, y1)
        self._path = None
        self._points = None
        self._shape = None
        self._pieces = None
        self._long = w + h > LONG_WIRE
        self.invalidate_drawing(old)

    def points(self) -> tuple[QPointF, QPointF, QPointF, QPointF]:
        """The cubic's four points: ends and control points."""
        if self._points is None:
            x0, y0, x1, y1 = self._ends
            self._points = control_points(QPointF(x0, y0), QPointF(x1, y1))
        return self._points

    def invalidate_drawing(self, also: QRectF | None = None) -> None:
        """The background (where this wire is drawn) must be redrawn over it."""
        scene = self.scene()
        if scene is not None:
            rect = self._bounds if also is None or also.isEmpty() else self._bounds.united(also)
            for view in scene.views():  # views cache only what they show
                shown = view.mapToScene(view.viewport().rect()).boundingRect()
                part = rect.intersected(shown.adjusted(-4, -4, 4, 4))
                if not part.isEmpty():
                    view.invalidateScene(part, QGraphicsScene.SceneLayer.BackgroundLayer)
                    view.updateScene([part])

    def path(self) -> QPainterPath:
        if self._path is None:
            a, b, c, d = self.points()
            self._path = QPainterPath(a)
            self._path.cubicTo(b, c, d)
        return self._path

    def chord(self) -> QLineF:
        return QLineF(*self._ends)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(HIT_WIDTH)
            self._shape = stroker.createStroke(self.path())
        return self._shape

    def draw(self, painter: QPainter, visible: QRectF, scale: float, selected: bool = False):
        """Stroke this wire for the part inside `visible` (scene coordinates)."""
        pn = _PENS if _PENS is not None and _PENS.generation == style.generation() else pens()
        if selected:
            painter.setPen(pn.selected)
        elif scale < 0.4:
            painter.setPen(pn.thin.get(self.kind, pn.thin[None]))
        else:
            painter.setPen(pn.kinds.get(self.kind, pn.kinds[None]))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if not self._long or visible.contains(self._bounds):
            painter.drawPath(self.path())
            return
        if self._pieces is None:  # the stroker outlines a whole path even when mostly hidden
            rect = self._bounds
            count = min(32, int((rect.width() + rect.height() - 4 * HIT_WIDTH) / 150) + 2)
            self._pieces = [
                (QRectF(p[0], p[3]).normalized().united(QRectF(p[1], p[2]).normalized()), p)
                for p in split_cubic(self.points(), count)
            ]
        margin = visible.adjusted(-4, -4, 4, 4)
        run: QPainterPath | None = None
        for rect, (a, b, c, d) in self._pieces:
            if rect.intersects(margin):
                if run is None:
                    run = QPainterPath(a)
                run.cubicTo(b, c, d)
            elif run is not None:
                painter.drawPath(run)
                run = None
        if run is not None:
            painter.drawPath(run)

    def set_selected_look(self, selected: bool) -> None:
        """Unselected wires have no contents of their own: the scene's background draws them
        (cached by the view); a selected one paints its highlight on top."""
        if self.lit() != selected:
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not selected)
            self.update()

    def lit(self) -> bool:
        return not bool(self.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if widget is not None and not painter.hasClipping():
            visible = painter.worldTransform().inverted()[0].mapRect(QRectF(widget.rect()))
        else:
            visible = painter.clipBoundingRect() if painter.hasClipping() else self._bounds
        scale = option.levelOfDetailFromTransform(painter.worldTransform())
        self.draw(painter, visible, scale, selected=True)


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
