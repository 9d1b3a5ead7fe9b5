"""The environment table's State column and the Build panel, building for real (offline, into
the session's environment folder) on the designer's worker thread."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from wheels import make_wheel  # noqa: E402

from designer.pipeline_editors import SectionTable  # noqa: E402
from engine.pipeline import changes as ch


def _state(envs: SectionTable, row: int = 0) -> str:
    return envs.table.item(row, len(envs.columns)).text()


def test_build_from_the_table_shows_state_and_log(opened, qtbot, offline_environments, tmp_path):
    window = opened
    window.pipeline_dock.raise_()
    window.pipeline_panel.tabs.setCurrentIndex(1)
    envs = window.pipeline_panel.tables["environments"]
    panel = envs.build_panel
    envs.table.setCurrentCell(0, 0)
    assert panel.name == "trainenv" and panel.build_button.text() == "Build"
    assert _state(envs) == "not built"

    qtbot.mouseClick(panel.build_button, qtbot_left())
    assert not panel.build_button.isEnabled()  # one build at a time per environment
    qtbot.waitUntil(lambda: not panel.building, timeout=120_000)
    text = panel.log.toPlainText()
    assert "environment trainenv: built in" in text, text
    assert _state(envs).startswith("built, ") and panel.build_button.text() == "Rebuild"
    assert panel.state_label.toolTip().startswith(str(offline_environments.parent / "envs"))
    window.pipeline_panel.grab().save(str(tmp_path / "environments.png"))

    make_wheel(offline_environments, "pipeloom-designer-tiny", "1.0", "VALUE = 1\n")
    env = window.document.pipeline.environments["trainenv"]
    edited = type(env)(env.name, pip=[*env.pip, "surely-not-here-pkg"])
    window.document.push(ch.SetEntry("environments", "trainenv", edited), "edit")
    qtbot.waitUntil(lambda: _state(envs) == "not built")
    envs.table.setCurrentCell(0, 0)
    panel.build()
    qtbot.waitUntil(lambda: not panel.building, timeout=120_000)
    text = panel.log.toPlainText()
    assert "failed: environment 'trainenv' could not be built" in text
    assert "surely-not-here-pkg" in text and _state(envs) == "not built"


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_a_run_that_built_an_environment_updates_the_table(opened, qtbot, offline_environments):
    from engine.environments import interpreter_for
    from engine.pipeline.model import Environment

    window = opened
    envs = window.pipeline_panel.tables["environments"]
    make_wheel(offline_environments, "pipeloom-designer-run", "1.0", "VALUE = 1\n")
    edited = Environment("trainenv", pip=["pipeloom-designer-run"])
    window.document.push(ch.SetEntry("environments", "trainenv", edited), "edit")
    qtbot.waitUntil(lambda: _state(envs) == "not built")
    interpreter_for(edited, window.document.base_dir)  # as a run's step would
    window.run_commands.controller.runEnded.emit(None)
    assert _state(envs).startswith("built, ")
