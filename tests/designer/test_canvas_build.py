"""Building the scene in one pass (as File > Open does) gives what edits give: wires end on
their ports, nodes are as wide as their texts need, alike nodes share their port layouts."""

from __future__ import annotations

import random
import string

from canvas_helpers import open_canvas
from PySide6.QtCore import QPointF

from designer.canvas import items
from designer.canvas.paints import metrics
from engine.pipeline import changes as ch
from engine.pipeline.model import InputPort, Node, OutputPort, Pipeline, Ref


def _pipeline() -> Pipeline:
    p = Pipeline("build")
    p.nodes["raw"] = Node("raw", "dataset", {"path": "raw.csv"}, position=(0.0, 0.0))
    p.nodes["prep"] = Node(
        "prep",
        "spark-step",
        {"file": "prep.py"},
        inputs=[InputPort("table", Ref("raw")), InputPort("lookup_with_a_long_name")],
        outputs=[OutputPort("clean"), OutputPort("rejected", kind="file")],
        position=(300.0, 40.0),
    )
    p.nodes["train"] = Node(  # no saved position: laid out beside the others
        "train",
        "script-step",
        {"script": "train.py"},
        inputs=[InputPort("data", Ref("prep", "clean")), InputPort("bad", Ref("prep", "rejected"))],
        outputs=[OutputPort("model", kind="file")],
    )
    p.nodes["again"] = Node(
        "again",
        "script-step",
        {"script": "train.py"},
        inputs=[InputPort("data", Ref("prep", "clean")), InputPort("bad", Ref("prep", "rejected"))],
        outputs=[OutputPort("model", kind="file")],
        position=(900.0, 400.0),
    )
    return p


def _assert_wires_end_on_their_ports(scene) -> None:
    assert scene.wires
    for (target, inp), wire in scene.wires.items():
        chord = wire.chord()
        assert chord.p1() == scene.nodes[wire.source].port_scene_pos("out", wire.output)
        assert chord.p2() == scene.nodes[target].port_scene_pos("in", inp)
        path = wire.path()
        assert path.pointAtPercent(0) == chord.p1() and path.pointAtPercent(1) == chord.p2()
        assert wire.sceneBoundingRect().contains(path.controlPointRect())


def test_wires_built_at_open_end_where_edits_put_them(qtbot):
    doc, view, scene, _ = open_canvas(qtbot, _pipeline())
    _assert_wires_end_on_their_ports(scene)
    assert set(scene.wires) == {("prep", "table"), ("train", "data"), ("train", "bad"),
                                ("again", "data"), ("again", "bad")}  # fmt: skip
    doc.push(ch.MoveNode("prep", (360.0, -200.0)))  # the edit path routes them again
    _assert_wires_end_on_their_ports(scene)
    doc.undo_stack.undo()
    _assert_wires_end_on_their_ports(scene)


def test_alike_nodes_share_their_ports_and_shapes(qtbot):
    _doc, _view, scene, _ = open_canvas(qtbot, _pipeline())
    train, again = scene.nodes["train"], scene.nodes["again"]
    assert train.ports is again.ports  # same inputs, outputs, kinds, wires and width
    assert train.rect() == again.rect() and train.shape() == again.shape()
    assert [(p.direction, p.name, p.connected) for p in scene.nodes["prep"].ports] == [
        ("in", "table", True),
        ("in", "lookup_with_a_long_name", False),
        ("out", "clean", True),
        ("out", "rejected", True),
    ]


def test_a_node_is_as_wide_as_measuring_every_text_makes_it(qtbot):
    """Texts are measured only when an estimate could change the node's width: the widths
    are the ones measuring every text gives (names up to 60 characters, around every step)."""
    fm_title, fm_small = metrics()
    rng = random.Random(5)
    alphabet = string.ascii_letters + string.digits + "_-"
    for _ in range(400):
        name = rng.choice(string.ascii_letters) + "".join(
            rng.choice(alphabet) for _ in range(rng.randint(0, 59))
        )
        subtitle = f"Spark step · {name[: rng.randint(0, 40)]}.py"
        ports = rng.choice([0.0, 40.0, 90.0, 150.0])
        exact = items._snapped_width(
            fm_title.horizontalAdvance(name), fm_small.horizontalAdvance(subtitle), ports
        )
        assert items._node_width(name, subtitle, ports) == exact, (name, subtitle, ports)


def test_a_hidden_node_is_drawn_whole_when_shown(qtbot):
    """Texts are elided at the first detailed paint, to the node's width."""
    p = Pipeline("long")
    name = "a_step_with_a_name_much_longer_than_any_node_could_show_in_full"
    p.nodes[name] = Node(name, "spark-step", {"file": "x.py"}, position=(0.0, 0.0))
    _doc, view, scene, _ = open_canvas(qtbot, p)
    view.centerOn(QPointF(100, 40))
    view.grab()  # a detailed paint prepares the texts
    item = scene.nodes[name]
    assert item.rect().width() == items.MAX_WIDTH
    title = item._title.text()
    assert title.endswith("…") and title[:-1] in name
    assert item.tooltip_text().startswith(f"{name} (Spark step)")
