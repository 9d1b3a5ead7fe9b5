"""Auto-layout as one undoable step: engine.pipeline.layout's positions as a Group of MoveNode."""

from __future__ import annotations

from collections.abc import Mapping

from engine.pipeline import changes as ch
from engine.pipeline import layout
from engine.pipeline.model import Pipeline

GRID = 20.0


def auto_layout_change(
    pipeline: Pipeline, sizes: Mapping[str, tuple[float, float]] | None = None
) -> ch.Change | None:
    """Every node moved to its layered position (snapped to the grid); None when nothing moves.

    sizes: node name -> (width, height) as drawn, so that no two nodes overlap."""
    positions = layout.layout(pipeline, sizes)
    moves = []
    for name, (x, y) in positions.items():
        pos = (round(x / GRID) * GRID, round(y / GRID) * GRID)
        if pipeline.nodes[name].position != pos:
            moves.append(ch.MoveNode(name, pos))
    return ch.Group(moves, label="Auto-layout") if moves else None
