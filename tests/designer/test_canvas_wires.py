"""Connecting on the canvas with real mouse events: checks, refusals, replace, quick-add."""

from __future__ import annotations

from canvas_helpers import body_pos, drag, open_canvas, port_pos, send_mouse
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtTest import QTest

from engine.pipeline.model import Ref


def test_scene_mirrors_the_document(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    assert set(scene.nodes) == set(doc.pipeline.nodes)
    assert set(scene.wires) == {("prep", "table"), ("train", "data")}
    wire = scene.wires[("train", "data")]
    assert (wire.source, wire.output) == ("prep", "out")
    assert scene.nodes["prep"].pos() == QPointF(300, 0)


def test_drag_output_to_input_connects_in_one_undo_step(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    drag(view, port_pos(scene, "prep", "out", "out"), port_pos(scene, "train", "in", "extra"))
    assert doc.pipeline.nodes["train"].input("extra").source == Ref("prep", "out")
    assert ("train", "extra") in scene.wires
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.pipeline.nodes["train"].input("extra").source is None
    assert ("train", "extra") not in scene.wires
    doc.undo_stack.redo()
    assert ("train", "extra") in scene.wires


def test_incompatible_input_is_marked_and_refused(qtbot):
    doc, view, scene, messages = open_canvas(qtbot)
    start = port_pos(scene, "files", "out", "data")  # a file dataset
    target = port_pos(scene, "train", "in", "typed")  # a tabular input
    drag(view, start, target, release=False)
    assert scene.nodes["train"]._marks[("in", "typed")] == "refused"
    assert scene.nodes["train"]._marks[("in", "extra")] == "ok"  # untyped takes the source's kind
    send_mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        target,
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
    )
    assert doc.pipeline.nodes["train"].input("typed").source is None
    assert doc.undo_stack.count() == 0
    assert any("file output cannot feed the tabular input" in m for m in messages)
    assert scene.nodes["train"]._marks == {}  # highlights cleared after the drop


def test_cycle_is_refused_with_a_message(qtbot):
    doc, view, scene, messages = open_canvas(qtbot)
    before = doc.pipeline.copy()
    # train reads prep; wiring train's output back into prep would close a loop
    drag(view, port_pos(scene, "train", "out", "model"), port_pos(scene, "prep", "in", "table"))
    assert doc.pipeline == before
    assert doc.undo_stack.count() == 0
    assert any("cycle" in m for m in messages)


def test_dropping_on_a_connected_input_replaces_its_source(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    drag(view, port_pos(scene, "titanic", "out", "data"), port_pos(scene, "train", "in", "data"))
    assert doc.pipeline.nodes["train"].input("data").source == Ref("titanic")
    assert scene.wires[("train", "data")].source == "titanic"
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.pipeline.nodes["train"].input("data").source == Ref("prep", "out")
    assert scene.wires[("train", "data")].source == "prep"


def test_dropping_on_a_node_body_adds_an_input_named_after_the_source(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    drag(view, port_pos(scene, "titanic", "out", "data"), body_pos(scene, "report"))
    report = doc.pipeline.nodes["report"]
    assert [p.name for p in report.inputs] == ["model", "titanic"]
    assert report.input("titanic").source == Ref("titanic")
    assert ("report", "titanic") in scene.wires
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert [p.name for p in doc.pipeline.nodes["report"].inputs] == ["model"]
    assert ("report", "titanic") not in scene.wires


def test_spark_step_refuses_an_input_in_a_non_direct_mode(qtbot):
    doc, view, scene, messages = open_canvas(qtbot)
    prep = doc.pipeline.nodes["prep"]
    from engine.pipeline import changes as ch
    from engine.pipeline.model import InputPort

    doc.push(ch.AddPort("prep", "in", InputPort("copied", mode="download")))
    drag(view, port_pos(scene, "files", "out", "data"), port_pos(scene, "prep", "in", "copied"))
    assert prep.input("copied").source is None
    assert any("direct" in m for m in messages)


def test_picking_a_wire_up_by_its_input_and_dropping_on_empty_disconnects(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    drag(view, port_pos(scene, "train", "in", "data"), QPointF(450, 500))
    assert doc.pipeline.nodes["train"].input("data").source is None
    assert ("train", "data") not in scene.wires
    assert view.quick_add is None  # a picked-up wire dropped on nothing just goes away
    doc.undo_stack.undo()
    assert ("train", "data") in scene.wires


def test_wire_dropped_on_empty_canvas_opens_quick_add_and_connects_in_one_step(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    drop = QPointF(620, 520)
    drag(view, port_pos(scene, "prep", "out", "out"), drop)
    popup = view.quick_add
    assert popup is not None and popup.isVisible()
    assert set(popup.visible_types()) == {"spark-step", "script-step"}  # no dataset: no inputs
    QTest.keyClicks(popup.search, "script")
    assert popup.visible_types() == ["script-step"]
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    names = [
        n for n in doc.pipeline.nodes if n not in ("titanic", "files", "prep", "train", "report")
    ]
    assert len(names) == 1
    new = doc.pipeline.nodes[names[0]]
    assert new.type == "script-step"
    assert new.position == (620.0, 520.0)
    assert [str(p.source) for p in new.inputs] == ["prep.out"]
    assert (new.name, new.inputs[0].name) in scene.wires
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert names[0] not in doc.pipeline.nodes and names[0] not in scene.nodes


def test_tab_opens_quick_add_at_the_cursor(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Tab)
    popup = view.quick_add
    assert popup is not None
    assert set(popup.visible_types()) == {"dataset", "spark-step", "script-step"}
    popup.choose("dataset")
    added = [n for n in doc.pipeline.nodes if n.startswith("dataset")]
    assert added and doc.pipeline.nodes[added[0]].type == "dataset"
    assert doc.undo_stack.count() == 1


def test_hovering_a_compatible_input_snaps_the_dragged_wire_to_it(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    target = port_pos(scene, "report", "in", "model")
    drag(view, port_pos(scene, "train", "out", "model"), target + QPointF(6, 3), release=False)
    assert scene._drag_wire.valid
    assert scene.nodes["report"]._marks[("in", "model")] == "target"
    assert scene._drag_wire.boundingRect().contains(target)
    send_mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        target + QPointF(6, 3),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
    )
    assert doc.pipeline.nodes["report"].input("model").source == Ref("train", "model")
    assert scene._drag_wire is None


def test_cursor_is_a_crosshair_over_ports(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    send_mouse(
        view,
        QEvent.Type.MouseMove,
        port_pos(scene, "prep", "out", "out"),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
    )
    assert view.viewport().cursor().shape() == Qt.CursorShape.CrossCursor
    send_mouse(
        view,
        QEvent.Type.MouseMove,
        QPointF(450, 600),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
    )
    assert view.viewport().cursor().shape() != Qt.CursorShape.CrossCursor


def test_clicking_a_wire_selects_it_and_delete_disconnects(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    wire = scene.wires[("train", "data")]
    middle = wire.path().pointAtPercent(0.5)
    drag(view, middle, middle, steps=1)
    assert scene.selected_wires() == [("train", "data")]
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert doc.pipeline.nodes["train"].input("data").source is None
    assert ("train", "data") not in scene.wires


def test_dragging_from_an_unconnected_input_to_an_output_connects(qtbot):
    doc, view, scene, messages = open_canvas(qtbot)
    start = port_pos(scene, "report", "in", "model")
    drag(view, start, port_pos(scene, "train", "out", "model"), release=False)
    assert scene.nodes["train"]._marks[("out", "model")] == "target"
    assert scene.nodes["report"]._marks[("out", "html")] == "refused"  # its own output
    send_mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        port_pos(scene, "train", "out", "model"),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
    )
    assert doc.pipeline.nodes["report"].input("model").source == Ref("train", "model")
    assert doc.undo_stack.count() == 1
    # backwards into a node upstream of the input's node is a cycle
    drag(view, port_pos(scene, "train", "in", "extra"), body_pos(scene, "report"))
    assert doc.pipeline.nodes["train"].input("extra").source is None
    assert any("cycle" in m for m in messages)


def test_dragging_from_an_input_to_empty_canvas_adds_a_feeding_node(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    drop = QPointF(300, 520)
    drag(view, port_pos(scene, "train", "in", "extra"), drop)
    popup = view.quick_add
    assert popup is not None
    assert set(popup.visible_types()) == {"dataset", "spark-step", "script-step"}
    popup.choose("dataset")
    new = [n for n in doc.pipeline.nodes if n.startswith("dataset")]
    assert len(new) == 1
    assert doc.pipeline.nodes["train"].input("extra").source == Ref(new[0])
    assert ("train", "extra") in scene.wires
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert not [n for n in doc.pipeline.nodes if n.startswith("dataset")]
    assert doc.pipeline.nodes["train"].input("extra").source is None
