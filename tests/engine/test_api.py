"""The seed-style Python API: the seed's two-step example written with it is projects/titanic.

The example itself lives in projects/titanic/build_pipeline.py (the seed code, ported), so
what users read is what is tested.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api import (
    CondaDependencies,
    CpuPool,
    Dataset,
    Environment,
    OutputFileDatasetConfig,
    Pipeline,
    PipelineParameter,
    RunConfiguration,
    ScriptStep,
    SparkCompute,
    SparkStep,
)
from engine.fileformat import yamlio
from engine.pipeline.model import InputPort, OutputPort, Ref
from engine.planning import validate
from engine.problems import PipelineError

TITANIC = Path(__file__).resolve().parents[2] / "projects" / "titanic" / "pipeline.yaml"
# the seed's two-step example, written with the API as a seed user would port it
seed_titanic_pipeline = runpy.run_path(str(TITANIC.with_name("build_pipeline.py")))["build"]


# -- the seed example -------------------------------------------------------------------------


def test_seed_example_builds_the_titanic_project():
    assert seed_titanic_pipeline().to_model() == yamlio.load(TITANIC)


def test_seed_example_keeps_the_layout_of_the_titanic_project():
    built = seed_titanic_pipeline().to_model()
    shipped = yamlio.load(TITANIC)
    assert {n: v.position for n, v in built.nodes.items()} == {
        n: v.position for n, v in shipped.nodes.items()
    }


def test_seed_example_saves_the_titanic_file_byte_for_byte(tmp_path: Path):
    target = tmp_path / "pipeline.yaml"
    seed_titanic_pipeline().save(target)
    assert target.read_text(encoding="utf-8") == TITANIC.read_text(encoding="utf-8")


def test_build_script_writes_the_titanic_file(tmp_path: Path):
    target = tmp_path / "pipeline.yaml"
    script = TITANIC.with_name("build_pipeline.py")
    done = subprocess.run(
        [sys.executable, str(script), str(target)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == TITANIC.read_bytes()


def test_seed_example_validates_against_the_titanic_project_folder():
    built = seed_titanic_pipeline().to_model()
    problems = validate.validate(built, base_dir=TITANIC.parent)
    assert [p.format() for p in problems if p.is_error] == []


# -- datasets ---------------------------------------------------------------------------------


def _spark_step(*, inputs=(), outputs=(), arguments=(), name="prep", **kw) -> SparkStep:
    return SparkStep(
        name=name,
        file="prep.py",
        source_directory="code",
        inputs=list(inputs),
        outputs=list(outputs),
        arguments=list(arguments),
        compute_target=kw.pop("compute_target", "spark"),
        **kw,
    )


def test_delimited_files_become_a_tabular_csv_dataset_node():
    ds = Dataset.Tabular.from_delimited_files("data/Sales.csv", header=False, separator=";")
    node = Pipeline([_spark_step(inputs=[ds.as_named_input("sales")])]).to_model().nodes["sales"]
    assert node.type == "dataset"
    assert node.params["kind"] == "tabular"
    assert node.params["path"] == "data/Sales.csv"
    assert node.params["format.type"] == "csv"
    assert node.params["format.header"] is False
    assert node.params["format.delimiter"] == ";"


def test_dataset_paths_accept_the_seeds_datastore_tuples_and_normalise():
    assert Dataset.File.from_files([("store", "./data//x.csv")]).path == "data/x.csv"
    assert Dataset.File.from_files(("store", "data/x.csv")).path == "data/x.csv"
    with pytest.raises(PipelineError, match="exactly one path"):
        Dataset.File.from_files(["a.csv", "b.csv"])
    with pytest.raises(PipelineError, match="non-empty"):
        Dataset.File.from_files("")


def test_registered_dataset_reference_with_and_without_version():
    latest = Dataset.get_by_name("customers")
    pinned = Dataset.get_by_name(object(), name="orders", version=3)  # the seed's (ws, name=...)
    assert latest.registered == "dataset:customers"
    assert Dataset.get_by_name("customers", version="latest").registered == "dataset:customers"
    assert pinned.registered == "dataset:orders@3"
    step = _spark_step(inputs=[latest.as_named_input("c"), pinned.as_named_input("o")])
    nodes = Pipeline([step]).to_model().nodes
    assert nodes["customers"].params["from"] == "dataset:customers"
    assert nodes["orders"].params["from"] == "dataset:orders@3"
    assert "path" not in nodes["orders"].params
    with pytest.raises(PipelineError):
        Dataset.get_by_name("not a name")


def test_input_modes():
    ds = Dataset.File.from_files("data/raw")
    step = ScriptStep(
        script_name="s.py",
        inputs=[
            ds.as_named_input("a").as_download(),
            ds.as_named_input("b").as_mount(),
            ds.as_named_input("c").as_hdfs(),
            ds.as_named_input("d"),
        ],
        compute_target="pool",
    )
    node = Pipeline([step]).to_model().nodes["s"]
    assert [(p.name, p.mode) for p in node.inputs] == [
        ("a", "download"),
        ("b", "mount"),
        ("c", "direct"),
        ("d", None),
    ]
    assert all(p.source == Ref("raw") and p.kind is None for p in node.inputs)


def test_tabular_and_file_views_of_one_path_share_a_node():
    tab = Dataset.Tabular.from_delimited_files("data/t.csv")
    raw = Dataset.File.from_files("data/t.csv")
    step = _spark_step(inputs=[raw.as_named_input("f").as_hdfs(), tab.as_named_input("t")])
    p = Pipeline([step]).to_model()
    assert [n for n in p.nodes if p.nodes[n].type == "dataset"] == ["t"]
    assert p.nodes["t"].params["kind"] == "tabular"
    assert p.nodes["prep"].inputs == [
        InputPort("f", Ref("t"), kind="file", mode="direct"),
        InputPort("t", Ref("t")),
    ]


def test_one_path_read_with_two_formats_is_two_nodes():
    csv = Dataset.Tabular.from_delimited_files("data/t.csv")
    tsv = Dataset.Tabular.from_delimited_files("data/t.csv", separator="\t")
    p = Pipeline([_spark_step(inputs=[csv.as_named_input("a"), tsv.as_named_input("b")])])
    nodes = p.to_model().nodes
    assert nodes["t"].params["format.delimiter"] == ","
    assert nodes["t_2"].params["format.delimiter"] == "\t"


def test_unnamed_inputs_take_their_names_from_flags_or_the_dataset():
    ds = Dataset.Tabular.from_delimited_files("data/My Data.csv")
    other = Dataset.Tabular.from_parquet_files("data/other")
    step = _spark_step(arguments=["--raw-rows", ds, other.as_download()], inputs=[])
    node = Pipeline([step]).to_model().nodes["prep"]
    assert [p.name for p in node.inputs] == ["raw-rows", "other"]
    assert node.params["arguments"] == ["--raw-rows", "{inputs.raw-rows}", "{inputs.other}"]


def test_dataset_node_name_avoids_step_names():
    ds = Dataset.Tabular.from_delimited_files("data/prep.csv")
    p = Pipeline([_spark_step(inputs=[ds.as_named_input("x")])]).to_model()
    assert list(p.nodes) == ["prep_2", "prep"]


# -- outputs ----------------------------------------------------------------------------------


def test_output_takes_its_name_from_the_flag_and_keeps_its_settings():
    out = (
        OutputFileDatasetConfig(destination=("store", "published/x"))
        .read_delimited_files(separator="|")
        .register_on_complete("clean")
    )
    node = Pipeline([_spark_step(outputs=[out], arguments=["--out_dir", out])]).to_model()
    assert node.nodes["prep"].outputs == [
        OutputPort(
            "out_dir",
            kind="tabular",
            format={"type": "csv", "header": True, "delimiter": "|"},
            register_as="clean",
            destination="published/x",
        )
    ]
    assert node.nodes["prep"].params["arguments"] == ["--out_dir", "{outputs.out_dir}"]


def test_plain_output_is_a_file_output_and_unnamed_ones_are_numbered():
    a, b = OutputFileDatasetConfig(), OutputFileDatasetConfig()
    node = Pipeline([_spark_step(outputs=[a, b])]).to_model().nodes["prep"]
    assert [(o.name, o.kind, o.format) for o in node.outputs] == [
        ("output", "file", {}),
        ("output_2", "file", {}),
    ]


def test_output_passed_to_a_later_step_becomes_a_wired_input():
    out = OutputFileDatasetConfig(name="prepared").read_parquet_files()
    prep = _spark_step(outputs=[out], arguments=["--out", out])
    train = ScriptStep(
        script_name="train.py",
        arguments=["--data", out, "--again", out.as_input("again").as_mount()],
        compute_target="pool",
    )
    p = Pipeline([prep, train]).to_model()
    assert p.nodes["train"].inputs == [
        InputPort("data", Ref("prep", "prepared")),
        InputPort("again", Ref("prep", "prepared"), mode="mount"),
    ]
    assert p.nodes["train"].params["arguments"] == [
        "--data",
        "{inputs.data}",
        "--again",
        "{inputs.again}",
    ]


def test_steps_producing_what_listed_steps_read_are_included_first():
    out = OutputFileDatasetConfig(name="o")
    _spark_step(name="first", outputs=[out])  # known to the pipeline through `out`
    last = ScriptStep(script_name="last.py", inputs=[out.as_input("i")], compute_target="pool")
    assert list(Pipeline([last]).to_model().nodes) == ["first", "last"]


def test_an_output_written_by_two_steps_is_refused():
    out = OutputFileDatasetConfig(name="o")
    _spark_step(name="a", outputs=[out])
    with pytest.raises(PipelineError, match="written by both a and b"):
        _spark_step(name="b", outputs=[out])


def test_reading_an_output_no_step_writes_is_refused():
    orphan = OutputFileDatasetConfig(name="o")
    step = ScriptStep(script_name="s.py", inputs=[orphan.as_input("i")], compute_target="pool")
    with pytest.raises(PipelineError, match="no step writes"):
        Pipeline([step]).to_model()


def test_steps_reading_each_other_are_a_cycle():
    a_out, b_out = OutputFileDatasetConfig(name="a_out"), OutputFileDatasetConfig(name="b_out")
    a = _spark_step(name="a", outputs=[a_out], inputs=[b_out.as_input("x")])
    _spark_step(name="b", outputs=[b_out], inputs=[a_out.as_input("y")])
    with pytest.raises(PipelineError, match="cycle"):
        Pipeline([a]).to_model()


def test_two_steps_with_one_name_are_refused():
    with pytest.raises(PipelineError, match="two steps are named 'prep'"):
        Pipeline([_spark_step(), _spark_step()]).to_model()


# -- steps, computes, environments, parameters ------------------------------------------------


def test_step_names_default_to_the_entry_files_stem():
    step = ScriptStep(script_name="scripts/train model.py", compute_target="pool")
    assert step.name == "train_model"


def test_spark_step_keeps_every_synapse_setting():
    step = _spark_step(
        driver_memory="2g",
        driver_cores=2,
        executor_memory="3g",
        executor_cores=1,
        num_executors=4,
        conf={"spark.sql.shuffle.partitions": 8},
        py_files=["lib.zip"],
        jars=["x.jar"],
        files=["lookup.txt"],
        environment=Environment("sparkenv", pip_packages=["pyarrow"]),
        allow_reuse=False,
        backend="submit",
    )
    node = Pipeline([step]).to_model().nodes["prep"]
    assert node.params == {
        "compute": "spark",
        "environment": "sparkenv",
        "backend": "submit",
        "source_directory": "code",
        "file": "prep.py",
        "allow_reuse": False,
        "spark.driver_memory": "2g",
        "spark.driver_cores": 2,
        "spark.executor_memory": "3g",
        "spark.executor_cores": 1,
        "spark.num_executors": 4,
        "spark.conf": {"spark.sql.shuffle.partitions": 8},
        "py_files": ["lib.zip"],
        "jars": ["x.jar"],
        "files": ["lookup.txt"],
    }


def test_defaults_are_not_written():
    node = Pipeline([_spark_step(allow_reuse=True)]).to_model().nodes["prep"]
    assert "allow_reuse" not in node.params and "backend" not in node.params


def test_string_computes_follow_the_step_type_and_objects_are_kept():
    spark = _spark_step(compute_target=SparkCompute("cluster", master="spark://h:7077"))
    script = ScriptStep(script_name="s.py", compute_target="pool")
    script2 = ScriptStep(script_name="t.py", compute_target=CpuPool("big", workers=6))
    computes = Pipeline([spark, script, script2]).to_model().computes
    assert [(c.name, c.type, c.master, c.workers) for c in computes.values()] == [
        ("cluster", "spark", "spark://h:7077", None),
        ("pool", "cpu-pool", None, 2),
        ("big", "cpu-pool", None, 6),
    ]


def test_one_compute_name_with_two_meanings_is_refused():
    a = _spark_step(name="a", compute_target=SparkCompute("c", master="local[2]"))
    b = _spark_step(name="b", compute_target=SparkCompute("c", master="local[4]"))
    with pytest.raises(PipelineError, match="two different computes are named 'c'"):
        Pipeline([a, b]).to_model()


def test_step_without_compute_is_refused():
    with pytest.raises(PipelineError, match="compute_target"):
        ScriptStep(script_name="s.py")


def test_cpu_pool_needs_workers():
    with pytest.raises(PipelineError, match="at least one worker"):
        CpuPool("pool", workers=0)


def test_environments_from_packages_requirements_and_conda_dependencies():
    by_list = Environment("a", pip_packages=["numpy"])
    by_file = Environment.from_pip_requirements("b", "./code/requirements.txt")
    by_conda = Environment("c")
    by_conda.python.conda_dependencies = CondaDependencies.create(pip_packages=["pandas"])
    by_conda.python.conda_dependencies.add_pip_package("pyarrow")
    steps = [
        ScriptStep(script_name=f"{e.name}.py", compute_target="pool", environment=e)
        for e in (by_list, by_file, by_conda)
    ]
    envs = Pipeline(steps).to_model().environments
    assert envs["a"].pip == ["numpy"]
    assert envs["b"].requirements_file == "code/requirements.txt" and envs["b"].pip == []
    assert envs["c"].pip == ["pandas", "pyarrow"]
    with pytest.raises(PipelineError, match="conda"):
        CondaDependencies.create(conda_packages=["mkl"])


def test_runconfig_and_environment_together_are_refused():
    env = Environment("e")
    with pytest.raises(PipelineError, match="either"):
        ScriptStep(
            script_name="s.py",
            compute_target="pool",
            runconfig=RunConfiguration(env),
            environment=env,
        )


def test_parameters_become_templates_and_typed_entries():
    rate = PipelineParameter("rate", 0.5)
    rounds = PipelineParameter("rounds", 3)
    unused = PipelineParameter("label", "x", description="a name")
    step = ScriptStep(
        script_name="s.py", arguments=["--rate", rate, "--rounds", rounds, 7], compute_target="p"
    )
    p = Pipeline([step], parameters=[unused]).to_model()
    assert [(x.name, x.type, x.default) for x in p.parameters.values()] == [
        ("label", "string", "x"),
        ("rate", "number", 0.5),
        ("rounds", "integer", 3),
    ]
    assert PipelineParameter("flag", True).type == "boolean"
    assert p.nodes["s"].params["arguments"] == [
        "--rate",
        "{parameters.rate}",
        "--rounds",
        "{parameters.rounds}",
        "7",
    ]


def test_unknown_argument_objects_are_refused():
    step = ScriptStep(script_name="s.py", arguments=[object()], compute_target="p")
    with pytest.raises(PipelineError, match="cannot read"):
        Pipeline([step]).to_model()


def test_layout_is_left_to_right_by_dependency_layer():
    raw = Dataset.Tabular.from_delimited_files("data/raw.csv")
    a_out, b_out = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
    for name, out in (("a", a_out), ("b", b_out)):
        _spark_step(name=name, inputs=[raw.as_named_input("r")], outputs=[out])
    join = _spark_step(name="join", inputs=[a_out.as_input("x"), b_out.as_input("y")])
    positions = {n: v.position for n, v in Pipeline([join]).to_model().nodes.items()}
    assert positions == {"raw": (0, 0), "a": (260, 0), "b": (260, 140), "join": (520, 0)}


def test_saved_pipeline_loads_back_equal(tmp_path: Path):
    raw = Dataset.Tabular.from_delimited_files("data/raw.csv")
    out = OutputFileDatasetConfig(name="out").read_parquet_files().register_on_complete("clean")
    prep = _spark_step(inputs=[raw.as_named_input("raw")], outputs=[out], arguments=[out])
    spec = Pipeline([prep], name="demo", description="saved by the API")
    saved = spec.save(tmp_path / "demo.yaml")
    assert yamlio.load(tmp_path / "demo.yaml") == saved == spec.to_model()


def test_default_source_directory_fills_steps_without_one():
    own = ScriptStep(script_name="a.py", source_directory="./lib", compute_target="p")
    plain = ScriptStep(script_name="b.py", compute_target="p")
    nodes = Pipeline([own, plain], default_source_directory="./code").to_model().nodes
    assert nodes["a"].params["source_directory"] == "lib"
    assert nodes["b"].params["source_directory"] == "code"


def test_outputs_read_directly_in_a_mode():
    out = OutputFileDatasetConfig(name="o")
    _spark_step(outputs=[out])
    read = ScriptStep(script_name="r.py", arguments=[out.as_download()], compute_target="p")
    node = Pipeline([read]).to_model().nodes["r"]
    assert node.inputs == [InputPort("o", Ref("prep", "o"), mode="download")]


def test_boolean_arguments_are_refused():
    step = ScriptStep(script_name="s.py", arguments=["--flag", True], compute_target="p")
    with pytest.raises(PipelineError, match="cannot pass True"):
        Pipeline([step]).to_model()


def test_saving_locates_the_project(tmp_path: Path):
    spec = Pipeline([ScriptStep(script_name="s.py", compute_target="p")], name="x")
    assert spec.to_model().path is None
    spec.save(tmp_path / "x.yaml")
    assert spec.path == str(tmp_path / "x.yaml")
    assert spec.to_model().path == str(tmp_path / "x.yaml")


def test_validate_reports_the_problems_of_the_built_pipeline(tmp_path: Path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "s.py").write_text("print('hi')\n")
    good = ScriptStep(script_name="s.py", source_directory="code", compute_target="p")
    assert Pipeline([good]).validate(base_dir=tmp_path) == []
    missing = ScriptStep(script_name="gone.py", source_directory="code", compute_target="p")
    problems = Pipeline([missing]).validate(base_dir=tmp_path)
    assert [(p.node, p.field) for p in problems if p.is_error] == [("gone", "script")]


@st.composite
def _api_pipelines(draw):
    """Random DAGs of Spark and script steps reading datasets and earlier steps' outputs."""
    datasets = [
        Dataset.Tabular.from_delimited_files(f"data/d{i}.csv")
        for i in range(draw(st.integers(1, 3)))
    ]
    outputs: list[OutputFileDatasetConfig] = []
    steps = []
    for i in range(draw(st.integers(1, 6))):
        sources = datasets + outputs
        picked = draw(st.lists(st.integers(0, len(sources) - 1), max_size=3, unique=True))
        arguments: list = []
        for j in picked:
            source = sources[j]
            read = source.as_named_input(f"in{j}") if isinstance(source, Dataset) else source
            arguments += [f"--in{j}", read]
        out = OutputFileDatasetConfig(name=f"out{i}")
        if draw(st.booleans()):
            out.read_parquet_files()
        arguments += ["--out", out]
        if draw(st.booleans()):
            step = _spark_step(name=f"s{i}", arguments=arguments)
        else:
            step = ScriptStep(
                script_name=f"s{i}.py",
                arguments=arguments,
                compute_target="pool",
                source_directory="code",
            )
        outputs.append(out)
        steps.append(step)
    listed = draw(st.permutations(steps))
    return Pipeline(listed[: draw(st.integers(1, len(listed)))], name="random")


@settings(deadline=None, max_examples=60)
@given(_api_pipelines())
def test_any_api_pipeline_is_valid_and_survives_its_file(spec):
    built = spec.to_model()
    assert [p.format() for p in validate.validate(built) if p.is_error] == []
    assert yamlio.loads(yamlio.dumps(built)) == built
    order = list(built.nodes)
    for node in built.nodes.values():
        for port in node.inputs:
            assert order.index(port.source.node) < order.index(node.name)
