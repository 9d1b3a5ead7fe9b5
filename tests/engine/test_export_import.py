"""Import of Azure ML v2 pipeline jobs, and export -> import keeping the graph."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_projects import fan_project, load, titanic_project

from engine.cli import main
from engine.export import export, import_azureml
from engine.fileformat import yamlio
from engine.pipeline.model import Ref
from engine.planning.validate import validate


def _graph(pipeline) -> dict:
    """What the graph is: nodes with their types and ports, and every wire."""
    nodes = {}
    for node in pipeline.nodes.values():
        nodes[node.name.replace("-", "_")] = (
            node.type,
            sorted(p.name for p in node.inputs),
            sorted((p.name, p.register_as, p.destination) for p in node.outputs),
        )
    wires = set()
    for edge in pipeline.edges():
        src, out = pipeline.resolve_output(Ref(edge.source, edge.source_output))
        wires.add(
            (src.name.replace("-", "_"), out, edge.target.replace("-", "_"), edge.target_input)
        )
    return {"nodes": nodes, "wires": wires}


def _steps_settings(pipeline) -> dict:
    keys = ("arguments", "allow_reuse", "file", "script", "spark.driver_memory", "spark.conf")
    return {
        n.name.replace("-", "_"): {k: n.params.get(k) for k in keys}
        for n in pipeline.nodes.values()
        if n.type != "dataset"
    }


@pytest.mark.parametrize("project", ["titanic", "fan"])
def test_export_then_import_keeps_the_graph(tmp_path: Path, project: str):
    path = titanic_project(tmp_path) if project == "titanic" else fan_project(tmp_path / "fan")
    original = load(path)
    result = export(original, "azureml", path.parent / "export")
    warnings: list = []
    imported = import_azureml(
        result.main_file, target=path.parent / "imported.yaml", warnings=warnings
    )

    assert _graph(imported) == _graph(original)
    assert _steps_settings(imported) == _steps_settings(original)
    assert imported.parameters == original.parameters
    for name, node in original.nodes.items():
        if node.type == "dataset":  # paths come back relative to the new file, as they were
            assert imported.nodes[name].params["path"] == node.params["path"]
        else:  # the code is the exported copy, which exists
            copy = path.parent / imported.nodes[name.replace("-", "_")].params["source_directory"]
            assert (copy / (node.params.get("file") or node.params["script"])).is_file()
    assert [p for p in validate(imported) if p.is_error] == []
    # and it saves as a Pipeloom file that loads back the same
    yamlio.save(imported, path.parent / "imported.yaml")
    assert yamlio.load(path.parent / "imported.yaml") == imported


AZURE_JOB = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: Sales report
description: written by hand, as in the Azure ML docs
settings:
  default_compute: azureml:cpu-cluster
  force_rerun: true
inputs:
  sales: {type: uri_folder, path: azureml:sales_data:3}
  customers: {type: mltable, path: ./data/customers}
  threshold: 0.25
  region: {type: string, default: emea}
jobs:
  clean:
    type: spark
    code: ./src
    entry: {file: clean.py}
    py_files: [helpers.zip]
    conf:
      spark.driver.cores: 2
      spark.driver.memory: 4g
      spark.executor.cores: 2
      spark.executor.memory: 4g
      spark.executor.instances: 3
      spark.sql.adaptive.enabled: "true"
    inputs:
      sales: {path: "${{parent.inputs.sales}}", mode: direct}
      cut: ${{parent.inputs.threshold}}
    outputs:
      cleaned: {type: uri_folder, mode: direct, path: "azureml://datastores/lake/paths/reports/clean"}
    args: --in ${{inputs.sales}} --cut ${{inputs.cut}} --out ${{outputs.cleaned}}
    resources: {instance_type: standard_e8s_v3, runtime_version: "3.4"}
  report:
    type: command
    code: ./src
    command: python -u report.py --data ${{inputs.data}} --who ${{inputs.who}} --region ${{inputs.region}} --top 5 --out ${{outputs.report}}
    environment:
      image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04
      conda_file: ./env.yml
    environment_variables: {LOG_LEVEL: debug}
    inputs:
      data: {path: "${{parent.jobs.clean.outputs.cleaned}}", mode: ro_mount}
      who: {path: "${{parent.inputs.customers}}", mode: download}
      region: ${{parent.inputs.region}}
    outputs:
      report: {type: uri_folder, name: weekly_report}
  notify:
    type: command
    command: echo done
    compute: azureml:cpu-cluster
"""


def test_import_a_hand_written_azure_ml_pipeline(tmp_path: Path):
    source = tmp_path / "azure"
    (source / "src").mkdir(parents=True)
    (source / "src" / "clean.py").write_text("print('clean')\n")
    (source / "src" / "report.py").write_text("print('report')\n")
    (source / "src" / "helpers.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    (source / "env.yml").write_text(
        "name: reporting\ndependencies:\n  - python=3.11\n  - pip\n  - pip: [pandas>=2.2, jinja2]\n"
    )
    (source / "pipeline.yml").write_text(AZURE_JOB)
    target = tmp_path / "project" / "pipeline.yaml"
    target.parent.mkdir()
    warnings: list = []
    p = import_azureml(source / "pipeline.yml", target=target, warnings=warnings)

    assert p.name == "Sales_report" and p.description.startswith("written by hand")
    assert list(p.nodes) == ["sales", "customers", "clean", "report"]  # notify: not Python
    assert p.nodes["sales"].params["from"] == "dataset:sales_data@3"
    # outside the new project folder: absolute (relative paths never leave a project)
    assert p.nodes["customers"].params["path"] == str(source / "data" / "customers")
    assert p.parameters["threshold"].default == 0.25 and p.parameters["threshold"].type == "number"
    assert p.parameters["region"].default == "emea"

    clean = p.nodes["clean"]
    assert clean.type == "spark-step" and clean.params["file"] == "clean.py"
    assert clean.params["source_directory"] == str(source / "src")
    assert clean.params["py_files"] == ["helpers.zip"]
    assert clean.params["spark.driver_memory"] == "4g" and clean.params["spark.num_executors"] == 3
    assert clean.params["spark.conf"] == {"spark.sql.adaptive.enabled": "true"}
    assert clean.params["arguments"] == [
        "--in",
        "{inputs.sales}",
        "--cut",
        "{parameters.threshold}",
        "--out",
        "{outputs.cleaned}",
    ]
    assert [(i.name, str(i.source)) for i in clean.inputs] == [("sales", "sales")]
    assert clean.outputs[0].destination == "reports/clean"
    assert p.computes[clean.params["compute"]].type == "spark"
    assert p.export["azureml"]["computes"][clean.params["compute"]] == {
        "instance_type": "standard_e8s_v3",
        "runtime_version": "3.4",
    }

    report = p.nodes["report"]
    assert report.type == "script-step" and report.params["script"] == "report.py"
    assert report.params["compute"] == "cpu-cluster"
    assert report.params["arguments"] == [
        "--data",
        "{inputs.data}",
        "--who",
        "{inputs.who}",
        "--region",
        "{parameters.region}",
        "--top",
        "5",
        "--out",
        "{outputs.report}",
    ]
    assert [(i.name, str(i.source), i.mode) for i in report.inputs] == [
        ("data", "clean.cleaned", "mount"),
        ("who", "customers", "download"),
    ]
    assert report.outputs[0].register_as == "weekly_report"
    assert p.environments[report.params["environment"]].pip == ["pandas>=2.2", "jinja2"]

    said = {(w.node, w.field) for w in warnings}
    assert ("notify", "command") in said  # not a Python script: reported, not dropped silently
    assert ("report", "environment_variables") in said
    assert (None, "settings.force_rerun") in said
    assert [p.format() for p in validate(p) if p.is_error] == []


def test_cli_export_and_import(tmp_path: Path, capsys):
    path = fan_project(tmp_path / "fan")
    out = tmp_path / "aml"
    assert main(["export", str(path), "--to", "azureml", "-o", str(out), "--force-rerun"]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out / 'pipeline.yml'}" in captured.out
    assert "warning: renamed to 'left_clean'" in captured.err
    assert main(["export", str(path), "--to", "azureml", "-o", str(out), "--strict"]) == 2
    assert main(["export", str(path), "--to", "shell", "-o", str(out), "--compute", "nope=x"]) == 2
    assert "no compute named nope" in capsys.readouterr().err
    target = tmp_path / "fan" / "back.yaml"
    assert main(["import", str(out / "pipeline.yml"), "-o", str(target)]) == 0
    assert set(yamlio.load(target).nodes) == {"raw", "docs", "split", "left_clean", "merge"}
    assert main(["import", str(out / "pipeline.yml"), "-o", str(target)]) == 2  # exists
