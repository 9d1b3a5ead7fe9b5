"""The model's change API: every change emits events and reverts exactly."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.pipeline import changes as ch
from engine.pipeline.model import (
    Compute,
    Environment,
    InputPort,
    Node,
    OutputPort,
    Parameter,
    Pipeline,
    Ref,
)


def seed_pipeline() -> Pipeline:
    p = Pipeline("titanic")
    p.computes["spark"] = Compute("spark", "spark", master="local[*]")
    p.computes["cpu"] = Compute("cpu", "cpu-pool", workers=2)
    p.environments["env"] = Environment("env", pip=["numpy"])
    p.parameters["fraction"] = Parameter("fraction", "number", 1.0)
    p.nodes["titanic"] = Node("titanic", "dataset", {"kind": "tabular", "path": "data/t.csv"})
    p.nodes["prep"] = Node(
        "prep",
        "spark-step",
        {
            "file": "prep.py",
            "compute": "spark",
            "arguments": [
                "--in",
                "{inputs.raw}",
                "--out",
                "{outputs.clean}",
                "{parameters.fraction}",
            ],
        },
        inputs=[InputPort("raw", Ref("titanic"))],
        outputs=[OutputPort("clean", "tabular", {"type": "parquet"})],
        position=(200, 0),
    )
    p.nodes["train"] = Node(
        "train",
        "script-step",
        {"script": "train.py", "compute": "cpu", "arguments": ["{inputs.data}"]},
        inputs=[InputPort("data", Ref("prep", "clean"), mode="download")],
        position=(400, 0),
    )
    return p


def test_rename_node_rewrites_from_and_reverts():
    p = seed_pipeline()
    before = p.copy()
    c = p.apply(ch.RenameNode("prep", "dataprep"))
    assert list(p.nodes) == ["titanic", "dataprep", "train"]
    assert p.nodes["train"].input("data").source == Ref("dataprep", "clean")
    c.revert(p)
    assert p == before


def test_rename_output_port_rewrites_templates_and_downstream():
    p = seed_pipeline()
    before = p.copy()
    c = p.apply(ch.RenamePort("prep", "out", "clean", "prepared"))
    assert p.nodes["prep"].params["arguments"][3] == "{outputs.prepared}"
    assert p.nodes["train"].input("data").source == Ref("prep", "prepared")
    c.revert(p)
    assert p == before


def test_rename_input_port_rewrites_own_templates_only():
    p = seed_pipeline()
    p.nodes["train"].params["arguments"] = ["{inputs.raw}"]  # another node's template, not ours
    c = p.apply(ch.RenamePort("prep", "in", "raw", "tabular_input"))
    assert p.nodes["prep"].params["arguments"][1] == "{inputs.tabular_input}"
    assert p.nodes["train"].params["arguments"] == ["{inputs.raw}"]
    c.revert(p)
    assert p.nodes["prep"].params["arguments"][1] == "{inputs.raw}"


def test_rename_parameter_rewrites_every_node():
    p = seed_pipeline()
    before = p.copy()
    c = p.apply(ch.RenameParameter("fraction", "sample_fraction"))
    assert list(p.parameters) == ["sample_fraction"]
    assert p.nodes["prep"].params["arguments"][-1] == "{parameters.sample_fraction}"
    c.revert(p)
    assert p == before


def test_rename_compute_follows_in_nodes():
    p = seed_pipeline()
    before = p.copy()
    c = p.apply(ch.RenameEntry("computes", "spark", "link1-spark01"))
    assert list(p.computes) == ["link1-spark01", "cpu"]
    assert p.nodes["prep"].params["compute"] == "link1-spark01"
    c.revert(p)
    assert p == before


def test_remove_node_disconnects_consumers_and_restores_index():
    p = seed_pipeline()
    before = p.copy()
    events = []
    p.subscribe(events.append)
    c = p.apply(ch.RemoveNode("prep"))
    assert p.nodes["train"].input("data").source is None
    kinds = [e.kind for e in events]
    assert kinds == ["port_changed", "node_removed"]
    c.revert(p)
    assert list(p.nodes) == ["titanic", "prep", "train"]
    assert p == before


def test_connect_adds_missing_input_in_one_change():
    p = seed_pipeline()
    before = p.copy()
    c = p.apply(ch.connect(p, "titanic", None, "train", "raw_copy"))
    assert p.nodes["train"].input("raw_copy").source == Ref("titanic")
    assert [e.target_input for e in p.edges() if e.target == "train"] == ["data", "raw_copy"]
    c.revert(p)
    assert p == before


def test_group_is_atomic_on_failure():
    p = seed_pipeline()
    before = p.copy()
    group = ch.Group([ch.SetParam("prep", "file", "x.py"), ch.RenameNode("prep", "titanic")])
    with pytest.raises(ValueError, match="already exists"):
        p.apply(group)
    assert p == before


def test_add_node_at_index_and_clashing_name():
    p = seed_pipeline()
    c = p.apply(ch.AddNode(Node("extra", "dataset"), index=1))
    assert list(p.nodes) == ["titanic", "extra", "prep", "train"]
    c.revert(p)
    assert list(p.nodes) == ["titanic", "prep", "train"]
    with pytest.raises(ValueError):
        p.apply(ch.AddNode(Node("prep", "dataset")))


def test_set_entry_keeps_position_and_removal_reverts():
    p = seed_pipeline()
    before = p.copy()
    c1 = p.apply(ch.SetEntry("computes", "spark", Compute("spark", "spark", master="local[2]")))
    assert list(p.computes) == ["spark", "cpu"]
    c2 = p.apply(ch.SetEntry("computes", "spark", None))
    assert list(p.computes) == ["cpu"]
    c2.revert(p)
    c1.revert(p)
    assert p == before


def test_events_carry_old_and_new():
    p = seed_pipeline()
    events = []
    p.subscribe(events.append)
    p.apply(ch.SetParam("prep", "spark.driver_memory", "2g"))
    p.apply(ch.MoveNode("prep", (10, 20)))
    assert events[0].kind == "node_changed" and events[0].data == {
        "key": "spark.driver_memory",
        "old": None,
        "new": "2g",
    }
    assert events[1].data == {"old": (200.0, 0.0), "new": (10.0, 20.0)}


# -- a random walk of edits, each reverted exactly --------------------------------------

NAMES = st.sampled_from(["titanic", "prep", "train", "new1", "new2"])
PORTS = st.sampled_from(["raw", "clean", "data", "p1", "p2"])


@st.composite
def changes(draw):
    kind = draw(
        st.sampled_from(["add", "remove", "rename", "move", "param", "port", "rport", "conn"])
    )
    a, b = draw(NAMES), draw(NAMES)
    port, port2 = draw(PORTS), draw(PORTS)
    direction = draw(st.sampled_from(["in", "out"]))
    return {
        "add": lambda: ch.AddNode(Node(a, "script-step"), draw(st.integers(0, 5))),
        "remove": lambda: ch.RemoveNode(a),
        "rename": lambda: ch.RenameNode(a, b),
        "move": lambda: ch.MoveNode(a, (draw(st.integers(-50, 50)), 3)),
        "param": lambda: ch.SetParam(a, "file", draw(st.sampled_from([None, "a.py", "b.py"]))),
        "port": lambda: ch.AddPort(
            a, direction, InputPort(port) if direction == "in" else OutputPort(port)
        ),
        "rport": lambda: ch.RenamePort(a, direction, port, port2),
        "conn": lambda: ch.disconnect(a, port) if draw(st.booleans()) else None,
    }[kind]()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(changes(), max_size=12))
def test_any_sequence_of_changes_reverts_exactly(seq):
    p = seed_pipeline()
    snapshots = [p.copy()]
    applied = []
    for change in seq:
        if change is None:
            continue
        try:
            p.apply(change)
        except (ValueError, KeyError):
            assert p == snapshots[-1], "a refused change must leave the pipeline untouched"
            continue
        applied.append(change)
        snapshots.append(p.copy())
    for change in reversed(applied):
        snapshots.pop()
        change.revert(p)
        assert p == snapshots[-1]
