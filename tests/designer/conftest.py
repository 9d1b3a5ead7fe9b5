"""Designer test fixtures: QSettings isolated per test, dialogs answered by the test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

from designer.dialogs import Dialogs, SaveAnswer


@pytest.fixture(autouse=True, scope="session")
def _clipboard_emptied_at_exit(qapp):
    """Offscreen Qt (6.11) crashes at interpreter exit while the clipboard holds QMimeData
    set by Python; a real X11 clipboard does not. Empty it once the designer tests are done."""
    yield
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.clipboard().clear()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, qapp):
    """Each test reads and writes its own INI settings under tmp_path."""
    QCoreApplication.setOrganizationName("Pipeloom")
    QCoreApplication.setApplicationName("Pipeloom Designer Tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    folder = tmp_path / "settings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QSettings().clear()
    from designer.theme import ThemeManager

    ThemeManager.instance().apply("light", store=False)
    yield folder
    QSettings().clear()


class ScriptedDialogs(Dialogs):
    """Answers every question from attributes set by the test and records what was asked."""

    def __init__(self):
        super().__init__()
        self.save_answer = SaveAnswer.CANCEL
        self.open_path: str | None = None
        self.save_path: str | None = None
        self.picked_path: str | None = None
        self.restore = True
        self.asked: list[tuple] = []

    def ask_save_changes(self, name):
        self.asked.append(("save_changes", name))
        return self.save_answer

    def ask_open_file(self, directory=""):
        self.asked.append(("open", directory))
        return self.open_path

    def ask_save_file(self, suggested=""):
        self.asked.append(("save_as", suggested))
        return self.save_path

    def ask_path(self, title, directory, folder=False):
        self.asked.append(("path", title, directory, folder))
        return self.picked_path

    def ask_restore(self, name, saved_at):
        self.asked.append(("restore", name))
        return self.restore

    def ask_text(self, title, label, text=""):
        self.asked.append(("text", title))
        return None

    def info(self, title, text):
        self.asked.append(("info", title, text))

    def error(self, title, text, details=None):
        self.asked.append(("error", title, text))


@pytest.fixture
def dialogs():
    return ScriptedDialogs()


@pytest.fixture
def window(qtbot, dialogs, tmp_path):
    from designer.mainwindow import MainWindow

    w = MainWindow(dialogs=dialogs, recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.document.undo_stack.setClean()  # no save prompt when pytest-qt closes it


PROJECTS = Path(__file__).resolve().parents[2] / "projects"


@pytest.fixture
def titanic(tmp_path) -> Path:
    """A private copy of the titanic example project; returns its pipeline file."""
    target = tmp_path / "titanic"
    shutil.copytree(PROJECTS / "titanic", target, ignore=shutil.ignore_patterns(".pipeloom"))
    return target / "pipeline.yaml"


@pytest.fixture
def opened(window, titanic):
    """The window with the titanic copy open."""
    assert window.files.open(titanic)
    return window


def flush(qtbot, window) -> None:
    """Let queued rebuilds and validation run."""
    qtbot.wait(1)
    window.inspector.flush()
    window.document.validate_now()
