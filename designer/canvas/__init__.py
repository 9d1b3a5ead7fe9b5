"""The pipeline canvas: a QGraphicsScene mirroring a Document and the view that edits it.

scene = PipelineScene(document)
view = CanvasView(scene)      # view.message(str) -> status bar
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
