"""The datasets panel: registered datasets of the open pipeline's project, with their versions.

Each version shows its size, when it was created and the run and step output that produced
it. Selecting a version previews it; dragging a version onto the canvas adds a dataset node
that reads it (`from: dataset:NAME@VERSION`, as the seed's `Dataset.get_by_name` would).
The store is read and the sizes are summed on a worker thread.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QPointF, Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QStackedLayout,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.canvas.mirror import snap
from designer.runs_panel import format_start
from engine.pipeline import changes as ch
from engine.pipeline.model import Node
from engine.storage.store import DatasetVersion

DATASET_MIME = "application/x-pipeloom-dataset-version"  # "NAME@VERSION"
VERSION_ROLE = Qt.ItemDataRole.UserRole + 1


def format_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def size_of(path: str) -> int | None:
    """Bytes of a file or of everything in a folder; None when it is gone."""
    target = Path(path)
    if target.is_file():
        return target.stat().st_size
    if not target.is_dir():
        return None
    total = 0
    for root, _dirs, files in os.walk(target):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


class VersionTree(QTreeWidget):
    """A tree whose version rows drag out as DATASET_MIME."""

    def mimeTypes(self) -> list[str]:
        return [DATASET_MIME, "text/plain"]

    def mimeData(self, items) -> QMimeData:
        data = QMimeData()
        refs = [i.data(0, VERSION_ROLE) for i in items if i.data(0, VERSION_ROLE)]
        if refs:
            data.setData(DATASET_MIME, refs[0].encode())
            data.setText(f"dataset:{refs[0]}")
        return data


class DatasetsPanel(QWidget):
    """`previewRequested(name, version)` when a version is picked."""

    previewRequested = Signal(str, int)
    refreshed = Signal()
    _answered = Signal(int, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = VersionTree(self)
        self.tree.setObjectName("datasetsTree")
        self.tree.setHeaderLabels(["Dataset", "Size", "Created", "Run", "Produced by"])
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for column in range(4):
            header.setSectionResizeMode(column, header.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(lambda item, _old: self._on_current(item))
        self.empty = QLabel(
            "No registered datasets yet. Outputs with “register as” add a version each run.",
            self,
        )
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedLayout()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tree)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.stack)
        self.path: Path | None = None
        self.versions: list[tuple[DatasetVersion, int | None]] = []
        self._token = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._answered.connect(self._on_answer)

    def set_pipeline(self, path: str | Path | None) -> None:
        self.path = Path(path).resolve() if path else None
        self.refresh()

    def refresh(self) -> None:
        """Read the versions again (on a worker thread)."""
        self._token += 1
        token, path = self._token, self.path
        self._pool.start(lambda: self._work(token, path))

    def _work(self, token: int, path: Path | None) -> None:
        from engine.preview import open_store

        found: list[tuple[DatasetVersion, int | None]] = []
        store = None
        try:
            store = open_store(path)
            if store is not None:
                found = [(d, size_of(d.path)) for d in store.datasets()]
        except Exception:  # noqa: BLE001 - an unreadable store shows as no datasets
            found = []
        finally:
            if store is not None:
                store.close()
        try:
            self._answered.emit(token, found)
        except RuntimeError:  # the panel was deleted meanwhile
            pass

    def _on_answer(self, token: int, found) -> None:
        if token != self._token:
            return
        keep = self.selected_version()
        self.versions = found
        tree = self.tree
        tree.blockSignals(True)
        tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        current = None
        for version, size in sorted(found, key=lambda f: (f[0].name, -f[0].version)):
            group = groups.get(version.name)
            if group is None:
                group = groups[version.name] = QTreeWidgetItem(tree, [version.name])
                group.setFlags(group.flags() & ~Qt.ItemFlag.ItemIsDragEnabled)
                group.setExpanded(True)
            produced = f"{version.step}.{version.output}" if version.step else ""
            item = QTreeWidgetItem(
                group,
                [
                    f"version {version.version}",
                    format_size(size) if size is not None else "missing",
                    format_start(version.created),
                    version.run_id or "",
                    produced,
                ],
            )
            item.setData(0, VERSION_ROLE, f"{version.name}@{version.version}")
            tip = (
                f"{version.name} version {version.version}\n{version.path}\n"
                f"created {format_start(version.created)}"
                + (f" by run {version.run_id}" if version.run_id else "")
                + (f", {produced}" if produced else "")
                + "\nDrag onto the canvas to read it in this pipeline."
            )
            for column in range(5):
                item.setToolTip(column, tip)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if (version.name, version.version) == keep:
                current = item
        if current is not None:
            tree.setCurrentItem(current)
        tree.blockSignals(False)
        self.stack.setCurrentIndex(1 if found else 0)
        self.refreshed.emit()

    def _on_current(self, item: QTreeWidgetItem | None) -> None:
        ref = item.data(0, VERSION_ROLE) if item is not None else None
        if ref:
            name, version = ref.rsplit("@", 1)
            self.previewRequested.emit(name, int(version))

    def item_of(self, name: str, version: int) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                if group.child(j).data(0, VERSION_ROLE) == f"{name}@{version}":
                    return group.child(j)
        return None

    def select_version(self, name: str, version: int) -> None:
        item = self.item_of(name, version)
        if item is not None:
            self.tree.setCurrentItem(item)

    def selected_version(self) -> tuple[str, int] | None:
        item = self.tree.currentItem()
        ref = item.data(0, VERSION_ROLE) if item is not None else None
        if not ref:
            return None
        name, version = ref.rsplit("@", 1)
        return name, int(version)

    def wait_idle(self, msecs: int = 30_000) -> bool:
        return self._pool.waitForDone(msecs)


def dataset_node_change(pipeline, ref: str, position: tuple[float, float]):
    """An AddNode for a dataset node reading registered version `ref` ("NAME@VERSION") with
    the format of the output that produced it (Spark outputs are folders of part files)."""
    name, _, version = ref.partition("@")
    stem = "".join(c if c.isalnum() or c in "_-" else "_" for c in name) or "dataset"
    if not (stem[0].isalpha() or stem[0] == "_"):
        stem = f"data_{stem}"
    node_name = pipeline.unique_node_name(f"{stem}_v{version}" if version else stem)
    params: dict = {"kind": "tabular", "from": f"dataset:{ref}"}
    fmt = _producer_format(pipeline, name)
    if fmt:
        params["format.type"] = fmt
    node = Node(node_name, "dataset", params, position=position)
    return ch.AddNode(node), node_name


def _producer_format(pipeline, name: str) -> str | None:
    for node in pipeline.nodes.values():
        for port in node.outputs:
            if port.register_as == name:
                return port.format.get("type") if port.format else None
    return None


class DatasetDropFilter(QObject):
    """On a canvas viewport: a dataset version dropped from the panel becomes a dataset node."""

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        view.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        data = event.mimeData()
        if data is None or not data.hasFormat(DATASET_MIME):
            return False
        event.acceptProposedAction()
        if kind == QEvent.Type.Drop:
            ref = bytes(data.data(DATASET_MIME)).decode()
            pos = self.view.mapToScene(event.position().toPoint())
            self.add(ref, pos)
        return True

    def add(self, ref: str, pos: QPointF) -> str | None:
        scene = self.view.pipeline_scene
        change, name = dataset_node_change(
            scene.document.pipeline, ref, (snap(pos.x()), snap(pos.y()))
        )
        if scene.push(change, f"Add dataset {ref}"):
            scene.select_nodes([name])
            return name
        return None
