"""Node items: drawn by kind, with named typed ports, problem badges and a run-status hook.

Ports are painted by their node (not child items) so a 1,000-node graph stays ~2,000 items;
`port_at` does the hit-testing. Everything a paint needs (paths, static texts, pens) is built
when the node changes, never during paint; below LOD_SIMPLE only a rounded rect is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

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
    width_bounds,
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
    """Rect, bounds, body, shadow, header and accent of a node's shape: shared by every node
    of one type and size (never changed in place; paths are implicitly shared), so a big
    pipeline builds a handful, not one per node."""
    key = (node_type, width, height)
    found = _OUTLINES.get(key)
    if found is None:
        rect = QRectF(0, 0, width, height)
        body = _node_shape(node_type, rect)
        header_clip = QPainterPath()
        header_clip.addRect(QRectF(0, 0, width, HEADER_H))
        inset = _CHAMFER if node_type == "script-step" else 10.0
        found = _OUTLINES[key] = (
            rect,
            rect.adjusted(-PORT_RADIUS - 3, -12, PORT_RADIUS + 5, 6),
            body,
            body.translated(0, 2.5),
            body.intersected(header_clip),
            QRectF(inset, 0, width - 2 * inset, 2.5),
        )
    return found


def _node_width(name: str, subtitle: str, ports_w: float) -> float:
    """Whole grid cells wide enough for the title, the subtitle (up to 220) and the ports.

    Names are measured exactly only when their estimate could change the cell count: most
    names are far shorter than the node's minimum width, and shaping each of 5,000 distinct
    names is a good part of opening a big pipeline."""
    fm_title, fm_small = metrics()
    t_lo, t_hi = width_bounds(fm_title, 0, name)
    s_lo, s_hi = width_bounds(fm_small, 1, subtitle)
    width = _snapped_width(t_hi, s_hi, ports_w)
    if _snapped_width(t_lo, s_lo, ports_w) != width:
        width = _snapped_width(
            fm_title.horizontalAdvance(name), fm_small.horizontalAdvance(subtitle), ports_w
        )
    return width


def _snapped_width(title_w: float, sub_w: float, ports_w: float) -> float:
    w = max(MIN_WIDTH, title_w + ICON_SIZE + 44, min(sub_w, 220) + 28, ports_w + 56)
    return min(MAX_WIDTH, math.ceil(w / GRID - 1e-6) * GRID)


_PORTS_WIDTHS: dict[tuple, float] = {}
_PORT_VIEWS: dict[tuple, tuple[PortView, ...]] = {}
_PORT_VIEWS_MAX = 4096  # entries kept per memo (it starts afresh past that)


def _ports_width(ins: tuple, outs: tuple) -> float:
    """The widest input's and widest output's labels side by side (memoised per port set)."""
    key = (ins, outs)
    width = _PORTS_WIDTHS.get(key)
    if width is None:
        if len(_PORTS_WIDTHS) >= _PORT_VIEWS_MAX:
            _PORTS_WIDTHS.clear()
        fm_small = metrics()[1]
        in_w = max((advance(fm_small, 1, p[0]) for p in ins), default=0.0)
        out_w = max((advance(fm_small, 1, p[0]) for p in outs), default=0.0)
        width = _PORTS_WIDTHS[key] = in_w + out_w
    return width


def _port_views(ins: tuple, outs: tuple, width: float) -> tuple[PortView, ...]:
    """The ports of a node with these inputs and outputs (name, kind, connected) and width.
    Shared by every such node (they are never changed, only their label made once), so a
    pipeline of many alike steps builds a handful."""
    key = (ins, outs, width)
    views = _PORT_VIEWS.get(key)
    if views is None:
        if len(_PORT_VIEWS) >= _PORT_VIEWS_MAX:
            _PORT_VIEWS.clear()
        fm_small = metrics()[1]
        text_h = fm_small.height()
        made = []
        for i, (name, kind, connected) in enumerate(ins):
            y = HEADER_H + ROW_H * i + ROW_H / 2
            made.append(
                PortView("in", name, kind, connected, QPointF(0, y), QPointF(12, y - text_h / 2))
            )
        for i, (name, kind, connected) in enumerate(outs):
            y = HEADER_H + ROW_H * i + ROW_H / 2
            x = width - 12 - advance(fm_small, 1, name)
            made.append(
                PortView(
                    "out", name, kind, connected, QPointF(width, y), QPointF(x, y - text_h / 2)
                )
            )
        views = _PORT_VIEWS[key] = tuple(made)
    return views


_NO_RECT = QRectF()
_CACHE_MODE = QGraphicsItem.CacheMode.DeviceCoordinateCache
# combined once: a flag `|` is a Python-level enum operation, 5,000 nodes pay it at each open
_NODE_FLAGS = (
    QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
)


class NodeItem(QGraphicsItem):
    """One pipeline node. Reads the model in `sync`; never writes it (the scene asks)."""

    Type = QGraphicsItem.UserType + 1

    # What a node shows before anything is set on it. Class attributes, replaced (never
    # changed in place) per node: a 5,000-node pipeline does not build 5,000 empty lists.
    ports: tuple[PortView, ...] = ()
    _rect = _bounds = _NO_RECT  # sync sets the rest (and never mutates these)
    _shape_type = ""
    _title: QStaticText | None = None  # made on the first detailed paint
    _subtitle: QStaticText | None = None
    _subtitle_text = ""
    _description: str | None = None
    _overview: QStaticText | None = None  # the name, large, for zoomed-out views
    _texts_ready = False
    _problems: tuple[Problem, ...] | list[Problem] = ()
    _port_problems: frozenset | set[tuple[str, str]] = frozenset()
    _status: str | None = None
    _status_text: QStaticText | None = None  # made when a status is shown
    _progress: float | None = None
    _marks: dict[tuple[str, str], str] = MappingProxyType({})  # port -> ok | refused | target
    _body_mark: str | None = None
    editor: QGraphicsTextItem | None = None

    def __init__(
        self,
        node: Node,
        pipeline: Pipeline,
        connected_outs: set[str] | None = None,
        sources: dict | None = None,
    ):
        super().__init__()
        self.setFlags(_NODE_FLAGS)
        self.setCacheMode(_CACHE_MODE)
        self.sync(node, pipeline, connected_outs, sources)

    def type(self) -> int:
        return NodeItem.Type

    # -- model -> item ------------------------------------------------------------------
    def sync(
        self,
        node: Node,
        pipeline: Pipeline,
        connected_outs: set[str] | None = None,
        sources: dict | None = None,
    ) -> None:
        """Rebuild what is drawn from the model node (name, ports, kinds, subtitle);
        `connected_outs`: its outputs that feed a wire (the scene knows, cheaply); `sources`:
        what each input resolves to, when the caller has resolved them already."""
        self.name = node.name
        self.node_type = registry.canonical_type(node.type)
        subtitle = _subtitle(node)
        ins: list[tuple[str, str | None, bool]] = []
        for port in node.inputs:
            kind = port.kind
            connected = False
            if port.source is not None:
                if sources is None:
                    resolved = pipeline.resolve_output(port.source)
                else:
                    resolved = sources.get(port.name)
                connected = resolved is not None
                if kind is None and resolved is not None:
                    kind = output_kind(*resolved)
            ins.append((port.name, kind, connected))
        outs = tuple(
            (name, output_kind(node, name), bool(connected_outs) and name in connected_outs)
            for name in output_names(node)
        )
        ins_key = tuple(ins)
        ports_w = _ports_width(ins_key, outs)
        width = _node_width(node.name, subtitle, ports_w)
        rows = max(len(ins), len(outs), 1)
        height = HEADER_H + rows * ROW_H + BOTTOM_PAD
        height = round(height / (GRID / 2)) * (GRID / 2)
        if (
            width != self._rect.width()
            or height != self._rect.height()
            or self._shape_type != self.node_type
        ):
            self.prepareGeometryChange()
            self._shape_type = self.node_type
            (
                self._rect,
                self._bounds,
                self._body,
                self._shadow,
                self._header,
                self._accent_rect,
            ) = _outline(self.node_type, width, height)
        self._subtitle_text = subtitle
        self._description = node.description
        self._texts_ready = False
        self._overview = None
        self.ports = _port_views(ins_key, outs, width)
        self.update()

    def _overview_text(self) -> QStaticText:
        font = overview_font()
        text = QFontMetricsF(font).elidedText(
            self.name, Qt.TextElideMode.ElideMiddle, self._rect.width() - 16
        )
        return static_text(text, font)

    def _prepare_texts(self) -> None:
        """Title and subtitle, elided to the node's width (measured exactly, here only)."""
        title_font, small_font, _ = fonts()
        fm_title, fm_small = metrics()
        width = self._rect.width()
        title, sub = self.name, self._subtitle_text
        if fm_title.horizontalAdvance(title) > width - ICON_SIZE - 36:
            title = fm_title.elidedText(title, Qt.TextElideMode.ElideRight, width - ICON_SIZE - 36)
        if fm_small.horizontalAdvance(sub) > width - 24:
            sub = fm_small.elidedText(sub, Qt.TextElideMode.ElideMiddle, width - 24)
        self._title = static_text(title, title_font)
        self._subtitle = static_text(sub, small_font)
        for p in self.ports:
            if p.label is None:
                p.label = static_text(p.name, small_font)
        self._texts_ready = True

    def tooltip_text(self) -> str:
        """Shown on hover (the scene asks): the name, type, description and problems."""
        spec = registry.spec(self.node_type)
        lines = [f"{self.name} ({spec.title if spec else self.node_type})"]
        if self._description:
            lines.append(self._description)
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

    def port_offset(self, direction: str, name: str) -> tuple[float, float]:
        """Where a port's centre is, from the node's top-left corner (a dangling name: the
        middle of that side)."""
        for p in self.ports:
            if p.direction == direction and p.name == name:
                return p.centre.x(), p.centre.y()
        return (0.0 if direction == "in" else self._rect.width()), HEADER_H / 2

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
