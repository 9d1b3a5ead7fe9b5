"""Loading pipeline files: safety rejections, strict types, located problems, migrations, saving."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from engine.fileformat import migrate, yamlio
from engine.pipeline.changes import SetParam
from engine.pipeline.model import Compute, InputPort, Node, OutputPort, Pipeline, Ref
from engine.problems import PipelineError

MINIMAL = """\
pipeloom: 1
name: demo
computes:
  pool: {type: cpu-pool, workers: 2}
nodes:
  raw:
    type: dataset
    path: data/raw.csv
  train:
    type: script-step
    script: train.py
    compute: pool
    inputs:
      data: {from: raw}
"""


def write(tmp_path, text: str | bytes, name: str = "pipeline.yaml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def problems_of(tmp_path, text: str | bytes) -> list:
    with pytest.raises(PipelineError) as err:
        yamlio.load(write(tmp_path, text))
    assert str(err.value)  # a message, never empty
    return err.value.problems


def only(problems):
    assert len(problems) == 1, [p.format() for p in problems]
    return problems[0]


# -- a good file ---------------------------------------------------------------------------


def test_load_builds_the_model_and_sets_path_and_locations(tmp_path):
    path = write(tmp_path, MINIMAL)
    p = yamlio.load(path)
    assert p.path == path
    assert p.name == "demo"
    assert p.computes["pool"] == Compute("pool", "cpu-pool", workers=2)
    assert list(p.nodes) == ["raw", "train"]
    train = p.nodes["train"]
    assert train.params == {"script": "train.py", "compute": "pool"}
    assert train.inputs == [InputPort("data", Ref("raw"))]
    assert p.locations[("train", "inputs.data.from")] == (14, 14)
    assert p.locations[("train", None)] == (9, 3)
    assert p.locations[(None, "computes.pool.workers")] == (4, 26)


def test_positions_and_ports_are_located_key_by_key():
    p = yamlio.loads(
        textwrap.dedent(
            """\
            pipeloom: 1
            name: demo
            nodes:
              raw:
                type: dataset
                path: data.csv
                ui: {x: 20, y: -40.5}
              prep:
                type: script-step
                script: prep.py
                inputs:
                  data: {from: raw, mode: download}
                outputs:
                  out: {kind: file}
                ui:
                  x: 300
                  y: 0
            """
        )
    )
    assert p.nodes["raw"].position == (20.0, -40.5)
    assert p.nodes["prep"].position == (300.0, 0.0)
    assert p.locations[("raw", "ui")] == (7, 5)
    assert p.locations[("raw", "ui.y")] == (7, 17)
    assert p.locations[("prep", "inputs.data")] == (12, 7)
    assert p.locations[("prep", "inputs.data.mode")] == (12, 25)
    assert p.locations[("prep", "outputs.out.kind")] == (14, 13)
    assert p.locations[("prep", "ui.x")] == (16, 7)


@pytest.mark.parametrize(
    "ui, message, at",
    [
        ("{x: 1, z: 2}", "unknown key 'z' in ui", (7, 16)),
        ("{x: 1, z: 2}", "ui needs both x and y (missing y)", (7, 9)),
        ("{x: 1}", "ui needs both x and y (missing y)", (7, 9)),
        ("{x: true, y: 0}", "ui.x", (7, 13)),
        ("{x: '1', y: 0}", "ui.x", (7, 13)),
        ("[1, 2]", "expected a mapping of x and y", (7, 9)),
    ],
)
def test_a_bad_position_is_reported_where_it_is(ui, message, at):
    text = f"pipeloom: 1\nname: demo\nnodes:\n  raw:\n    type: dataset\n    path: d.csv\n    ui: {ui}\n"
    with pytest.raises(PipelineError) as err:
        yamlio.loads(text)
    [problem] = [p for p in err.value.problems if message in f"{p.field}: {p.message}"]
    assert (problem.line, problem.column) == at


@pytest.mark.parametrize(
    "inputs, message, at",
    [
        ("{data: 5}", "expected a mapping of port settings, got the number 5", (8, 20)),
        ("{9bad: {from: raw}}", "port name '9bad' is not allowed", (8, 14)),
        ("{data: {from: raw, sort: 1}}", "unknown key 'sort' in an input", (8, 32)),
    ],
)
def test_a_bad_port_is_reported_where_it_is(inputs, message, at):
    text = (
        "pipeloom: 1\nname: demo\nnodes:\n  raw:\n    type: dataset\n    path: d.csv\n"
        f"  prep:\n    inputs: {inputs}\n    type: script-step\n    script: p.py\n"
    )
    with pytest.raises(PipelineError) as err:
        yamlio.loads(text)
    [problem] = [p for p in err.value.problems if message in p.message]
    assert (problem.line, problem.column) == at


def test_every_key_of_the_design_example_loads(tmp_path):
    p = yamlio.load(write(tmp_path, DESIGN_EXAMPLE))
    prep = p.nodes["dataprep"]
    assert prep.params["spark.driver_memory"] == "7g"
    assert prep.params["spark.conf"] == {"spark.sql.shuffle.partitions": 8}
    assert prep.params["backend"] == "auto"
    assert prep.params["py_files"] == ["util.py"]
    assert prep.inputs[1] == InputPort("file_input", Ref("titanic"), kind="file", mode="direct")
    assert prep.outputs == [
        OutputPort(
            "output_dir",
            "tabular",
            {"type": "parquet"},
            register_as="registered_dataset",
            destination="test",
        )
    ]
    assert p.nodes["titanic"].params["format.delimiter"] == ","
    assert p.nodes["registered"].params["from"] == "dataset:prepared@3"
    assert p.computes["remote"].token_env == "SPARK_TOKEN"
    assert p.computes["link1-spark01"].conf == {"spark.ui.enabled": False}
    assert p.environments["trainenv"].requirements_file == "requirements.txt"
    assert p.environments["trainenv"].python == "python3.11"
    assert p.parameters["sample_fraction"].description == "share of rows"
    assert p.export["azureml"]["computes"]["link1-spark01"]["runtime_version"] == "3.4"
    assert p.export["shell"] == {"spark_submit": "spark-submit"}
    assert p.nodes["train"].position == (520.0, 0.0)
    assert p.nodes["train"].inputs[0].optional is True


def test_renamed_node_type_loads_as_the_new_type(tmp_path):
    p = yamlio.load(write(tmp_path, MINIMAL.replace("type: script-step", "type: script")))
    assert p.nodes["train"].type == "script-step"


def test_unknown_node_type_is_kept_for_validation_to_report(tmp_path):
    p = yamlio.load(write(tmp_path, MINIMAL.replace("type: script-step", "type: sql-step")))
    assert p.nodes["train"].type == "sql-step"
    assert p.nodes["train"].params["script"] == "train.py"


# -- safety: rejected before anything is built ------------------------------------------------


def test_alias_and_anchor_are_rejected_with_their_lines(tmp_path):
    found = problems_of(
        tmp_path,
        """\
        pipeloom: 1
        name: &n demo
        description: *n
        """,
    )
    assert [(p.line, p.column) for p in found] == [(2, 7), (3, 14)]
    assert "anchors (&n)" in found[0].message
    assert "aliases (*n)" in found[1].message


def test_billion_laughs_is_rejected_quickly(tmp_path):
    lines = ["pipeloom: 1", "a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    found = problems_of(tmp_path, "\n".join(lines) + "\n")
    assert found[0].line == 2 and "anchors" in found[0].message


def test_object_building_tag_is_rejected_and_never_constructed(tmp_path):
    canary = tmp_path / "canary"
    text = f"pipeloom: 1\nname: !!python/object/apply:os.system ['touch {canary}']\n"
    problem = only(problems_of(tmp_path, text))
    assert (problem.line, problem.field) == (2, "name")
    assert "!!python/object/apply:os.system is not allowed" in problem.message
    assert not canary.exists()


@pytest.mark.parametrize(
    "value", ["!!binary aGk=", "!!set {a: null}", "!custom x", "!!timestamp 2024-01-01"]
)
def test_non_standard_tags_are_rejected(tmp_path, value):
    problem = only(problems_of(tmp_path, f"pipeloom: 1\ndescription: {value}\n"))
    assert problem.line == 2 and "is not allowed" in problem.message


def test_excessive_depth_is_rejected_without_recursion(tmp_path):
    problem = only(problems_of(tmp_path, "pipeloom: 1\nexport: " + "[" * 100_000 + "\n"))
    assert problem.line == 2 and "deeper than 64" in problem.message


def test_duplicate_keys_are_rejected_with_both_lines(tmp_path):
    problem = only(
        problems_of(
            tmp_path,
            MINIMAL + "  raw:\n    type: dataset\n",
        )
    )
    assert problem.line == 15 and problem.node == "raw"
    assert "duplicate key 'raw' (first at line 6)" in problem.message


def test_too_large_file_is_rejected_before_reading(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:
        f.truncate(yamlio.MAX_BYTES + 1)
    with pytest.raises(PipelineError, match="too large"):
        yamlio.load(path)


def test_binary_junk_is_a_clear_error(tmp_path):
    problem = only(problems_of(tmp_path, b"pipeloom: 1\n\x89PNG\r\n\x1a\n\x00\x00\x00"))
    assert "binary data" in problem.message and problem.line == 2


def test_invalid_utf8_names_its_place(tmp_path):
    problem = only(problems_of(tmp_path, b"pipeloom: 1\nname: caf\xe9\n"))
    assert (problem.line, problem.column) == (2, 10)
    assert "not UTF-8" in problem.message


def test_syntax_error_has_a_line(tmp_path):
    problem = only(problems_of(tmp_path, "pipeloom: 1\nname: [demo\ndescription: x\n"))
    assert problem.line is not None and problem.message.startswith("invalid YAML")


def test_several_documents_are_rejected(tmp_path):
    problem = only(problems_of(tmp_path, "pipeloom: 1\n---\npipeloom: 1\n"))
    assert problem.line == 2 and "one YAML document" in problem.message


def test_missing_file_and_directory_are_clear_errors(tmp_path):
    with pytest.raises(PipelineError, match="no such file"):
        yamlio.load(tmp_path / "absent.yaml")
    with pytest.raises(PipelineError, match="is a directory"):
        yamlio.load(tmp_path)


# -- strict types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, value, expect",
    [
        ("allow_reuse", "yes", "yes is a YAML 1.1 boolean"),
        ("allow_reuse", "off", "off is a YAML 1.1 boolean"),
        ("script", "on", "on is a YAML 1.1 boolean"),
        ("script", "012", "octal number 10"),
        ("script", "0x1F", "ambiguous number"),
        ("script", "1_000", "ambiguous number"),
        ("script", "12", "expected text, got the number 12: quote it"),
        ("allow_reuse", "'true'", "expected true or false, got the text 'true'"),
        ("compute", "[pool]", "expected text, got a list"),
    ],
)
def test_yaml11_surprises_and_wrong_types_name_line_and_field(tmp_path, line, value, expect):
    text = MINIMAL.replace("    compute: pool\n", f"    compute: pool\n    {line}: {value}\n")
    if line == "compute":
        text = MINIMAL.replace("compute: pool", f"compute: {value}")
    if line == "script":
        text = MINIMAL.replace("script: train.py", f"script: {value}")
    problem = only(problems_of(tmp_path, text))
    assert problem.node == "train" and problem.field == line
    assert problem.line in (11, 12, 13)
    assert expect in problem.message


def test_quoted_text_stays_text_and_true_false_are_booleans(tmp_path):
    text = MINIMAL.replace(
        "    compute: pool\n",
        "    compute: pool\n    allow_reuse: false\n    arguments: ['yes', '012', \"on\"]\n",
    )
    p = yamlio.load(write(tmp_path, text))
    assert p.nodes["train"].params["allow_reuse"] is False
    assert p.nodes["train"].params["arguments"] == ["yes", "012", "on"]


def test_integer_field_rejects_float_and_text(tmp_path):
    text = MINIMAL.replace("workers: 2", "workers: 2.5")
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "computes.pool.workers" and "whole number" in problem.message


# -- unknown keys, did you mean -------------------------------------------------------------


def test_unknown_keys_get_a_did_you_mean_at_their_line(tmp_path):
    text = MINIMAL.replace("    compute: pool\n", "    compute: pool\n    alow_reuse: false\n")
    text = text.replace("name: demo", "name: demo\ndescripton: typo")
    found = problems_of(tmp_path, text)
    assert [(p.node, p.field, p.line) for p in found] == [
        (None, "descripton", 3),
        ("train", "alow_reuse", 14),
    ]
    assert "did you mean 'description'?" in found[0].message
    assert "did you mean 'allow_reuse'?" in found[1].message


def test_unknown_sub_keys_in_groups_ports_and_sections(tmp_path):
    text = """\
    pipeloom: 1
    computes:
      c: {type: spark, mastr: "local[*]"}
    nodes:
      prep:
        type: spark-step
        spark: {driver_mem: 7g}
        inputs:
          a: {form: x}
        outputs:
          o: {register: d}
      data:
        type: dataset
        format: {delimeter: ";"}
        kind: tabluar
    export:
      airflw: {}
    """
    found = problems_of(tmp_path, text)
    by_field = {(p.node, p.field): p for p in found}
    assert "did you mean 'master'" in by_field[(None, "computes.c.mastr")].message
    assert "did you mean 'driver_memory'" in by_field[("prep", "spark.driver_mem")].message
    assert "did you mean 'from'" in by_field[("prep", "inputs.a.form")].message
    assert "did you mean 'register_as'" in by_field[("prep", "outputs.o.register")].message
    assert "did you mean 'delimiter'" in by_field[("data", "format.delimeter")].message
    assert "did you mean 'tabular'" in by_field[("data", "kind")].message
    assert "did you mean 'airflow'" in by_field[(None, "export.airflw")].message
    assert by_field[("prep", "spark.driver_mem")].line == 7


def test_dataset_nodes_have_no_ports(tmp_path):
    text = MINIMAL.replace("    path: data/raw.csv\n", "    path: data/raw.csv\n    inputs: {}\n")
    problem = only(problems_of(tmp_path, text))
    assert (problem.node, problem.field, problem.line) == ("raw", "inputs", 9)
    assert "no inputs" in problem.message


def test_all_problems_are_collected(tmp_path):
    text = MINIMAL.replace("workers: 2", "workers: two").replace(
        "script: train.py", "script: train.py\n    allow_reuse: yes"
    )
    found = problems_of(tmp_path, text)
    # the YAML 1.1 boolean is found while parsing; the type error needs the schema, so it
    # comes once the file parses cleanly
    assert [p.field for p in found] == ["allow_reuse"]
    found = problems_of(tmp_path, text.replace("yes", "true") + "  bad name:\n    type: dataset\n")
    assert {(p.node, p.field) for p in found} == {
        (None, "computes.pool.workers"),
        ("bad name", None),
    }


def test_bad_references_and_names(tmp_path):
    text = MINIMAL.replace("{from: raw}", "{from: 'raw data'}")
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "inputs.data.from" and "NODE.OUTPUT" in problem.message


def test_parameter_default_must_match_its_type(tmp_path):
    text = MINIMAL + "parameters:\n  n: {type: integer, default: 1.5}\n"
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "parameters.n.default" and problem.line == 16


# -- versions and migrations ------------------------------------------------------------------


def test_missing_version_is_an_error(tmp_path):
    problem = only(problems_of(tmp_path, MINIMAL.replace("pipeloom: 1\n", "")))
    assert problem.field == "pipeloom" and "pipeloom: 1" in problem.message


def test_newer_version_is_an_error(tmp_path):
    problem = only(problems_of(tmp_path, MINIMAL.replace("pipeloom: 1", "pipeloom: 7")))
    assert problem.line == 1 and "newer Pipeloom" in problem.message


def test_version_without_a_migration_is_an_error(tmp_path):
    problem = only(problems_of(tmp_path, MINIMAL.replace("pipeloom: 1", "pipeloom: 0")))
    assert "format 0 is not supported" in problem.message


@pytest.fixture
def format_zero(monkeypatch):
    """A synthetic format 0 where nodes were called `steps` and `kind` was `datatype`."""
    monkeypatch.setattr(migrate, "MIGRATIONS", dict(migrate.MIGRATIONS))

    @migrate.migration(0)
    def steps_become_nodes(tree):
        migrate.rename_key(tree, "steps", "nodes")
        for node in (tree.get("nodes") or {}).values():
            migrate.rename_key(node, "datatype", "kind")
        return tree

    return steps_become_nodes


def test_migration_chain_upgrades_an_older_file(tmp_path, format_zero):
    old = (
        MINIMAL.replace("pipeloom: 1", "pipeloom: 0")
        .replace("nodes:", "steps:")
        .replace("path: data/raw.csv", "path: data/raw.csv\n    datatype: file")
    )
    p = yamlio.load(write(tmp_path, old))
    assert p.version == 1
    assert p.nodes["raw"].params["kind"] == "file"
    assert p.locations[("raw", "kind")] == (9, 5)  # locations survive the migration
    assert yamlio.dumps(p).startswith("pipeloom: 1\n")


def test_migrated_file_still_reports_problems_at_their_lines(tmp_path, format_zero):
    old = MINIMAL.replace("pipeloom: 1", "pipeloom: 0").replace("nodes:", "steps:")
    old = old.replace("workers: 2", "workers: many")
    problem = only(problems_of(tmp_path, old))
    assert problem.line == 4


# -- saving -------------------------------------------------------------------------------------


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = write(tmp_path, MINIMAL)
    p = yamlio.load(path)
    p.apply(SetParam("train", "script", "fit.py"))
    yamlio.save(p)
    assert os.listdir(tmp_path) == ["pipeline.yaml"]
    assert yamlio.load(path).nodes["train"].params["script"] == "fit.py"


def test_save_keeps_the_file_mode(tmp_path):
    path = write(tmp_path, MINIMAL)
    os.chmod(path, 0o600)
    yamlio.save(yamlio.load(path))
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_save_without_a_path_is_a_clear_error():
    with pytest.raises(PipelineError, match="no file yet"):
        yamlio.save(Pipeline("new"))


def test_failing_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    """A real failing write: the file size limit (RLIMIT_FSIZE) stops the write half way."""
    path = write(tmp_path, MINIMAL)
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from engine.fileformat import yamlio
        from engine.pipeline.changes import SetParam
        from engine.problems import PipelineError
        p = yamlio.load({path!r})
        p.apply(SetParam("train", "description", "x" * 100_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            yamlio.save(p)
        except PipelineError as e:
            print(e)
            sys.exit(3)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "cannot save" in done.stdout and "not changed" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert (tmp_path / "pipeline.yaml").read_text() == textwrap.dedent(MINIMAL)
    assert os.listdir(tmp_path) == ["pipeline.yaml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_a_clear_error(tmp_path):
    path = write(tmp_path, MINIMAL)
    p = yamlio.load(path)
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(PipelineError, match="cannot save"):
            yamlio.save(p)
    finally:
        os.chmod(tmp_path, 0o700)
    assert (tmp_path / "pipeline.yaml").read_text() == textwrap.dedent(MINIMAL)


def test_node_data_helpers_round_trip():
    node = Node(
        "prep",
        "spark-step",
        {"file": "p.py", "spark.driver_memory": "7g", "spark.conf": {"a": 1}},
        [InputPort("i", Ref("src", "out"), mode="direct")],
        [OutputPort("o", register_as="ds")],
        (1.5, 2.0),
        "prepares",
    )
    data = yamlio.node_to_data(node)
    assert list(data) == ["type", "description", "file", "spark", "inputs", "outputs", "ui"]
    assert data["spark"] == {"driver_memory": "7g", "conf": {"a": 1}}
    assert yamlio.node_from_data("prep", data) == node


def test_node_from_data_rejects_bad_data():
    with pytest.raises(PipelineError) as err:
        yamlio.node_from_data("n", {"type": "spark-step", "spark": {"driver_cores": "four"}})
    assert only(err.value.problems).field == "spark.driver_cores"


DESIGN_EXAMPLE = """\
pipeloom: 1                      # format version; older versions are migrated on load
name: titanic
description: Spark data prep on a Spark pool, then training on a CPU pool
datastore: .pipeloom/datastore   # run outputs and registered datasets, relative to this file
computes:
  link1-spark01: {type: spark, master: "local[*]", conf: {spark.ui.enabled: false}}
  remote: {type: spark, master: "sc://spark.example.com:15002", token_env: SPARK_TOKEN}
  cpucluster:    {type: cpu-pool, workers: 2}
environments:
  trainenv: {pip: ["scikit-learn>=1.4"], requirements_file: requirements.txt, python: python3.11}
parameters:
  sample_fraction: {type: number, default: 1.0, description: share of rows}
nodes:
  titanic:
    type: dataset
    kind: tabular                # tabular | file
    path: data/Titanic.csv       # or from: dataset:NAME[@VERSION] for a registered dataset
    format: {type: csv, header: true, delimiter: ",", encoding: utf-8}
    ui: {x: 0, y: 0}
  registered:
    type: dataset
    description: a registered dataset version
    from: dataset:prepared@3
  dataprep:
    type: spark-step
    compute: link1-spark01
    backend: auto                # auto | connect | submit
    source_directory: code
    file: dataprep.py
    inputs:
      tabular_input: {from: titanic}                        # kind defaults to the source's kind
      file_input:    {from: titanic, as: file, mode: direct} # the seed's .as_hdfs()
    outputs:
      output_dir: {kind: tabular, format: {type: parquet}, register_as: registered_dataset, destination: test}
    arguments: [--tabular_input, "{inputs.tabular_input}", --file_input, "{inputs.file_input}",
                --output_dir, "{outputs.output_dir}", --fraction, "{parameters.sample_fraction}"]
    spark: {driver_memory: 7g, driver_cores: 4, executor_memory: 7g, executor_cores: 2, num_executors: 1, conf: {spark.sql.shuffle.partitions: 8}}
    py_files: [util.py]
    jars: []
    files: [lookup.csv]
    environment: trainenv
    ui: {x: 260, y: 0}
  train:
    type: script-step
    compute: cpucluster
    environment: trainenv
    source_directory: code
    script: train.py
    inputs:
      step2_input: {from: dataprep.output_dir, mode: download, optional: true}
    arguments: ["{inputs.step2_input}"]
    allow_reuse: false
    ui: {x: 520, y: 0}
export:                          # optional: how computes/datastores map onto export targets
  azureml: {computes: {link1-spark01: {instance_type: standard_e4s_v3, runtime_version: "3.4"}, cpucluster: cpucluster}}
  airflow: {spark_conn_id: spark_default}
  shell: {spark_submit: spark-submit}
"""


@pytest.mark.parametrize(
    "text, expect",
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- a\n- b\n", "not a list"),
        ("just text\n", "not the text 'just text'"),
    ],
)
def test_a_file_that_is_not_a_mapping(tmp_path, text, expect):
    problem = only(problems_of(tmp_path, text))
    assert expect in problem.message and problem.line == 1
