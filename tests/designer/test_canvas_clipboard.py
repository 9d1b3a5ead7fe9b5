"""Copy, cut, paste and duplicate on the canvas, through the real system clipboard."""

from __future__ import annotations

from canvas_helpers import open_canvas
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from designer.canvas.commands import CLIPBOARD_MIME
from engine.pipeline.model import Pipeline, Ref


def test_copy_in_one_window_and_paste_in_another(qtbot):
    doc_a, view_a, scene_a, _ = open_canvas(qtbot)
    doc_b, view_b, scene_b, _ = open_canvas(qtbot, Pipeline("other"))
    scene_a.select_nodes(["prep", "train"])
    view_a.setFocus()
    QTest.keyClick(view_a.viewport(), Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    data = QGuiApplication.clipboard().mimeData()
    assert data.hasFormat(CLIPBOARD_MIME)
    assert "prep" in data.text() and "train" in data.text()
    assert doc_a.undo_stack.count() == 0  # copying is not an edit

    names = view_b.paste(at=QPointF(100, 100))
    assert names == ["prep", "train"]
    b = doc_b.pipeline
    assert b.nodes["train"].input("data").source == Ref("prep", "out")  # wire inside the copy
    assert b.nodes["prep"].input("table").source is None  # titanic is not in this pipeline
    assert b.nodes["prep"].position == (100.0, 100.0)
    assert b.nodes["train"].position == (400.0, 100.0)  # relative placement kept
    assert set(scene_b.wires) == {("train", "data")}
    assert scene_b.selected_nodes() == ["prep", "train"]
    assert doc_b.undo_stack.count() == 1
    doc_b.undo_stack.undo()
    assert list(b.nodes) == [] and scene_b.nodes == {}
    assert list(doc_a.pipeline.nodes) == ["titanic", "files", "prep", "train", "report"]


def test_paste_in_the_same_pipeline_gets_fresh_names_and_keeps_outside_wires(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    scene.select_nodes(["prep", "train"])
    assert view.copy()
    names = view.paste()
    assert names == ["prep_2", "train_2"]
    p = doc.pipeline
    assert p.nodes["train_2"].input("data").source == Ref("prep_2", "out")
    assert p.nodes["prep_2"].input("table").source == Ref("titanic")
    assert p.nodes["prep_2"].position == (340.0, 40.0)
    assert ("prep_2", "table") in scene.wires and ("train_2", "data") in scene.wires
    again = view.paste()
    assert again == ["prep_3", "train_3"]
    assert p.nodes["prep_3"].position == (380.0, 80.0)  # repeated pastes do not stack
    assert doc.undo_stack.count() == 2


def test_duplicate_and_cut_are_one_step_each(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    scene.select_nodes(["report"])
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert "report_2" in doc.pipeline.nodes and scene.selected_nodes() == ["report_2"]
    assert doc.undo_stack.count() == 1
    QTest.keyClick(view.viewport(), Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert "report_2" not in doc.pipeline.nodes and "report_2" not in scene.nodes
    assert doc.undo_stack.count() == 2
    assert "report_2" in QGuiApplication.clipboard().text()
    doc.undo_stack.undo()
    assert "report_2" in scene.nodes


def test_pasting_text_that_is_not_nodes_is_refused_with_a_message(qtbot):
    doc, view, scene, messages = open_canvas(qtbot)
    QGuiApplication.clipboard().setText("just some words")
    assert view.paste() == []
    assert doc.undo_stack.count() == 0
    assert messages and "no Pipeloom nodes" in messages[-1]
