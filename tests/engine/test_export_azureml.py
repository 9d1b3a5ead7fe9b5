"""Azure ML v2 export: each file is loaded by azure-ai-ml's own load_job and passes its
client-side validation (no workspace, no network); the wiring is what the pipeline says."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from azure.ai.ml import load_job
from export_projects import (
    FAN_PIPELINE,
    fan_project,
    load,
    pipeloom_outputs,
    python_without_pipeloom,
    text_content,
    titanic_project,
)

from engine.export import export
from engine.problems import PipelineError

# azure-ai-ml and marshmallow warn about their own internals on every load
pytestmark = pytest.mark.filterwarnings("ignore")


def _load_and_validate(path: Path):
    job = load_job(str(path))
    result = job._validate()
    assert result.passed, result.error_messages
    return job


def _binding(node_input) -> tuple[str, str | None]:
    """(path, mode) of a job's input as written: a bare binding or {path, mode}."""
    data = node_input._data
    if isinstance(data, str):
        return data, None
    return data.path, data.mode


def test_titanic_export_loads_validates_and_keeps_the_wiring(tmp_path: Path):
    pipeline = load(titanic_project(tmp_path))
    result = export(pipeline, "azureml", tmp_path / "out")
    job = _load_and_validate(result.main_file)

    assert job.type == "pipeline" and set(job.jobs) == {"dataprep", "train"}
    titanic = job.inputs["titanic"]._data
    assert titanic.type == "uri_file"
    assert (result.main_file.parent / titanic.path).resolve() == (
        tmp_path / "titanic" / "data" / "Titanic.csv"
    )
    assert job.inputs["sample_fraction"]._data == 1.0

    prep = job.jobs["dataprep"]
    assert type(prep).__name__ == "Spark"
    assert _binding(prep.inputs["tabular_input"]) == ("${{parent.inputs.titanic}}", "direct")
    assert _binding(prep.inputs["file_input"]) == ("${{parent.inputs.titanic}}", "direct")
    assert _binding(prep.inputs["sample_fraction"])[0] == "${{parent.inputs.sample_fraction}}"
    assert prep.entry.entry == "dataprep.py"
    assert (result.out_dir / prep.code / "dataprep.py").is_file()
    assert prep.args.split() == [
        "--tabular_input",
        "${{inputs.tabular_input}}",
        "--file_input",
        "${{inputs.file_input}}",
        "--output_dir",
        "${{outputs.output_dir}}",
        "--fraction",
        "${{inputs.sample_fraction}}",
    ]
    spark = pipeline.nodes["dataprep"].params
    assert prep.driver_memory == spark["spark.driver_memory"]
    assert prep.driver_cores == spark["spark.driver_cores"]
    assert prep.conf["spark.sql.shuffle.partitions"] == 4
    assert prep.resources.instance_type == "standard_e4s_v3"
    assert str(prep.resources.runtime_version) == "3.4"
    out = prep.outputs["output_dir"]._data
    assert (out.type, out.mode, out.name) == ("uri_folder", "direct", "registered_dataset")
    assert out.path == "azureml://datastores/workspaceblobstore/paths/test"

    train = job.jobs["train"]
    assert type(train).__name__ == "Command"
    assert _binding(train.inputs["step2_input"]) == (
        "${{parent.jobs.dataprep.outputs.output_dir}}",
        "download",
    )
    assert train.compute.removeprefix("azureml:") == "cpucluster"
    # allow_reuse: false -> an inline component that is not deterministic
    assert train.component.is_deterministic is False
    assert train.component.command.startswith("python train.py ${{inputs.step2_input}}")
    written = yaml.safe_load(result.main_file.read_text())["jobs"]["train"]["component"]
    conda_file = result.out_dir / written["environment"]["conda_file"]
    assert train.component.environment.conda_file == yaml.safe_load(conda_file.read_text())
    pip = next(
        d["pip"]
        for d in train.component.environment.conda_file["dependencies"]
        if isinstance(d, dict)
    )
    assert pip == pipeline.environments["trainenv"].pip
    assert job.settings.force_rerun is None


def test_force_rerun_and_compute_options(tmp_path: Path):
    pipeline = load(titanic_project(tmp_path))
    result = export(
        pipeline,
        "azureml",
        tmp_path / "out",
        force_rerun=True,
        computes={"cpucluster": "gpu-cluster", "link1-spark01": "standard_e8s_v3@3.3"},
    )
    job = _load_and_validate(result.main_file)
    assert job.settings.force_rerun is True
    assert job.jobs["train"].compute.removeprefix("azureml:") == "gpu-cluster"
    assert job.jobs["dataprep"].resources.instance_type == "standard_e8s_v3"
    assert str(job.jobs["dataprep"].resources.runtime_version) == "3.3"


def test_script_steps_modes_names_parameters_and_warnings(tmp_path: Path):
    pipeline = load(fan_project(tmp_path))
    result = export(pipeline, "azureml", tmp_path / "out")
    job = _load_and_validate(result.main_file)

    assert set(job.jobs) == {"split", "left_clean", "merge"}  # Azure ML names: no dashes
    assert job.inputs["raw"]._data.type == "uri_file"
    assert job.inputs["docs"]._data.type == "uri_folder"
    assert job.inputs["label"]._data == "hello" and job.inputs["factor"]._data == 1.5
    split, clean, merge = (job.jobs[n] for n in ("split", "left_clean", "merge"))
    assert _binding(split.inputs["raw"]) == ("${{parent.inputs.raw}}", "ro_mount")
    assert _binding(clean.inputs["left"]) == ("${{parent.jobs.split.outputs.left}}", "download")
    assert _binding(merge.inputs["cleaned"]) == (
        "${{parent.jobs.left_clean.outputs.cleaned}}",
        "download",
    )
    assert _binding(merge.inputs["right"]) == ("${{parent.jobs.split.outputs.right}}", "direct")
    assert _binding(merge.inputs["docs"]) == ("${{parent.inputs.docs}}", "ro_mount")
    assert _binding(merge.inputs["factor"])[0] == "${{parent.inputs.factor}}"
    assert "--factor=${{inputs.factor}}" in merge.component.command
    assert "--param factor=${{inputs.factor}} --" in merge.component.command  # step context
    assert "--label ${{inputs.label}}" in clean.command
    assert split.outputs["left"]._data.path.endswith("/paths/published/left")
    assert split.outputs["right"]._data.name == "right_side"
    assert merge.component.is_deterministic is False
    assert clean.component is None or getattr(clean.component, "is_deterministic", True)

    said = {(w.node, w.field): w.message for w in result.warnings}
    assert "left_clean" in said[("left-clean", "name")]
    assert "export.azureml.computes" in said[(None, "computes.cpus")]
    assert "default" in said[("split", "environment")]  # command jobs need an environment
    assert (result.out_dir / "environments" / "default.conda.yml").is_file()


def test_spark_step_without_reuse_is_a_non_deterministic_spark_component(tmp_path: Path):
    path = titanic_project(tmp_path)
    extra = "    allow_reuse: false\n    environment: trainenv\n"
    path.write_text(
        path.read_text().replace("    file: dataprep.py\n", "    file: dataprep.py\n" + extra)
    )
    pipeline = load(path)
    assert pipeline.nodes["dataprep"].params["allow_reuse"] is False
    main_file = export(pipeline, "azureml", tmp_path / "out").main_file
    job = _load_and_validate(main_file)
    prep = job.jobs["dataprep"]
    assert type(prep).__name__ == "Spark" and prep.component.is_deterministic is False
    assert prep.component.entry.entry == "dataprep.py"
    # Spark pools bring their own runtime: a conda file, no image (Azure warns about images)
    written = yaml.safe_load(main_file.read_text())["jobs"]["dataprep"]["component"]
    assert set(written["environment"]) == {"conda_file"}
    assert prep.component.environment.conda_file["dependencies"][-1]["pip"][0].startswith("numpy")


def test_client_side_validation_catches_a_broken_export(tmp_path: Path):
    """The check above is real: an export whose Spark entry file is gone fails validation."""
    pipeline = load(titanic_project(tmp_path))
    result = export(pipeline, "azureml", tmp_path / "out")
    (result.out_dir / "code" / "dataprep.py").unlink()
    outcome = load_job(str(result.main_file))._validate()
    assert not outcome.passed
    assert any("dataprep.py" in message for message in outcome.error_messages.values())


def test_a_pipeline_with_errors_is_not_exported(tmp_path: Path):
    path = fan_project(tmp_path, FAN_PIPELINE.replace("{from: split.right,", "{from: split.nope,"))
    with pytest.raises(PipelineError) as caught:
        export(load(path), "azureml", tmp_path / "out")
    assert any(p.node == "merge" for p in caught.value.problems)
    assert not (tmp_path / "out" / "pipeline.yml").exists()


def test_compute_conf_and_descriptions_are_carried(tmp_path: Path):
    path = titanic_project(tmp_path)
    text = path.read_text().replace(
        'master: "local[*]"}', 'master: "local[*]", conf: {spark.sql.ansi.enabled: "false"}}'
    )
    text = text.replace(
        "    file: dataprep.py\n", "    file: dataprep.py\n    description: clean it\n"
    )
    path.write_text(text)
    pipeline = load(path)
    job = _load_and_validate(export(pipeline, "azureml", tmp_path / "out").main_file)
    assert job.jobs["dataprep"].conf["spark.sql.ansi.enabled"] == "false"
    assert job.jobs["dataprep"].description == "clean it"
    shell = export(pipeline, "shell", tmp_path / "sh").main_file.read_text()
    assert "# clean it\n" in shell and "--conf spark.sql.ansi.enabled=false" in shell
    dag = export(pipeline, "airflow", tmp_path / "af").main_file.read_text()
    assert "doc_md='clean it'," in dag and "'spark.sql.ansi.enabled': 'false'" in dag


def _run_like_azure_ml(main_file: Path, outputs: Path, python: str) -> None:
    """Run each command job of an export locally, the way Azure ML would: bindings resolved to
    paths, ${{inputs.X}} / ${{outputs.Y}} expanded in the command, run in the code folder."""
    doc = yaml.safe_load(main_file.read_text())
    parent = {}
    for name, spec in doc["inputs"].items():
        parent[name] = str(main_file.parent / spec["path"]) if isinstance(spec, dict) else spec
    for job_name, job in doc["jobs"].items():  # written in topological order
        body = {**job, **(job.get("component") or {})}
        values = {}
        for name, binding in (job.get("inputs") or {}).items():
            ref = binding["path"] if isinstance(binding, dict) else binding
            _, scope, *rest = ref.strip("${}").split(".")
            values[f"inputs.{name}"] = (
                str(parent[rest[0]]) if scope == "inputs" else str(outputs / rest[0] / rest[2])
            )
        for name in job.get("outputs") or {}:
            values[f"outputs.{name}"] = str(outputs / job_name / name)
        command = re.sub(
            r"\$\{\{(\w+\.\w+)\}\}", lambda m, v=values: v[m.group(1)], body["command"]
        )
        tokens = shlex.split(command)
        assert tokens[0] == "python"
        done = subprocess.run(
            [python, *tokens[1:]],
            cwd=main_file.parent / body["code"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (job_name, command, done.stderr[-3000:])


def test_steps_using_the_step_helper_get_their_context_on_azure_ml(tmp_path: Path):
    path = fan_project(tmp_path / "project")
    result = export(load(path), "azureml", tmp_path / "out")
    job = _load_and_validate(result.main_file)
    assert job.jobs["split"].command.startswith(
        "python pipeloom_step/launch.py --spec pipeloom_step/split.json --input raw=${{inputs.raw}}"
    )
    assert (result.out_dir / "code" / "pipeloom_step" / "engine" / "step.py").is_file()
    outputs = tmp_path / "azure-outputs"
    _run_like_azure_ml(result.main_file, outputs, python_without_pipeloom())
    expected = pipeloom_outputs(path)
    for step, ports in expected.items():
        for port, folder in ports.items():
            produced = outputs / step.replace("-", "_") / port
            assert text_content(produced) == text_content(folder), (step, port)
