"""What node items paint with, built once and shared: fonts, text widths, type icons, and the
pens and brushes of the current canvas theme."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QStaticText

from engine.pipeline import registry

from . import style


def _fonts() -> tuple[QFont, QFont, QFont]:
    title = QFont()
    title.setPixelSize(13)
    title.setWeight(QFont.Weight.DemiBold)
    small = QFont()
    small.setPixelSize(11)
    badge = QFont()
    badge.setPixelSize(10)
    badge.setWeight(QFont.Weight.Bold)
    return title, small, badge


_FONTS: tuple[QFont, QFont, QFont] | None = None


def fonts() -> tuple[QFont, QFont, QFont]:
    global _FONTS
    if _FONTS is None:
        _FONTS = _fonts()
    return _FONTS


_OVERVIEW_FONT: QFont | None = None


def overview_font() -> QFont:
    """Names drawn large on the plain blocks of a zoomed-out graph, to find one's way."""
    global _OVERVIEW_FONT
    if _OVERVIEW_FONT is None:
        _OVERVIEW_FONT = QFont()
        _OVERVIEW_FONT.setPixelSize(30)
        _OVERVIEW_FONT.setWeight(QFont.Weight.Bold)
    return _OVERVIEW_FONT


_METRICS: tuple[QFontMetricsF, QFontMetricsF] | None = None


def metrics() -> tuple[QFontMetricsF, QFontMetricsF]:
    global _METRICS
    if _METRICS is None:
        title, small, _ = fonts()
        _METRICS = (QFontMetricsF(title), QFontMetricsF(small))
    return _METRICS


# -- icons ----------------------------------------------------------------------------------


def _icon_dirs() -> list[Path]:
    dirs = [Path(__file__).resolve().parents[2] / "resources" / "icons"]
    try:  # an installed (non-editable) copy ships resources/ as pipeloom_resources
        import pipeloom_resources

        dirs.append(Path(pipeloom_resources.__file__).parent / "icons")
    except ImportError:
        pass
    return dirs


_ICON_DIRS = _icon_dirs()
_ICONS: dict[str, QImage | None] = {}
ICON_SIZE = 18.0


def node_icon(node_type: str) -> QImage | None:
    """The type's SVG icon rendered once at 4x, drawn scaled (crisp up to 400% zoom)."""
    if node_type in _ICONS:
        return _ICONS[node_type]
    image = None
    spec = registry.spec(node_type)
    if spec is not None:
        for folder in _ICON_DIRS:
            path = folder / spec.icon
            if path.is_file():
                from PySide6.QtSvg import QSvgRenderer

                renderer = QSvgRenderer(os.fspath(path))
                if renderer.isValid():
                    image = QImage(QSize(72, 72), QImage.Format.Format_ARGB32_Premultiplied)
                    image.fill(Qt.GlobalColor.transparent)
                    p = QPainter(image)
                    p.setRenderHint(QPainter.RenderHint.Antialiasing)
                    renderer.render(p)
                    p.end()
                break
    _ICONS[node_type] = image
    return image


# -- paint resources per theme ----------------------------------------------------------------


class Paints:
    """Pens and brushes of one theme, shared by all items (no allocation in paint)."""

    def __init__(self, c: style.CanvasColors):
        self.generation = style.generation()
        self.fill = QBrush(QColor(c.node_fill))
        self.shadow = QBrush(QColor(c.node_shadow))
        self.border = QPen(QColor(c.node_border), 1.0)
        self.selected = QPen(QColor(c.selection), 2.0)
        self.title = QPen(QColor(c.title_text))
        self.port_text = QPen(QColor(c.port_text))
        self.header: dict[str, QBrush] = {}
        self.accent: dict[str, QBrush] = {}
        for t in (*c.accents, "unknown"):
            accent = QColor(c.accent(t))
            header = QColor(c.node_header)
            mix = 0.16 if c.name == "light" else 0.22
            header = QColor.fromRgbF(
                header.redF() * (1 - mix) + accent.redF() * mix,
                header.greenF() * (1 - mix) + accent.greenF() * mix,
                header.blueF() * (1 - mix) + accent.blueF() * mix,
            )
            self.header[t] = QBrush(header)
            self.accent[t] = QBrush(accent)
        self.port_fill: dict[str | None, QBrush] = {}
        self.port_ring: dict[str | None, QPen] = {}
        for kind in ("tabular", "file", None):
            col = QColor(c.port_color(kind))
            self.port_fill[kind] = QBrush(col)
            self.port_ring[kind] = QPen(col, 1.6)
        self.hollow = QBrush(QColor(c.node_fill))
        self.compatible = QPen(QColor(c.compatible), 2.4)
        self.compatible_fill = QBrush(c.qcolor(c.compatible, 80))
        self.refused = QPen(QColor(c.refused), 1.6)
        self.refused_fill = QBrush(c.qcolor(c.refused, 40))
        self.error = QBrush(QColor(c.error))
        self.warning = QBrush(QColor(c.warning))
        self.error_pen = QPen(QColor(c.error), 2.0)
        self.white = QPen(QColor("#ffffff"))
        self.overview_text = QPen(QColor(255, 255, 255, 235))
        self.status = {k: QBrush(QColor(v)) for k, v in c.status.items()}
        self.no_pen = QPen(Qt.PenStyle.NoPen)


_PAINTS: Paints | None = None


def paints() -> Paints:
    global _PAINTS
    if _PAINTS is None or _PAINTS.generation != style.generation():
        _PAINTS = Paints(style.colors())
    return _PAINTS


_ADVANCES: dict[tuple[int, str], float] = {}


def advance(metrics: QFontMetricsF, font_key: int, text: str) -> float:
    """Text width, memoised: port names repeat across a big graph (input, output, data)."""
    key = (font_key, text)
    width = _ADVANCES.get(key)
    if width is None:
        width = _ADVANCES[key] = metrics.horizontalAdvance(text)
    return width


_CHAR_ADVANCES: dict[int, dict[str, float]] = {}


def width_bounds(metrics: QFontMetricsF, font_key: int, text: str) -> tuple[float, float]:
    """Bounds of the text's width, from its characters' advances; exact for text beyond
    Latin-1. Kerning mostly narrows a text: over random names in the UI fonts the sum was at
    most 0.6 px short of the shaped width and at most 5.8 px (4%) over it."""
    table = _CHAR_ADVANCES.get(font_key)
    if table is None:
        table = _CHAR_ADVANCES[font_key] = {
            chr(c): metrics.horizontalAdvance(chr(c))
            for c in range(32, 256)
            if chr(c).isprintable()
        }
    try:
        total = sum(map(table.__getitem__, text))
    except KeyError:
        width = metrics.horizontalAdvance(text)
        return width, width
    return total * 0.95 - 2.0, total * 1.02 + 2.0


def static_text(text: str, font: QFont) -> QStaticText:
    st = QStaticText(text)
    st.setTextFormat(Qt.TextFormat.PlainText)
    st.prepare(font=font)
    return st
