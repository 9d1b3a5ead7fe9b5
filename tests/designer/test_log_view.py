"""The logs panel's view: every line kept, the tail followed, rows selected and copied, on a real
widget tree offscreen (the live path with real steps is in test_run_gui.py)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtTest import QTest

from designer.log_view import LogView
from designer.logs_panel import _COLOURS, LogsPanel
from engine.events import LogLine

T0 = time.mktime((2026, 12, 4, 10, 30, 0, 0, 0, -1))


def flood(step: str, count: int, start: int = 0, every_stderr: int = 0) -> list[LogLine]:
    return [
        LogLine(
            step,
            "stderr" if every_stderr and i % every_stderr == 0 else "stdout",
            T0 + i / 1000,
            f"{step} line {i}",
        )
        for i in range(start, start + count)
    ]


def as_rows(lines: list[LogLine]) -> list[tuple]:
    """The view's own rows (the panel converts the events it is given)."""
    return [(e.time, e.step, e.stream, e.text) for e in lines]


@pytest.fixture
def panel(qtbot):
    p = LogsPanel()
    qtbot.addWidget(p)
    p.resize(700, 300)
    p.show()
    qtbot.waitExposed(p)
    p.start_live(["a", "b"])
    return p


def point_of(view: LogView, row: int, column: int) -> QPoint:
    """The viewport point of a character cell of a visible row."""
    height = view.fontMetrics().lineSpacing()
    width = view.fontMetrics().horizontalAdvance("0")
    y = (row - view.first_visible_row()) * height + height // 2
    return QPoint(4 + round(column * width), y)


def test_every_line_is_kept_in_order_and_filtered_by_step(panel):
    a, b = flood("a", 6000, every_stderr=7), flood("b", 6000)
    for i in range(0, 6000, 500):  # batches as the run controller delivers them
        panel.append(a[i : i + 500] + b[i : i + 500])
    view = panel.view
    assert view.row_count() == 12_000
    rows = panel.text().splitlines()
    assert len(rows) == 12_000
    assert [r.split()[-1] for r in rows if " a " in r] == [str(i) for i in range(6000)]
    assert rows[0] == "10:30:00  a  a line 0"
    assert view.is_tinted(0) and not view.is_tinted(1)  # a line 0 went to stderr
    panel.set_step_filter("b")
    assert view.row_count() == 6000 and "a line" not in panel.text()
    assert panel.text().splitlines()[5] == "10:30:00  b line 5"  # one step: no step column
    panel.append(flood("b", 10, start=6000) + flood("a", 10, start=6000))
    assert view.row_count() == 6010 and view.row_text(6009) == "10:30:06  b line 6009"
    panel.set_step_filter("")
    assert view.row_count() == 12_020


def test_the_files_are_read_back_only_when_a_flood_pushed_out_another_steps_lines(
    panel, monkeypatch
):
    """One step's flood: memory holds its latest lines, more than its file's tail read back.
    A flood that pushed out another step's lines: the run's files restore them."""
    monkeypatch.setattr("designer.logs_panel.MAX_LINES", 100)
    panel.append(flood("a", 500))
    assert panel.lines()[-1][3] == "a line 499" and len(panel.lines()) <= 110
    assert not panel.live_trimmed
    panel.start_live(["a", "b"])
    panel.append(flood("b", 3) + flood("a", 500))  # b's three lines go first
    assert not any(line[1] == "b" for line in panel.lines())
    assert panel.live_trimmed


def test_view_follows_the_tail_unless_scrolled_up(panel, qtbot):
    view = panel.view
    panel.append(flood("a", 1000))
    assert view.at_end() and view.first_visible_row() == 1000 - view.visible_rows()
    panel.append(flood("a", 50, start=1000))
    assert view.at_end() and view.first_visible_row() == 1050 - view.visible_rows()
    view.verticalScrollBar().setValue(100)  # the user scrolls up to read
    panel.append(flood("a", 50, start=1050))
    assert view.first_visible_row() == 100
    qtbot.keyClick(view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert view.at_end()
    panel.append(flood("a", 5, start=1100))
    assert view.first_visible_row() == 1105 - view.visible_rows()


def test_rows_are_selected_by_mouse_and_copied(panel, qtbot):
    view = panel.view
    panel.append(flood("a", 40))
    view.verticalScrollBar().setValue(10)
    viewport = view.viewport()
    start, end = point_of(view, 12, 15), point_of(view, 14, 18)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    expected = "line 12\n10:30:00  a  a line 13\n10:30:00  a  a lin"
    assert view.selected_text() == expected
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == expected
    QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert view.selected_text() == "10:30:00  a  a line 14"
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == panel.text()


def test_selection_follows_rows_dropped_off_the_top(qtbot):
    view = LogView()
    qtbot.addWidget(view)
    view.set_rows(as_rows(flood("a", 100)), show_step=False, step_width=0)
    view.select_rows(60, 61)
    view.append_rows(as_rows(flood("a", 5, start=100)), limit=100)  # 5 over: within the slack
    assert view.row_count() == 105
    view.append_rows(as_rows(flood("a", 25, start=105)), limit=100)  # 30 over: dropped at once
    assert view.row_count() == 100 and view.row_text(0).endswith("a line 30")
    assert view.selected_text() == "10:30:00  a line 60\n10:30:00  a line 61"


def test_stderr_rows_are_drawn_tinted(panel, qtbot):
    panel.append([LogLine("a", "stdout", T0, "plain"), LogLine("a", "stderr", T0, "an error line")])
    image = panel.view.viewport().grab().toImage()
    height = panel.view.fontMetrics().lineSpacing()
    x = image.width() - 5  # right of the text: only the row's background
    tint = QColor(_COLOURS["stderr_bg"][0])
    assert image.pixelColor(x, height + height // 2) == tint
    assert image.pixelColor(x, height // 2) != tint


def test_copy_in_the_logs_does_not_copy_canvas_nodes(opened, qtbot):
    """Ctrl+C is the canvas's Copy only while the canvas has the focus."""
    window = opened
    window.scene.select_nodes(["dataprep"])
    window.logs_dock.show()
    window.logs_dock.raise_()
    window.logs_panel.start_live(["dataprep"])
    window.logs_panel.append([LogLine("dataprep", "stdout", T0, "copy me")])
    view = window.logs_panel.view
    view.select_rows(0, 0)
    window.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text().endswith("copy me")


def test_live_run_picked_before_its_id_arrived_turns_live(panel):
    """The runs panel can list (and pick) a new run before its first event reaches the logs."""
    panel.show_stored("run-1", "Running", [("a", None, "")])
    assert not panel.showing_live
    panel.append(flood("a", 3))
    panel.set_live_run("run-1")
    assert panel.showing_live and panel.text().splitlines()[-1].endswith("a line 2")


def test_stored_log_lines_keep_their_times_and_text(tmp_path):
    import datetime as dt

    from designer.logs_panel import read_stored_log

    log = tmp_path / "step.log"
    log.write_text(
        "2026-12-04 10:30:00.250 stdout: first\n"
        "2026-12-04 10:30:00.900 stderr: second: with a colon\n"
        "a line the runner did not write\n"
        "2026-12-04 10:30:01.005 pipeloom: third\n"
    )
    lines = read_stored_log(log, "s")
    at = dt.datetime(2026, 12, 4, 10, 30, 0).timestamp()
    assert [(round(time - at, 3), stream, text) for time, _, stream, text in lines] == [
        (0.25, "stdout", "first"),
        (0.9, "stderr", "second: with a colon"),
        (0.9, "stdout", "a line the runner did not write"),
        (1.005, "pipeloom", "third"),
    ]
