"""Plans: order, reuse decisions and selections, made before anything runs."""

from __future__ import annotations

import pytest
from scriptproject import ScriptProject

from engine.pipeline.model import Compute, InputPort, Node, Parameter, Ref
from engine.planning.plan import PlanOptions, make_plan, resolve_parameters
from engine.problems import PipelineError
from engine.storage.store import RunStore


@pytest.fixture
def project(tmp_path):
    p = ScriptProject(tmp_path / "proj")
    p.data("in.txt", "hello\n")
    p.dataset("raw", "in.txt")
    p.step("b", {"inp": "a.out"})  # listed first; runs after a
    p.step("a", {"inp": "raw"}, args=["{parameters.n}"])
    p.step("side", {"inp": "raw"})
    p.pipeline.parameters["n"] = Parameter("n", "integer", 1)
    return p


def _plan(project, **options):
    store = RunStore(project.root / ".pipeloom")
    return make_plan(project.pipeline, store, PlanOptions(**options))


def test_order_follows_data_dependencies_and_everything_runs_first(project):
    plan = _plan(project)
    assert list(plan.steps) == ["a", "b", "side"]
    assert [s.action for s in plan.steps.values()] == ["run"] * 3
    assert plan.steps["b"].upstream == ["a"]
    assert plan.steps["a"].parameters == {"n": 1}


def test_nothing_to_do_after_a_run_and_parameters_change_only_their_users(project):
    project.run()
    plan = _plan(project)
    assert plan.nothing_to_do
    assert {s.reason.split(" run ")[0] for s in plan.steps.values()} == {"outputs of"}
    plan = _plan(project, parameters={"n": "2"})
    assert {n: s.action for n, s in plan.steps.items()} == {
        "a": "run",
        "b": "run",
        "side": "reuse",
    }
    assert plan.steps["b"].reason == "upstream a runs"


def test_reuse_needs_the_earlier_outputs_to_exist(project):
    first, _ = project.run()
    out = project.root / ".pipeloom" / "datastore" / "runs" / first.run_id / "side" / "out"
    for f in out.iterdir():
        f.unlink()
    out.rmdir()
    plan = _plan(project)
    assert plan.steps["side"].action == "run" and plan.steps["a"].action == "reuse"


def test_only_plans_just_the_selection_so_an_unselected_spark_step_starts_nothing(project):
    project.pipeline.computes["spark"] = Compute("spark", "spark", master="local[*]")
    (project.root / "code" / "prep.py").write_text("print('spark')\n")
    project.pipeline.nodes["prep"] = Node(
        "prep",
        "spark-step",
        {"source_directory": "code", "file": "prep.py", "compute": "spark"},
        inputs=[InputPort("inp", Ref("raw"), mode="direct")],
    )
    # a plan that includes the spark step but selects only `side` schedules nothing on Spark
    plan = _plan(project, only=["side"])
    assert list(plan.steps) == ["side"]


def test_parameters_are_converted_and_checked(project):
    p = project.pipeline
    p.parameters["f"] = Parameter("f", "number", 0.5)
    p.parameters["flag"] = Parameter("flag", "boolean", False)
    values = resolve_parameters(p, {"n": "3", "f": "0.25", "flag": "true"})
    assert values == {"n": 3, "f": 0.25, "flag": True}
    with pytest.raises(PipelineError) as err:
        resolve_parameters(p, {"n": "x", "nope": "1"})
    text = str(err.value)
    assert "parameter 'n' is a integer" in text and "unknown parameter 'nope'" in text


def test_missing_dataset_file_and_unknown_registered_dataset_are_refused(project):
    (project.root / "data" / "in.txt").unlink()
    with pytest.raises(PipelineError, match="in.txt"):
        _plan(project)
    project.data("in.txt", "x")
    project.pipeline.nodes["reg"] = Node("reg", "dataset", {"kind": "file", "from": "dataset:nope"})
    project.step("c", {"inp": "reg"})
    with pytest.raises(PipelineError, match="nope"):
        _plan(project)


def test_an_input_takes_its_sources_kind_and_tabular_when_none_is_said(project):
    raw, a = project.pipeline.nodes["raw"], project.pipeline.nodes["a"]
    a.inputs[0].kind = None  # the input says nothing: its source decides
    raw.params["kind"] = "file"
    assert _plan(project).steps["a"].inputs[0].kind == "file"
    raw.params.pop("kind")
    assert _plan(project).steps["a"].inputs[0].kind == "tabular"
    raw.params["kind"] = None
    assert _plan(project).steps["a"].inputs[0].kind == "tabular"
    a.inputs[0].kind = "file"  # a tabular source read as files
    assert _plan(project).steps["a"].inputs[0].kind == "file"
