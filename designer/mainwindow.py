"""The main window: the canvas in the middle, palette, inspector, problems and pipeline panels
docked around it, menus and toolbar, title with the unsaved mark, state kept in QSettings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget

from designer.actions import WindowActions
from designer.canvas.scene import PipelineScene
from designer.canvas.view import CanvasView
from designer.datasets_panel import DatasetDropFilter, DatasetsPanel
from designer.dialogs import Dialogs
from designer.document import Document
from designer.files import FileController
from designer.inspector import Inspector
from designer.logs_panel import LogsPanel
from designer.palette import Palette
from designer.pipeline_editors import PipelineEditors
from designer.preview_panel import PortPreviewFilter, PreviewPanel
from designer.problems_panel import ProblemsPanel
from designer.run_commands import RunCommands
from designer.runs_panel import RunsPanel
from designer.theme import ThemeManager, icon

FIRST_PAINT_WAIT_MS = 250  # an opened document validates once painted, or after this at most


def _dropped_pipeline(data) -> str | None:
    """The pipeline file in a drop (a YAML file that starts like one), else None."""
    if data is None or not data.hasUrls() or len(data.urls()) != 1:
        return None
    url = data.urls()[0]
    path = Path(url.toLocalFile()) if url.isLocalFile() else None
    if path is None or path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        return None
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return None
    if not any(line.startswith("pipeloom:") for line in head.splitlines()):
        return None
    return str(path)


class EmptyCanvasHint(QLabel):
    """What to do first, centred on an empty canvas; clicks and drops pass through."""

    def __init__(self, view: CanvasView):
        super().__init__(view.viewport())
        self.setObjectName("emptyCanvasHint")
        self.setText(
            "<p style='font-size:13pt; font-weight:600'>An empty pipeline</p>"
            "<p>Drag a node type from <b>Nodes</b>, drop a CSV or Parquet file here,<br>"
            "or press <b>Tab</b> to search for a node type.</p>"
        )
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        view.viewport().installEventFilter(self)
        self._centre()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == event.Type.Resize:
            self._centre()
        return False

    def _centre(self) -> None:
        self.adjustSize()
        area = self.parentWidget().rect()
        self.move(area.center().x() - self.width() // 2, area.center().y() - self.height() // 2)


class MainWindow(QMainWindow):
    """One pipeline document in one window."""

    extra_windows: list[MainWindow] = []  # windows opened with File > New Window, kept alive

    def __init__(self, dialogs: Dialogs | None = None, recovery_dir=None, parent=None):
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.setWindowIcon(icon("app"))
        self.dialogs = dialogs or Dialogs()
        self.dialogs.parent = self
        self.document: Document | None = None
        self.scene: PipelineScene | None = None
        self.view: CanvasView | None = None
        self._validate_after_paint = False  # an opened document validates once it is painted
        self.palette_panel = Palette()
        self.inspector = Inspector(lambda: self.dialogs)
        self.problems_panel = ProblemsPanel()
        self.pipeline_panel = PipelineEditors(report=self.show_message)
        self.runs_panel = RunsPanel()
        self.logs_panel = LogsPanel()
        self.preview_panel = PreviewPanel()
        self.datasets_panel = DatasetsPanel()
        self.palette_dock = self._dock(
            "Nodes", "paletteDock", self.palette_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.inspector_dock = self._dock(
            "Inspector", "inspectorDock", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.problems_dock = self._dock(
            "Problems", "problemsDock", self.problems_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.pipeline_dock = self._dock(
            "Pipeline", "pipelineDock", self.pipeline_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.runs_dock = self._dock(
            "Runs", "runsDock", self.runs_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.logs_dock = self._dock(
            "Logs", "logsDock", self.logs_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.tabifyDockWidget(self.problems_dock, self.pipeline_dock)
        self.tabifyDockWidget(self.pipeline_dock, self.runs_dock)
        self.preview_dock = self._dock(
            "Preview", "previewDock", self.preview_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.datasets_dock = self._dock(
            "Datasets", "datasetsDock", self.datasets_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.tabifyDockWidget(self.runs_dock, self.logs_dock)
        self.tabifyDockWidget(self.logs_dock, self.preview_dock)
        self.tabifyDockWidget(self.palette_dock, self.datasets_dock)
        self.palette_dock.raise_()
        self.problems_dock.raise_()
        self.resizeDocks(
            [self.palette_dock, self.inspector_dock], [220, 400], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.problems_dock], [150], Qt.Orientation.Vertical)
        # one central widget for every document's view: replacing the central widget of a
        # shown window lets the bottom docks take the canvas's room
        self.canvas_holder = QWidget(self)
        self.canvas_layout = QVBoxLayout(self.canvas_holder)
        self.canvas_layout.setContentsMargins(0, 0, 0, 0)
        self.setCentralWidget(self.canvas_holder)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.files = FileController(self, recovery_dir)
        self.run_commands = RunCommands(self)
        # a run builds the environments its steps need: show their new state
        self.run_commands.controller.runEnded.connect(
            lambda _summary: self.pipeline_panel.tables["environments"].refresh()
        )
        self.window_actions = WindowActions(self)
        self.window_actions.build_menus()
        self.toolbar = self.window_actions.build_toolbar()
        for dock in (
            self.palette_dock,
            self.inspector_dock,
            self.problems_dock,
            self.pipeline_dock,
            self.runs_dock,
            self.logs_dock,
            self.preview_dock,
            self.datasets_dock,
        ):
            self.window_actions.panels_menu.addAction(dock.toggleViewAction())
        self.statusBar().addPermanentWidget(self.run_commands.status_icon)
        self.statusBar().addPermanentWidget(self.run_commands.status_label)
        self.zoom_label = QLabel()
        self.zoom_label.setToolTip("Zoom (Ctrl+0 fits the pipeline)")
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.problem_icon = QLabel()
        self.problem_count = QLabel()
        self.statusBar().addPermanentWidget(self.problem_icon)
        self.statusBar().addPermanentWidget(self.problem_count)
        self.statusBar().setSizeGripEnabled(False)

        self.palette_panel.addRequested.connect(self.add_node_at_center)
        self.problems_panel.revealRequested.connect(self.reveal_node)
        self.problems_panel.countsChanged.connect(self._show_counts)
        self.files.openFailed.connect(self.problems_panel.set_file_problems)
        self.runs_panel.runSelected.connect(self.run_commands.show_run)
        self.runs_panel.stepActivated.connect(self.run_commands.show_step)
        # tabbed docks get no show events: refresh (runs made by the CLI too) when picked
        self.runs_dock.visibilityChanged.connect(lambda on: on and self.runs_panel.refresh())
        self._connect_data_panels()
        ThemeManager.instance().themeChanged.connect(self._refresh_theme)
        self.set_document(Document())
        self.restore_window_state()

    def _dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        widget.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # QSS panel colour
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    # -- document ------------------------------------------------------------------
    def set_document(self, document: Document) -> None:
        old, old_scene = self.document, self.scene
        self.document = document
        self.scene = PipelineScene(document, self)
        # the view connects to its scene when built, so each document gets a fresh view
        old_view, self.view = self.view, CanvasView(self.scene, self)
        self.view.message.connect(self.show_message)
        self.view.zoomChanged.connect(self._show_zoom)
        self.view.addActions(self.window_actions.canvas_actions)
        actions = self.window_actions
        self.view.node_menu_actions = [
            actions.run_selected,
            actions.run_from_selected,
            self.preview_panel.preview_action,
        ]
        PortPreviewFilter(self.view, self.preview_panel, self.show_preview)
        DatasetDropFilter(self.view)
        self.view.resize(self.canvas_holder.size())  # fit-to-view below sees the real size
        self.canvas_layout.addWidget(self.view)
        self.empty_hint = EmptyCanvasHint(self.view)
        self.view.viewport().installEventFilter(self)  # pipeline files dropped here are opened
        document.modelEvent.connect(self._on_model_event)
        if old_view is not None:
            self.canvas_layout.removeWidget(old_view)
            old_view.hide()
            old_view.deleteLater()
        self.scene.selectionChanged.connect(self._on_selection)
        self.scene.message.connect(self.show_message)
        document.modifiedChanged.connect(self.setWindowModified)
        document.pathChanged.connect(self.update_title)
        document.pathChanged.connect(lambda _path: self.run_commands.document_changed())
        document.problemsChanged.connect(self.problems_panel.set_problems)
        self.window_actions.undo_group.addStack(document.undo_stack)
        self.window_actions.undo_group.setActiveStack(document.undo_stack)
        self.inspector.set_document(document)
        self.pipeline_panel.set_document(document)
        self.preview_panel.set_pipeline(document.pipeline)
        self.datasets_panel.set_pipeline(document.path)
        document.pathChanged.connect(lambda _path: self.datasets_panel.set_pipeline(document.path))
        self.problems_panel.set_file_problems(None, [])
        self.run_commands.document_changed()
        if old is not None:
            self.window_actions.undo_group.removeStack(old.undo_stack)
            old.close()
            old.deleteLater()
        if old_scene is not None:
            old_scene.deleteLater()
        self.setWindowModified(document.modified)
        self.empty_hint.setVisible(not document.pipeline.nodes)
        self.update_title()
        self._on_selection()
        # the fitted canvas paints first; problems and badges follow (eventFilter), or after
        # FIRST_PAINT_WAIT_MS if the canvas is not painted (a hidden window)
        self._validate_after_paint = True
        document.validate_soon(FIRST_PAINT_WAIT_MS)
        self.zoom_fit()
        self._show_zoom(self.view.zoom())
        self.view.setFocus()  # canvas shortcuts work right after opening

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Paint and self._validate_after_paint and obj is self.view.viewport():
            self._validate_after_paint = False
            self.document.validate_soon()  # its zero-delay timer fires once this paint is done
        if obj is self.view.viewport() and kind in (
            QEvent.Type.DragEnter,
            QEvent.Type.DragMove,
            QEvent.Type.Drop,
        ):
            path = _dropped_pipeline(event.mimeData())
            if path is not None:
                event.acceptProposedAction()
                if kind == QEvent.Type.Drop:
                    QTimer.singleShot(0, lambda: self.files.open(path))  # after the drag ends
                return True
        return super().eventFilter(obj, event)

    def _on_model_event(self, event) -> None:
        if event.kind in ("node_added", "node_removed"):
            self.empty_hint.setVisible(not self.document.pipeline.nodes)

    def update_title(self, _path: str = "") -> None:
        self.setWindowTitle(f"{self.document.display_name()}[*] — Pipeloom")
        if self.document.path:
            self.setWindowFilePath(str(self.document.path))

    def _on_selection(self) -> None:
        names = self.scene.selected_nodes() if self.scene else []
        self.inspector.set_selection(names)
        self.preview_panel.show_selection(names)
        self.window_actions.set_canvas_enabled(
            bool(names) or bool(self.scene and self.scene.selected_wires())
        )
        self.run_commands.update_actions()

    def _connect_data_panels(self) -> None:
        """Preview follows the canvas, the runs panel and the datasets panel."""
        preview = self.preview_panel
        preview.preview_action.triggered.connect(self.preview_selected)
        self.runs_panel.runSelected.connect(
            lambda run_id: preview.show_run(run_id, self._run_outputs(run_id))
        )
        self.datasets_panel.previewRequested.connect(
            lambda name, version: (preview.show_dataset(name, version), self.show_preview())
        )
        self.run_commands.controller.runEnded.connect(lambda _s: self.datasets_panel.refresh())
        self.datasets_dock.visibilityChanged.connect(
            lambda on: on and self.datasets_panel.refresh()
        )

    def _run_outputs(self, run_id: str) -> list[str]:
        return [
            f"{child.step}.{output}"
            for child in self.runs_panel.child_runs(run_id)
            for output in child.outputs
            if child.step in self.document.pipeline.nodes
        ]

    def preview_selected(self) -> None:
        names = self.scene.selected_nodes()
        if names:
            self.preview_panel.show_node(names[0])
            self.show_preview()

    def show_preview(self) -> None:
        self.preview_dock.show()
        self.preview_dock.raise_()

    def _show_zoom(self, level: float) -> None:
        self.zoom_label.setText(f"{level * 100:.0f}%")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def _show_counts(self, errors: int, warnings: int) -> None:
        name = "error" if errors else "warning" if warnings else "ok"
        self.problem_icon.setPixmap(icon(name).pixmap(14, 14))
        if not errors and not warnings:
            self.problem_count.setText("No problems")
        else:
            parts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
            parts += [f"{warnings} warning{'s' * (warnings != 1)}"] if warnings else []
            self.problem_count.setText(" · ".join(parts))
        self.problems_dock.setWindowTitle(
            f"Problems ({errors + warnings})" if errors + warnings else "Problems"
        )

    # -- canvas commands -----------------------------------------------------------
    def add_node_at_center(self, node_type: str) -> str | None:
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        return self.scene.add_node(node_type, centre - QPointF(90, 40))

    def reveal_node(self, name: str, field: str = "") -> None:
        item = self.scene.nodes.get(name) if self.scene else None
        if item is None:
            return
        self.scene.select_nodes([name])
        self.view.centerOn(item)
        self.view.setFocus()
        self.inspector_dock.show()
        if field:
            self.inspector.reveal_field(field)

    def delete_selection(self) -> None:
        self.view.delete_selection()

    def select_all(self) -> None:
        self.scene.select_all()

    def copy(self) -> bool:
        return self.view.copy()

    def cut(self) -> bool:
        return self.view.cut()

    def paste(self) -> list[str]:
        return self.view.paste()

    def duplicate(self) -> list[str]:
        return self.view.duplicate()

    def zoom_in(self) -> None:
        self.view.zoom_in()

    def zoom_out(self) -> None:
        self.view.zoom_out()

    def zoom_fit(self) -> None:
        self.view.fit_to_view()

    def auto_layout(self) -> bool:
        return self.view.auto_layout()

    def validate(self) -> None:
        problems = self.document.validate_now()
        errors = sum(p.is_error for p in problems)
        self.show_message(
            "The pipeline is valid"
            if not problems
            else f"{len(problems)} problem(s), {errors} error(s)"
        )
        if problems:
            self.problems_dock.show()
            self.problems_dock.raise_()

    def export(self, target: str):
        from designer.exporting import export_pipeline

        return export_pipeline(self, target)

    # -- theme ---------------------------------------------------------------------
    def set_theme(self, choice: str) -> None:
        ThemeManager.instance().apply(choice)
        self.window_actions.sync_theme_choice()

    def _refresh_theme(self, _name: str = "") -> None:
        self.setWindowIcon(icon("app"))
        self.problems_panel.set_problems(self.document.problems if self.document else [])

    # -- window state --------------------------------------------------------------
    def restore_window_state(self) -> None:
        s = QSettings()
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:  # first start: a comfortable size that fits the screen
            screen = self.screen().availableGeometry() if self.screen() else None
            width, height = 1360, 860
            if screen is not None:
                width = min(width, int(screen.width() * 0.92))
                height = min(height, int(screen.height() * 0.92))
            self.resize(width, height)
        state = s.value("window/state")
        self._default_layout = state is None
        if state is not None:
            self.restoreState(state)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._default_layout:  # first start: give the canvas the room, docks their sizes
            self._default_layout = False
            self.resizeDocks(
                [self.palette_dock, self.inspector_dock], [220, 400], Qt.Orientation.Horizontal
            )
            self.resizeDocks([self.problems_dock], [150], Qt.Orientation.Vertical)

    def save_window_state(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.run_commands.confirm_close() or not self.files.maybe_save():
            event.ignore()
            return
        self.run_commands.shutdown()
        self.files.remove_recovery()
        self.files.autosave_timer.stop()
        self.save_window_state()
        event.accept()
        if self in MainWindow.extra_windows:
            MainWindow.extra_windows.remove(self)
            self.deleteLater()

    def new_window(self) -> MainWindow:
        """Another window with a new pipeline (copy and paste work between windows)."""
        other = MainWindow(dialogs=type(self.dialogs)(), recovery_dir=self.files.recovery_dir)
        MainWindow.extra_windows.append(other)
        geometry = self.geometry()
        other.resize(geometry.size())
        other.move(geometry.topLeft() + QPoint(32, 32))
        other.show()
        return other

    def show_shortcuts(self) -> None:
        rows = "".join(
            f"<tr><td>{name}</td><td style='padding-left:18px'><b>{keys}</b></td></tr>"
            for name, keys in self.window_actions.shortcut_table()
        )
        self.dialogs.info("Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            release = version("pipeloom")
        except PackageNotFoundError:  # running from a source tree without installing
            release = "development"
        self.dialogs.info(
            "About Pipeloom",
            f"<b>Pipeloom {release}</b><p>Design and run data and ML pipelines on Spark "
            "from the desktop.</p><p>Apache License 2.0</p>",
        )

    def quit_application(self) -> None:
        QApplication.closeAllWindows()
