"""engine.planning.validate on in-memory pipelines: every check, its location, and no raising on junk."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from engine.planning.validate import validate


@pytest.fixture
def project(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "dataprep.py").write_text("print('prep')\n")
    (tmp_path / "code" / "train.py").write_text("print('train')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "Titanic.csv").write_text("a,b\n1,2\n")
    return tmp_path


def titanic() -> Pipeline:
    p = Pipeline("titanic")
    p.computes["link1-spark01"] = Compute("link1-spark01", "spark", master="local[*]")
    p.computes["cpucluster"] = Compute("cpucluster", "cpu-pool", workers=2)
    p.environments["trainenv"] = Environment("trainenv", pip=["scikit-learn>=1.4"])
    p.parameters["sample_fraction"] = Parameter("sample_fraction", "number", 1.0)
    p.nodes["titanic"] = Node(
        "titanic",
        "dataset",
        {"kind": "tabular", "path": "data/Titanic.csv", "format.type": "csv"},
    )
    p.nodes["dataprep"] = Node(
        "dataprep",
        "spark-step",
        {
            "compute": "link1-spark01",
            "source_directory": "code",
            "file": "dataprep.py",
            "arguments": [
                "--tabular_input",
                "{inputs.tabular_input}",
                "--file_input",
                "{inputs.file_input}",
                "--output_dir",
                "{outputs.output_dir}",
                "--fraction",
                "{parameters.sample_fraction}",
            ],
            "spark.driver_memory": "7g",
            "spark.driver_cores": 4,
            "spark.executor_memory": "7g",
            "spark.executor_cores": 2,
            "spark.num_executors": 1,
            "spark.conf": {},
        },
        inputs=[
            InputPort("tabular_input", Ref("titanic")),
            InputPort("file_input", Ref("titanic"), kind="file", mode="direct"),
        ],
        outputs=[OutputPort("output_dir", "tabular", {"type": "parquet"}, "registered", "test")],
    )
    p.nodes["train"] = Node(
        "train",
        "script-step",
        {
            "compute": "cpucluster",
            "environment": "trainenv",
            "source_directory": "code",
            "script": "train.py",
            "arguments": ["{inputs.step2_input}"],
            "allow_reuse": False,
        },
        inputs=[InputPort("step2_input", Ref("dataprep", "output_dir"), mode="download")],
    )
    return p


def where(problems) -> list[tuple[str | None, str | None, str]]:
    return [(p.node, p.field, p.severity) for p in problems]


def only(problems, severity="error"):
    found = [p for p in problems if p.severity == severity]
    assert len(found) == 1, [p.format() for p in problems]
    return found[0]


def test_titanic_is_clean(project):
    assert validate(titanic(), project) == []


def test_base_dir_defaults_to_the_pipeline_file_folder(project):
    p = titanic()
    p.path = str(project / "pipeline.yaml")
    assert validate(p) == []
    p.nodes["train"].params["script"] = "missing.py"
    problem = only(validate(p))
    assert (problem.node, problem.field) == ("train", "script")
    assert "missing.py" in problem.message


def test_without_a_base_folder_files_are_not_checked():
    assert validate(titanic()) == []


# -- graph -----------------------------------------------------------------------------


def test_cycle_names_the_nodes_on_it(project):
    p = titanic()
    p.nodes["dataprep"].inputs.append(InputPort("feedback", Ref("train", "model")))
    p.nodes["train"].outputs.append(OutputPort("model", "file"))
    p.nodes["train"].params["arguments"] += ["{outputs.model}"]
    p.nodes["dataprep"].params["arguments"] += ["{inputs.feedback}"]
    problem = only(validate(p, project))
    assert "cycle" in problem.message
    assert "dataprep -> train -> dataprep" in problem.message or (
        "train -> dataprep -> train" in problem.message
    )
    assert problem.field.startswith("inputs.")


def test_self_loop_and_two_separate_cycles_are_each_reported(project):
    p = titanic()
    p.nodes["dataprep"].inputs.append(InputPort("again", Ref("dataprep", "output_dir")))
    p.nodes["a"] = Node("a", "script-step", {"compute": "cpucluster", "script": "train.py"})
    p.nodes["b"] = Node("b", "script-step", {"compute": "cpucluster", "script": "train.py"})
    p.nodes["a"].inputs.append(InputPort("x", Ref("b", "o")))
    p.nodes["a"].outputs.append(OutputPort("o"))
    p.nodes["b"].inputs.append(InputPort("x", Ref("a", "o")))
    p.nodes["b"].outputs.append(OutputPort("o"))
    for n in ("a", "b"):
        p.nodes[n].params["source_directory"] = "code"
    cycles = [pr for pr in validate(p, project) if "cycle" in pr.message]
    assert len(cycles) == 2
    messages = " | ".join(pr.message for pr in cycles)
    assert "dataprep -> dataprep" in messages
    assert "a -> b -> a" in messages or "b -> a -> b" in messages


def test_unconnected_required_input_is_an_error_optional_is_not(project):
    p = titanic()
    p.nodes["train"].inputs.append(InputPort("extra"))
    p.nodes["train"].params["arguments"].append("{inputs.extra}")
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("train", "inputs.extra")
    assert "not connected" in problem.message
    p.nodes["train"].inputs[-1].optional = True
    assert validate(p, project) == []


@pytest.mark.parametrize(
    "ref, expected",
    [
        (Ref("dataprp", "output_dir"), "no node named 'dataprp' (did you mean 'dataprep'?)"),
        (Ref("dataprep", "out"), "has no output 'out'"),
        (Ref("dataset:registered"), "add a dataset node"),
    ],
)
def test_dangling_from(project, ref, expected):
    p = titanic()
    p.nodes["train"].inputs[0].source = ref
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("train", "inputs.step2_input.from")
    assert expected in problem.message


def test_from_without_output_is_ambiguous_when_the_source_has_several(project):
    p = titanic()
    p.nodes["dataprep"].outputs.append(OutputPort("stats", "file"))
    p.nodes["dataprep"].params["arguments"] += ["{outputs.stats}"]
    p.nodes["train"].inputs[0].source = Ref("dataprep")
    problem = only(validate(p, project))
    assert "ambiguous" in problem.message and "output_dir, stats" in problem.message
    p.nodes["dataprep"].outputs.pop()
    p.nodes["dataprep"].params["arguments"].pop()
    assert validate(p, project) == []  # one output: `from: dataprep` reads it


def test_kind_mismatch_file_feeds_only_file(project):
    p = titanic()
    p.nodes["titanic"].params["kind"] = "file"
    assert validate(p, project) == []  # an input's kind defaults to its source's kind
    p.nodes["dataprep"].inputs[0].kind = "tabular"
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("dataprep", "inputs.tabular_input.as")
    p = titanic()
    p.nodes["train"].inputs[0].kind = "file"  # tabular source -> file input: fine
    assert validate(p, project) == []
    p.nodes["dataprep"].outputs[0].kind = "file"
    p.nodes["train"].inputs[0].kind = "tabular"
    assert "kind mismatch" in only(validate(p, project)).message


def test_spark_steps_take_only_direct_inputs(project):
    p = titanic()
    p.nodes["dataprep"].inputs[0].mode = "download"
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("dataprep", "inputs.tabular_input.mode")
    p.nodes["dataprep"].inputs[0].mode = "teleport"
    assert "unknown input mode" in only(validate(p, project)).message


# -- types, computes, environments, parameters, datasets ------------------------------


def test_unknown_type_with_suggestion_and_replaced_types_load(project):
    p = titanic()
    p.nodes["train"].type = "script-stp"
    problems = validate(p, project)
    assert ("train", "type", "error") in where(problems)
    assert "did you mean 'script-step'" in only(problems).message
    p.nodes["train"].type = "python-script-step"  # an old name of script-step
    assert validate(p, project) == []


def test_unknown_compute_and_compute_of_the_wrong_type(project):
    p = titanic()
    p.nodes["train"].params["compute"] = "cpucluser"
    assert "did you mean 'cpucluster'" in only(validate(p, project)).message
    p.nodes["train"].params["compute"] = "link1-spark01"
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("train", "compute")
    assert "cpu-pool" in problem.message


def test_unknown_environment(project):
    p = titanic()
    p.nodes["train"].params["environment"] = "trainen"
    problem = only(validate(p, project))
    assert (problem.field, "did you mean 'trainenv'" in problem.message) == ("environment", True)


def test_unknown_parameter_in_a_template(project):
    p = titanic()
    p.nodes["dataprep"].params["arguments"][-1] = "{parameters.sample_fractoin}"
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("dataprep", "arguments")
    assert "sample_fraction" in problem.message


@pytest.mark.parametrize(
    "ref, known, expected",
    [
        ("dataset:prepared", None, None),
        ("dataset:prepared@3", None, None),
        ("dataset:", None, "not a dataset reference"),
        ("prepared", None, "not a dataset reference"),
        ("dataset:prepared@", None, "not a dataset reference"),
        ("dataset:prepared", {"prepared"}, None),
        ("dataset:prepard", {"prepared"}, "did you mean 'prepared'"),
        ("dataset:prepared@2", {"prepared": ["1", "2"]}, None),
        ("dataset:prepared@5", {"prepared": ["1", "2"]}, "no version '5'"),
        ("dataset:registered", set(), None),  # registered by this pipeline's own output
    ],
)
def test_registered_dataset_references(project, ref, known, expected):
    p = titanic()
    p.nodes["titanic"].params.pop("path")
    p.nodes["titanic"].params["from"] = ref
    problems = validate(p, project, known_datasets=known)
    if expected is None:
        assert problems == []
    else:
        problem = only(problems)
        assert (problem.node, problem.field) == ("titanic", "from")
        assert expected in problem.message


def test_dataset_needs_exactly_one_of_path_and_from(project):
    p = titanic()
    p.nodes["titanic"].params["from"] = "dataset:x"
    assert "not both" in only(validate(p, project)).message
    del p.nodes["titanic"].params["from"], p.nodes["titanic"].params["path"]
    assert only(validate(p, project)).field == "path"


def test_parameter_default_of_the_wrong_type(project):
    p = titanic()
    p.parameters["sample_fraction"].default = "all"
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == (None, "parameters.sample_fraction.default")


# -- names -----------------------------------------------------------------------------


def test_duplicate_and_clashing_port_names(project):
    p = titanic()
    p.nodes["dataprep"].inputs.append(InputPort("tabular_input", Ref("titanic")))
    problem = only(validate(p, project))
    assert "two inputs are named" in problem.message
    p = titanic()
    p.nodes["dataprep"].outputs.append(OutputPort("tabular_input"))
    problems = validate(p, project)
    assert "names both an input and an output" in only(problems).message


def test_invalid_names(project):
    p = titanic()
    p.nodes["train"].inputs[0].name = "step 2"
    p.nodes["train"].params["arguments"] = []
    assert "invalid input name" in only(validate(p, project)).message
    p = titanic()
    p.nodes["bad name"] = p.nodes.pop("train")
    p.nodes["bad name"].name = "bad name"
    assert "invalid node name" in only(validate(p, project)).message
    p.nodes["bad name"].name = "train"
    assert "stored under another name" in only(validate(p, project)).message


# -- files and paths ------------------------------------------------------------------


def test_missing_source_directory_and_entry_file(project):
    p = titanic()
    p.nodes["dataprep"].params["source_directory"] = "src"
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("dataprep", "source_directory")
    p = titanic()
    p.nodes["dataprep"].params["file"] = "prep.py"
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("dataprep", "file")
    assert str(project / "code" / "prep.py") in problem.message


def test_steps_sharing_a_missing_script_each_get_the_problem_at_their_own_line(project):
    """File checks are made once per combination of settings; every node still hears of it."""
    p = titanic()
    p.nodes["dataprep"].params["file"] = "gone.py"
    p.nodes["prep2"] = Node("prep2", "spark-step", dict(p.nodes["dataprep"].params))
    p.nodes["prep2"].params["arguments"] = []
    p.locations[("dataprep", "file")] = (10, 5)
    p.locations[("prep2", "file")] = (40, 5)
    problems = [q for q in validate(p, project) if q.field == "file"]
    assert [(q.node, q.line) for q in problems] == [("dataprep", 10), ("prep2", 40)]
    assert all(str(project / "code" / "gone.py") in q.message for q in problems)
    p.nodes["prep2"].params["file"] = "dataprep.py"  # a different combination: checked anew
    assert [q.node for q in validate(p, project) if q.field == "file"] == ["dataprep"]


@pytest.mark.parametrize(
    "node, key, value",
    [
        ("titanic", "path", "../../etc/passwd"),
        ("titanic", "path", "data/../../outside.csv"),
        ("dataprep", "source_directory", "../elsewhere"),
        ("dataprep", "file", "../train.py"),
        ("dataprep", "file", "/usr/bin/env"),
        ("dataprep", "py_files", ["../../helpers.py"]),
    ],
)
def test_paths_that_escape_the_project(project, node, key, value):
    p = titanic()
    p.nodes[node].params[key] = value
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == (node, key)


def test_absolute_paths_and_uris_are_allowed_for_datasets(project):
    p = titanic()
    p.nodes["titanic"].params["path"] = str(project / "data" / "Titanic.csv")
    assert validate(p, project) == []
    p.nodes["titanic"].params["path"] = "hdfs://namenode:8020/data/titanic.csv"
    assert validate(p, project) == []
    p.nodes["titanic"].params["path"] = "data/not-yet.csv"
    assert only(validate(p, project), "warning").field == "path"


@pytest.mark.parametrize("dest", ["/tmp/out", "../out", "a/../../out", "s3://bucket/x", ".", ""])
def test_output_destination_stays_inside_the_datastore(project, dest):
    p = titanic()
    p.nodes["dataprep"].outputs[0].destination = dest
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("dataprep", "outputs.output_dir.destination")


def test_requirements_file_must_exist(project):
    p = titanic()
    p.environments["trainenv"].requirements_file = "requirements.txt"
    problem = only(validate(p, project))
    assert problem.field == "environments.trainenv.requirements_file"
    (project / "requirements.txt").write_text("numpy\n")
    assert validate(p, project) == []


# -- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("spark.driver_memory", "7 gigs", "not a Spark memory size"),
        ("spark.executor_memory", "-1g", "not a Spark memory size"),
        ("spark.executor_memory", True, "not a Spark memory size"),
        ("spark.num_executors", 0, "at least 1"),
        ("spark.driver_cores", "4", "whole number"),
        ("spark.executor_cores", 2.5, "whole number"),
        ("allow_reuse", "yes", "true or false"),
        ("backend", "conect", "did you mean 'connect'"),
        ("arguments", "--x", "must be a list"),
        ("arguments", [["nested"]], "must be a list"),
        ("spark.conf", ["a"], "mapping"),
        ("driver_memory", "7g", "did you mean 'spark.driver_memory'"),
    ],
)
def test_malformed_settings(project, key, value, expected):
    p = titanic()
    p.nodes["dataprep"].params[key] = value
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("dataprep", key)
    assert expected in problem.message


def test_required_settings(project):
    p = titanic()
    del p.nodes["train"].params["script"]
    problem = only(validate(p, project))
    assert (problem.node, problem.field) == ("train", "script")
    assert "required" in problem.message


def test_templates_dangling_malformed_and_unused(project):
    p = titanic()
    p.nodes["dataprep"].params["arguments"][1] = "{input.tabular_input}"
    problems = validate(p, project)
    assert "did you mean {inputs.tabular_input}" in only(problems).message
    # tabular_input is now passed nowhere: a warning, the step can read its context
    assert only(problems, "warning").field == "inputs.tabular_input"
    p.nodes["dataprep"].params["arguments"][1] = "{outputs.tabular_input}"
    assert "names no output of this step" in only(validate(p, project)).message
    p.nodes["dataprep"].params["arguments"][1] = '{"json": "braces are fine"}'
    assert [pr.severity for pr in validate(p, project)] == ["warning"]


def test_no_templates_at_all_is_not_a_warning(project):
    p = titanic()
    p.nodes["train"].params["arguments"] = []
    assert validate(p, project) == []


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[4]",
        "local[*]",
        "local[4,2]",
        "spark://host:7077",
        "spark://h1:7077,h2:7077",
        "yarn",
        "k8s://https://10.0.0.1:6443",
        "sc://localhost:15002",
        "sc://host:443/;use_ssl=true",
    ],
)
def test_valid_spark_masters(master):
    p = titanic()
    p.computes["link1-spark01"].master = master
    # a cluster on other hosts also gets the warning that the datastore is local
    assert [x for x in validate(p) if x.field != "datastore"] == []


@pytest.mark.parametrize(
    "master", ["local[0]", "local[x]", "spark://host", "sparc://h:1", "yarn-cluster", "", 7077]
)
def test_invalid_spark_masters(master):
    p = titanic()
    p.computes["link1-spark01"].master = master
    problem = only(validate(p))
    assert problem.field == "computes.link1-spark01.master"


def test_compute_settings():
    p = titanic()
    p.computes["link1-spark01"].master = None
    assert "needs `master:`" in only(validate(p)).message
    p = titanic()
    p.computes["cpucluster"].workers = 0
    assert only(validate(p)).field == "computes.cpucluster.workers"
    p.computes["cpucluster"].workers = None  # default: one per core
    assert validate(p) == []
    p.computes["cpucluster"].type = "gpu"
    assert only(validate(p)).field == "computes.cpucluster.type"


# -- locations and robustness ----------------------------------------------------------


def test_line_comes_from_the_field_then_its_parents_then_the_node(project):
    p = titanic()
    p.locations[("dataprep", None)] = (10, 3)
    p.locations[("dataprep", "spark")] = (20, 5)
    p.locations[("train", "inputs.step2_input")] = (30, 7)
    p.nodes["dataprep"].params["spark.driver_memory"] = "lots"
    p.nodes["dataprep"].params["file"] = "nope.py"
    p.nodes["train"].inputs[0].source = Ref("dataprep", "nope")
    lines = {pr.field: pr.line for pr in validate(p, project)}
    assert lines == {"spark.driver_memory": 20, "file": 10, "inputs.step2_input.from": 30}


JUNK = [None, 0, -1, 1.5, True, "", " ", "x" * 300, [], [None], {}, {"a": [1]}, object(), b"\x00"]


@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_never_raises_on_junk_values(project, junk):
    p = titanic()
    for node in p.nodes.values():
        for key in list(node.params):
            node.params[key] = junk
        for port in node.inputs:
            port.kind, port.mode = junk, junk
        for port in node.outputs:
            port.kind, port.format, port.register_as, port.destination = (junk,) * 4
    for compute in p.computes.values():
        compute.master, compute.workers, compute.token_env, compute.conf = (junk,) * 4
    for env in p.environments.values():
        env.pip, env.requirements_file = junk, junk
    p.parameters["sample_fraction"].type = junk if isinstance(junk, str) else "number"
    p.parameters["sample_fraction"].default = junk
    problems = validate(p, project)
    assert all(pr.message for pr in problems)


# -- the arguments' quick path agrees with the detailed one ------------------------------

_ARGUMENT_PIECES = [
    "--x",
    "{inputs.a}",
    "{inputs.b}",
    "{inputs.nope}",
    "{outputs.out}",
    "{outputs.a}",
    "{parameters.p}",
    "{parameters.missing}",
    "{inputs.a.b}",
    "{input.a}",
    "{foo.bar}",
    "{inputs.1x}",
    "{inputs.}",
    "{{inputs.a}}",
    "pre-{inputs.a}-{parameters.p}",
    "{inputs.a",
    "",
]


@settings(max_examples=300, deadline=None)
@given(
    args=st.lists(
        st.one_of(
            st.sampled_from(_ARGUMENT_PIECES),
            st.lists(st.sampled_from(_ARGUMENT_PIECES), max_size=3).map("".join),
            st.integers(),
        ),
        max_size=8,
    ),
    inputs=st.lists(st.sampled_from(["a", "b", "1x", "a.b"]), max_size=3, unique=True),
    outputs=st.lists(st.sampled_from(["out", "a", "x y"]), max_size=2, unique=True),
)
def test_quick_argument_check_finds_what_the_detailed_one_finds(args, inputs, outputs):
    from engine.planning.checks import Checker
    from engine.planning.validate import _check_arguments, _check_templates_in_detail

    p = Pipeline("args")
    p.parameters["p"] = Parameter("p", "number", 1.0)
    node = Node(
        "s",
        "script-step",
        {"arguments": args},
        [InputPort(n, Ref("src")) for n in inputs],
        [OutputPort(n) for n in outputs],
    )
    p.nodes["s"] = node
    quick, detailed = Checker(p, None), Checker(p, None)
    _check_arguments(quick, node)
    known = {"inputs": set(inputs), "outputs": set(outputs), "parameters": p.parameters}
    _check_templates_in_detail(detailed, node, args, known)
    assert quick.problems == detailed.problems
