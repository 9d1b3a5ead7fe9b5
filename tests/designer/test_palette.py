"""The palette: grouped, searchable node types; drag onto the canvas; double-click adds."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from designer.palette import NODE_TYPE_MIME, TYPE_ROLE


def _item(palette, node_type):
    return next(i for i in palette.type_items() if i.data(0, TYPE_ROLE) == node_type)


def drop(view, mime: QMimeData, pos: QPoint) -> QDropEvent:
    """Send the drag-enter/move/drop sequence a real drag produces (QDrag.exec blocks offscreen)."""
    target = view.viewport()
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(target, move)
    assert move.isAccepted()
    event = QDropEvent(QPointF(pos), actions, mime, buttons, mods)
    QApplication.sendEvent(target, event)
    return event


def test_types_are_grouped_by_category(window):
    palette = window.palette_panel
    cats = {palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())}
    assert cats == {"DATA", "STEPS"}
    assert palette.visible_types() == ["dataset", "spark-step", "script-step"]


def test_search_filters_by_title_and_keywords(window):
    palette = window.palette_panel
    palette.search.setText("pyspark")
    assert palette.visible_types() == ["spark-step"]
    data_cat = palette.tree.topLevelItem(0)
    assert data_cat.isHidden()
    palette.search.setText("csv")
    assert palette.visible_types() == ["dataset"]
    palette.search.setText("no such thing")
    assert palette.visible_types() == []
    palette.search.clear()
    assert len(palette.visible_types()) == 3


def test_drag_carries_the_node_type(window):
    palette = window.palette_panel
    mime = palette.tree.mimeData([_item(palette, "script-step")])
    assert bytes(mime.data(NODE_TYPE_MIME)).decode() == "script-step"


def test_drop_from_palette_creates_node_where_dropped(opened, qtbot):
    window = opened
    palette = window.palette_panel
    before = set(window.document.pipeline.nodes)
    mime = palette.tree.mimeData([_item(palette, "spark-step")])
    pos = QPoint(200, 150)
    event = drop(window.view, mime, pos)
    assert event.isAccepted()
    added = set(window.document.pipeline.nodes) - before
    assert len(added) == 1
    node = window.document.pipeline.nodes[added.pop()]
    assert node.type == "spark-step"
    scene_pos = window.view.mapToScene(pos)
    assert abs(node.position[0] - scene_pos.x()) <= 20
    assert abs(node.position[1] - scene_pos.y()) <= 20
    assert window.document.modified
    window.document.undo_stack.undo()
    assert set(window.document.pipeline.nodes) == before


def test_double_click_adds_at_view_centre(opened, qtbot):
    window = opened
    palette = window.palette_panel
    before = set(window.document.pipeline.nodes)
    palette.tree.itemActivated.emit(_item(palette, "dataset"), 0)
    added = set(window.document.pipeline.nodes) - before
    assert len(added) == 1
    name = added.pop()
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    item = window.scene.nodes[name]
    assert item.sceneBoundingRect().adjusted(-30, -30, 30, 30).contains(centre)
    assert window.scene.selected_nodes() == [name]


def test_enter_in_search_adds_first_match(opened):
    window = opened
    palette = window.palette_panel
    palette.search.setText("script")
    before = set(window.document.pipeline.nodes)
    palette.search.returnPressed.emit()
    (name,) = set(window.document.pipeline.nodes) - before
    assert window.document.pipeline.nodes[name].type == "script-step"


def test_dropping_a_pipeline_file_opens_it(window, qtbot, titanic):
    from PySide6.QtCore import QUrl

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(titanic))])
    event = drop(window.view, mime, QPoint(100, 100))
    assert event.isAccepted()
    qtbot.waitUntil(lambda: window.document.path == titanic)
    assert "dataprep" in window.document.pipeline.nodes
    assert not window.document.modified  # opened, not added as a dataset


def test_dropping_a_csv_adds_a_dataset_not_a_pipeline(opened, qtbot, titanic):
    from PySide6.QtCore import QUrl

    window = opened
    csv = titanic.parent / "data" / "Titanic.csv"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(csv))])
    before = set(window.document.pipeline.nodes)
    drop(window.view, mime, QPoint(100, 100))
    (name,) = set(window.document.pipeline.nodes) - before
    assert window.document.pipeline.nodes[name].params["path"] == "data/Titanic.csv"
    assert window.document.path == titanic
