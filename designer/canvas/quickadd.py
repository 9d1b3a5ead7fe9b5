"""Quick-add: a searchable list of node types, opened by Tab or by dropping a wire on empty canvas."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from engine.pipeline import registry

from .items import node_icon

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


def matches(spec: registry.NodeSpec, text: str) -> bool:
    """Every word typed appears in the type's title, name, category or keywords."""
    haystack = " ".join((spec.title, spec.type, spec.category, *spec.keywords)).lower()
    return all(word in haystack for word in text.lower().split())


class QuickAddPopup(QFrame):
    """Type to filter, arrows to pick, Enter to add, Esc to close. Emits `chosen(type)`."""

    chosen = Signal(str)
    closed = Signal()

    def __init__(self, types: list[str] | None = None, title: str | None = None, parent=None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("quickAdd")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.types = list(types) if types is not None else list(registry.NODE_SPECS)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(title or "Add node…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setIconSize(QSize(20, 20))
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        for t in self.types:
            spec = registry.spec(t)
            item = QListWidgetItem(spec.title)
            item.setData(TYPE_ROLE, spec.type)
            item.setToolTip(spec.description)
            image = node_icon(spec.type)
            if image is not None:
                item.setIcon(QIcon(QPixmap.fromImage(image)))
            self.list.addItem(item)
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self.choose_current)
        self.list.itemActivated.connect(lambda it: self.choose(it.data(TYPE_ROLE)))
        self.list.itemClicked.connect(lambda it: self.choose(it.data(TYPE_ROLE)))
        self.search.installEventFilter(self)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rows = max(1, min(len(self.types), 8))
        row_h = self.list.sizeHintForRow(0) if self.list.count() else 24
        self.list.setFixedHeight(rows * row_h + 2 * self.list.frameWidth() + 4)
        self.resize(280, self.sizeHint().height())
        self.set_filter("")

    def visible_types(self) -> list[str]:
        return [
            self.list.item(i).data(TYPE_ROLE)
            for i in range(self.list.count())
            if not self.list.item(i).isHidden()
        ]

    def set_filter(self, text: str) -> None:
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            hidden = not matches(registry.spec(item.data(TYPE_ROLE)), text)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        self.list.setCurrentItem(first)

    def choose_current(self) -> None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            self.choose(item.data(TYPE_ROLE))

    def choose(self, node_type: str) -> None:
        self.hide()
        self.chosen.emit(node_type)

    def popup_at(self, global_pos: QPoint) -> None:
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    def eventFilter(self, obj, event) -> bool:
        # arrows in the search box move through the list, as in every quick-open box
        if obj is self.search and event.type() == event.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
                if rows:
                    cur = self.list.currentRow()
                    pos = rows.index(cur) if cur in rows else -1
                    step = 1 if event.key() == Qt.Key.Key_Down else -1
                    self.list.setCurrentRow(rows[(pos + step) % len(rows)])
                return True
        return super().eventFilter(obj, event)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.closed.emit()
