"""A log view that draws only the rows in sight: appending a line is a list append, so a step
printing hundreds of thousands of lines costs the GUI thread almost nothing (a QPlainTextEdit
lays every line out as it is inserted). Rows are selectable by mouse and keyboard and copied
as the text shown.

A row is a plain tuple ``(time, step, stream, text)``: time in epoch seconds (0 = none), stream
one of stdout, stderr, server, pipeloom. Tuples of strings and floats are not tracked by
Python's cycle collector, so 200,000 rows add nothing to its full collections; as objects they
made each of those pause the GUI thread for about 100 ms during a flood.
"""

from __future__ import annotations

import time as _time
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QKeySequence, QPainter
from PySide6.QtWidgets import QAbstractScrollArea, QMenu

TIME, STEP, STREAM, TEXT = range(4)  # the fields of a row
PAD = 4  # pixels left of the text
REPAINT_MS = 80  # rows arriving in a flood are drawn at most this often (12 a second)
ERROR_STREAMS = ("stderr", "server")


def stamp(seconds: float) -> str:
    """``HH:MM:SS`` local time; blank for a row without a time."""
    return _time.strftime("%H:%M:%S", _time.localtime(seconds)) if seconds else ""


class LogView(QAbstractScrollArea):
    """Rows of a log, drawn on demand; follows the tail unless scrolled up."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        self._rows: list[Any] = []
        self._show_step = True
        self._step_width = 0
        self._widest = 0  # characters of the longest row
        self._anchor: tuple[int, int] | None = None  # (row, column) where a selection began
        self._cursor: tuple[int, int] | None = None  # (row, column) where it ends
        self._colours: dict[str, QColor] = {}
        self.placeholder = ""
        self._drag_scroll = QTimer(self)  # a drag held above or below the rows scrolls
        self._drag_scroll.setInterval(40)
        self._drag_scroll.timeout.connect(self._scroll_while_dragging)
        self._drag_pos = QPoint()
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self.viewport().update)
        self._metrics = (0, 0.0)  # line height, character width of the current font
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.set_colours(
            {
                "time": "#8a919b",
                "step": "#3b6ef5",
                "text": "#1f2328",
                "stderr": "#c4343a",
                "stderr_bg": "#fff1f1",
                "pipeloom": "#6b7280",
            }
        )

    # -- content -------------------------------------------------------------------
    def set_rows(self, rows: list, show_step: bool, step_width: int) -> None:
        """Show these rows (the view keeps its own list), scrolled to the last."""
        self._rows = list(rows)
        self._show_step = show_step
        self._step_width = step_width
        self._anchor = self._cursor = None
        self._widest = max((len(r[TEXT]) for r in self._rows), default=0)
        self._update_bars()
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
        self.viewport().update()

    def append_rows(self, rows: list, limit: int) -> None:
        """Add rows at the end, dropping the oldest beyond `limit` (in chunks, not per row)."""
        if not rows:
            return
        bar = self.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 1
        self._rows.extend(rows)
        self._widest = max(self._widest, max(len(r[TEXT]) for r in rows))
        excess = len(self._rows) - limit
        if excess > limit // 10:
            del self._rows[:excess]
            self._shift_selection(excess)
            bar.setValue(max(0, bar.value() - excess))
        self._update_bars()
        if follow:
            bar.blockSignals(True)  # scrolling repaints at once; the timer below batches
            bar.setValue(bar.maximum())
            bar.blockSignals(False)
        if not self._repaint.isActive():
            self._repaint.start()

    def row_count(self) -> int:
        return len(self._rows)

    def row_text(self, index: int) -> str:
        """Row `index` as shown: time, step (when all steps are shown) and text."""
        row = self._rows[index]
        return self._prefix(row) + row[TEXT]

    def is_tinted(self, index: int) -> bool:
        """Rows a step wrote to stderr (or the server's error lines) are tinted whole."""
        return self._rows[index][STREAM] in ERROR_STREAMS

    def text(self) -> str:
        return "\n".join(self.row_text(i) for i in range(len(self._rows)))

    def first_visible_row(self) -> int:
        return self.verticalScrollBar().value()

    def visible_rows(self) -> int:
        return max(1, self.viewport().height() // self._line_height())

    def at_end(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum()

    def _prefix(self, row) -> str:
        prefix = f"{stamp(row[TIME]):8}  "
        if self._show_step:
            prefix += f"{row[STEP]:<{self._step_width}}  "
        return prefix

    def _prefix_len(self) -> int:
        return 10 + (self._step_width + 2 if self._show_step else 0)

    # -- selection -----------------------------------------------------------------
    def select_all(self) -> None:
        if self._rows:
            self._anchor = (0, 0)
            self._cursor = (len(self._rows) - 1, len(self.row_text(len(self._rows) - 1)))
            self.viewport().update()

    def select_rows(self, first: int, last: int) -> None:
        """Select whole rows `first`..`last` (inclusive)."""
        self._anchor = (first, 0)
        self._cursor = (last, len(self.row_text(last)))
        self.viewport().update()

    def has_selection(self) -> bool:
        return self._anchor is not None and self._anchor != self._cursor

    def _ordered(self) -> tuple[tuple[int, int], tuple[int, int]]:
        a, b = self._anchor, self._cursor
        return (a, b) if a <= b else (b, a)

    def selected_text(self) -> str:
        if not self.has_selection():
            return ""
        (r0, c0), (r1, c1) = self._ordered()
        if r0 == r1:
            return self.row_text(r0)[c0:c1]
        parts = [self.row_text(r0)[c0:]]
        parts += [self.row_text(r) for r in range(r0 + 1, r1)]
        parts.append(self.row_text(r1)[:c1])
        return "\n".join(parts)

    def copy(self) -> bool:
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)
        return bool(text)

    def _shift_selection(self, removed: int) -> None:
        if self._anchor is None:
            return
        (ar, ac), (cr, cc) = self._anchor, self._cursor
        if cr - removed < 0 and ar - removed < 0:
            self._anchor = self._cursor = None
            return
        self._anchor = (max(0, ar - removed), ac if ar >= removed else 0)
        self._cursor = (max(0, cr - removed), cc if cr >= removed else 0)

    def _position_at(self, point: QPoint) -> tuple[int, int]:
        """(row, column) under a viewport point, clamped to the rows."""
        if not self._rows:
            return (0, 0)
        row = self.first_visible_row() + point.y() // self._line_height()
        row = min(max(row, 0), len(self._rows) - 1)
        x = point.x() + self.horizontalScrollBar().value() - PAD
        column = max(0, round(x / self._char_width()))
        return (row, min(column, len(self.row_text(row))))

    # -- geometry ------------------------------------------------------------------
    def _line_height(self) -> int:
        if not self._metrics[0]:
            metrics = self.fontMetrics()
            self._metrics = (metrics.lineSpacing(), metrics.horizontalAdvance("0"))
        return self._metrics[0]

    def _char_width(self) -> float:
        self._line_height()
        return self._metrics[1]

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._metrics = (0, 0.0)
            self._update_bars()
        super().changeEvent(event)

    def _update_bars(self) -> None:
        visible = self.visible_rows()
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, len(self._rows) - visible))
        bar.setPageStep(visible)
        bar.setSingleStep(1)
        width = int((self._prefix_len() + self._widest) * self._char_width()) + 2 * PAD
        hbar = self.horizontalScrollBar()
        hbar.setRange(0, max(0, width - self.viewport().width()))
        hbar.setPageStep(self.viewport().width())
        hbar.setSingleStep(int(self._char_width() * 4))

    def resizeEvent(self, event) -> None:
        follow = self.at_end()
        super().resizeEvent(event)
        self._update_bars()
        if follow:
            self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().update()

    # -- drawing -------------------------------------------------------------------
    def set_colours(self, colours: dict[str, str]) -> None:
        self._colours = {k: QColor(v) for k, v in colours.items()}
        self.viewport().update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self.viewport())
        painter.setFont(self.font())
        area = self.viewport().rect()
        if not self._rows:
            if self.placeholder:
                painter.setPen(self.palette().placeholderText().color())
                painter.drawText(
                    area.adjusted(PAD, PAD, -PAD, -PAD),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                    self.placeholder,
                )
            return
        metrics = self.fontMetrics()
        height, cw = self._line_height(), self._char_width()
        ascent = metrics.ascent()
        left = PAD - self.horizontalScrollBar().value()
        first = self.first_visible_row()
        last = min(len(self._rows), first + area.height() // height + 2)
        c = self._colours
        selection = self._ordered() if self.has_selection() else None
        highlight = self.palette().highlight()
        selected_pen = self.palette().highlightedText().color()
        italic = QFont(self.font())
        italic.setItalic(True)
        for i in range(first, last):
            row = self._rows[i]
            y = (i - first) * height
            error = row[STREAM] in ERROR_STREAMS
            if error:
                painter.fillRect(0, y, area.width(), height, c["stderr_bg"])
            prefix = self._prefix(row)
            chosen = None  # the selected part of this row, drawn again in the selection's colours
            if selection is not None and selection[0][0] <= i <= selection[1][0]:
                (r0, c0), (r1, c1) = selection
                start = c0 if i == r0 else 0
                end = c1 if i == r1 else len(prefix) + len(row[TEXT]) + 1
                chosen = QRectF(left + start * cw, y, (end - start) * cw, height)
            if row[STREAM] == "pipeloom":
                text_pen, text_font = c["pipeloom"], italic
            else:
                text_pen, text_font = c["stderr" if error else "text"], self.font()
            self._draw_row(painter, y + ascent, left, cw, prefix, row[TEXT], text_pen, text_font)
            if chosen is not None:
                painter.fillRect(chosen, highlight)
                painter.save()
                painter.setClipRect(chosen)
                self._draw_row(
                    painter, y + ascent, left, cw, prefix, row[TEXT], selected_pen, text_font, True
                )
                painter.restore()

    def _draw_row(
        self, painter, baseline, left, cw, prefix, text, text_pen, text_font, one_pen=False
    ) -> None:
        """Time, step and text of a row, each in its colour (or all in `text_pen`)."""
        c = self._colours
        x = float(left)
        painter.setPen(text_pen if one_pen else c["time"])
        painter.drawText(QPointF(x, baseline), prefix[:10])
        x += 10 * cw
        if self._show_step:
            painter.setPen(text_pen if one_pen else c["step"])
            painter.drawText(QPointF(x, baseline), prefix[10:])
            x += (len(prefix) - 10) * cw
        painter.setPen(text_pen)
        painter.setFont(text_font)
        painter.drawText(QPointF(x, baseline), text)
        painter.setFont(self.font())

    # -- interaction ---------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        position = self._position_at(event.position().toPoint())
        if not (event.modifiers() & Qt.KeyboardModifier.ShiftModifier) or self._anchor is None:
            self._anchor = position
        self._cursor = position
        self.viewport().update()

    def mouseMoveEvent(self, event) -> None:
        if not (event.buttons() & Qt.MouseButton.LeftButton) or self._anchor is None:
            return super().mouseMoveEvent(event)
        self._drag_pos = event.position().toPoint()
        self._cursor = self._position_at(self._drag_pos)
        outside = self._drag_pos.y() < 0 or self._drag_pos.y() > self.viewport().height()
        if outside and not self._drag_scroll.isActive():
            self._drag_scroll.start()
        elif not outside:
            self._drag_scroll.stop()
        self.viewport().update()

    def mouseReleaseEvent(self, event) -> None:
        self._drag_scroll.stop()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._rows:
            row, _ = self._position_at(event.position().toPoint())
            self.select_rows(row, row)

    def _scroll_while_dragging(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + (-1 if self._drag_pos.y() < 0 else 1))
        self._cursor = self._position_at(self._drag_pos)
        self.viewport().update()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and (
            event.matches(QKeySequence.StandardKey.Copy)
            or event.matches(QKeySequence.StandardKey.SelectAll)
        ):
            event.accept()  # the window's canvas Copy / Select All must not take these keys
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        bar = self.verticalScrollBar()
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        elif event.matches(QKeySequence.StandardKey.MoveToStartOfDocument):
            bar.setValue(0)
        elif event.matches(QKeySequence.StandardKey.MoveToEndOfDocument):
            bar.setValue(bar.maximum())
        else:
            super().keyPressEvent(event)  # arrows and page keys scroll

    def contextMenuEvent(self, event) -> None:
        menu = QMenu(self)
        copy = menu.addAction("Copy", self.copy)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setEnabled(self.has_selection())
        select = menu.addAction("Select All", self.select_all)
        select.setShortcut(QKeySequence.StandardKey.SelectAll)
        menu.exec(event.globalPos())
