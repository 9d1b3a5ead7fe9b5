"""The pipeline canvas: a QGraphicsScene mirroring a Document and the view that edits it.

    scene = PipelineScene(document)   # observes document.modelEvent / problemsChanged
    view = CanvasView(scene)          # or make_canvas(document)

For the main window:
- view.message(str): refusals and hints for the status bar (scene.message is forwarded).
- view: zoom_in, zoom_out, reset_zoom, set_zoom, fit_to_view, reveal_node(name), copy, cut,
  paste(at=None), paste_at_cursor, duplicate, delete_selection, auto_layout, open_quick_add(scene_pos).
- scene: selected_nodes, selected_wires, select_nodes, select_all, add_node(type, pos),
  start_rename(name), set_run_status(node, status),
  set_run_progress(node, 0..1 | None), clear_run_status, selectionChanged,
  nodeActivated(name) on a double-click of a node's body.
- style.set_canvas_theme("light" | "dark") switches the canvas colours.
Keys on the canvas: Tab quick-add, Delete/Backspace, F2 rename, arrows nudge (Shift: x5),
Home fit, Space-drag or middle-drag pan, wheel zoom to the cursor, Esc cancels a drag.
"""

from .scene import PipelineScene
from .style import CanvasColors, set_canvas_theme
from .view import CanvasView


def make_canvas(document, parent=None) -> CanvasView:
    """A view on a new scene for `document` (the scene is parented to the view)."""
    scene = PipelineScene(document)
    view = CanvasView(scene, parent)
    scene.setParent(view)
    return view


__all__ = ["CanvasColors", "CanvasView", "PipelineScene", "make_canvas", "set_canvas_theme"]
