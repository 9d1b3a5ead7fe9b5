"""Round trips: canonical files survive load+save byte for byte, load(dumps(p)) == p for any
pipeline, and saving after an edit keeps the comments and key order a person wrote."""

from __future__ import annotations

import textwrap

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_yamlio import DESIGN_EXAMPLE

from engine.fileformat import yamlio
from engine.fileformat.emit import emit_document
from engine.fileformat.parse import parse_tree
from engine.pipeline import registry
from engine.pipeline.changes import AddNode, RemoveNode, RenameNode, RenamePort, SetEntry, SetParam
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

# -- canonical text ------------------------------------------------------------------------


def test_canonical_file_survives_load_and_save_byte_for_byte(tmp_path):
    canonical = yamlio.dumps(yamlio.loads(DESIGN_EXAMPLE))
    path = tmp_path / "pipeline.yaml"
    path.write_text(canonical)
    p = yamlio.load(path)
    yamlio.save(p)
    assert path.read_text() == canonical
    assert yamlio.dumps(yamlio.load(path)) == canonical


def test_canonical_form_is_readable_and_ordered():
    text = yamlio.dumps(yamlio.loads(DESIGN_EXAMPLE))
    top = [line.split(":")[0] for line in text.splitlines() if line and line[0] != " "]
    assert top == [
        "pipeloom",
        "name",
        "description",
        "datastore",
        "computes",
        "environments",
        "parameters",
        "nodes",
        "export",
    ]
    assert (
        '  link1-spark01: {type: spark, master: "local[*]", conf: {spark.ui.enabled: false}}'
        in text
    )
    assert "    ui: {x: 260, y: 0}\n" in text
    assert "      tabular_input: {from: titanic}\n" in text
    assert '    format: {type: csv, header: true, delimiter: ",", encoding: utf-8}\n' in text
    # node keys: type, description, the spec's parameter order, inputs, outputs, ui
    train = text[text.index("  train:") :].splitlines()[1:9]
    assert [line.split(":")[0].strip() for line in train] == [
        "type",
        "source_directory",
        "script",
        "arguments",
        "compute",
        "environment",
        "allow_reuse",
        "inputs",
    ]


def test_dumps_is_plain_yaml_any_reader_reads_the_same():
    p = yamlio.loads(DESIGN_EXAMPLE)
    text = yamlio.dumps(p)
    assert yaml.safe_load(text) == yaml.safe_load(emit_document(parse_tree(text)))
    assert yaml.safe_load(text)["nodes"]["dataprep"]["spark"]["driver_memory"] == "7g"


# -- any text, any pipeline ------------------------------------------------------------------

any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)


# characters that mean something to YAML, so that generated text often looks like syntax
tricky_text = st.text(
    st.sampled_from(list(" -:#,[]{}?&*!|>'\"%@`~.0123456789eEnNyYoO+_\t\n\\\x85\u2028\ufeffé")),
    max_size=12,
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(any_text, tricky_text))
def test_any_text_reads_back_as_itself_in_block_and_flow_context(value):
    for doc in ({"k": value}, {"k": [value, "x"]}, {"k": {value: 1}}, {value: 2}, {"k": [[value]]}):
        text = emit_document(doc)
        assert parse_tree(text) == doc, text
        assert yaml.safe_load(text) == doc, text


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_\-]{0,8}", fullmatch=True)
scalars = st.one_of(
    any_text,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False),
    st.booleans(),
)
free_form = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(any_text, inner, max_size=3)
    ),
    max_leaves=6,
)


def param_value(p: registry.ParamSpec):
    kind = p.kind
    if kind == "choice":
        return st.sampled_from(p.choices)
    if kind == "integer":
        return st.integers(0, 10**6)
    if kind == "number":
        return st.one_of(st.integers(), st.floats(allow_nan=False))
    if kind == "boolean":
        return st.booleans()
    if kind == "memory":
        return st.one_of(st.sampled_from(["7g", "512m"]), st.integers(1, 10**9), any_text)
    if kind == "list":
        return st.lists(scalars, max_size=4)
    if kind == "mapping":
        return st.dictionaries(any_text, scalars, max_size=3)
    return any_text


@st.composite
def nodes(draw, name: str):
    spec = draw(st.sampled_from(list(registry.NODE_SPECS.values())))
    chosen = draw(st.lists(st.sampled_from(spec.params), unique_by=lambda p: p.name, max_size=6))
    params = {p.name: draw(param_value(p)) for p in chosen}
    inputs, outputs = [], []
    if spec.ports.inputs:
        for port in draw(st.lists(names, unique=True, max_size=3)):
            source = draw(st.one_of(st.none(), st.builds(Ref, names, st.one_of(st.none(), names))))
            inputs.append(
                InputPort(
                    port,
                    source,
                    draw(st.one_of(st.none(), st.sampled_from(registry.KINDS))),
                    draw(st.one_of(st.none(), st.sampled_from(registry.INPUT_MODES))),
                    draw(st.booleans()),
                )
            )
    if spec.ports.outputs:
        for port in draw(st.lists(names, unique=True, max_size=3)):
            outputs.append(
                OutputPort(
                    port,
                    draw(st.sampled_from(registry.KINDS)),
                    draw(st.dictionaries(any_text, scalars, max_size=2)),
                    draw(st.one_of(st.none(), any_text)),
                    draw(st.one_of(st.none(), any_text)),
                )
            )
    finite = st.floats(allow_nan=False, allow_infinity=False)
    position = draw(st.one_of(st.none(), st.tuples(finite, finite)))
    description = draw(st.one_of(st.none(), any_text))
    return Node(name, spec.type, params, inputs, outputs, position, description)


@st.composite
def pipelines(draw):
    p = Pipeline(draw(any_text), draw(st.one_of(st.none(), any_text)))
    p.datastore = draw(st.one_of(st.none(), any_text))
    for name in draw(st.lists(names, unique=True, max_size=3)):
        p.computes[name] = Compute(
            name,
            draw(st.sampled_from(registry.COMPUTE_TYPES)),
            draw(st.one_of(st.none(), any_text)),
            draw(st.one_of(st.none(), st.integers(0, 64))),
            draw(st.one_of(st.none(), any_text)),
            draw(st.dictionaries(any_text, scalars, max_size=2)),
        )
    for name in draw(st.lists(names, unique=True, max_size=2)):
        p.environments[name] = Environment(
            name,
            draw(st.lists(any_text, max_size=3)),
            draw(st.one_of(st.none(), any_text)),
            draw(st.one_of(st.none(), any_text)),
        )
    for name in draw(st.lists(names, unique=True, max_size=3)):
        type_ = draw(st.sampled_from(registry.PARAMETER_TYPES))
        default = {
            "string": any_text,
            "number": st.floats(allow_nan=False),
            "integer": st.integers(),
            "boolean": st.booleans(),
        }[type_]
        p.parameters[name] = Parameter(
            name, type_, draw(st.one_of(st.none(), default)), draw(st.one_of(st.none(), any_text))
        )
    for name in draw(st.lists(names, unique=True, max_size=5)):
        p.nodes[name] = draw(nodes(name))
    for node in p.nodes.values():  # wire some inputs to nodes that exist
        for port in node.inputs:
            if p.nodes and draw(st.booleans()):
                port.source = Ref(
                    draw(st.sampled_from(list(p.nodes))), port.source and port.source.output
                )
    p.export = draw(
        st.dictionaries(
            st.sampled_from(yamlio_export_targets()),
            st.dictionaries(any_text, free_form, max_size=3),
            max_size=3,
        )
    )
    return p


def yamlio_export_targets():
    from engine.fileformat.schema import EXPORT_TARGETS

    return EXPORT_TARGETS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_load_of_dumps_is_the_same_pipeline(p):
    text = yamlio.dumps(p)
    again = yamlio.loads(text)
    assert again == p
    assert yamlio.dumps(again) == text


# -- saving after an edit keeps what a person wrote ----------------------------------------------

HAND_WRITTEN = """\
# Titanic, written by hand
pipeloom: 1
name: titanic
nodes:
  # the raw passenger list
  titanic:
    path: data/Titanic.csv   # shipped with the project
    type: dataset
    ui: {x: 0, y: 0}
  dataprep:
    type: spark-step
    compute: spark   # the local pool
    file: dataprep.py
    inputs:
      raw: {from: titanic}   # all rows
    outputs:
      prepared: {kind: tabular}
    arguments: [--in, "{inputs.raw}", --out, "{outputs.prepared}"]
  train:
    type: script-step
    script: train.py   # sklearn
    inputs:
      data: {from: dataprep.prepared}
computes:
  spark: {type: spark, master: "local[*]"}   # embedded
"""


def edit_and_save(tmp_path, *changes, text: str = HAND_WRITTEN) -> str:
    """`text` saved as a pipeline file, loaded, edited with `changes` and saved back."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    p = yamlio.load(path)
    for c in changes:
        p.apply(c)
    yamlio.save(p)
    text = path.read_text()
    assert yamlio.load(path) == p
    return text


def kept_comments(text: str) -> list[str]:
    return [line.split("#", 1)[1].strip() for line in text.splitlines() if "#" in line]


ALL_COMMENTS = [
    "Titanic, written by hand",
    "the raw passenger list",
    "shipped with the project",
    "the local pool",
    "all rows",
    "sklearn",
    "embedded",
]


def test_set_param_keeps_comments_and_key_order(tmp_path):
    text = edit_and_save(tmp_path, SetParam("train", "script", "fit.py"))
    assert kept_comments(text) == ALL_COMMENTS
    # the comment keeps its column; every other line is as the person wrote it
    assert "    script: fit.py     # sklearn\n" in text
    # the person's order: path before type, computes after nodes
    assert text.index("path: data") < text.index("type: dataset")
    assert text.index("computes:") > text.index("nodes:")
    changed = [
        (a, b) for a, b in zip(text.splitlines(), HAND_WRITTEN.splitlines(), strict=True) if a != b
    ]
    assert changed == [("    script: fit.py     # sklearn", "    script: train.py   # sklearn")]


def test_add_node_keeps_everything_else(tmp_path):
    new = Node("report", "script-step", {"script": "report.py"}, [InputPort("d", Ref("train"))])
    text = edit_and_save(tmp_path, AddNode(new, 1))
    assert kept_comments(text) == ALL_COMMENTS
    assert text.index("  titanic:") < text.index("  report:") < text.index("  dataprep:")
    assert "  report:\n    type: script-step\n    script: report.py\n    inputs:\n" in text


def test_remove_node_keeps_the_other_comments(tmp_path):
    text = edit_and_save(tmp_path, RemoveNode("train"))
    assert "train" not in text
    assert kept_comments(text)[:5] == ALL_COMMENTS[:5]
    assert "embedded" in text


def test_rename_port_rewrites_templates_and_keeps_comments(tmp_path):
    text = edit_and_save(tmp_path, RenamePort("dataprep", "out", "prepared", "clean"))
    assert kept_comments(text) == ALL_COMMENTS
    assert "{outputs.clean}" in text and "from: dataprep.clean" in text
    assert "      raw: {from: titanic}   # all rows\n" in text


def test_rename_node_and_new_section_keep_comments(tmp_path):
    text = edit_and_save(
        tmp_path,
        RenameNode("titanic", "passengers"),
        SetEntry("environments", "sk", Environment("sk", ["scikit-learn>=1.4"])),
        SetEntry("meta", "description", "yes"),  # text that needs quotes to stay text
    )
    assert "from: passengers" in text
    assert 'description: "yes"' in text
    assert kept_comments(text) == ALL_COMMENTS  # the renamed node keeps its comments
    assert "  passengers:\n    path: data/Titanic.csv   # shipped with the project\n" in text
    assert "environments:\n  sk: {pip: [scikit-learn>=1.4]}\n" in text


def test_saving_a_new_copy_elsewhere_writes_canonical_text(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(HAND_WRITTEN)
    p = yamlio.load(tmp_path / "pipeline.yaml")
    (tmp_path / "copy.yaml").write_text(HAND_WRITTEN)
    yamlio.save(p, tmp_path / "copy.yaml")
    assert (tmp_path / "copy.yaml").read_text() == yamlio.dumps(p)
    assert p.path == str(tmp_path / "copy.yaml")


def test_a_file_broken_on_disk_is_replaced_by_the_model(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(HAND_WRITTEN)
    p = yamlio.load(path)
    path.write_text("pipeloom: 1\nnodes: [\n")
    yamlio.save(p)
    assert yamlio.load(path) == p


def test_hand_written_text_kept_with_unusual_values(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            pipeloom: 1
            name: x   # keep me
            parameters:
              big: {type: number, default: 1.5}
            """
        )
    )
    p = yamlio.load(path)
    p.apply(SetEntry("parameters", "big", Parameter("big", "number", 1e20)))
    p.apply(SetEntry("meta", "datastore", "012"))
    yamlio.save(p)
    text = path.read_text()
    assert "# keep me" in text
    assert yamlio.load(path) == p


# -- mutated files: a PipelineError or a pipeline that round trips, never anything else ---------

_PIECES = [":", "{", "}", "[", "]", ",", "- ", "#", "&a ", "*a", "!!str ", "'", '"', "\n", "\t"]
_PIECES += ["  ", "on", "012", "null", "~", "{}", "[]", ": x", "\n  x: 1", "<<: {}", "type: "]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_files_load_or_fail_cleanly(data):
    from engine.problems import PipelineError

    text = data.draw(st.sampled_from([DESIGN_EXAMPLE, HAND_WRITTEN]))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:at] + data.draw(st.sampled_from(_PIECES)) + text[at:]
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 8)) :]
    try:
        p = yamlio.loads(text)
    except PipelineError as err:
        assert err.problems and all(p.message for p in err.problems)
        return
    again = yamlio.dumps(p)
    assert yamlio.loads(again) == p
    assert yamlio.dumps(yamlio.loads(again)) == again


FOUR_SPACES = """\
pipeloom: 1
name: wide
nodes:
    prep:
        type: spark-step
        file: prep.py
        py_files:
        - util.py
        - helpers.py   # shared code
        outputs:
            clean:
                kind: tabular
"""


def test_the_persons_indentation_is_kept(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text(FOUR_SPACES)
    p = yamlio.load(path)
    p.apply(SetParam("prep", "file", "clean.py"))
    yamlio.save(p)
    assert path.read_text() == FOUR_SPACES.replace("prep.py", "clean.py")


COMMENTS_BETWEEN_KEYS = """\
pipeloom: 1
name: between
nodes:
  raw:
    type: dataset
    kind: file   # a file, not a table
    # the path is relative to this file
    path: data/in.txt
  prep:
    type: script-step
    description: cleans the data
    # the pool below has two workers
    compute: pool
    arguments:
      - --in
      - "{inputs.raw}"
    # the inputs come next
    inputs:
      raw: {from: raw}
    script: prep.py
  # the report reads what prep writes
  report:
    type: script-step
    compute: pool
    script: report.py
computes:
  pool: {type: cpu-pool, workers: 2}
"""


def edit_between_and_save(tmp_path, *changes) -> str:
    return edit_and_save(tmp_path, *changes, text=COMMENTS_BETWEEN_KEYS)


def above(text: str, comment: str) -> str:
    """The line right below a comment line: what the comment is about."""
    lines = text.splitlines()
    return lines[[i for i, line in enumerate(lines) if line.strip() == comment][0] + 1].strip()


def test_deleting_a_setting_keeps_the_comment_above_the_next_one(tmp_path):
    text = edit_between_and_save(
        tmp_path, SetParam("prep", "description", None), SetParam("raw", "kind", None)
    )
    assert "cleans the data" not in text and "a file, not a table" not in text
    assert above(text, "# the pool below has two workers") == "compute: pool"
    assert above(text, "# the path is relative to this file") == "path: data/in.txt"


def test_a_comment_after_a_block_list_stays_below_it_when_the_list_changes(tmp_path):
    text = edit_between_and_save(
        tmp_path, SetParam("prep", "arguments", ["--in", "{inputs.raw}", "--verbose"])
    )
    assert "--verbose" in text
    assert above(text, "# the inputs come next") == "inputs:"
    assert text.index("--verbose") < text.index("# the inputs come next")


def test_removing_a_node_keeps_the_comment_above_the_next_node(tmp_path):
    text = edit_between_and_save(tmp_path, RemoveNode("prep"))
    assert "  prep:" not in text and "cleans the data" not in text
    assert above(text, "# the report reads what prep writes") == "report:"
    assert above(text, "# the path is relative to this file") == "path: data/in.txt"


_NODES = st.sampled_from(["raw", "prep", "report"])
_TEXT = st.one_of(
    st.none(), st.sampled_from(["text", "two words", "#not a comment", "data/x.csv", "pool"])
)
_EDITS = st.lists(
    st.one_of(
        st.tuples(
            st.just("set"),
            _NODES,
            st.sampled_from(["description", "path", "compute", "script"]),
            _TEXT,
        ),
        st.tuples(st.just("set"), _NODES, st.just("kind"), st.sampled_from([None, "file"])),
        st.tuples(
            st.just("set"),
            _NODES,
            st.just("arguments"),
            st.one_of(
                st.none(), st.lists(st.sampled_from(["--a", "{inputs.raw}", "b" * 60]), max_size=4)
            ),
        ),
        st.tuples(st.just("remove"), _NODES),
    ),
    max_size=5,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=_EDITS)
def test_any_edits_of_a_commented_file_save_what_the_model_holds(tmp_path, edits):
    """Moving comments around never breaks the file: it always loads as the edited model,
    and a comment is lost only with the item it sits on."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(COMMENTS_BETWEEN_KEYS)
    p = yamlio.load(path)
    for edit in edits:
        if edit[0] == "remove":
            if edit[1] in p.nodes:
                p.apply(RemoveNode(edit[1]))
            continue
        _, node, key, value = edit
        if node not in p.nodes or (key == "kind") != (p.nodes[node].type == "dataset"):
            continue
        if key == "path" and p.nodes[node].type != "dataset":
            continue
        p.apply(SetParam(node, key, value))
    yamlio.save(p)
    assert yamlio.load(path) == p
    text = path.read_text()
    for comment in ("# the report reads what prep writes", "# the inputs come next"):
        if "report" in p.nodes and "prep" in p.nodes:
            assert comment in text


def _mutable_ids(value, found=None) -> set[int]:
    """ids of every dict, list and model object reachable from `value`."""
    found = set() if found is None else found
    if isinstance(value, dict):
        found.add(id(value))
        for k, v in value.items():
            _mutable_ids(k, found)
            _mutable_ids(v, found)
    elif isinstance(value, list | tuple):
        if isinstance(value, list):
            found.add(id(value))
        for v in value:
            _mutable_ids(v, found)
    elif hasattr(value, "__dict__"):
        found.add(id(value))
        _mutable_ids(vars(value), found)
    return found


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_a_copy_is_equal_and_shares_nothing_mutable(p):
    p.subscribe(lambda event: None)
    p.locations[("n", "f")] = (3, 4)
    dup = p.copy()
    assert dup == p and dup.locations == p.locations and dup.path == p.path
    assert dup._observers == [] and len(p._observers) == 1
    original = {k: v for k, v in vars(p).items() if k != "_observers"}
    copied = {k: v for k, v in vars(dup).items() if k != "_observers"}
    assert not (_mutable_ids(original) & _mutable_ids(copied))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_a_copy_with_some_nodes_holds_those_and_shares_nothing_mutable(p):
    p.locations[("n", "f")] = (3, 4)
    names = list(p.nodes)[:1] + ["no-such-node"]
    part = p.copy_with_nodes(names)
    assert list(part.nodes) == names[:-1]
    assert all(part.nodes[n] == p.nodes[n] for n in part.nodes)
    assert (part.name, part.path, part.datastore, part.computes, part.environments) == (
        p.name,
        p.path,
        p.datastore,
        p.computes,
        p.environments,
    )
    assert part.locations == {} and part._observers == []
    original = {k: v for k, v in vars(p).items() if k != "_observers"}
    copied = {k: v for k, v in vars(part).items() if k != "_observers"}
    assert not (_mutable_ids(original) & _mutable_ids(copied))
