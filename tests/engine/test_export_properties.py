"""Random valid pipelines: every export is written without error, the Azure ML one passes
azure-ai-ml's validation, the sh script parses, and export -> import keeps the graph."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest
from azure.ai.ml import load_job
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.export import export, import_azureml
from engine.pipeline.model import Compute, InputPort, Node, OutputPort, Parameter, Pipeline, Ref
from engine.planning.validate import validate

pytestmark = pytest.mark.filterwarnings("ignore")  # azure-ai-ml's own deprecation noise

NAMES = ["prep", "clean-up", "join_all", "train", "score-2", "report", "merge", "split-it"]
_counter = itertools.count()


@st.composite
def pipelines(draw) -> Pipeline:
    p = Pipeline("random")
    p.computes = {
        "spark": Compute("spark", "spark", master="local[*]"),
        "cpus": Compute("cpus", "cpu-pool", workers=2),
    }
    p.export = {"azureml": {"computes": {"spark": {"instance_type": "standard_e4s_v3"}}}}
    if draw(st.booleans()):
        p.parameters["rate"] = Parameter("rate", "number", draw(st.sampled_from([0.5, 2])))
    sources: list[tuple[str, str | None]] = []
    for i in range(draw(st.integers(1, 2))):
        name = f"data{i}"
        is_file = draw(st.booleans())
        p.nodes[name] = Node(name, "dataset", {"path": "data/t.csv" if is_file else "data/d"})
        sources.append((name, None))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    for name in names:
        spark = draw(st.booleans())
        node = Node(name, "spark-step" if spark else "script-step", {"source_directory": "code"})
        node.params["file" if spark else "script"] = "step.py"
        node.params["compute"] = "spark" if spark else "cpus"
        if not spark and draw(st.booleans()):
            node.params["allow_reuse"] = False
        args: list[str] = []
        picked = draw(st.lists(st.sampled_from(sources), min_size=1, max_size=3, unique=True))
        for j, (src, out) in enumerate(picked):
            mode = "direct" if spark else draw(st.sampled_from(["download", "mount", "direct"]))
            node.inputs.append(InputPort(f"in{j}", Ref(src, out), mode=mode))
            args += ["--in", f"{{inputs.in{j}}}"]
        for k in range(draw(st.integers(1, 2))):
            dest = f"pub/{name}{k}" if draw(st.booleans()) else None
            node.outputs.append(OutputPort(f"out{k}", destination=dest))
            args += ["--out", f"{{outputs.out{k}}}"]
            sources.append((name, f"out{k}"))
        if p.parameters and draw(st.booleans()):
            args.append("--rate={parameters.rate}")
        node.params["arguments"] = args
        p.nodes[name] = node
    return p


def _graph(p: Pipeline) -> set:
    def n(name: str) -> str:
        return name.replace("-", "_")

    wires = set()
    for e in p.edges():
        src, out = p.resolve_output(Ref(e.source, e.source_output))
        wires.add((n(src.name), out, n(e.target), e.target_input))
    nodes = {(n(x.name), x.type, tuple(o.name for o in x.outputs)) for x in p.nodes.values()}
    return {"wires": frozenset(wires), "nodes": frozenset(nodes)}.items()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("random-project")
    (root / "code").mkdir()
    (root / "code" / "step.py").write_text("print('step')\n")
    (root / "data" / "d").mkdir(parents=True)
    (root / "data" / "t.csv").write_text("a,b\n1,2\n")
    (root / "data" / "d" / "part.csv").write_text("a,b\n1,2\n")
    return root


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pipeline=pipelines())
def test_random_pipelines_export_and_come_back(project: Path, pipeline: Pipeline):
    pipeline.path = str(project / "pipeline.yaml")
    assert [x.format() for x in validate(pipeline) if x.is_error] == []
    out = project / "exports" / str(next(_counter))

    azure = export(pipeline, "azureml", out / "azureml")
    outcome = load_job(str(azure.main_file))._validate()
    assert outcome.passed, outcome.error_messages
    imported = import_azureml(azure.main_file, target=project / "imported.yaml")
    assert dict(_graph(imported)) == dict(_graph(pipeline))
    assert [x.format() for x in validate(imported) if x.is_error] == []

    shell = export(pipeline, "shell", out / "shell")
    assert subprocess.run(["sh", "-n", str(shell.main_file)]).returncode == 0
    airflow = export(pipeline, "airflow", out / "airflow")
    compile(airflow.main_file.read_text(), str(airflow.main_file), "exec")
