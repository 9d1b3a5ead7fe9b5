"""What the main window's controllers (files, actions, run commands, export) use of it.

Each controller is handed the main window but types it with one of these protocols, so none
of them imports designer.mainwindow, which imports them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PySide6.QtCore import Qt, SignalInstance
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget, QMenuBar, QStatusBar, QToolBar

    from designer.canvas.scene import PipelineScene
    from designer.dialogs import Dialogs
    from designer.document import Document
    from designer.logs_panel import LogsPanel
    from designer.runs_panel import RunsPanel


class DocumentWindow(Protocol):
    """A window showing one document: what opening, saving and exporting need of it."""

    document: Document | None
    dialogs: Dialogs

    def set_document(self, document: Document) -> None: ...

    def statusBar(self) -> QStatusBar: ...

    def show_message(self, text: str) -> None: ...


class FileCommands(Protocol):
    """The file commands that the File menu shows (designer.files.FileController)."""

    recentChanged: SignalInstance

    def new(self) -> bool: ...

    def open(self, path: str | Path | None = None) -> bool: ...

    def save(self) -> bool: ...

    def save_as(self) -> bool: ...

    def recent_files(self) -> list[str]: ...

    def clear_recent(self) -> None: ...


class RunMenu(Protocol):
    """The commands of the Run menu (designer.run_commands.RunCommands)."""

    def run(self) -> bool: ...

    def run_regenerated(self) -> bool: ...

    def run_selected(self) -> bool: ...

    def run_from_selected(self) -> bool: ...

    def cancel(self) -> None: ...


class ActionsWindow(Protocol):
    """A window with menus and a toolbar: the commands its actions trigger."""

    files: FileCommands
    run_commands: RunMenu

    def menuBar(self) -> QMenuBar: ...

    def addToolBar(self, area: Qt.ToolBarArea, toolbar: QToolBar) -> None: ...

    def export(self, target: str) -> Path | None: ...

    # Edit, View and Window menus
    def new_window(self) -> ActionsWindow: ...
    def close(self) -> bool: ...
    def quit_application(self) -> None: ...
    def cut(self) -> None: ...
    def copy(self) -> None: ...
    def paste(self) -> None: ...
    def duplicate(self) -> None: ...
    def delete_selection(self) -> None: ...
    def select_all(self) -> None: ...
    def auto_layout(self) -> None: ...
    def validate(self) -> None: ...
    def zoom_in(self) -> None: ...
    def zoom_out(self) -> None: ...
    def zoom_fit(self) -> None: ...
    def set_theme(self, choice: str) -> None: ...
    def show_shortcuts(self) -> None: ...
    def show_about(self) -> None: ...


class RunActions(Protocol):
    """The Run menu's actions (of designer.actions.WindowActions), enabled as a run allows."""

    run: QAction
    run_regenerated: QAction
    run_selected: QAction
    run_from_selected: QAction
    cancel_run: QAction


class RunWindow(DocumentWindow, Protocol):
    """A window that runs its pipeline: its canvas, its actions, its Runs and Logs docks."""

    scene: PipelineScene | None
    window_actions: RunActions
    logs_dock: QDockWidget
    logs_panel: LogsPanel
    runs_panel: RunsPanel

    def reveal_node(self, name: str, field: str = "") -> None: ...
