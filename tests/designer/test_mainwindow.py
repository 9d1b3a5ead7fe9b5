"""The main window: menus with standard shortcuts, canvas commands, problems, theme, state."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import QApplication

from designer.theme import ThemeManager
from tests.designer.conftest import flush


def menu_texts(window) -> dict[str, list[str]]:
    out = {}
    for action in window.menuBar().actions():
        out[action.text().replace("&", "")] = [
            a.text().replace("&", "") for a in action.menu().actions() if not a.isSeparator()
        ]
    return out


def test_menus_hold_the_commands_with_standard_shortcuts(window):
    menus = menu_texts(window)
    assert menus["File"][:8] == [
        "New",
        "New Window",
        "Open…",
        "Open Recent",
        "Save",
        "Save As…",
        "Export",
        "Close Window",
    ]
    assert menus["Edit"][2:] == ["Cut", "Copy", "Paste", "Duplicate", "Delete", "Select All"]
    assert menus["View"][:3] == ["Zoom In", "Zoom Out", "Fit to Window"]
    assert menus["Pipeline"] == ["Auto-layout", "Validate"]
    assert menus["Help"] == ["Keyboard Shortcuts", "About Pipeloom"]
    a = window.window_actions
    for action, key in (
        (a.new, QKeySequence.StandardKey.New),
        (a.open, QKeySequence.StandardKey.Open),
        (a.save, QKeySequence.StandardKey.Save),
        (a.copy, QKeySequence.StandardKey.Copy),
        (a.paste, QKeySequence.StandardKey.Paste),
        (a.select_all, QKeySequence.StandardKey.SelectAll),
        (a.zoom_in, QKeySequence.StandardKey.ZoomIn),
        (a.undo, QKeySequence.StandardKey.Undo),
    ):
        assert action.shortcut() == QKeySequence.keyBindings(key)[0], action.text()
        assert not action.icon().isNull()


def test_undo_actions_follow_the_document(opened, qtbot):
    window = opened
    a = window.window_actions
    assert not a.undo.isEnabled()
    window.scene.select_nodes(["train"])
    window.delete_selection()
    assert "train" not in window.document.pipeline.nodes
    assert a.undo.isEnabled()
    a.undo.trigger()
    assert "train" in window.document.pipeline.nodes
    a.redo.trigger()
    assert "train" not in window.document.pipeline.nodes


def test_copy_paste_and_duplicate_are_one_step_each(opened, qtbot):
    window = opened
    p = window.document.pipeline
    stack = window.document.undo_stack
    window.scene.select_nodes(["dataprep", "train"])
    assert window.copy()
    start = stack.count()
    pasted = window.paste()
    assert len(pasted) == 2 and all(n in p.nodes for n in pasted)
    assert stack.count() == start + 1
    new_train = next(n for n in pasted if p.nodes[n].type == "script-step")
    new_prep = next(n for n in pasted if p.nodes[n].type == "spark-step")
    assert p.nodes[new_train].input("step2_input").source.node == new_prep  # inner wire kept
    assert window.scene.selected_nodes() == pasted
    stack.undo()
    assert not any(n in p.nodes for n in pasted)
    window.scene.select_nodes(["titanic"])
    (dup,) = window.duplicate()
    assert p.nodes[dup].type == "dataset"
    assert stack.count() == start + 1


def test_paste_between_two_windows(opened, qtbot):
    from designer.mainwindow import MainWindow

    opened.window_actions.new_window.trigger()
    other = MainWindow.extra_windows[-1]  # closed (and deleted) at the end of the test
    assert other.isVisible() and other.document is not opened.document
    opened.scene.select_nodes(["titanic"])
    opened.copy()
    (name,) = other.paste()
    assert other.document.pipeline.nodes[name].params["path"] == "data/Titanic.csv"
    assert name not in opened.document.pipeline.nodes or name == "titanic"
    other.document.undo_stack.setClean()
    assert other.close()
    assert other not in MainWindow.extra_windows


def test_problems_panel_reveals_and_selects_node(opened, qtbot):
    window = opened
    from engine.pipeline import changes as ch

    window.document.push(ch.SetParam("train", "compute", "nowhere"))
    flush(qtbot, window)
    panel = window.problems_panel
    item = next(i for i in panel.items() if "nowhere" in i.text(0))
    assert not item.icon(0).isNull()
    window.scene.clearSelection()
    panel.tree.itemActivated.emit(item, 0)
    assert window.scene.selected_nodes() == ["train"]
    assert window.inspector.node_name == "train"
    assert window.inspector.field_problem("compute")
    window.document.push(ch.SetPortField("train", "in", "step2_input", "source", "ghost"))
    window.scene.select_nodes(["dataprep"])
    flush(qtbot, window)
    item = next(i for i in panel.items() if "ghost" in i.text(0))
    window.inspector_dock.resize(400, 300)
    panel.tree.itemActivated.emit(item, 0)
    assert window.inspector.node_name == "train"
    name_edit = window.inspector.ports.cards[("in", "step2_input")].name_edit
    viewport = window.inspector.scroll.viewport()
    top = name_edit.mapTo(viewport, name_edit.rect().topLeft()).y()
    assert window.inspector.scroll.verticalScrollBar().value() > 0
    assert 0 <= top < viewport.height()  # the port with the problem is scrolled into view
    view_rect = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert view_rect.contains(window.scene.nodes["train"].sceneBoundingRect().center())
    assert "error" in window.problem_count.text()


def test_theme_switch_is_remembered(window, qtbot):
    window.set_theme("dark")
    assert ThemeManager.instance().name == "dark"
    assert QSettings().value("appearance/theme") == "dark"
    assert window.window_actions.theme_actions["dark"].isChecked()
    window_colour = QApplication.instance().palette().color(QPalette.ColorRole.Window)
    assert window_colour.lightness() < 80
    from designer.canvas import style

    assert style.colors().name == "dark"
    window.set_theme("light")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 200


def test_window_state_is_saved_and_restored(window, qtbot, dialogs, tmp_path):
    from designer.mainwindow import MainWindow

    window.problems_dock.hide()
    window.resize(760, 540)  # inside the offscreen screen (800x600), so not clamped
    assert window.close()
    assert QSettings().value("window/geometry") is not None
    again = MainWindow(dialogs=dialogs, recovery_dir=tmp_path / "rec3")
    qtbot.addWidget(again)
    again.show()
    assert not again.problems_dock.isVisible()
    assert again.size().width() == 760


def test_canvas_shortcuts_do_not_fire_from_inspector_lists(opened, qtbot):
    window = opened
    window.scene.select_nodes(["dataprep"])
    qtbot.wait(1)
    args = window.inspector.editors["arguments"].list
    args.setFocus()
    args.setCurrentRow(0)
    qtbot.keyClick(args, Qt.Key.Key_Delete)
    assert "dataprep" in window.document.pipeline.nodes
    window.view.setFocus()
    qtbot.keyClick(window.view.viewport(), Qt.Key.Key_Delete)
    assert "dataprep" not in window.document.pipeline.nodes


def test_validate_action_reports(opened, qtbot):
    window = opened
    window.window_actions.validate.trigger()
    assert (
        "valid" in window.statusBar().currentMessage()
        or "problem" in window.statusBar().currentMessage()
    )


def test_export_writes_the_shell_script(opened, dialogs, tmp_path):
    window = opened
    export_menu = next(
        a.menu() for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Export"
    )
    titles = [a.text() for a in export_menu.actions()]
    assert titles == ["Azure ML Pipeline Job…", "Airflow DAG…", "Shell Script…"]
    dialogs.picked_path = str(tmp_path / "out")
    out = window.export("shell")
    assert out == tmp_path / "out"
    assert any(p.suffix == ".sh" for p in out.iterdir())
    assert dialogs.asked[-1][0] == "info" and "Wrote" in dialogs.asked[-1][2]


def test_export_of_untitled_pipeline_asks_to_save_first(window, dialogs):
    assert window.export("shell") is None
    assert dialogs.asked[-1][0] == "info"


def test_editing_a_name_on_the_canvas_keeps_keys_for_the_text(opened, qtbot):
    window = opened
    window.scene.select_nodes(["train"])
    editor = window.scene.start_rename("train")
    assert editor is not None
    window.view.setFocus()
    qtbot.keyClick(window.view.viewport(), Qt.Key.Key_Backspace)
    assert "train" in window.document.pipeline.nodes  # the key edited the text
    qtbot.keyClicks(window.view.viewport(), "fit")
    qtbot.keyClick(window.view.viewport(), Qt.Key.Key_Return)
    assert "fit" in window.document.pipeline.nodes


def test_system_theme_is_followed_when_chosen(window, monkeypatch):
    import designer.theme as theme

    monkeypatch.setattr(theme, "system_theme", lambda: "dark")
    window.set_theme("system")
    assert ThemeManager.instance().name == "dark"
    monkeypatch.setattr(theme, "system_theme", lambda: "light")
    ThemeManager.instance()._on_system_scheme()  # what QStyleHints.colorSchemeChanged calls
    assert ThemeManager.instance().name == "light"
    window.set_theme("dark")
    monkeypatch.setattr(theme, "system_theme", lambda: "light")
    ThemeManager.instance()._on_system_scheme()
    assert ThemeManager.instance().name == "dark"  # an explicit choice wins over the system


def test_autosave_runs_every_minute(window):
    timer = window.files.autosave_timer
    assert timer.isActive() and timer.interval() == 60_000


def test_status_bar_shows_zoom(opened):
    window = opened
    window.view.set_zoom(1.0)
    assert window.zoom_label.text() == "100%"
    window.zoom_in()
    assert window.zoom_label.text() == f"{window.view.zoom() * 100:.0f}%" != "100%"


def test_empty_canvas_shows_what_to_do_first(window, qtbot):
    assert window.empty_hint.isVisible()
    assert "Drag a node type" in window.empty_hint.text()
    assert window.add_node_at_center("dataset")
    assert not window.empty_hint.isVisible()
    window.document.undo_stack.undo()
    assert window.empty_hint.isVisible()


def test_help_lists_the_shortcuts_and_the_version(window, dialogs):
    rows = dict(window.window_actions.shortcut_table())
    assert rows["Save"] == QKeySequence(QKeySequence.StandardKey.Save).toString(
        QKeySequence.SequenceFormat.NativeText
    )
    assert rows["Validate"] == "F7" and rows["Auto-layout"] == "Ctrl+L"
    window.window_actions.shortcuts.trigger()
    kind, title, text = dialogs.asked[-1]
    assert title == "Keyboard shortcuts" and "Duplicate" in text and "Ctrl+D" in text
    window.window_actions.about.trigger()
    assert "Pipeloom 0." in dialogs.asked[-1][2]
