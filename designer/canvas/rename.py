"""Rename in place: a text editor over a node's title; Enter commits, Esc cancels."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import QGraphicsTextItem

from . import style
from .items import ICON_SIZE, NodeItem, fonts


class RenameEditor(QGraphicsTextItem):
    """Edits `item`'s name; calls finish(item, text) on Enter/focus loss, finish(item, None)
    on Esc."""

    def __init__(self, item: NodeItem, finish: Callable[[NodeItem, str | None], None]):
        super().__init__(item.name, item)
        self.node_item = item
        self._finish = finish
        self._done = False
        item.editor = self
        self.setFont(fonts()[0])
        self.setDefaultTextColor(QColor(style.colors().title_text))
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction)
        self.setPos(QPointF(9 + ICON_SIZE + 3, 2))
        self.setTextWidth(max(60.0, item.rect().width() - ICON_SIZE - 24))
        self.setZValue(5)
        cursor = self.textCursor()
        cursor.select(QTextCursor.SelectionType.Document)
        self.setTextCursor(cursor)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        item.update()

    def commit(self) -> None:
        self._end(self.toPlainText())

    def cancel(self) -> None:
        self._end(None)

    def _end(self, text: str | None) -> None:
        if self._done:
            return
        self._done = True
        self._finish(self.node_item, text)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.commit()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self.commit()
