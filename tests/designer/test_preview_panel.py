"""The preview and datasets panels in the real main window offscreen: a dataset's table on
selection, sorting and copying, a step's output after a real run (script steps in real
processes), a run's outputs from the runs panel, registered versions previewed and dragged
onto the canvas, and messages instead of tables where there is no data."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QGuiApplication

from designer.datasets_panel import DATASET_MIME
from engine.fileformat import yamlio
from engine.pipeline.model import Compute, InputPort, Node, OutputPort, Pipeline, Ref
from engine.preview import Preview
from tests.designer.canvas_helpers import port_pos, send_mouse
from tests.designer.conftest import flush
from tests.designer.test_palette import drop

WAIT_MS = 60_000

STEP = r"""
import os, sys
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
from engine.step import context

ctx = context()
table = pacsv.read_csv(ctx.inputs["raw"].path)
out = ctx.outputs["scores"].path
os.makedirs(os.path.join(out, "grade=a"))
pq.write_table(table, os.path.join(out, "grade=a", "part-00000.snappy.parquet"))
open(os.path.join(out, "_SUCCESS"), "w").close()
"""


def loaded(qtbot, panel, action) -> Preview | str:
    """Do `action` and wait until the panel shows its answer (a Preview or a message)."""
    with qtbot.waitSignal(panel.loaded, timeout=WAIT_MS) as blocker:
        action()
    return blocker.args[0]


def header(panel) -> list[str]:
    model = panel.model
    return [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]


def column(panel, index: int) -> list[str]:
    model = panel.model
    return [model.data(model.index(r, index)) for r in range(model.rowCount())]


@pytest.fixture
def scored(tmp_path) -> Path:
    """A project: a CSV dataset, a script step writing it as a partitioned Parquet folder
    registered as `scores`, and a consumer with no run yet."""
    root = tmp_path / "scored"
    (root / "code").mkdir(parents=True)
    (root / "code" / "step.py").write_text(STEP)
    (root / "data").mkdir()
    (root / "data" / "raw.csv").write_text("name,score\nada,3\nbob,1\ncyd,2\n")
    pipeline = Pipeline("scored")
    pipeline.computes["pool"] = Compute("pool", "cpu-pool", workers=1)
    pipeline.nodes["raw"] = Node(
        "raw", "dataset", {"kind": "tabular", "path": "data/raw.csv", "format.type": "csv"}
    )
    pipeline.nodes["score"] = Node(
        "score",
        "script-step",
        {"source_directory": "code", "script": "step.py", "compute": "pool"},
        inputs=[InputPort("raw", Ref("raw"), mode="direct")],
        outputs=[OutputPort("scores", "tabular", {"type": "parquet"}, register_as="scores")],
        position=(300, 0),
    )
    path = root / "pipeline.yaml"
    yamlio.save(pipeline, str(path))
    return path


def test_selecting_titanic_shows_its_columns_sorts_and_copies(qtbot, opened):
    window = opened
    panel = window.preview_panel
    window.show_preview()
    preview = loaded(qtbot, panel, lambda: window.scene.select_nodes(["titanic"]))
    assert isinstance(preview, Preview)
    assert header(panel)[:4] == ["PassengerId", "Survived", "Pclass", "Name"]
    assert panel.model.headerData(5, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) == (
        "Age: double"
    )
    assert panel.model.rowCount() == 200
    assert "891 rows (showing 200) · 12 columns · csv" in panel.summary.text()
    assert panel.stack.currentWidget() is panel.table
    assert panel.model.data(panel.model.index(2, 5)) == "null"  # a missing age

    # client-side sort: the header click sorts the 200 rows by the column, nulls last
    panel.table.sortByColumn(5, Qt.SortOrder.AscendingOrder)  # Age
    ages = column(panel, 5)
    numbers = [float(a) for a in ages if a != "null"]
    assert numbers == sorted(numbers) and ages[-1] == "null"
    assert panel.model.headerData(0, Qt.Orientation.Vertical) != "1"  # rows keep their numbers

    # copy: the selected cells as tab-separated text
    panel.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    model = panel.model
    selection = panel.table.selectionModel()
    for r in (0, 1):
        for c in (0, 3):
            selection.select(model.index(r, c), selection.SelectionFlag.Select)
    text = panel.copy_selection(headers=True)
    assert text.splitlines() == [
        "PassengerId\tName",
        "1\tNasser, Miss. Jane Hilda",
        "2\tPartner, Mr. Thomas",
    ]
    assert QGuiApplication.clipboard().text() == text

    revealed = []
    panel.reveal = revealed.append
    assert panel.reveal_in_file_manager()
    assert Path(revealed[0].toLocalFile()) == window.document.path.parent / "data"


def test_step_without_data_says_so_and_the_node_menu_previews(qtbot, opened):
    window = opened
    panel = window.preview_panel
    window.show_preview()
    message = loaded(qtbot, panel, lambda: window.scene.select_nodes(["dataprep"]))
    assert isinstance(message, str) and message.startswith("dataprep.output_dir has no data yet")
    assert panel.stack.currentWidget() is panel.message and panel.model.rowCount() == 0
    assert window.preview_panel.preview_action in window.view.node_menu_actions
    window.preview_dock.hide()
    window.scene.select_nodes(["titanic"])
    preview = loaded(qtbot, panel, window.preview_panel.preview_action.trigger)
    assert isinstance(preview, Preview) and window.preview_dock.isVisible()


def test_run_then_outputs_runs_and_registered_versions(qtbot, window, scored):
    assert window.files.open(scored)
    panel = window.preview_panel
    window.show_preview()
    runs = window.run_commands
    for _ in range(2):  # two runs: versions 1 and 2 of `scores`
        with qtbot.waitSignal(runs.controller.runEnded, timeout=WAIT_MS):
            window.window_actions.run_regenerated.trigger()
        assert runs.last_error is None and str(runs.last_summary.status) == "Completed"
    first, second = [r.id for r in reversed(window.runs_panel.runs())]

    # a click on the output port previews it (from the latest run), so does a double-click
    flush(qtbot, window)
    at = port_pos(window.scene, "score", "out", "scores")
    window.scene.select_nodes(["raw"])
    qtbot.waitUntil(lambda: header(panel) == ["name", "score"], timeout=WAIT_MS)

    def click():
        send_mouse(window.view, QEvent.Type.MouseButtonPress, at)
        send_mouse(window.view, QEvent.Type.MouseButtonRelease, at, buttons=Qt.MouseButton.NoButton)

    preview = loaded(qtbot, panel, click)
    assert isinstance(preview, Preview), preview
    assert header(panel) == ["name", "score", "grade"]
    assert window.document.pipeline.nodes["score"].outputs[0].name == "scores"  # nothing edited
    assert not window.document.undo_stack.canUndo()
    window.scene.select_nodes(["raw"])
    qtbot.waitUntil(lambda: header(panel) == ["name", "score"], timeout=WAIT_MS)

    def double_click():
        send_mouse(window.view, QEvent.Type.MouseButtonDblClick, at)

    preview = loaded(qtbot, panel, double_click)
    assert isinstance(preview, Preview), preview
    assert header(panel) == ["name", "score", "grade"] and column(panel, 0) == ["ada", "bob", "cyd"]
    assert f"run {second}" in panel.summary.text() and "3 rows" in panel.summary.text()

    # the runs panel picks the run whose outputs are shown
    preview = loaded(qtbot, panel, lambda: window.runs_panel.select_run(first))
    assert isinstance(preview, Preview) and f"run {first}" in panel.summary.text()

    # the datasets panel: both versions with their producer; selecting one previews it
    datasets = window.datasets_panel
    with qtbot.waitSignal(datasets.refreshed, timeout=WAIT_MS):
        window.datasets_dock.show()
        window.datasets_dock.raise_()
        datasets.refresh()
    item = datasets.item_of("scores", 1)
    assert item is not None and datasets.item_of("scores", 2) is not None
    assert item.text(3) == first and item.text(4) == "score.scores" and item.text(1).endswith("B")
    preview = loaded(qtbot, panel, lambda: datasets.select_version("scores", 1))
    assert isinstance(preview, Preview) and column(panel, 1) == ["3", "1", "2"]
    assert panel.title.text() == "<b>scores v1</b>"

    # dragging version 1 onto the canvas adds a dataset node reading it
    mime = datasets.tree.mimeData([item])
    assert bytes(mime.data(DATASET_MIME)).decode() == "scores@1"
    centre = window.view.viewport().rect().center()
    drop(window.view, mime, QPoint(centre.x(), centre.y() + 150))
    node = window.document.pipeline.nodes["scores_v1"]
    assert node.type == "dataset"
    assert node.params == {"kind": "tabular", "from": "dataset:scores@1", "format.type": "parquet"}
    assert window.scene.selected_nodes() == ["scores_v1"]
    preview = loaded(qtbot, panel, lambda: panel.show_node("scores_v1"))
    assert isinstance(preview, Preview) and column(panel, 0) == ["ada", "bob", "cyd"]
    window.document.undo_stack.undo()
    assert "scores_v1" not in window.document.pipeline.nodes
    panel.wait_idle()
    datasets.wait_idle()
    window.document.undo_stack.setClean()
