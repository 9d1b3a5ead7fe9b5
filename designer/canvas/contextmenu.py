"""The canvas context menu: actions on the node or wire under the cursor, else on the canvas."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

from . import commands
from .wires import WireItem


def context_menu(view, pos: QPointF) -> QMenu:
    """Right-click: actions on the node or wire under the cursor, else on the canvas."""
    scene = view.pipeline_scene
    hit = scene.port_at(pos)
    wire = None
    if hit is None:
        item = scene.itemAt(pos, view.transform())
        wire = item if isinstance(item, WireItem) else None
    menu = QMenu(view)
    if hit is not None:
        name = hit[0].name
        if name not in scene.selected_nodes():
            scene.select_nodes([name])
        menu.addAction("Rename", lambda: scene.start_rename(name))
        menu.addAction("Duplicate", view.duplicate)
        menu.addAction("Copy", view.copy)
        menu.addAction("Cut", view.cut)
        menu.addSeparator()
        menu.addAction("Delete", view.delete_selection)
        extra = getattr(view, "node_menu_actions", [])  # e.g. the main window's run commands
        if extra:
            menu.addSeparator()
            menu.addActions(extra)
    elif wire is not None:
        scene.clearSelection()
        wire.setSelected(True)
        menu.addAction(f"Disconnect {wire.target}.{wire.input}", view.delete_selection)
    else:
        menu.addAction("Add node…", lambda: view.open_quick_add(pos))
        paste = menu.addAction("Paste", lambda: view.paste(at=pos))
        data = QGuiApplication.clipboard().mimeData()
        paste.setEnabled(bool(data and (data.hasFormat(commands.CLIPBOARD_MIME) or data.hasText())))
        menu.addSeparator()
        menu.addAction("Select all", scene.select_all)
        menu.addAction("Auto-layout", view.auto_layout)
        menu.addAction("Fit to view", view.fit_to_view)
    return menu
