"""Every question the designer asks the user, in one replaceable object.

The main window, file handling and inspector ask through a `Dialogs`; tests pass a subclass that
answers without showing anything (QFileDialog and QMessageBox block offscreen).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

PIPELINE_FILTER = "Pipelines (*.yaml *.yml);;All files (*)"


class SaveAnswer(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


class Dialogs:
    """Modal dialogs parented to `parent` (set by the main window)."""

    def __init__(self, parent: QWidget | None = None):
        self.parent = parent

    def ask_save_changes(self, name: str) -> SaveAnswer:
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to “{name}”?")
        box.setInformativeText("Your changes will be lost if you don't save them.")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return SaveAnswer.SAVE
        if answer == QMessageBox.StandardButton.Discard:
            return SaveAnswer.DISCARD
        return SaveAnswer.CANCEL

    def ask_open_file(self, directory: str = "") -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent, "Open pipeline", directory, PIPELINE_FILTER
        )
        return path or None

    def ask_save_file(self, suggested: str = "") -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent, "Save pipeline as", suggested, PIPELINE_FILTER
        )
        if path and not Path(path).suffix:
            path += ".yaml"
        return path or None

    def ask_path(self, title: str, directory: str, folder: bool = False) -> str | None:
        """A file (or folder) for a node setting, starting in `directory`."""
        if folder:
            path = QFileDialog.getExistingDirectory(self.parent, title, directory)
        else:
            path, _ = QFileDialog.getOpenFileName(self.parent, title, directory)
        return path or None

    def ask_restore(self, name: str, saved_at: str) -> bool:
        answer = QMessageBox.question(
            self.parent,
            "Recover unsaved work",
            f"Pipeloom did not close normally while “{name}” had unsaved changes.\n\n"
            f"Restore the copy saved automatically at {saved_at}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        from PySide6.QtWidgets import QInputDialog

        value, ok = QInputDialog.getText(self.parent, title, label, text=text)
        return value if ok else None

    def confirm(self, title: str, text: str, accept: str) -> bool:
        """A yes/cancel question whose yes button says `accept` (e.g. "Save and Run")."""
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(text)
        yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(yes)
        box.exec()
        return box.clickedButton() is yes

    def info(self, title: str, text: str) -> None:
        QMessageBox.information(self.parent, title, text)

    def error(self, title: str, text: str, details: str | None = None) -> None:
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(title)
        box.setText(text)
        if details:
            box.setDetailedText(details)
        box.exec()
