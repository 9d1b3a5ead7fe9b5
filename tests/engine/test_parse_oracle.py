"""parse_tree against PyYAML's own reading: for any YAML text made of plain data, the values are
what `yaml.safe_load` reads and every key's and item's position is where `yaml.compose` puts
it. The reader takes quick paths for the common events (text keys and values in mappings,
nested collections); this checks them against an independent reading, in every style."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.fileformat.parse import YMap, YSeq, parse_tree
from engine.problems import PipelineError

# keys and texts that start like YAML words (true, null, on, no, ...) or numbers, quoted or not
_WORDS = ["type", "nodes", "name", "output", "off_by", "null_x", "tabular", "yes_no", "o", "n"]
texts = st.one_of(
    st.sampled_from(_WORDS + ["true", "null", "on", "~", "012", "1e3", "0x1f", "-", "<<", ""]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
scalars = st.one_of(
    texts,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, width=64),
    st.booleans(),
    st.none(),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(texts, inner, min_size=1, max_size=4)
    ),
    max_leaves=25,
)


def _same_tree(ours, node: yaml.Node, theirs) -> None:
    """Values equal PyYAML's; positions (1-based) equal its marks."""
    assert ours == theirs
    if isinstance(node, yaml.MappingNode):
        assert isinstance(ours, YMap)
        assert (ours.line, ours.column) == (node.start_mark.line + 1, node.start_mark.column + 1)
        for key_node, value_node in node.value:
            key = yaml.SafeLoader("").construct_object(key_node)
            k, v = key_node.start_mark, value_node.start_mark
            assert ours.at[key] == (k.line + 1, k.column + 1, v.line + 1, v.column + 1)
            _same_tree(ours[key], value_node, theirs[key])
    elif isinstance(node, yaml.SequenceNode):
        assert isinstance(ours, YSeq)
        for i, item in enumerate(node.value):
            assert ours.at[i] == (item.start_mark.line + 1, item.start_mark.column + 1)
            _same_tree(ours[i], item, theirs[i])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    documents,
    st.sampled_from([None, False, True]),
    st.sampled_from([None, '"', "'"]),
    st.integers(2, 6),
)
def test_values_and_positions_match_pyyaml(doc, flow, style, indent):
    text = yaml.safe_dump(
        doc, default_flow_style=flow, default_style=style, indent=indent, allow_unicode=True
    )
    tree = parse_tree(text)
    _same_tree(tree, yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text))


@pytest.mark.parametrize(
    "text, message",
    [
        ("a: 1\nb: {c: 2}\na: 3\n", "duplicate key 'a' (first at line 1)"),
        ("a: 1\na: {c: 2}\n", "duplicate key 'a' (first at line 1)"),
        ("a: 1\na:\n  - x\n", "duplicate key 'a' (first at line 1)"),
        ("m:\n  type: x\n  type: y\n", "duplicate key 'type' (first at line 2)"),
        ("a: on\n", "on is a YAML 1.1 boolean"),
        ("on: 1\n", "the key on is read as a boolean by YAML 1.1: quote it"),
        ("a: 012\n", "ambiguous number"),
        ("a: &x 1\nb: *x\n", "anchors (&x) are not allowed"),
        ("a: &x {b: 1}\n", "anchors (&x) are not allowed"),
        ("a: !!python/object x\n", "the tag !!python/object is not allowed"),
        ("a: !foo {b: 1}\n", "the tag !foo is not allowed"),
        ("1: a\n", "a key must be text, not the number 1: quote it"),
        ("? [a]\n: b\n", "a key must be text, not a list"),
        ("a: 1\n---\nb: 2\n", "only one YAML document is allowed"),
    ],
)
def test_the_quick_paths_still_reject(text, message):
    with pytest.raises(PipelineError) as err:
        parse_tree(text)
    assert any(message in p.message for p in err.value.problems), err.value.problems


def test_a_duplicate_key_drops_its_whole_value_and_the_rest_is_read():
    text = textwrap.dedent(
        """\
        a: {x: 1}
        a: {y: [1, 2, {z: 3}]}
        b: text
        """
    )
    with pytest.raises(PipelineError) as err:
        parse_tree(text)
    assert [p.message for p in err.value.problems] == ["duplicate key 'a' (first at line 1)"]
