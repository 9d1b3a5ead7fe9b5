"""The main window's actions, menus and toolbar, with the platform's standard shortcuts.

Canvas editing actions (cut, copy, paste, duplicate, delete, select all) are also added to the
canvas view with a widget-scoped shortcut, so Delete in an inspector list edits the list, not
the graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoGroup
from PySide6.QtWidgets import QMenu, QToolBar

from designer.theme import ThemeManager, bind_icon

if TYPE_CHECKING:
    from designer.window_parts import ActionsWindow

Std = QKeySequence.StandardKey


def _with_fallback(key: QKeySequence.StandardKey, usual: str) -> list[QKeySequence]:
    """The platform's bindings for `key` with `usual` first (shown in the menu)."""
    bindings = [b for b in QKeySequence.keyBindings(key) if b != QKeySequence(usual)]
    return [QKeySequence(usual), *bindings]


class WindowActions:
    """Every command of a main window as a QAction, plus the menus and toolbar showing them."""

    def __init__(self, window: ActionsWindow):
        self.window = window
        w = window
        self.undo_group = QUndoGroup(window)
        self.canvas_actions: list[QAction] = []  # also added to each canvas view
        files = w.files
        self.new = self._make("&New", files.new, Std.New, "new", "Start a new pipeline")
        self.new_window = self._make(
            "New &Window", w.new_window, "Ctrl+Shift+N", None, "Open another window"
        )
        self.open = self._make(
            "&Open…", lambda: files.open(), Std.Open, "open", "Open a pipeline file"
        )
        self.save = self._make("&Save", files.save, Std.Save, "save", "Save the pipeline")
        self.save_as = self._make(
            "Save &As…", files.save_as, Std.SaveAs, None, "Save under a new name"
        )
        self.close = self._make("&Close Window", w.close, Std.Close, None, "Close this window")
        self.quit = self._make("&Quit", w.quit_application, Std.Quit, None, "Close every window")
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        # desktops without a standard binding still get the usual keys (Ctrl+W, Ctrl+Q)
        self.close.setShortcuts(_with_fallback(Std.Close, "Ctrl+W"))
        self.quit.setShortcuts(_with_fallback(Std.Quit, "Ctrl+Q"))

        self.undo = self.undo_group.createUndoAction(w, "&Undo")
        self.undo.setShortcuts(QKeySequence.keyBindings(Std.Undo))
        bind_icon(self.undo, "undo")
        self.redo = self.undo_group.createRedoAction(w, "&Redo")
        self.redo.setShortcuts(QKeySequence.keyBindings(Std.Redo))
        bind_icon(self.redo, "redo")

        self.cut = self._make("Cu&t", w.cut, Std.Cut, "cut", "Cut the selected nodes", canvas=True)
        self.copy = self._make(
            "&Copy", w.copy, Std.Copy, "copy", "Copy the selected nodes", canvas=True
        )
        self.paste = self._make("&Paste", w.paste, Std.Paste, "paste", "Paste nodes", canvas=True)
        self.duplicate = self._make(
            "D&uplicate",
            w.duplicate,
            "Ctrl+D",
            "duplicate",
            "Duplicate the selected nodes",
            canvas=True,
        )
        self.delete = self._make(
            "&Delete", w.delete_selection, Std.Delete, "delete", "Delete the selection", canvas=True
        )
        self.delete.setShortcuts(QKeySequence.keyBindings(Std.Delete) + [QKeySequence("Backspace")])
        self.select_all = self._make(
            "Select &All",
            w.select_all,
            Std.SelectAll,
            "select-all",
            "Select every node",
            canvas=True,
        )

        self.zoom_in = self._make("Zoom &In", w.zoom_in, Std.ZoomIn, "zoom-in", "Zoom in")
        self.zoom_out = self._make("Zoom &Out", w.zoom_out, Std.ZoomOut, "zoom-out", "Zoom out")
        self.zoom_fit = self._make(
            "&Fit to Window", w.zoom_fit, "Ctrl+0", "zoom-fit", "Show the whole pipeline"
        )
        self.auto_layout = self._make(
            "Auto-&layout", w.auto_layout, "Ctrl+L", "layout", "Arrange the nodes left to right"
        )
        self.validate = self._make(
            "&Validate", w.validate, "F7", "validate", "Check the pipeline now"
        )
        runs = w.run_commands
        self.run = self._make(
            "&Run", runs.run, "F5", "run", "Run the pipeline; unchanged steps reuse their outputs"
        )
        self.run_selected = self._make(
            "Run &Selected Only", runs.run_selected, "Ctrl+F5", None, "Run just the selected steps"
        )
        self.run_from_selected = self._make(
            "Run &From Selected",
            runs.run_from_selected,
            "Ctrl+Shift+F5",
            None,
            "Run the selected steps and everything downstream",
        )
        self.run_regenerated = self._make(
            "Run With Re&generated Outputs",
            runs.run_regenerated,
            None,
            "rerun",
            "Run every step again, reusing nothing",
        )
        self.cancel_run = self._make(
            "&Cancel Run", runs.cancel, "Shift+F5", "stop", "Stop the running steps"
        )
        self.cancel_run.setEnabled(False)

        self.theme_group = QActionGroup(w)
        self.theme_actions: dict[str, QAction] = {}
        for choice, text in (("system", "Follow &System"), ("light", "&Light"), ("dark", "&Dark")):
            a = QAction(text, w)
            a.setCheckable(True)
            a.setData(choice)
            a.triggered.connect(lambda _=False, c=choice: w.set_theme(c))
            self.theme_group.addAction(a)
            self.theme_actions[choice] = a
        self.sync_theme_choice()

        self.shortcuts = self._make(
            "&Keyboard Shortcuts", w.show_shortcuts, None, None, "List the keyboard shortcuts"
        )
        self.about = self._make("&About Pipeloom", w.show_about, None, None, "Version and credits")
        self.about.setMenuRole(QAction.MenuRole.AboutRole)
        self.export_actions = self._export_actions()
        self.recent_menu = QMenu("Open &Recent", w)
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        files.recentChanged.connect(self.fill_recent_menu)
        self.fill_recent_menu()

    def _make(self, text, slot, shortcut, icon, tip, canvas: bool = False) -> QAction:
        a = QAction(text, self.window)
        if shortcut is not None:
            a.setShortcut(
                QKeySequence(shortcut) if isinstance(shortcut, str) else QKeySequence(shortcut)
            )
        if icon:
            bind_icon(a, icon)
        a.setStatusTip(tip)
        a.setToolTip(
            f"{tip} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
            if shortcut
            else tip
        )
        a.triggered.connect(lambda _=False: slot())
        if canvas:
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.canvas_actions.append(a)
        return a

    def _export_actions(self) -> list[QAction]:
        from designer.exporting import available_targets

        actions = []
        for target, title in available_targets():
            a = QAction(f"{title}…", self.window)
            a.setStatusTip(f"Write the pipeline as {title.lower()}")
            a.triggered.connect(lambda _=False, t=target: self.window.export(t))
            actions.append(a)
        return actions

    # -- menus and toolbar ---------------------------------------------------------
    def build_menus(self) -> None:
        bar = self.window.menuBar()
        file = bar.addMenu("&File")
        for a in (self.new, self.new_window, self.open):
            file.addAction(a)
        file.addMenu(self.recent_menu)
        file.addSeparator()
        file.addActions([self.save, self.save_as])
        export = file.addMenu("&Export")
        export.addActions(self.export_actions)
        file.addSeparator()
        file.addActions([self.close, self.quit])

        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo, self.redo])
        edit.addSeparator()
        edit.addActions([self.cut, self.copy, self.paste, self.duplicate, self.delete])
        edit.addSeparator()
        edit.addAction(self.select_all)

        view = bar.addMenu("&View")
        view.addActions([self.zoom_in, self.zoom_out, self.zoom_fit])
        view.addSeparator()
        theme = view.addMenu("&Theme")
        bind_icon(theme.menuAction(), "theme")
        theme.addActions(list(self.theme_actions.values()))
        view.addSeparator()
        self.panels_menu = view.addMenu("&Panels")

        pipeline = bar.addMenu("&Pipeline")
        pipeline.addActions([self.auto_layout, self.validate])

        run = bar.addMenu("&Run")
        run.addActions([self.run, self.run_selected, self.run_from_selected, self.run_regenerated])
        run.addSeparator()
        run.addAction(self.cancel_run)

        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.shortcuts, self.about])

    def build_toolbar(self) -> QToolBar:
        tb = QToolBar("Main toolbar", self.window)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setFloatable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for group in (
            [self.new, self.open, self.save],
            [self.undo, self.redo],
            [self.cut, self.copy, self.paste, self.delete],
            [self.zoom_in, self.zoom_out, self.zoom_fit, self.auto_layout],
            [self.validate],
            [self.run, self.cancel_run],
        ):
            tb.addActions(group)
            tb.addSeparator()
        tb.removeAction(tb.actions()[-1])
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        return tb

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(command, keys) of every menu command that has a shortcut, in menu order."""
        rows = []
        for menu_action in self.window.menuBar().actions():
            for a in menu_action.menu().actions():
                keys = ", ".join(
                    k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts()
                )
                if keys and not a.isSeparator():
                    rows.append((a.text().replace("&", ""), keys))
        return rows

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.window.files.recent_files()
        for i, path in enumerate(files):
            label = f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name
            a = menu.addAction(label)
            a.setToolTip(path)
            a.setStatusTip(path)
            a.triggered.connect(lambda _=False, p=path: self.window.files.open(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear Menu", self.window.files.clear_recent)
        else:
            none = menu.addAction("No recent files")
            none.setEnabled(False)

    def sync_theme_choice(self) -> None:
        choice = ThemeManager.instance().choice
        self.theme_actions.get(choice, self.theme_actions["system"]).setChecked(True)

    def set_canvas_enabled(self, has_selection: bool) -> None:
        for a in (self.cut, self.copy, self.duplicate, self.delete):
            a.setEnabled(has_selection)
