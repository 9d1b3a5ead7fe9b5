"""The preview panel: the first rows of the selected dataset node or step output, of a run's
outputs, or of a registered dataset version.

The engine (engine.preview) locates and reads the data on a worker thread of the panel's
own pool; only finished previews come back to the GUI thread, and an answer to a request
that was overtaken by a newer one is dropped. The table is a QAbstractTableModel over the
preview's rows, so a QTableView paints only the visible cells; sorting is client-side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPointF,
    Qt,
    QThreadPool,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSizePolicy,
    QStackedLayout,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.pipeline.model import Pipeline
from engine.preview import DEFAULT_ROWS, Preview, PreviewError, cell_text

DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
FOREGROUND = Qt.ItemDataRole.ForegroundRole
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
NUMERIC_PREFIXES = ("int", "uint", "float", "double", "decimal", "halffloat")
WIDTH_SAMPLE = 40  # rows measured to size a column
MAX_COLUMN_WIDTH = 320


class PreviewTableModel(QAbstractTableModel):
    """Rows of one Preview; `sort` reorders a view of them, never the preview."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.preview: Preview | None = None
        self._order: list[int] = []
        self._numeric: list[bool] = []
        self._null_brush = QGuiApplication.palette().brush(
            QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text
        )

    def set_preview(self, preview: Preview | None) -> None:
        self.beginResetModel()
        self.preview = preview
        self._order = list(range(len(preview.rows))) if preview else []
        self._numeric = (
            [c.type.startswith(NUMERIC_PREFIXES) for c in preview.columns] if preview else []
        )
        self.endResetModel()

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._order)

    def columnCount(self, parent=None) -> int:
        if (parent is not None and parent.isValid()) or self.preview is None:
            return 0
        return len(self.preview.columns)

    def value(self, row: int, column: int):
        return self.preview.rows[self._order[row]][column]

    def data(self, index: QModelIndex, role=DISPLAY):
        # a view asks for about ten roles per painted cell: unhandled ones return at once
        if role == DISPLAY:
            value = self.preview.rows[self._order[index.row()]][index.column()]
            return "null" if value is None else cell_text(value)
        if role == ALIGNMENT:
            return RIGHT if self._numeric[index.column()] else None
        if role == FOREGROUND:
            value = self.preview.rows[self._order[index.row()]][index.column()]
            return self._null_brush if value is None else None
        if role == TOOLTIP:
            value = self.preview.rows[self._order[index.row()]][index.column()]
            return None if value is None else str(value)[:4000]
        return None

    def headerData(self, section: int, orientation, role=DISPLAY):
        if self.preview is None or role not in (DISPLAY, TOOLTIP):
            return None
        if orientation == Qt.Orientation.Horizontal:
            column = self.preview.columns[section]
            return column.name if role == DISPLAY else f"{column.name}: {column.type}"
        return str(self._order[section] + 1) if role == DISPLAY else None  # its place in the data

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if self.preview is None or not 0 <= column < len(self.preview.columns):
            return
        rows = self.preview.rows
        numeric = self._numeric[column]

        def key(i: int):
            value = rows[i][column]
            if value is None:
                return (1, 0, "")  # nulls last
            if numeric or isinstance(value, int | float | str):
                try:
                    return (0, 0, value) if numeric else (0, 1, value)
                except TypeError:
                    pass
            return (0, 2, cell_text(value))

        self.layoutAboutToBeChanged.emit()
        try:
            self._order.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        except TypeError:  # values of several kinds in one column: compare their text
            self._order.sort(
                key=lambda i: cell_text(rows[i][column]),
                reverse=order == Qt.SortOrder.DescendingOrder,
            )
        self.layoutChanged.emit()

    def text_of(self, indexes: list[QModelIndex], headers: bool = False) -> str:
        """The cells as tab-separated lines (a spreadsheet pastes them as cells)."""
        if not indexes:
            return ""
        rows = sorted({i.row() for i in indexes})
        columns = sorted({i.column() for i in indexes})
        chosen = {(i.row(), i.column()) for i in indexes}
        lines = []
        if headers:
            lines.append("\t".join(self.preview.columns[c].name for c in columns))
        for r in rows:
            cells = [cell_text(self.value(r, c)) if (r, c) in chosen else "" for c in columns]
            lines.append("\t".join(cells))
        return "\n".join(lines)


@dataclass(frozen=True)
class Request:
    """What the panel shows: a pipeline target (NODE[.OUTPUT] or dataset:NAME@V), maybe of a run."""

    target: str
    run_id: str | None = None
    count: bool | None = None


class PreviewPanel(QWidget):
    """Follows the canvas selection and the runs panel; `loaded` fires when a preview shows."""

    loaded = Signal(object)  # the Preview, or the error text
    _answered = Signal(int, object, object)  # token, DataLocation | None, Preview | str

    def __init__(self, parent=None, rows: int = DEFAULT_ROWS):
        super().__init__(parent)
        self.rows = rows
        self.pipeline: Pipeline | None = None
        self.request: Request | None = None
        self.location = None
        self.reveal: Callable[[QUrl], object] = QDesktopServices.openUrl  # tests replace it
        self._pending = False
        self._token = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._answered.connect(self._on_answer)

        self.title = QLabel(self)
        self.title.setObjectName("previewTitle")
        self.summary = QLabel(self)
        self.summary.setObjectName("previewSummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # long summaries are cut, not widening the dock (the tooltip has the path and notes)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.choices = QComboBox(self)  # the outputs of the selected step or run
        self.choices.setObjectName("previewChoices")
        self.choices.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.choices.activated.connect(self._on_choice)
        self.count_button = self._button("Count rows", "Count all rows (reads all the data)")
        self.count_button.clicked.connect(self.count_rows)
        self.reveal_button = self._button("Reveal", "Reveal in file manager")
        self.reveal_button.clicked.connect(self.reveal_in_file_manager)
        self.refresh_button = self._button("Refresh", "Read the data again")
        self.refresh_button.clicked.connect(self.refresh)
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.setSpacing(10)
        bar.addWidget(self.title)
        bar.addWidget(self.choices)
        bar.addWidget(self.summary, 1)
        for button in (self.count_button, self.reveal_button, self.refresh_button):
            bar.addWidget(button)

        self.model = PreviewTableModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("previewTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        vertical = self.table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows scroll fast
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._table_menu)
        self.copy_action = QAction("Copy", self.table)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(lambda: self.copy_selection())
        self.table.addAction(self.copy_action)

        self.message = QLabel(self)
        self.message.setObjectName("emptyState")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedLayout()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addLayout(self.stack)
        self.preview_action = QAction("Preview", self)  # the canvas's node menu shows it
        self.preview_action.setToolTip("Show the first rows of the node's data")
        self._show_message("Select a dataset or a step to see its data.")
        self._set_title("", [])

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    # -- what to show ------------------------------------------------------------------
    def set_pipeline(self, pipeline: Pipeline | None) -> None:
        """Another document: forget what was shown."""
        self.pipeline = pipeline
        self.request = None
        self.location = None
        self._token += 1
        self.model.set_preview(None)
        self._set_title("", [])
        self._show_message("Select a dataset or a step to see its data.")

    def show_selection(self, names: list[str]) -> None:
        """The canvas selection changed: one node is previewed (its first output)."""
        if len(names) == 1 and self.pipeline is not None and names[0] in self.pipeline.nodes:
            self.show_node(names[0])

    def show_node(self, name: str, output: str | None = None) -> None:
        node = self.pipeline.nodes.get(name) if self.pipeline else None
        if node is None:
            return
        if node.type == "dataset":
            self._set_title(name, [])
            self._load(Request(name))
            return
        outputs = [f"{name}.{p.name}" for p in node.outputs]
        if not outputs:
            self._set_title(name, [])
            self.request = None
            self._show_message(f"{name} has no outputs to preview.")
            return
        target = f"{name}.{output}" if output else outputs[0]
        self._set_title(name, outputs, target)
        self._load(Request(target))

    def show_run(self, run_id: str, outputs: list[str]) -> None:
        """A run picked in the runs panel: its outputs (`step.output`), the current one if the
        run has it, else its first."""
        if not outputs:
            return
        current = self.request.target if self.request else None
        target = current if current in outputs else outputs[0]
        self._set_title(f"run {run_id}", outputs, target)
        self._load(Request(target, run_id))

    def show_dataset(self, name: str, version: int | None) -> None:
        ref = f"dataset:{name}@{version}" if version else f"dataset:{name}"
        self._set_title(f"{name} v{version}" if version else name, [])
        self._load(Request(ref))

    def refresh(self) -> None:
        if self.request is not None:
            self._load(Request(self.request.target, self.request.run_id))

    def count_rows(self) -> None:
        if self.request is not None:
            self._load(Request(self.request.target, self.request.run_id, count=True))

    def _on_choice(self, index: int) -> None:
        target = self.choices.itemData(index)
        if target and self.request is not None:
            self._load(Request(target, self.request.run_id))

    def _set_title(self, title: str, outputs: list[str], current: str | None = None) -> None:
        self.title.setText(f"<b>{title}</b>" if title else "")
        self.choices.clear()
        for target in outputs:
            self.choices.addItem(target, target)
        self.choices.setVisible(len(outputs) > 1)
        if current in outputs:
            self.choices.setCurrentIndex(outputs.index(current))

    # -- loading -------------------------------------------------------------------------
    def _load(self, request: Request) -> None:
        self.request = request
        if not self.isVisible():  # a hidden panel reads nothing until it is shown
            self._pending = True
            return
        self._pending = False
        self._token += 1
        token = self._token
        pipeline = None
        if self.pipeline is not None:  # the worker's own copy: of the one node a click names
            if request.target.startswith("dataset:"):  # its producing step is found later
                pipeline = self.pipeline.copy()
            else:
                pipeline = self.pipeline.copy_with_nodes([request.target.split(".", 1)[0]])
        rows = self.rows
        self.count_button.setEnabled(False)
        self._show_message("Loading…" if self.model.preview is None else None)
        self.summary.setText("Loading…")
        self._pool.start(lambda: self._work(token, pipeline, request, rows))

    def _work(self, token: int, pipeline: Pipeline | None, request: Request, rows: int) -> None:
        """On a pool thread: locate and read; the answer goes back as a queued signal."""
        from engine.preview import locate_target, open_store, read_preview

        location = None
        store = None
        try:
            if pipeline is None:
                raise PreviewError("no pipeline")
            store = open_store(pipeline.path)
            location = locate_target(pipeline, request.target, request.run_id, store)
            answer: object = read_preview(
                location.path, location.format, rows, request.count, location.kind
            )
        except PreviewError as exc:
            answer = str(exc)
        except Exception as exc:  # noqa: BLE001 - a panel shows the message, never a traceback
            answer = f"{type(exc).__name__}: {exc}"
        finally:
            if store is not None:
                store.close()
        try:
            self._answered.emit(token, location, answer)
        except RuntimeError:  # the panel was deleted meanwhile
            pass

    def _on_answer(self, token: int, location, answer) -> None:
        if token != self._token:
            return  # overtaken by a newer request
        self.location = location
        self.reveal_button.setEnabled(location is not None)
        if isinstance(answer, str):
            self.model.set_preview(None)
            self.summary.setText("")
            self.count_button.setEnabled(False)
            self._show_message(answer)
            self.loaded.emit(answer)
            return
        preview: Preview = answer
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.model.set_preview(preview)
        self._size_columns()
        where = f"run {location.run_id} · " if location.run_id else ""
        self.summary.setText(f"{where}{preview.summary()}")
        self.summary.setToolTip(preview.path + "".join(f"\n{n}" for n in preview.notes))
        self.count_button.setEnabled(preview.row_count is None)
        if preview.columns:
            self._show_message(None)
        else:
            self._show_message(
                "No columns: " + ("; ".join(preview.notes) if preview.notes else "no data")
            )
        self.loaded.emit(preview)

    def _size_columns(self) -> None:
        """Widths from the header and the first rows (not every cell: wide previews stay fast)."""
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        pad = 24
        for column in range(self.model.columnCount()):
            texts = [self.model.preview.columns[column].name]
            texts += [
                self.model.data(self.model.index(r, column))
                for r in range(min(WIDTH_SAMPLE, self.model.rowCount()))
            ]
            width = max(metrics.horizontalAdvance(t) for t in texts) + pad
            header.resizeSection(column, min(width, MAX_COLUMN_WIDTH))

    def _show_message(self, text: str | None) -> None:
        if text is None:
            if self.stack.currentWidget() is not self.table:
                self.stack.setCurrentWidget(self.table)
        else:
            self.message.setText(text)
            self.stack.setCurrentWidget(self.message)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending and self.request is not None:
            self._load(self.request)

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Wait for the worker threads (tests and shutdown)."""
        return self._pool.waitForDone(msecs)

    # -- copy and reveal ---------------------------------------------------------------
    def copy_selection(self, headers: bool = False) -> str:
        text = self.model.text_of(self.table.selectionModel().selectedIndexes(), headers)
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def _table_menu(self, pos) -> None:
        menu = QMenu(self.table)
        menu.addAction("Copy", lambda: self.copy_selection())
        menu.addAction("Copy with headers", lambda: self.copy_selection(headers=True))
        menu.addSeparator()
        menu.addAction("Reveal in file manager", self.reveal_in_file_manager)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def reveal_in_file_manager(self) -> bool:
        if self.location is None:
            return False
        path = Path(self.location.path)
        folder = path if path.is_dir() else path.parent
        self.reveal(QUrl.fromLocalFile(str(folder)))
        return True


class PortPreviewFilter(QObject):
    """On a canvas viewport: a click on an output port (a press and release without a drag)
    previews that output; a double-click also brings the preview to the front."""

    def __init__(self, view, panel: PreviewPanel, activate: Callable[[], None]):
        super().__init__(view)
        self.view = view
        self.panel = panel
        self.activate = activate
        self._pressed: QPointF | None = None  # where a left press began
        view.viewport().installEventFilter(self)

    def _output_at(self, event) -> tuple[str, str] | None:
        pos = self.view.mapToScene(event.position().toPoint())
        hit = self.view.pipeline_scene.port_at(QPointF(pos))
        if hit is not None and hit[1] is not None and hit[1].direction == "out":
            return hit[0].name, hit[1].name
        return None

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonDblClick:
            port = self._output_at(event)
            if port is not None:
                self.panel.show_node(*port)
                self.activate()
                return True
        elif kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._pressed = event.position()  # hit-tested on release: one test per click
        elif kind == QEvent.Type.MouseButtonRelease and self._pressed is not None:
            at, self._pressed = self._pressed, None
            port = self._output_at(event) if (event.position() - at).manhattanLength() < 4 else None
            if port is not None:
                node, output = port
                self.panel.show_node(node, output)
        return False
