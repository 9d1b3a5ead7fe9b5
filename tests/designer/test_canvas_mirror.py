"""The scene mirrors the model through any sequence of edits, undos and redos."""

from __future__ import annotations

import random

import pytest
from canvas_helpers import open_canvas, small_pipeline

from engine.pipeline import changes as ch
from engine.pipeline.model import InputPort, Node, OutputPort, Pipeline, Ref, output_kind


def expected_wires(p: Pipeline) -> dict[tuple[str, str], tuple[str, str]]:
    wires = {}
    for node in p.nodes.values():
        for port in node.inputs:
            if port.source is None:
                continue
            resolved = p.resolve_output(port.source)
            if resolved is not None and resolved[0].name != node.name:
                wires[(node.name, port.name)] = (resolved[0].name, resolved[1])
    return wires


def assert_mirrors(doc, scene) -> None:
    p = doc.pipeline
    assert set(scene.nodes) == set(p.nodes)
    got = {k: (w.source, w.output) for k, w in scene.wires.items()}
    assert got == expected_wires(p)
    for name, node in p.nodes.items():
        item = scene.nodes[name]
        assert item.name == name
        assert [pv.name for pv in item.ports if pv.direction == "in"] == [
            i.name for i in node.inputs
        ]
        if node.position is not None:
            assert (item.pos().x(), item.pos().y()) == node.position
        for key, wire in scene.wires.items():
            if wire.source == name:
                assert wire.kind == output_kind(node, wire.output)
                assert wire.path().pointAtPercent(0) == item.port_scene_pos("out", wire.output)
            if key[0] == name:
                assert wire.path().pointAtPercent(1) == item.port_scene_pos("in", key[1])
    outs = {}
    for key, wire in scene.wires.items():
        outs.setdefault(wire.source, set()).add(key)
    assert {k: v for k, v in scene._out.items() if v} == outs


def random_change(rng: random.Random, p: Pipeline, counter: list[int]) -> ch.Change | None:
    names = list(p.nodes)
    kind = rng.choice(
        ["add", "remove", "connect", "disconnect", "rename", "move", "port", "rename_port", "group"]
    )
    counter[0] += 1
    n = counter[0]
    if kind == "add" or not names:
        if rng.random() < 0.4:
            node = Node(f"d{n}", "dataset", {"kind": rng.choice(["tabular", "file"])})
        else:
            node = Node(
                f"s{n}",
                rng.choice(["spark-step", "script-step"]),
                inputs=[InputPort("in")],
                outputs=[OutputPort("out", kind=rng.choice(["tabular", "file"]))],
            )
        node.position = (rng.randrange(0, 2000, 20), rng.randrange(0, 1200, 20))
        return ch.AddNode(node, rng.randrange(0, len(names) + 1))
    name = rng.choice(names)
    node = p.nodes[name]
    if kind == "remove":
        return ch.RemoveNode(name)
    if kind == "connect" and node.inputs:
        src = p.nodes[rng.choice(names)]
        outs = ["data"] if src.type == "dataset" else [o.name for o in src.outputs]
        if not outs:
            return None
        out = rng.choice(outs)
        ref = Ref(src.name, None if src.type == "dataset" else out)
        return ch.SetPortField(name, "in", rng.choice(node.inputs).name, "source", ref)
    if kind == "disconnect" and node.inputs:
        return ch.disconnect(name, rng.choice(node.inputs).name)
    if kind == "rename":
        return ch.RenameNode(name, f"r{n}")
    if kind == "move":
        return ch.MoveNode(name, (rng.randrange(0, 2000, 20), rng.randrange(0, 1200, 20)))
    if kind == "port" and node.type != "dataset":
        if rng.random() < 0.5 or not node.inputs:
            return ch.AddPort(name, "in", InputPort(f"i{n}"))
        return ch.RemovePort(name, "in", rng.choice(node.inputs).name)
    if kind == "rename_port" and node.type != "dataset":
        direction = rng.choice(["in", "out"])
        ports = node.ports(direction)
        if ports:
            return ch.RenamePort(name, direction, rng.choice(ports).name, f"p{n}")
    if kind == "group" and len(names) >= 2:
        a, b = rng.sample(names, 2)
        return ch.Group(
            [ch.MoveNode(a, (0, 0)), ch.RemoveNode(b), ch.MoveNode(a, (40, 40))], label="mixed"
        )
    return None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edits_undo_and_redo_keep_the_scene_equal_to_the_model(qtbot, seed):
    doc, view, scene, _ = open_canvas(qtbot, small_pipeline())
    rng = random.Random(seed)
    counter = [0]
    pushed = 0
    for _ in range(120):
        change = random_change(rng, doc.pipeline, counter)
        if change is None:
            continue
        try:
            doc.push(change)
        except (ValueError, KeyError):
            continue  # a change the model refuses (a clash) is not applied at all
        pushed += 1
        assert_mirrors(doc, scene)
        if rng.random() < 0.15:
            doc.undo_stack.undo()
            assert_mirrors(doc, scene)
            doc.undo_stack.redo()
            assert_mirrors(doc, scene)
    assert pushed > 60
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
        assert_mirrors(doc, scene)
    assert doc.pipeline == small_pipeline()
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert_mirrors(doc, scene)
