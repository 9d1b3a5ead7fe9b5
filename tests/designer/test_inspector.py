"""The inspector edits the selected node through undoable engine changes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit, QWidget

from designer.inspector_fields import ChoiceField, MemoryField
from designer.inspector_lists import ListField
from tests.designer.conftest import flush


def select(window, qtbot, name):
    window.scene.select_nodes([name])
    qtbot.wait(1)
    assert window.inspector.node_name == name
    return window.inspector


def type_into(qtbot, widget, text):
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def test_typing_burst_is_one_undo_step_and_undo_refreshes_form(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    edit = inspector.editors["file"].edit
    stack = window.document.undo_stack
    start = stack.count()
    type_into(qtbot, edit, "prep_v2.py")
    node = window.document.pipeline.nodes["dataprep"]
    assert node.params["file"] == "prep_v2.py"
    assert stack.count() == start + 1  # ten keystrokes, one step
    stack.undo()
    assert node.params["file"] == "dataprep.py"
    assert edit.text() == "dataprep.py"
    stack.redo()
    assert edit.text() == "prep_v2.py"
    assert window.isWindowModified()


def test_memory_field_refuses_invalid_size(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    editor = inspector.editors["spark.driver_memory"]
    assert isinstance(editor, MemoryField)
    type_into(qtbot, editor.edit, "7 gigs")
    node = window.document.pipeline.nodes["dataprep"]
    assert node.params["spark.driver_memory"] == "7"  # the last valid prefix (bytes)
    assert editor.edit.property("problem") is True
    assert "unit" in editor.edit.toolTip()
    editor.edit.selectAll()
    qtbot.keyClicks(editor.edit, "7g")
    assert node.params["spark.driver_memory"] == "7g"
    assert editor.edit.property("problem") is False


def test_choice_integer_and_boolean_editors(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    node = window.document.pipeline.nodes["dataprep"]
    backend = inspector.editors["backend"]
    assert isinstance(backend, ChoiceField)
    backend.combo.activated.emit(backend.combo.findData("submit"))
    assert node.params["backend"] == "submit"
    backend.combo.activated.emit(0)  # "Default (auto)" unsets
    assert "backend" not in node.params
    cores = inspector.editors["spark.executor_cores"]
    cores.box.setValue(3)
    assert node.params["spark.executor_cores"] == 3
    reuse = inspector.editors["allow_reuse"]
    reuse.box.setChecked(False)
    assert node.params["allow_reuse"] is False
    window.document.undo_stack.undo()
    assert reuse.box.isChecked()


def test_compute_choices_are_filtered_by_compute_type(opened, qtbot):
    inspector = select(opened, qtbot, "train")
    combo: QComboBox = inspector.editors["compute"].combo
    options = [combo.itemData(i) for i in range(combo.count())]
    assert options == [None, "cpucluster"]
    env = inspector.editors["environment"].combo
    assert env.currentData() == "trainenv"


def test_insert_template_is_one_click(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "train")
    args: ListField = inspector.editors["arguments"]
    sections = dict(args.templates())
    assert sections["Inputs"] == ["{inputs.step2_input}"]
    assert sections["Outputs"] == ["{outputs.model}"]
    assert sections["Parameters"] == ["{parameters.sample_fraction}"]
    args._fill_template_menu()
    action = next(
        a for a in args.template_menu.actions() if a.text() == "{parameters.sample_fraction}"
    )
    args.list.setCurrentRow(0)  # inserted after the selected argument
    action.trigger()
    node = window.document.pipeline.nodes["train"]
    assert node.params["arguments"][:2] == ["{inputs.step2_input}", "{parameters.sample_fraction}"]
    window.document.undo_stack.undo()
    assert "{parameters.sample_fraction}" not in node.params["arguments"]
    assert args.value() == node.params["arguments"]


def test_list_editor_add_edit_reorder_remove(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    lst: ListField = inspector.editors["py_files"]
    node = window.document.pipeline.nodes["dataprep"]
    lst.insert_values(["a.py"])
    lst.insert_values(["b.zip"])
    assert node.params["py_files"] == ["a.py", "b.zip"]
    lst.list.item(1).setText("c.zip")  # what the in-place editor does on commit
    assert node.params["py_files"] == ["a.py", "c.zip"]
    lst.list.setCurrentRow(1)
    lst.move_item(-1)
    assert node.params["py_files"] == ["c.zip", "a.py"]
    lst.remove_item()
    lst.list.setCurrentRow(0)
    lst.remove_item()
    assert "py_files" not in node.params


def test_mapping_editor_keeps_value_types(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    conf = inspector.editors["spark.conf"]
    node = window.document.pipeline.nodes["dataprep"]
    assert conf.value() == {"spark.sql.shuffle.partitions": 4}
    conf.add_row()
    conf.table.item(1, 0).setText("spark.sql.adaptive.enabled")
    conf.table.item(1, 1).setText("true")
    assert node.params["spark.conf"] == {
        "spark.sql.shuffle.partitions": 4,
        "spark.sql.adaptive.enabled": True,
    }


def test_file_picker_is_relative_to_source_directory(opened, qtbot, dialogs, titanic):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    dialogs.picked_path = str(titanic.parent / "code" / "helpers" / "prep.py")
    inspector.editors["file"].choose()
    assert window.document.pipeline.nodes["dataprep"].params["file"] == "helpers/prep.py"
    assert dialogs.asked[-1][2] == str(titanic.parent / "code" / "dataprep.py")
    inspector = select(window, qtbot, "titanic")
    dialogs.picked_path = str(titanic.parent / "data" / "other.csv")
    path_field = inspector.editors["path"]
    titles = [a.text() for a in path_field.browse.menu().actions()]
    assert titles == ["File…", "Folder…"]
    path_field.browse.menu().actions()[0].trigger()
    assert window.document.pipeline.nodes["titanic"].params["path"] == "data/other.csv"
    dialogs.picked_path = str(titanic.parent / "data" / "parts")
    path_field.browse.menu().actions()[1].trigger()
    assert dialogs.asked[-1][3] is True  # asked for a folder
    assert dialogs.asked[-1][2] == str(titanic.parent / "data")  # starting beside the file
    assert window.document.pipeline.nodes["titanic"].params["path"] == "data/parts"


def test_rename_port_references_follow_in_one_step(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    card = inspector.ports.cards[("out", "output_dir")]
    stack = window.document.undo_stack
    start = stack.count()
    card.name_edit.setText("prepared")
    card.name_edit.editingFinished.emit()
    p = window.document.pipeline
    assert p.nodes["dataprep"].output("prepared") is not None
    assert "{outputs.prepared}" in p.nodes["dataprep"].params["arguments"]
    assert str(p.nodes["train"].input("step2_input").source) == "dataprep.prepared"
    assert stack.count() == start + 1
    flush(qtbot, window)
    assert ("out", "prepared") in inspector.ports.cards
    stack.undo()
    flush(qtbot, window)
    assert "{outputs.output_dir}" in p.nodes["dataprep"].params["arguments"]
    assert str(p.nodes["train"].input("step2_input").source) == "dataprep.output_dir"
    assert ("out", "output_dir") in inspector.ports.cards


def test_rename_port_refuses_bad_name(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    card = inspector.ports.cards[("in", "file_input")]
    card.name_edit.setText("tabular_input")
    card.name_edit.editingFinished.emit()
    assert card.name_edit.property("problem") is True
    assert window.document.pipeline.nodes["dataprep"].input("file_input") is not None


def test_add_edit_remove_ports(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "train")
    name = inspector.ports.add_port("in")
    flush(qtbot, window)
    node = window.document.pipeline.nodes["train"]
    assert node.input(name) is not None
    card = inspector.ports.cards[("in", name)]
    source = card.widgets["source"]
    assert source.count() == 1  # choices are listed when the popup opens
    source.showPopup()
    source.hidePopup()
    assert source.findData("dataprep.output_dir") > 0 and source.findData("train.model") < 0
    source.activated.emit(source.findData("titanic"))
    assert str(node.input(name).source) == "titanic"
    window.document.undo_stack.undo()
    assert source.currentData() is None and node.input(name).source is None
    window.document.undo_stack.redo()
    assert source.currentText() == "titanic"
    mode: QComboBox = card.widgets["mode"]
    mode.activated.emit(mode.findData("download"))
    assert node.input(name).mode == "download"
    optional: QCheckBox = card.widgets["optional"]
    optional.setChecked(True)
    assert node.input(name).optional is True
    out = inspector.ports.cards[("out", "model")]
    register: QLineEdit = out.widgets["register_as"]
    type_into(qtbot, register, "titanic_model")
    assert node.output("model").register_as == "titanic_model"
    window.document.undo_stack.undo()  # the typing burst is one step
    assert node.output("model").register_as is None
    flush(qtbot, window)
    assert out.widgets["register_as"].text() == ""
    inspector.ports.remove_port("in", name)
    flush(qtbot, window)
    assert node.input(name) is None
    assert ("in", name) not in inspector.ports.cards


def test_problem_fields_are_highlighted(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "dataprep")
    edit = inspector.editors["file"].edit
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    flush(qtbot, window)
    assert inspector.field_problem("file")
    assert edit.toolTip().startswith("⚠")
    window.document.undo_stack.undo()
    flush(qtbot, window)
    assert not inspector.field_problem("file")


def test_rename_node_from_header(opened, qtbot):
    window = opened
    inspector = select(window, qtbot, "titanic")
    inspector.title.setText("passengers")
    inspector.title.editingFinished.emit()
    p = window.document.pipeline
    assert "passengers" in p.nodes
    assert str(p.nodes["dataprep"].input("tabular_input").source) == "passengers"
    assert inspector.node_name == "passengers"


def test_nothing_selected_edits_pipeline(opened, qtbot):
    window = opened
    window.scene.clearSelection()
    qtbot.wait(1)
    inspector = window.inspector
    assert inspector.node_name is None
    type_into(qtbot, inspector.editors["name"].edit, "titanic2")
    assert window.document.pipeline.name == "titanic2"
    window.document.undo_stack.undo()
    assert inspector.editors["name"].edit.text() == "titanic"


def test_pipeline_editors_rename_compute_updates_nodes(opened, qtbot):
    window = opened
    table = window.pipeline_panel.tables["computes"]
    table.apply_edit("cpucluster", "name", "cpu")
    p = window.document.pipeline
    assert list(p.computes) == ["link1-spark01", "cpu"]
    assert p.nodes["train"].params["compute"] == "cpu"
    table.apply_edit("cpu", "workers", "4")
    assert p.computes["cpu"].workers == 4
    with pytest.raises(ValueError, match="whole number"):
        table.apply_edit("cpu", "workers", "four")
    spark = window.pipeline_panel.tables["computes"]
    spark.apply_edit(
        "link1-spark01", "conf", "spark.sql.shuffle.partitions=8 spark.ui.enabled=false"
    )
    assert p.computes["link1-spark01"].conf == {
        "spark.sql.shuffle.partitions": 8,
        "spark.ui.enabled": False,
    }
    window.document.undo_stack.undo()
    added = table.add_entry()
    assert added in p.computes
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert list(p.computes) == ["link1-spark01", "cpucluster"]
    assert p.nodes["train"].params["compute"] == "cpucluster"


def test_pipeline_editors_show_entries(opened, qtbot):
    table = opened.pipeline_panel.tables["environments"].table
    assert table.rowCount() == 1
    assert table.item(0, 0).text() == "trainenv"
    assert table.item(0, 1).text() == "numpy>=1.26 pandas>=2.2 pyarrow>=15"


def test_environment_packages_are_a_list(opened, qtbot):
    window = opened
    envs = window.pipeline_panel.tables["environments"]
    env = window.document.pipeline.environments["trainenv"]
    envs.table.setCurrentCell(0, 0)
    pip = envs.pip_editor
    assert pip.isEnabled() and pip.value() == ["numpy>=1.26", "pandas>=2.2", "pyarrow>=15"]
    pip.list.setCurrentRow(2)
    pip.insert_values(["scikit-learn>=1.4"])
    assert window.document.pipeline.environments["trainenv"].pip[-1] == "scikit-learn>=1.4"
    pip.list.setCurrentRow(0)
    pip.remove_item()
    assert window.document.pipeline.environments["trainenv"].pip[0] == "pandas>=2.2"
    window.document.undo_stack.undo()  # one step per burst of list edits
    qtbot.wait(5)
    assert window.document.pipeline.environments["trainenv"].pip == env.pip
    assert pip.value() == env.pip


def test_pipeline_editors_parameters_rename_rewrites_templates(opened, qtbot):
    window = opened
    table = window.pipeline_panel.tables["parameters"]
    table.apply_edit("sample_fraction", "name", "fraction")
    p = window.document.pipeline
    assert "{parameters.fraction}" in p.nodes["dataprep"].params["arguments"]
    table.apply_edit("fraction", "default", "0.5")
    assert p.parameters["fraction"].default == 0.5
    with pytest.raises(ValueError):
        table.apply_edit("fraction", "default", "half")
    qtbot.wait(5)
    assert table.table.rowCount() == 1


def test_focused_field_shows_its_help(opened, qtbot):
    inspector = select(opened, qtbot, "dataprep")
    editor = inspector.editors["backend"]
    opened.activateWindow()
    editor.combo.setFocus()
    QApplication.processEvents()
    assert inspector.help_line.text().startswith("connect: a warm Spark Connect server")
    assert editor.combo.toolTip() == inspector.help_line.text()


def test_form_reused_for_nodes_of_one_type_shows_and_edits_each(opened, qtbot):
    window = opened
    window.scene.select_nodes(["dataprep"])
    (copy_name,) = window.duplicate()
    from engine.pipeline import changes as ch

    window.document.push(ch.SetParam(copy_name, "file", "other.py"))
    inspector = select(window, qtbot, "dataprep")
    form = inspector.editors["file"]
    memory = inspector.editors["spark.driver_memory"]
    type_into(qtbot, memory.edit, "lots")  # refused locally, flagged
    assert memory.edit.property("problem") is True
    inspector = select(window, qtbot, copy_name)
    assert inspector.editors["file"] is form  # same form, this node's values
    assert form.edit.text() == "other.py"
    assert memory.edit.text() == "1g" and memory.edit.property("problem") is False
    assert [c[1] for c in inspector.ports.cards] == ["tabular_input", "file_input", "output_dir"]
    type_into(qtbot, form.edit, "mine.py")
    p = window.document.pipeline
    assert p.nodes[copy_name].params["file"] == "mine.py"
    assert p.nodes["dataprep"].params["file"] == "dataprep.py"
    inspector = select(window, qtbot, "titanic")
    assert "file" not in inspector.editors
    inspector = select(window, qtbot, "dataprep")
    assert inspector.editors["file"].edit.text() == "dataprep.py"


def test_only_the_current_form_is_shown(opened, qtbot, titanic):
    window = opened
    assert window.files.open(titanic)  # a new document drops the previous forms
    inspector = select(window, qtbot, "dataprep")
    select(window, qtbot, "titanic")
    window.scene.select_nodes(["dataprep", "train"])
    qtbot.wait(1)
    window.scene.clearSelection()
    qtbot.wait(1)
    shown = [
        w
        for w in inspector._container.findChildren(
            QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly
        )
        if w.isVisible()
    ]
    assert len(shown) == 1
    assert "name" in inspector.editors and shown[0].isAncestorOf(inspector.editors["name"])


def test_switching_nodes_rebinds_values_marks_and_undo(opened, qtbot):
    """The kept forms and port cards show each node's own values and problems, edits go to
    the node shown, and undo after switching restores the right node and form."""
    from engine.pipeline import changes as ch
    from engine.pipeline.model import InputPort, Ref

    window = opened
    p = window.document.pipeline
    window.scene.select_nodes(["dataprep"])
    (copy,) = window.duplicate()
    window.document.push(ch.SetParam(copy, "file", "missing.py"))  # an error on the copy only
    window.document.push(ch.SetParam(copy, "backend", "submit"))
    window.document.push(ch.RenamePort(copy, "in", "file_input", "raw"))
    window.document.push(ch.SetPortField(copy, "in", "raw", "mode", "mount"))
    window.document.push(ch.AddPort(copy, "in", InputPort("extra", Ref("train", "model"))))
    flush(qtbot, window)

    def shown(inspector) -> dict:
        cards = inspector.ports.cards
        return {
            "file": inspector.editors["file"].edit.text(),
            "backend": inspector.editors["backend"].combo.currentData(),
            "file_marked": inspector.field_problem("file"),
            "inputs": [name for direction, name in cards if direction == "in"],
            "sources": [
                c.widgets["source"].currentData() for (d, _), c in cards.items() if d == "in"
            ],
            "modes": [c.widgets["mode"].currentData() for (d, _), c in cards.items() if d == "in"],
            "visible_cards": sum(c.isVisibleTo(inspector) for c in cards.values()),
        }

    original = {
        "file": "dataprep.py",
        "backend": None,
        "file_marked": False,
        "inputs": ["tabular_input", "file_input"],
        "sources": ["titanic", "titanic"],
        "modes": [None, "direct"],
        "visible_cards": 3,
    }
    copied = {
        "file": "missing.py",
        "backend": "submit",
        "file_marked": True,
        "inputs": ["tabular_input", "raw", "extra"],
        "sources": ["titanic", "titanic", "train.model"],
        "modes": [None, "mount", None],
        "visible_cards": 4,
    }
    inspector = select(window, qtbot, "dataprep")
    flush(qtbot, window)
    first_card = inspector.ports.cards[("in", "tabular_input")]
    for name, expected in [
        ("dataprep", original),
        (copy, copied),
        ("train", None),
        ("titanic", None),
        (copy, copied),
        ("dataprep", original),
    ]:
        inspector = select(window, qtbot, name)
        flush(qtbot, window)
        if expected is not None:
            assert shown(inspector) == expected, name
            assert inspector.ports.cards[("in", "tabular_input")] is first_card  # kept
    # the train form between them shows train's own values and problems
    inspector = select(window, qtbot, "train")
    assert inspector.editors["script"].edit.text() == "train.py"
    assert list(inspector.ports.cards) == [("in", "step2_input"), ("out", "model")]

    # an edit through a rebound card goes to the node shown; undo after switching restores it
    inspector = select(window, qtbot, copy)
    mode = inspector.ports.cards[("in", "raw")].widgets["mode"]
    assert mode.currentText() == "mount (unknown)"  # Spark steps read inputs directly
    mode.activated.emit(mode.findData("direct"))
    type_into(qtbot, inspector.editors["file"].edit, "copy.py")
    flush(qtbot, window)
    assert p.nodes[copy].input("raw").mode == "direct"
    assert p.nodes["dataprep"].input("tabular_input").mode is None
    assert inspector.field_problem("file")  # copy.py does not exist either
    inspector = select(window, qtbot, "dataprep")
    flush(qtbot, window)
    assert shown(inspector) == original
    window.document.undo_stack.undo()  # the typing burst on the copy
    window.document.undo_stack.undo()  # the mode
    flush(qtbot, window)
    assert shown(inspector) == original  # the form shown is not the undone node's
    assert p.nodes[copy].params["file"] == "missing.py"
    assert p.nodes[copy].input("raw").mode == "mount"
    inspector = select(window, qtbot, copy)
    flush(qtbot, window)
    assert shown(inspector) == copied
    window.document.undo_stack.undo()  # the added input: its card goes, the others stay
    flush(qtbot, window)
    assert shown(inspector)["inputs"] == ["tabular_input", "raw"]
    assert shown(inspector)["visible_cards"] == 3
