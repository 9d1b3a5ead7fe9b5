"""Node items: drawn by kind, with named typed ports, problem badges and a run-status hook.

Ports are painted by their node (not child items) so a 1,000-node graph stays ~2,000 items;
`port_at` does the hit-testing. Everything a paint needs (paths, static texts, pens) is built
when the node changes, never during paint; below LOD_SIMPLE only a rounded rect is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QStaticText,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsTextItem, QStyle

from engine.pipeline import registry
from engine.pipeline.model import Node, Pipeline, output_kind, output_names
from engine.problems import Problem

from .paints import (
    ICON_SIZE,
    Paints,
    advance,
    fonts,
    metrics,
    node_icon,
    overview_font,
    paints,
    static_text,
)

GRID = 20.0
PORT_RADIUS = 5.0
HEADER_H = 44.0
ROW_H = 22.0
MIN_WIDTH = 180.0
MAX_WIDTH = 300.0
BOTTOM_PAD = 10.0
LOD_SIMPLE = 0.4  # below this zoom: the node's outline filled, no text or ports
LOD_BLOCK = 0.2  # below this zoom: a plain rect
PORT_HIT = 11.0  # how far from a port's centre a press still picks it

_SHAPE_RADIUS = {"dataset": 14.0, "spark-step": 6.0}
_CHAMFER = 9.0  # script steps have cut corners
_ICON_RECT = QRectF(9, 7, ICON_SIZE, ICON_SIZE)
_TITLE_AT = QPointF(9 + ICON_SIZE + 7, 7)
_SUBTITLE_AT = QPointF(10, 27)


# -- ports ----------------------------------------------------------------------------------


@dataclass
class PortView:
    direction: str  # "in" | "out"
    name: str
    kind: str | None  # tabular | file | None (untyped, unconnected input)
    connected: bool
    centre: QPointF  # in item coordinates
    label_pos: QPointF
    label: QStaticText | None = None  # made on the first detailed paint


def _node_shape(node_type: str, rect: QRectF) -> QPainterPath:
    path = QPainterPath()
    if node_type == "script-step":
        c = _CHAMFER
        x0, y0, x1, y1 = rect.left(), rect.top(), rect.right(), rect.bottom()
        path.moveTo(x0 + c, y0)
        path.lineTo(x1 - c, y0)
        path.lineTo(x1, y0 + c)
        path.lineTo(x1, y1 - c)
        path.lineTo(x1 - c, y1)
        path.lineTo(x0 + c, y1)
        path.lineTo(x0, y1 - c)
        path.lineTo(x0, y0 + c)
        path.closeSubpath()
    else:
        r = _SHAPE_RADIUS.get(node_type, 6.0)
        path.addRoundedRect(rect, r, r)
    return path


def _subtitle(node: Node) -> str:
    spec = registry.spec(node.type)
    if node.type == "dataset":
        where = node.params.get("path") or node.params.get("from")
        kind = node.params.get("kind", "tabular")
        return f"{kind} · {Path(str(where)).name}" if where else f"{kind} dataset"
    if spec is not None and spec.entry_param:
        entry = node.params.get(spec.entry_param)
        if entry:
            return f"{spec.title} · {entry}"
    return spec.title if spec else f"unknown type {node.type}"


_OUTLINES: dict[tuple[str, float, float], tuple] = {}


def _outline(node_type: str, width: float, height: float) -> tuple:
    """Body, shadow, header and accent of a node's shape: shared by every node of one type and
    size (paths are implicitly shared), so a big pipeline builds a handful, not one per node."""
    key = (node_type, width, height)
    found = _OUTLINES.get(key)
    if found is None:
        body = _node_shape(node_type, QRectF(0, 0, width, height))
        header_clip = QPainterPath()
        header_clip.addRect(QRectF(0, 0, width, HEADER_H))
        inset = _CHAMFER if node_type == "script-step" else 10.0
        found = _OUTLINES[key] = (
            body,
            body.translated(0, 2.5),
            body.intersected(header_clip),
            QRectF(inset, 0, width - 2 * inset, 2.5),
        )
    return found


_NO_RECT = QRectF()
# combined once: a flag `|` is a Python-level enum operation, 5,000 nodes pay it at each open
_NODE_FLAGS = (
    QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
)


class NodeItem(QGraphicsItem):
    """One pipeline node. Reads the model in `sync`; never writes it (the scene asks)."""

    Type = QGraphicsItem.UserType + 1

    def __init__(self, node: Node, pipeline: Pipeline, connected_outs: set[str] | None = None):
        super().__init__()
        self.name = node.name
        self.node_type = registry.canonical_type(node.type)
        self.setFlags(_NODE_FLAGS)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.ports: list[PortView] = []
        self._rect = self._bounds = _NO_RECT  # sync sets the rest (and never mutates these)
        self._shape_type = ""
        self._title: QStaticText | None = None  # made on the first detailed paint
        self._subtitle: QStaticText | None = None
        self._texts: tuple[str, str] | None = None  # title and subtitle, elided
        self._overview: QStaticText | None = None  # the name, large, for zoomed-out views
        self._texts_ready = False
        self._problems: list[Problem] = []
        self._port_problems: set[tuple[str, str]] = set()
        self._status: str | None = None
        self._status_text: QStaticText | None = None  # made when a status is shown
        self._progress: float | None = None
        self._marks: dict[tuple[str, str], str] = {}  # port -> "ok" | "refused" | "target"
        self._body_mark: str | None = None
        self.editor: QGraphicsTextItem | None = None
        self.sync(node, pipeline, connected_outs)

    def type(self) -> int:
        return NodeItem.Type

    # -- model -> item ------------------------------------------------------------------
    def sync(self, node: Node, pipeline: Pipeline, connected_outs: set[str] | None = None) -> None:
        """Rebuild what is drawn from the model node (name, ports, kinds, subtitle);
        `connected_outs`: its outputs that feed a wire (the scene knows, cheaply)."""
        connected_outs = connected_outs or set()
        self.name = node.name
        self.node_type = registry.canonical_type(node.type)
        title_font, small_font, _ = fonts()
        fm_title, fm_small = metrics()
        subtitle = _subtitle(node)
        ins: list[tuple[str, str | None, bool]] = []
        for port in node.inputs:
            kind = port.kind
            connected = False
            if port.source is not None:
                resolved = pipeline.resolve_output(port.source)
                connected = resolved is not None
                if kind is None and resolved is not None:
                    kind = output_kind(*resolved)
            ins.append((port.name, kind, connected))
        outs = [(name, output_kind(node, name)) for name in output_names(node)]
        in_w = max((advance(fm_small, 1, n) for n, _, _ in ins), default=0.0)
        out_w = max((advance(fm_small, 1, n) for n, _ in outs), default=0.0)
        width = max(
            MIN_WIDTH,
            advance(fm_title, 0, node.name) + ICON_SIZE + 44,
            min(advance(fm_small, 1, subtitle), 220) + 28,
            in_w + out_w + 56,
        )
        width = min(MAX_WIDTH, math.ceil(width / GRID - 1e-6) * GRID)  # whole grid cells
        rows = max(len(ins), len(outs), 1)
        height = HEADER_H + rows * ROW_H + BOTTOM_PAD
        height = round(height / (GRID / 2)) * (GRID / 2)
        rect = QRectF(0, 0, width, height)
        if rect != self._rect or self._shape_type != self.node_type:
            self.prepareGeometryChange()
            self._rect = rect
            self._shape_type = self.node_type
            self._bounds = rect.adjusted(-PORT_RADIUS - 3, -12, PORT_RADIUS + 5, 6)
            self._body, self._shadow, self._header, self._accent_rect = _outline(
                self.node_type, width, height
            )
        title, sub = node.name, subtitle
        if advance(fm_title, 0, title) > width - ICON_SIZE - 36:
            title = fm_title.elidedText(title, Qt.TextElideMode.ElideRight, width - ICON_SIZE - 36)
        if advance(fm_small, 1, sub) > width - 24:
            sub = fm_small.elidedText(sub, Qt.TextElideMode.ElideMiddle, width - 24)
        self._texts = (title, sub)
        self._texts_ready = False
        self._overview = None
        self.ports = []
        text_h = fm_small.height()
        for i, (name, kind, connected) in enumerate(ins):
            y = HEADER_H + ROW_H * i + ROW_H / 2
            self.ports.append(
                PortView("in", name, kind, connected, QPointF(0, y), QPointF(12, y - text_h / 2))
            )
        for i, (name, kind) in enumerate(outs):
            y = HEADER_H + ROW_H * i + ROW_H / 2
            x = width - 12 - advance(fm_small, 1, name)
            self.ports.append(
                PortView(
                    "out",
                    name,
                    kind,
                    name in connected_outs,
                    QPointF(width, y),
                    QPointF(x, y - text_h / 2),
                )
            )
        self.setToolTip(self._tooltip(node))
        self.update()

    def _overview_text(self) -> QStaticText:
        font = overview_font()
        text = QFontMetricsF(font).elidedText(
            self.name, Qt.TextElideMode.ElideMiddle, self._rect.width() - 16
        )
        return static_text(text, font)

    def _prepare_texts(self) -> None:
        title_font, small_font, _ = fonts()
        title, sub = self._texts
        self._title = static_text(title, title_font)
        self._subtitle = static_text(sub, small_font)
        for p in self.ports:
            p.label = static_text(p.name, small_font)
        self._texts_ready = True

    def _tooltip(self, node: Node) -> str:
        lines = [
            f"{node.name} ({registry.spec(node.type).title if registry.spec(node.type) else node.type})"
        ]
        if node.description:
            lines.append(node.description)
        lines += [f"{p.severity}: {p.message}" for p in self._problems]
        return "\n".join(lines)

    def set_problems(self, problems: list[Problem]) -> None:
        self._problems = list(problems)
        marks = set()
        for p in problems:
            if p.field and p.field.startswith(("inputs.", "outputs.")):
                section, _, rest = p.field.partition(".")
                marks.add(("in" if section == "inputs" else "out", rest.split(".")[0]))
        self._port_problems = marks
        tip = self.toolTip().split("\n")
        head = [t for t in tip if not t.startswith(("error: ", "warning: "))]
        self.setToolTip("\n".join(head + [f"{p.severity}: {p.message}" for p in problems]))
        self.update()

    def problems(self) -> list[Problem]:
        return list(self._problems)

    def set_run_status(self, status: str | None) -> None:
        """Show a run status pill (Running, Completed, Failed, ...); None hides it."""
        self._status = status
        if status:
            _, _, badge = fonts()
            self._status_text = static_text(status, badge)
        self.update()

    def run_status(self) -> str | None:
        return self._status

    def set_run_progress(self, fraction: float | None) -> None:
        """A thin bar along the node's bottom edge (0..1, e.g. Spark stages done); None hides."""
        fraction = None if fraction is None else max(0.0, min(1.0, float(fraction)))
        if fraction != self._progress:
            self._progress = fraction
            self.update()

    def run_progress(self) -> float | None:
        return self._progress

    def set_marks(self, marks: dict[tuple[str, str], str], body: str | None = None) -> None:
        if marks != self._marks or body != self._body_mark:
            self._marks = marks
            self._body_mark = body
            self.update()

    # -- geometry -----------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._body

    def rect(self) -> QRectF:
        return self._rect

    def size(self) -> tuple[float, float]:
        return (self._rect.width(), self._rect.height())

    def title_rect(self) -> QRectF:
        return QRectF(8 + ICON_SIZE + 6, 4, self._rect.width() - ICON_SIZE - 20, 22)

    def port(self, direction: str, name: str) -> PortView | None:
        for p in self.ports:
            if p.direction == direction and p.name == name:
                return p
        return None

    def port_scene_pos(self, direction: str, name: str) -> QPointF:
        p = self.port(direction, name)
        if p is None:  # a dangling name: the middle of that side
            x = 0.0 if direction == "in" else self._rect.width()
            return self.mapToScene(QPointF(x, HEADER_H / 2))
        return self.mapToScene(p.centre)

    def port_at(self, pos: QPointF) -> PortView | None:
        """The port whose circle or label row is at `pos` (item coordinates), if any."""
        for p in self.ports:
            dy = abs(pos.y() - p.centre.y())
            if dy > ROW_H / 2:
                continue
            dx = pos.x() - p.centre.x()
            if (
                abs(dx) <= PORT_HIT
                or (p.direction == "in" and 0 <= dx <= 18)
                or (p.direction == "out" and -18 <= dx <= 0)
            ):
                return p
        return None

    # -- painting -----------------------------------------------------------------------
    def paint(self, painter: QPainter, option, widget=None) -> None:
        pt = paints()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        kind = self.node_type if self.node_type in pt.accent else "unknown"
        if lod < LOD_SIMPLE:  # the node's shape in its kind's colour; a plain block when tiny
            painter.setPen(pt.selected if selected else pt.no_pen)
            painter.setBrush(pt.accent[kind])
            if lod < LOD_BLOCK:
                painter.drawRect(self._rect)
                return
            painter.drawPath(self._body)
            if self._overview is None:
                self._overview = self._overview_text()
            painter.setFont(overview_font())
            painter.setPen(pt.overview_text)
            size = self._overview.size()
            painter.drawStaticText(
                QPointF(
                    (self._rect.width() - size.width()) / 2,
                    (self._rect.height() - size.height()) / 2,
                ),
                self._overview,
            )
            return
        painter.setPen(pt.no_pen)
        painter.setBrush(pt.shadow)
        painter.drawPath(self._shadow)
        painter.setBrush(pt.fill)
        painter.drawPath(self._body)
        painter.setBrush(pt.header[kind])
        painter.drawPath(self._header)
        painter.setBrush(pt.accent[kind])
        painter.drawRect(self._accent_rect)
        if self._body_mark is not None:
            painter.setBrush(pt.compatible_fill if self._body_mark == "ok" else pt.refused_fill)
            painter.drawPath(self._body)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._body_mark == "ok":
            painter.setPen(pt.compatible)
        elif selected:
            painter.setPen(pt.selected)
        elif self._problems and any(p.is_error for p in self._problems):
            painter.setPen(pt.error_pen)
        else:
            painter.setPen(pt.border)
        painter.drawPath(self._body)
        if not self._texts_ready:
            self._prepare_texts()
        icon = node_icon(self.node_type)
        if icon is not None:
            painter.drawImage(_ICON_RECT, icon)
        title_font, small_font, badge_font = fonts()
        if self.editor is None:
            painter.setFont(title_font)
            painter.setPen(pt.title)
            painter.drawStaticText(_TITLE_AT, self._title)
        painter.setFont(small_font)
        painter.setPen(pt.port_text)
        painter.drawStaticText(_SUBTITLE_AT, self._subtitle)
        if lod < 0.6:
            self._paint_ports(painter, pt, labels=False)
        else:
            self._paint_ports(painter, pt, labels=True)
        if self._progress is not None:
            r = self._rect
            painter.setPen(pt.no_pen)
            painter.setBrush(pt.status["Running"])
            inset = _CHAMFER if kind == "script-step" else 8.0
            painter.drawRect(
                QRectF(inset, r.height() - 3, (r.width() - 2 * inset) * self._progress, 3)
            )
        if self._status:
            self._paint_status(painter, pt, badge_font)
        if self._problems:
            self._paint_badge(painter, pt, badge_font)

    def _paint_ports(self, painter: QPainter, pt: Paints, labels: bool) -> None:
        marks = self._marks
        for p in self.ports:
            mark = marks.get((p.direction, p.name)) if marks else None
            if mark == "refused":  # while connecting, ports that cannot take the wire fade
                painter.setOpacity(0.3)
            if labels:
                painter.setPen(pt.port_text)
                painter.drawStaticText(p.label_pos, p.label)
            r = PORT_RADIUS
            if mark == "ok" or mark == "target":
                painter.setPen(pt.compatible if mark == "target" else pt.no_pen)
                painter.setBrush(pt.compatible_fill)
                rr = r + (6.0 if mark == "target" else 4.0)
                painter.drawEllipse(p.centre, rr, rr)
            elif not marks and (p.direction, p.name) in self._port_problems:
                painter.setPen(pt.error_pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawEllipse(p.centre, r + 3, r + 3)
            painter.setPen(pt.port_ring[p.kind] if p.kind in pt.port_ring else pt.port_ring[None])
            painter.setBrush(
                pt.port_fill.get(p.kind, pt.port_fill[None]) if p.connected else pt.hollow
            )
            painter.drawEllipse(p.centre, r, r)
            if mark == "refused":
                painter.setOpacity(1.0)

    def _paint_badge(self, painter: QPainter, pt: Paints, font: QFont) -> None:
        error = any(p.is_error for p in self._problems)
        centre = QPointF(self._rect.width() - 2, 0)
        painter.setPen(pt.no_pen)
        painter.setBrush(pt.error if error else pt.warning)
        painter.drawEllipse(centre, 8.5, 8.5)
        painter.setPen(pt.white)
        painter.setFont(font)
        text = str(len(self._problems)) if len(self._problems) < 10 else "9+"
        painter.drawText(
            QRectF(centre.x() - 8.5, centre.y() - 8.5, 17, 17), Qt.AlignmentFlag.AlignCenter, text
        )

    def _paint_status(self, painter: QPainter, pt: Paints, font: QFont) -> None:
        size = self._status_text.size()
        w = size.width() + 14
        rect = QRectF(self._rect.width() - w - 14, -9, w, 16)
        painter.setPen(pt.no_pen)
        painter.setBrush(pt.status.get(self._status, pt.status["NotStarted"]))
        painter.drawRoundedRect(rect, 8, 8)
        painter.setPen(pt.white)
        painter.setFont(font)
        painter.drawStaticText(
            QPointF(rect.left() + 7, rect.top() + (16 - size.height()) / 2), self._status_text
        )
