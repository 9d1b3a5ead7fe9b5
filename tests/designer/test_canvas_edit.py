"""Editing on the canvas: move, delete, rename in place, drops, problems, themes, minimap."""

from __future__ import annotations

from canvas_helpers import body_pos, drag, open_canvas, port_pos, send_mouse, title_pos
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from designer.canvas import set_canvas_theme, style
from designer.canvas.view import NODE_TYPE_MIME
from engine.pipeline import changes as ch
from engine.pipeline.model import InputPort, Node, OutputPort, Pipeline, Ref


def test_moving_nodes_is_one_undo_step_snapped_to_the_grid(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    scene.select_nodes(["prep", "train"])
    start = body_pos(scene, "prep")
    drag(view, start, start + QPointF(67, 43), steps=6)
    assert doc.pipeline.nodes["prep"].position == (360.0, 40.0)  # 367, 43 snapped to 20
    assert doc.pipeline.nodes["train"].position == (660.0, 40.0)
    assert doc.undo_stack.count() == 1
    assert scene.nodes["prep"].pos() == QPointF(360, 40)
    wire = scene.wires[("train", "data")]
    assert wire.path().pointAtPercent(0) == scene.nodes["prep"].port_scene_pos("out", "out")
    doc.undo_stack.undo()
    assert doc.pipeline.nodes["prep"].position == (300.0, 0.0)
    assert scene.nodes["prep"].pos() == QPointF(300, 0)
    assert scene.nodes["train"].pos() == QPointF(600, 0)
    assert wire.path().pointAtPercent(1) == scene.nodes["train"].port_scene_pos("in", "data")


def test_a_click_without_moving_changes_nothing(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    drag(view, body_pos(scene, "prep"), body_pos(scene, "prep"), steps=1)
    assert doc.undo_stack.count() == 0
    assert scene.selected_nodes() == ["prep"]


def test_delete_key_removes_nodes_and_wires_in_one_step_and_undo_restores(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    before = doc.pipeline.copy()
    scene.select_nodes(["prep"])
    scene.wires[("train", "data")].setSelected(True)
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert "prep" not in doc.pipeline.nodes and "prep" not in scene.nodes
    assert scene.wires == {}
    assert doc.pipeline.nodes["train"].input("data").source is None
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.pipeline == before
    assert set(scene.wires) == {("prep", "table"), ("train", "data")}
    assert scene.nodes["prep"].pos() == QPointF(300, 0)


def test_deleting_only_a_wire_disconnects(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    scene.wires[("prep", "table")].setSelected(True)
    assert view.delete_selection()
    assert doc.pipeline.nodes["prep"].input("table").source is None
    assert set(scene.nodes) == set(doc.pipeline.nodes)


def _double_click(view, scene_pos):
    send_mouse(view, QEvent.Type.MouseButtonPress, scene_pos)
    send_mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        scene_pos,
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
    )
    send_mouse(view, QEvent.Type.MouseButtonDblClick, scene_pos)
    send_mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        scene_pos,
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
    )


def test_rename_in_place_commits_on_enter_and_references_follow(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    view.setFocus()
    _double_click(view, title_pos(scene, "prep"))
    editor = scene.nodes["prep"].editor
    assert editor is not None and editor.toPlainText() == "prep"
    QTest.keyClicks(view.viewport(), "clean")  # replaces the selected name
    QTest.keyClick(view.viewport(), Qt.Key.Key_Return)
    assert "clean" in doc.pipeline.nodes and "prep" not in doc.pipeline.nodes
    assert doc.pipeline.nodes["train"].input("data").source == Ref("clean", "out")
    assert "clean" in scene.nodes and scene.wires[("train", "data")].source == "clean"
    assert scene.nodes["clean"].editor is None
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert "prep" in scene.nodes and scene.wires[("train", "data")].source == "prep"


def test_rename_refuses_invalid_and_clashing_names_and_esc_cancels(qtbot):
    doc, view, scene, messages = open_canvas(qtbot)
    view.setFocus()
    editor = scene.start_rename("prep")
    editor.setPlainText("train")
    editor.commit()
    assert any("already exists" in m for m in messages)
    editor = scene.start_rename("prep")
    editor.setPlainText("9 lives")
    editor.commit()
    assert any("not a valid node name" in m for m in messages)
    _double_click(view, title_pos(scene, "prep"))
    QTest.keyClicks(view.viewport(), "other")
    QTest.keyClick(view.viewport(), Qt.Key.Key_Escape)
    assert scene.nodes["prep"].editor is None
    assert doc.undo_stack.count() == 0
    assert list(doc.pipeline.nodes) == ["titanic", "files", "prep", "train", "report"]


def test_model_edits_from_elsewhere_update_the_canvas(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    doc.push(ch.RenamePort("prep", "out", "out", "cleaned"))
    assert scene.wires[("train", "data")].output == "cleaned"
    assert [p.name for p in scene.nodes["prep"].ports if p.direction == "out"] == ["cleaned"]
    doc.push(ch.RemovePort("prep", "out", "cleaned"))
    assert ("train", "data") not in scene.wires
    doc.undo_stack.undo()
    assert scene.wires[("train", "data")].output == "cleaned"
    doc.push(ch.Group([ch.MoveNode("titanic", (40, 400)), ch.MoveNode("files", (40, 600))]))
    assert scene.nodes["titanic"].pos() == QPointF(40, 400)


def test_problems_show_as_badges_on_nodes_and_ports(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    doc.validate_now()
    assert ("in", "table") not in scene.nodes["prep"]._port_problems
    doc.push(ch.SetPortField("prep", "in", "table", "source", Ref("ghost")))
    problems = doc.validate_now()
    assert any(
        p.node == "prep" and p.field and p.field.startswith("inputs.table") for p in problems
    )
    item = scene.nodes["prep"]
    assert item.problems()
    assert ("in", "table") in item._port_problems
    assert "ghost" in item.tooltip_text()
    doc.undo_stack.undo()
    doc.validate_now()
    assert ("in", "table") not in scene.nodes["prep"]._port_problems
    assert ("in", "extra") in scene.nodes["train"]._port_problems  # unconnected input


def test_hovering_a_node_shows_its_tooltip_with_its_problems(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    doc.push(ch.SetPortField("prep", "in", "table", "source", Ref("ghost")))
    doc.validate_now()

    def hover(scene_pos: QPointF) -> str:
        QToolTip.hideText()
        qtbot.waitUntil(lambda: not QToolTip.isVisible())
        at = view.mapFromScene(scene_pos)
        event = QHelpEvent(QEvent.Type.ToolTip, at, view.viewport().mapToGlobal(at))
        QApplication.sendEvent(view.viewport(), event)
        return QToolTip.text() if QToolTip.isVisible() else ""

    tip = hover(body_pos(scene, "prep"))
    assert tip.startswith("prep (Spark step)")
    assert "ghost" in tip  # the problem, as it is now
    doc.undo_stack.undo()
    doc.validate_now()
    assert "ghost" not in hover(body_pos(scene, "prep"))
    empty = QPointF(400, 500)
    assert not any(isinstance(i, type(scene.nodes["prep"])) for i in scene.items(empty))
    assert hover(empty) == ""  # no node there: no tooltip


def test_run_status_and_progress_hooks(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    item = scene.nodes["prep"]
    bottom = view.mapFromScene(
        item.mapToScene(QPointF(item.rect().width() / 2, item.rect().height() - 1.5))
    )
    before = view.grab().toImage().pixelColor(bottom).name()
    scene.set_run_status("prep", "Running")
    scene.set_run_progress("prep", 0.75)
    assert item.run_status() == "Running" and item.run_progress() == 0.75
    after = view.grab().toImage().pixelColor(bottom).name()
    assert before != after and after == style.LIGHT.status["Running"]
    scene.clear_run_status()
    assert item.run_status() is None and item.run_progress() is None


def test_palette_drop_creates_a_node_where_it_is_dropped(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    data = QMimeData()
    data.setData(NODE_TYPE_MIME, b"spark-step")
    at = view.mapFromScene(QPointF(900, 500))
    event = QDropEvent(
        QPointF(at),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    view.dropEvent(event)
    added = [n for n in doc.pipeline.nodes if n.startswith("spark_step")]
    assert len(added) == 1
    assert doc.pipeline.nodes[added[0]].position == (900.0, 500.0)
    assert scene.selected_nodes() == added


def test_file_drop_adds_datasets_relative_to_the_pipeline(qtbot, tmp_path):
    from designer.canvas import make_canvas
    from designer.document import Document

    (tmp_path / "sales.csv").write_text("a,b\n1,2\n")
    (tmp_path / "rates.tsv").write_text("a\tb\n1\t2\n")
    (tmp_path / "events").mkdir()
    doc = Document(Pipeline("p"), path=tmp_path / "pipeline.yaml")
    view = make_canvas(doc)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    data = QMimeData()
    data.setUrls(
        [
            QUrl.fromLocalFile(str(tmp_path / "sales.csv")),
            QUrl.fromLocalFile(str(tmp_path / "events")),
            QUrl.fromLocalFile(str(tmp_path / "rates.tsv")),
        ]
    )
    event = QDropEvent(
        QPointF(QPoint(100, 100)),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    view.dropEvent(event)
    sales, events = doc.pipeline.nodes["sales"], doc.pipeline.nodes["events"]
    assert sales.params == {
        "kind": "tabular",
        "path": "sales.csv",
        "format.type": "csv",
        "format.header": True,
    }
    assert events.params["path"] == "events"
    assert doc.pipeline.nodes["rates"].params["format.delimiter"] == "\t"
    x, y = sales.position
    assert doc.pipeline.nodes["rates"].position == (x, y + 240)  # stacked below the others
    assert doc.undo_stack.count() == 1


def test_theme_switch_repaints_with_the_dark_palette(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    try:
        set_canvas_theme("dark")
        image = view.grab().toImage()
        assert image.pixelColor(3, 3).name() == style.DARK.background
        set_canvas_theme("light")
        image = view.grab().toImage()
        assert image.pixelColor(3, 3).name() == style.LIGHT.background
    finally:
        set_canvas_theme("light")


def test_far_zoom_draws_simplified_nodes(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    view.set_zoom(0.15)
    view.centerOn(scene.nodes["prep"].sceneBoundingRect().center())
    image = view.grab().toImage()
    centre = view.mapFromScene(scene.nodes["prep"].sceneBoundingRect().center())
    # at 15% a node is a solid block of its kind's accent colour
    assert image.pixelColor(centre.x(), centre.y()).name() == style.LIGHT.accent("spark-step")


def test_minimap_shows_for_large_graphs_and_navigates(qtbot):
    p = Pipeline("wide")
    for i in range(40):
        p.nodes[f"d{i}"] = Node(
            f"d{i}", "dataset", {"path": "x.csv"}, position=(i * 300.0, (i % 5) * 150.0)
        )
    doc, view, scene, _ = open_canvas(qtbot, p, size=(900, 600))
    view.reset_zoom()
    view.centerOn(QPointF(0, 0))
    QApplication.processEvents()
    assert view.minimap.isVisible()
    qtbot.waitUntil(lambda: view.minimap._image is not None)  # drawn right after its first paint
    target = view.minimap._to_map(scene.nodes["d35"].sceneBoundingRect()).center()
    shown = view.minimap.grab().toImage().pixelColor(target.toPoint())
    accent, fill = QColor(style.LIGHT.accent("dataset")), QColor(style.LIGHT.minimap_fill)

    def distance(a: QColor, b: QColor) -> int:
        return sum(abs(x - y) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))

    assert distance(shown, accent) < distance(shown, fill)  # the node's tiny rect is drawn
    QTest.mouseClick(view.minimap, Qt.MouseButton.LeftButton, pos=target.toPoint())
    assert view.visible_scene_rect().contains(scene.nodes["d35"].sceneBoundingRect().center())
    view.fit_to_view()
    assert not view.minimap.isVisible()


def test_zoom_keeps_the_point_under_the_cursor(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    anchor = QPointF(300, 200)
    before = view.mapToScene(anchor.toPoint())
    view.zoom_by(1.8, anchor)
    after = view.mapToScene(anchor.toPoint())
    assert abs(before.x() - after.x()) < 1.5 and abs(before.y() - after.y()) < 1.5
    assert abs(view.zoom() - 1.8) < 1e-6


def test_middle_drag_pans(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    before = view.mapToScene(QPoint(100, 100))
    start = view.mapToScene(QPoint(400, 400))
    send_mouse(
        view,
        QEvent.Type.MouseButtonPress,
        start,
        Qt.MouseButton.MiddleButton,
        Qt.MouseButton.MiddleButton,
    )
    send_mouse(
        view,
        QEvent.Type.MouseMove,
        start + QPointF(-120, -60),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.MiddleButton,
    )
    send_mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        start + QPointF(-120, -60),
        Qt.MouseButton.MiddleButton,
        Qt.MouseButton.NoButton,
    )
    after = view.mapToScene(QPoint(100, 100))
    assert round(after.x() - before.x()) == 120 and round(after.y() - before.y()) == 60
    assert doc.undo_stack.count() == 0


def test_auto_layout_is_one_step_without_overlaps(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    assert view.auto_layout()
    assert doc.undo_stack.count() == 1
    rects = [scene.nodes[n].mapRectToScene(scene.nodes[n].rect()) for n in scene.nodes]
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert not a.intersects(b)
    xs = {n: scene.nodes[n].pos().x() for n in scene.nodes}
    assert xs["titanic"] < xs["prep"] < xs["train"]
    doc.undo_stack.undo()
    assert scene.nodes["prep"].pos() == QPointF(300, 0)


def test_changing_a_dataset_kind_recolours_its_port_and_wires(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    doc.push(ch.SetParam("titanic", "kind", "file"))
    assert scene.wires[("prep", "table")].kind == "file"
    assert scene.nodes["titanic"].port("out", "data").kind == "file"
    doc.undo_stack.undo()
    assert scene.wires[("prep", "table")].kind == "tabular"


def test_wires_follow_a_node_while_it_is_dragged(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    start = body_pos(scene, "prep")
    drag(view, start, start + QPointF(0, 120), release=False)
    wire = scene.wires[("train", "data")]
    assert scene.nodes["prep"].pos() == QPointF(300, 120)
    assert wire.path().pointAtPercent(0) == scene.nodes["prep"].port_scene_pos("out", "out")
    assert doc.undo_stack.count() == 0  # nothing is committed before the release
    send_mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        start + QPointF(0, 120),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
    )
    assert doc.pipeline.nodes["prep"].position == (300.0, 120.0)


def test_arrow_keys_nudge_the_selection_one_grid_step_per_press(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    scene.select_nodes(["prep"])
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Right)
    QTest.keyClick(view.viewport(), Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert doc.pipeline.nodes["prep"].position == (320.0, 100.0)
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    assert scene.nodes["prep"].pos() == QPointF(320, 0)


def test_dragging_a_node_to_the_edge_scrolls_the_view_and_the_node_follows(qtbot, monkeypatch):
    doc, view, scene, _ = open_canvas(qtbot)
    start = body_pos(scene, "prep")
    edge = view.mapToScene(QPoint(view.viewport().width() - 5, view.mapFromScene(start).y()))
    drag(view, start, QPointF(edge), release=False)
    monkeypatch.setattr(
        QApplication, "mouseButtons", staticmethod(lambda: Qt.MouseButton.LeftButton)
    )
    before_view = view.visible_scene_rect().left()
    before_node = scene.nodes["prep"].pos().x()
    for _ in range(5):
        view._autoscroll_step()
    assert view.visible_scene_rect().left() > before_view + 50
    assert scene.nodes["prep"].pos().x() > before_node + 50
    monkeypatch.undo()
    end = view.mapToScene(view.viewport().rect().center())
    send_mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        end,
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
    )
    assert doc.undo_stack.count() == 1


def test_unknown_types_and_dangling_references_still_draw(qtbot):
    p = Pipeline("odd")
    p.nodes["old"] = Node(
        "old", "synapse-spark-step", {"file": "a.py"}, position=(0, 0)
    )  # replaced
    p.nodes["alien"] = Node("alien", "quantum-step", position=(300, 0))
    p.nodes["lost"] = Node(
        "lost",
        "script-step",
        inputs=[InputPort("x", Ref("ghost")), InputPort("me", Ref("lost", "o"))],
        outputs=[OutputPort("o")],
        position=(600, 0),
    )
    doc, view, scene, messages = open_canvas(qtbot, p)
    assert scene.nodes["old"].node_type == "spark-step"
    assert scene.wires == {}  # a missing source and a self-reference draw no wire
    view.fit_to_view()
    assert not view.grab().isNull()
    drag(view, port_pos(scene, "lost", "out", "o"), body_pos(scene, "alien"))
    assert any("unknown type" in m for m in messages)


def test_renaming_and_removing_a_wired_input_updates_its_wire(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    doc.push(ch.RenamePort("train", "in", "data", "features"))
    assert ("train", "data") not in scene.wires
    assert scene.wires[("train", "features")].source == "prep"
    doc.push(ch.RemovePort("train", "in", "features"))
    assert not any(k[0] == "train" for k in scene.wires)
    assert not scene.nodes["prep"].port("out", "out").connected
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert scene.wires[("train", "data")].source == "prep"
    assert scene.nodes["prep"].port("out", "out").connected


def _context_menu(view, scene_pos):
    from PySide6.QtGui import QContextMenuEvent

    local = view.mapFromScene(scene_pos)
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, local, view.viewport().mapToGlobal(local)
    )
    view.contextMenuEvent(event)
    menu = view.context_menu
    return menu, {a.text(): a for a in menu.actions() if a.text()}


def test_context_menus_act_on_the_node_wire_or_canvas_under_the_cursor(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    menu, actions = _context_menu(view, body_pos(scene, "report"))
    assert {"Rename", "Duplicate", "Copy", "Cut", "Delete"} <= set(actions)
    actions["Duplicate"].trigger()
    menu.close()
    assert "report_2" in doc.pipeline.nodes
    wire = scene.wires[("train", "data")]
    menu, actions = _context_menu(view, wire.path().pointAtPercent(0.5))
    actions["Disconnect train.data"].trigger()
    menu.close()
    assert doc.pipeline.nodes["train"].input("data").source is None
    menu, actions = _context_menu(view, QPointF(450, 600))
    assert {"Add node…", "Paste", "Select all", "Auto-layout", "Fit to view"} <= set(actions)
    actions["Auto-layout"].trigger()
    menu.close()
    assert doc.undo_stack.count() == 3


def test_double_click_on_a_node_body_activates_it(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    with qtbot.waitSignal(scene.nodeActivated) as blocker:
        _double_click(view, body_pos(scene, "train") + QPointF(0, 20))
    assert blocker.args == ["train"]
    assert scene.nodes["train"].editor is None


def test_selecting_a_node_highlights_its_wires(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    scene.select_nodes(["prep"])
    assert scene.wires[("prep", "table")].lit() and scene.wires[("train", "data")].lit()
    scene.select_nodes(["report"])
    assert not scene.wires[("prep", "table")].lit()
    assert not scene.wires[("train", "data")].lit()


def test_zoomed_out_nodes_show_their_names_large(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    view.set_zoom(0.3)
    view.centerOn(scene.nodes["train"].sceneBoundingRect().center())
    image = view.grab().toImage()
    rect = view.mapFromScene(scene.nodes["train"].sceneBoundingRect()).boundingRect()
    accent = style.LIGHT.accent("script-step")
    colours = [
        image.pixelColor(x, y)
        for x in range(rect.left() + 8, rect.right() - 8)
        for y in range(rect.top() + 6, rect.bottom() - 4)
    ]
    assert accent in {c.name() for c in colours}
    assert any(c.lightness() > 230 for c in colours)  # the white name on the kind's colour


def test_space_drag_pans_and_rubber_band_selects(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    view.setFocus()
    before = view.mapToScene(QPoint(100, 100))
    QTest.keyPress(view, Qt.Key.Key_Space)
    start = view.mapToScene(QPoint(500, 700))
    drag(view, start, start + QPointF(-100, -50), steps=1)  # one move: the view moves under it
    QTest.keyRelease(view, Qt.Key.Key_Space)
    after = view.mapToScene(QPoint(100, 100))
    assert round(after.x() - before.x()) == 100 and round(after.y() - before.y()) == 50
    assert scene.selected_nodes() == [] and doc.undo_stack.count() == 0
    # a left drag on empty canvas draws a rubber band selecting what it touches
    top_left = scene.nodes["prep"].sceneBoundingRect().topLeft() - QPointF(20, 30)
    corner = scene.nodes["train"].sceneBoundingRect().center()
    drag(view, top_left, corner, steps=6)
    assert scene.selected_nodes() == ["prep", "train"]
    assert doc.undo_stack.count() == 0


def test_far_zoom_wires_follow_model_moves(qtbot):
    doc, view, scene, _ = open_canvas(qtbot)
    view.set_zoom(0.15)
    assert scene.far
    wire = scene.wires[("train", "data")]
    middle = view.mapFromScene(wire.chord().center())
    view.centerOn(wire.chord().center())
    middle = view.mapFromScene(wire.chord().center())
    before = view.grab().toImage().pixelColor(middle).name()
    assert before != style.LIGHT.background  # the chord is drawn there
    doc.push(ch.MoveNode("train", (600, 900)))
    after = view.grab().toImage().pixelColor(middle).name()
    assert after == style.LIGHT.background


def test_a_fit_holds_through_resizes_until_the_view_is_zoomed_or_panned(qtbot):
    """A window opened on a pipeline fits it before the window has its final size."""
    doc, view, scene, _ = open_canvas(qtbot)
    view.resize(160, 120)  # as small as a view is before its window is laid out
    QApplication.processEvents()
    view.fit_to_view()
    small = view.zoom()
    view.resize(1200, 800)
    QApplication.processEvents()
    assert view.zoom() > small * 3  # refitted to the new size
    nodes = scene.nodes_rect()
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(nodes)
    fitted = view.zoom()
    view.resize(300, 220)
    QApplication.processEvents()
    assert view.zoom() < fitted  # still fitted: smaller window, smaller zoom
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(nodes)
    view.zoom_in()  # the person takes over: resizes keep their zoom
    zoomed = view.zoom()
    view.resize(1200, 800)
    QApplication.processEvents()
    assert view.zoom() == zoomed
    view.fit_to_view()
    view._pan_by(QPointF(80, 0))
    panned = view.zoom()
    view.resize(700, 500)
    QApplication.processEvents()
    assert view.zoom() == panned
