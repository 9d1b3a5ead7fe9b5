"""Auto-layout on the canvas and on the example projects: no overlaps, few wire crossings."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from canvas_helpers import open_canvas

from designer.layout import auto_layout_change
from engine.fileformat import yamlio
from engine.pipeline import layout

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from layout_graphs import generated_pipeline  # noqa: E402

PROJECTS = sorted(Path(__file__).resolve().parents[2].glob("projects/*/pipeline.yaml"))


def crossings(p, order=None) -> int:
    layers, segments = layout.proper_layers(layout.assign_layers(p), layout.wires(p))
    if order == "ours":
        layers = layout.minimise_crossings(layers, segments)
    elif isinstance(order, random.Random):
        for ls in layers:
            order.shuffle(ls)
    return layout.count_crossings(layers, segments)


def item_overlaps(scene) -> list[tuple[str, str]]:
    rects = {n: it.mapRectToScene(it.rect()) for n, it in scene.nodes.items()}
    names = sorted(rects)
    return [
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :] if rects[a].intersects(rects[b])
    ]


@pytest.mark.parametrize("path", PROJECTS, ids=[p.parent.name for p in PROJECTS])
def test_example_projects_layout_without_overlaps_and_no_more_crossings_than_shuffled(qtbot, path):
    p = yamlio.load(path)
    ours = crossings(p, "ours")
    for seed in range(20):
        assert ours <= crossings(p, random.Random(seed))
    doc, view, scene, _ = open_canvas(qtbot, p)
    scene.auto_layout()
    assert item_overlaps(scene) == []
    for e in p.edges():  # every wire runs left to right
        assert scene.nodes[e.source].pos().x() < scene.nodes[e.target].pos().x()


def test_generated_200_node_graph_has_fewer_crossings_than_shuffled_and_no_overlaps(qtbot):
    p = generated_pipeline(200, seed=11)
    ours = crossings(p, "ours")
    shuffled = [crossings(p, random.Random(seed)) for seed in range(10)]
    assert ours < min(shuffled)
    doc, view, scene, _ = open_canvas(qtbot, p)
    assert view.auto_layout()
    assert doc.undo_stack.count() == 1
    assert item_overlaps(scene) == []
    assert all(doc.pipeline.nodes[n].position is not None for n in doc.pipeline.nodes)
    doc.undo_stack.undo()
    assert all(doc.pipeline.nodes[n].position is None for n in doc.pipeline.nodes)


def test_unplaced_pipeline_is_laid_out_on_open_without_editing_the_model(qtbot):
    p = generated_pipeline(60, seed=5)  # no positions at all
    doc, view, scene, _ = open_canvas(qtbot, p)
    assert item_overlaps(scene) == []
    assert doc.undo_stack.count() == 0 and not doc.modified
    assert all(node.position is None for node in doc.pipeline.nodes.values())
    xs = {n: it.pos().x() for n, it in scene.nodes.items()}
    for e in p.edges():
        assert xs[e.source] < xs[e.target]


def test_layout_change_is_none_when_already_laid_out():
    p = generated_pipeline(30, seed=2)
    change = auto_layout_change(p)
    p.apply(change)
    assert auto_layout_change(p) is None


def test_first_move_in_an_unplaced_pipeline_saves_every_shown_position(qtbot):
    from canvas_helpers import body_pos, drag
    from PySide6.QtCore import QPointF

    p = generated_pipeline(12, seed=3)
    doc, view, scene, _ = open_canvas(qtbot, p)
    shown = {n: (it.pos().x(), it.pos().y()) for n, it in scene.nodes.items()}
    first = next(iter(p.nodes))
    view.centerOn(scene.nodes[first])
    start = body_pos(scene, first)
    drag(view, start, start + QPointF(0, 40))
    assert doc.undo_stack.count() == 1
    for name, node in doc.pipeline.nodes.items():
        expected = (shown[name][0], shown[name][1] + 40) if name == first else shown[name]
        assert node.position == expected
        assert (scene.nodes[name].pos().x(), scene.nodes[name].pos().y()) == expected
    doc.undo_stack.undo()
    assert all(node.position is None for node in doc.pipeline.nodes.values())
    assert {n: (it.pos().x(), it.pos().y()) for n, it in scene.nodes.items()} == shown
