"""Copy/paste of node selections: fresh names, rewiring, what comes along, one undo step."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_roundtrip import pipelines

from engine.fileformat import clipboard, yamlio
from engine.pipeline.model import Ref
from engine.problems import PipelineError

SOURCE = """\
pipeloom: 1
name: source
computes:
  spark: {type: spark, master: "local[*]"}
  pool: {type: cpu-pool, workers: 2}
environments:
  sk: {pip: [scikit-learn]}
parameters:
  fraction: {type: number, default: 0.5}
  unused: {type: string}
nodes:
  raw:
    type: dataset
    path: raw.csv
    ui: {x: 0, y: 0}
  prep:
    type: spark-step
    file: prep.py
    arguments: [--fraction, "{parameters.fraction}"]
    compute: spark
    inputs:
      data: {from: raw}
    outputs:
      clean: {kind: tabular}
    ui: {x: 200, y: 0}
  train:
    type: script-step
    script: train.py
    compute: pool
    environment: sk
    inputs:
      data: {from: prep.clean}
    ui: {x: 400, y: 0}
"""

OTHER = """\
pipeloom: 1
name: other
nodes:
  prep:
    type: dataset
    path: elsewhere.csv
"""


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "source.yaml"
    path.write_text(SOURCE)
    return yamlio.load(path)


@pytest.fixture
def other(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(OTHER)
    return yamlio.load(path)


def test_copy_takes_the_nodes_and_what_they_use(source):
    fragment = clipboard.copy_nodes(source, ["train", "prep"])
    assert fragment["pipeloom-fragment"] == 1
    assert list(fragment["nodes"]) == ["prep", "train"]  # pipeline order
    assert set(fragment["computes"]) == {"spark", "pool"}
    assert set(fragment["environments"]) == {"sk"}
    assert set(fragment["parameters"]) == {"fraction"}
    assert fragment["nodes"]["prep"] == yamlio.node_to_data(source.nodes["prep"])


def test_copy_of_an_unknown_node_is_an_error(source):
    with pytest.raises(KeyError, match="ghost"):
        clipboard.copy_nodes(source, ["ghost"])


def test_paste_back_renames_rewires_keeps_live_outside_sources_and_undoes(source):
    before = source.copy()
    fragment = clipboard.copy_nodes(source, ["prep", "train"])
    change, names = clipboard.paste(source, fragment, offset=(30, 40))
    assert names == ["prep_2", "train_2"]
    assert source == before  # paste returns the change; applying it is the caller's
    source.apply(change)
    prep2, train2 = source.nodes["prep_2"], source.nodes["train_2"]
    assert train2.inputs[0].source == Ref("prep_2", "clean")  # inside the fragment: rewired
    assert prep2.inputs[0].source == Ref("raw")  # outside, same pipeline, still there: kept
    assert prep2.position == (230.0, 40.0)
    assert list(source.computes) == ["spark", "pool"]  # nothing added: all present
    change.revert(source)  # one undo step
    assert source == before


def test_paste_into_another_pipeline_brings_computes_and_drops_outside_wires(source, other):
    fragment = clipboard.copy_nodes(source, ["prep", "train"])
    before = other.copy()
    change, names = clipboard.paste(other, fragment)
    other.apply(change)
    assert names == ["prep_2", "train"]  # `prep` is taken by a dataset there
    assert other.nodes["prep_2"].inputs[0].source is None  # `raw` is not in this pipeline
    assert other.nodes["prep_2"].inputs[0].name == "data"  # the input stays, unconnected
    assert other.nodes["train"].inputs[0].source == Ref("prep_2", "clean")
    assert set(other.computes) == {"spark", "pool"}
    assert set(other.environments) == {"sk"}
    assert set(other.parameters) == {"fraction"}
    assert other.computes["spark"].master == "local[*]"
    change.revert(other)
    assert other == before


def test_paste_into_another_pipeline_does_not_wire_to_a_same_named_node(source, other):
    other.apply(clipboard.paste(other, clipboard.copy_nodes(source, ["raw"]))[0])
    # `raw` pasted fine; now `prep` reads `raw` in the source, but `raw` in `other` is a
    # different node that merely has the same name
    change, names = clipboard.paste(other, clipboard.copy_nodes(source, ["prep"]))
    other.apply(change)
    assert other.nodes[names[0]].inputs[0].source is None


def test_pasting_twice_gives_distinct_names(source):
    fragment = clipboard.copy_nodes(source, ["raw"])
    for expected in (["raw_2"], ["raw_3"]):
        change, names = clipboard.paste(source, fragment)
        source.apply(change)
        assert names == expected


def test_text_round_trip_through_the_clipboard(source, other):
    fragment = clipboard.copy_nodes(source, ["prep", "train"])
    text = clipboard.fragment_to_text(fragment)
    assert text.startswith("pipeloom-fragment: 1\n")
    assert clipboard.fragment_from_text(text) == fragment
    change, names = clipboard.paste(other, clipboard.fragment_from_text(text))
    other.apply(change)
    assert other.nodes["train"].params["environment"] == "sk"


def test_a_whole_pipeline_file_pastes_as_a_fragment(other):
    fragment = clipboard.fragment_from_text(SOURCE)
    change, names = clipboard.paste(other, fragment)
    other.apply(change)
    assert names == ["raw", "prep_2", "train"]
    assert other.nodes["train"].inputs[0].source == Ref("prep_2", "clean")


@pytest.mark.parametrize(
    "text, expect",
    [
        ("just some words", "no Pipeloom nodes"),
        ("\x00\x01binary", "binary data"),
        ("pipeloom-fragment: 1\nnodes: &a {}\nmore: *a\n", "anchors"),
        ("pipeloom-fragment: 1\nnodes:\n  x: {type: dataset, kind: on}\n", "YAML 1.1 boolean"),
        ("pipeloom-fragment: 1\nnodez: {}\n", "did you mean 'nodes'"),
        ("pipeloom-fragment: 2\nnodes: {}\n", "not supported"),
        ("pipeloom-fragment: 1\nnodes:\n  x: {type: dataset, pth: a}\n", "did you mean 'path'"),
        ("pipeloom-fragment: 1\nnodes: [\n", "invalid YAML"),
    ],
)
def test_junk_on_the_clipboard_is_a_pipeline_error(text, expect):
    with pytest.raises(PipelineError) as err:
        clipboard.fragment_from_text(text)
    assert expect in str(err.value)


def test_paste_of_invalid_fragment_data_is_an_error(source):
    fragment = {"pipeloom-fragment": 1, "nodes": {"x": {"type": "dataset", "kind": 3}}}
    with pytest.raises(PipelineError, match="x.kind"):
        clipboard.paste(source, fragment)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines(), st.data())
def test_any_selection_pastes_cleanly_and_undoes(p, data):
    if not p.nodes:
        return
    names = data.draw(st.lists(st.sampled_from(list(p.nodes)), min_size=1, unique=True))
    before = p.copy()
    fragment = clipboard.fragment_from_text(
        clipboard.fragment_to_text(clipboard.copy_nodes(p, names))
    )
    change, new_names = clipboard.paste(p, fragment, offset=(5, 5))
    p.apply(change)
    assert len(new_names) == len(names) and not set(new_names) & set(before.nodes)
    assert list(p.nodes)[len(before.nodes) :] == new_names
    renamed = dict(zip([n for n in before.nodes if n in names], new_names, strict=True))
    for old, new in renamed.items():
        for was, port in zip(before.nodes[old].inputs, p.nodes[new].inputs, strict=True):
            if was.source is None:
                assert port.source is None
            elif was.source.node in renamed:  # inside the selection: follows the new name
                assert port.source == Ref(renamed[was.source.node], was.source.output)
            elif was.source.node in before.nodes:  # pasted back into its own pipeline: kept
                assert port.source == was.source
            else:  # dangling before: dropped
                assert port.source is None
    change.revert(p)
    assert p == before
