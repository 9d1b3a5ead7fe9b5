"""The node palette: the registry's node types grouped by category, filtered by a search box.

Dragging an entry carries NODE_TYPE_MIME (the canvas view creates the node where it is dropped);
double-click or Enter asks the window to add one at the centre of the view.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QIcon, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.theme import ThemeManager, bind_icon, icon
from engine.pipeline import registry

NODE_TYPE_MIME = "application/x-pipeloom-node-type"
TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


def matches(spec: registry.NodeSpec, text: str) -> bool:
    """Every word of `text` appears in the type's title, name, category, keywords or text."""
    haystack = " ".join(
        (spec.title, spec.type, spec.category, spec.description, *spec.keywords)
    ).lower()
    return all(word in haystack for word in text.lower().split())


SUMMARIES = {  # one short line under each type's title; the tooltip has the full description
    "dataset": "CSV, Parquet, a folder",
    "spark-step": "PySpark on Spark",
    "script-step": "Python on a CPU pool",
}


class _TypeDelegate(QStyledItemDelegate):
    """Type entries as icon, title and a muted summary line; category rows stay plain."""

    def sizeHint(self, option, index):
        size = super().sizeHint(option, index)
        if index.data(TYPE_ROLE):
            size.setHeight(option.fontMetrics.height() * 2 + 14)
        return size

    def paint(self, painter, option, index) -> None:
        node_type = index.data(TYPE_ROLE)
        if not node_type:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        opt.icon = QIcon()
        widget = option.widget
        style = widget.style() if widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect = option.rect.adjusted(6, 0, -6, 0)
        icon_size = 26
        icon_rect = QRect(rect.left(), rect.center().y() - icon_size // 2, icon_size, icon_size)
        index.data(Qt.ItemDataRole.DecorationRole).paint(painter, icon_rect)
        text_left = icon_rect.right() + 10
        line = option.fontMetrics.height()
        title_rect = QRect(text_left, rect.center().y() - line, rect.right() - text_left, line)
        summary_rect = title_rect.translated(0, line + 1)
        pal = option.palette
        painter.save()
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        painter.drawText(
            title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
        )
        small = QFont(option.font)
        small.setPointSizeF(option.font.pointSizeF() * 0.86)
        painter.setFont(small)
        painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        summary = QFontMetrics(small).elidedText(
            SUMMARIES.get(node_type) or registry.spec(node_type).description,
            Qt.TextElideMode.ElideRight,
            summary_rect.width(),
        )
        painter.drawText(
            summary_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, summary
        )
        painter.restore()


class _NodeTypeTree(QTreeWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(8)
        self.setIconSize(QSize(22, 22))
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setItemDelegate(_TypeDelegate(self))

    def startDrag(self, _actions) -> None:
        # copy only: a "move" drop (Shift held) would make the view delete the dragged entry
        super().startDrag(Qt.DropAction.CopyAction)

    def mimeTypes(self) -> list[str]:
        return [NODE_TYPE_MIME]

    def mimeData(self, items) -> QMimeData:
        data = QMimeData()
        types = [it.data(0, TYPE_ROLE) for it in items if it.data(0, TYPE_ROLE)]
        if types:
            data.setData(NODE_TYPE_MIME, types[0].encode())
            data.setText(types[0])
        return data


class Palette(QWidget):
    """Search box over a tree of node types."""

    addRequested = Signal(str)  # node type

    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search node types")
        self.search.setClearButtonEnabled(True)
        search_icon = self.search.addAction(
            icon("search"), QLineEdit.ActionPosition.LeadingPosition
        )
        bind_icon(search_icon, "search")
        self.tree = _NodeTypeTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._populate()
        self._on_theme()
        ThemeManager.instance().themeChanged.connect(self._on_theme)
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._add_first_visible)
        self.tree.itemActivated.connect(self._on_activated)

    def _populate(self) -> None:
        for spec in registry.NODE_SPECS.values():
            cat = self._categories.get(spec.category)
            if cat is None:
                cat = QTreeWidgetItem(self.tree, [spec.category.upper()])
                cat.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = cat.font(0)
                font.setPointSizeF(max(7.5, font.pointSizeF() * 0.8))
                font.setBold(True)
                cat.setFont(0, font)
                self._categories[spec.category] = cat
            item = QTreeWidgetItem(cat, [spec.title])
            item.setData(0, TYPE_ROLE, spec.type)
            item.setToolTip(0, f"<b>{spec.title}</b><br>{spec.description}")
            item.setStatusTip(0, spec.description)
            item.setIcon(0, icon(spec.icon.removesuffix(".svg")))
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled
            )
        self.tree.expandAll()

    def _on_theme(self, _name: str = "") -> None:
        """Category headings in the muted text colour, type icons in the theme's colours."""
        muted = QApplication.palette().placeholderText()
        for cat in self._categories.values():
            cat.setForeground(0, muted)
        for item in self.type_items():
            item.setIcon(0, icon(registry.spec(item.data(0, TYPE_ROLE)).icon.removesuffix(".svg")))

    def type_items(self) -> list[QTreeWidgetItem]:
        items = []
        for cat in self._categories.values():
            items += [cat.child(i) for i in range(cat.childCount())]
        return items

    def visible_types(self) -> list[str]:
        return [it.data(0, TYPE_ROLE) for it in self.type_items() if not it.isHidden()]

    def set_filter(self, text: str) -> None:
        for cat in self._categories.values():
            shown = 0
            for i in range(cat.childCount()):
                item = cat.child(i)
                visible = matches(registry.spec(item.data(0, TYPE_ROLE)), text)
                item.setHidden(not visible)
                shown += visible
            cat.setHidden(shown == 0)

    def _on_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        node_type = item.data(0, TYPE_ROLE)
        if node_type:
            self.addRequested.emit(node_type)

    def _add_first_visible(self) -> None:
        """Enter adds the best match: a type whose title has the text before other matches."""
        text = self.search.text().strip().lower()
        types = sorted(
            self.visible_types(), key=lambda t: text not in registry.spec(t).title.lower()
        )
        if types:
            self.addRequested.emit(types[0])
