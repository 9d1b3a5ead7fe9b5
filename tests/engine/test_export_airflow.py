"""Airflow export: the DAG file is loaded by Airflow itself (3.x and 2.x, each with the Apache
Spark provider, in cached venvs of their own) and checked task by task; a script-step DAG is
run with dag.test() and its outputs compared with a Pipeloom run of the same pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
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

EXPORT_ENV = Path(__file__).resolve().parents[1] / "export_env"
sys.path.insert(0, str(EXPORT_ENV))
import airflow_venv  # noqa: E402


@pytest.fixture(scope="module", params=["3", "2"], ids=["airflow3", "airflow2"])
def airflow_python(request) -> Path:
    """Airflow 3.x and 2.x (the DAG file supports 2.9+ and 3.x), each in its cached venv."""
    return airflow_venv.airflow_python(request.param)


def _airflow_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False", **extra)
    return env


def _inspect(airflow_python: Path, dag_file: Path, home: Path) -> dict:
    done = subprocess.run(
        [str(airflow_python), str(EXPORT_ENV / "inspect_dag.py"), str(dag_file)],
        env=_airflow_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_titanic_dag_loads_in_airflow_with_its_tasks(tmp_path: Path, airflow_python: Path):
    pipeline = load(titanic_project(tmp_path))
    result = export(pipeline, "airflow", tmp_path / "dags")
    loaded = _inspect(airflow_python, result.main_file, tmp_path / "home")

    assert loaded["import_errors"] == {}
    dag = loaded["dags"]["titanic"]
    assert dag["schedule"] == "None" and dag["max_active_runs"] == 1
    assert dag["params"]["code_dir"] == str(result.out_dir)
    assert dag["params"]["project_dir"] == str(tmp_path / "titanic")
    assert dag["params"]["sample_fraction"] == 1.0
    prep, train = dag["tasks"]["dataprep"], dag["tasks"]["train"]

    assert prep["operator"] == "SparkSubmitOperator" and prep["upstream"] == []
    assert prep["conn_id"] == "spark_default"
    assert prep["application"] == "{{ params.code_dir }}/code/dataprep.py"
    assert (result.out_dir / "code" / "dataprep.py").is_file()
    assert prep["application_args"] == [
        "--tabular_input",
        "{{ params.project_dir }}/data/Titanic.csv",
        "--file_input",
        "{{ params.project_dir }}/data/Titanic.csv",
        "--output_dir",
        "{{ params.output_dir }}/dataprep/output_dir",
        "--fraction",
        "{{ params.sample_fraction }}",
    ]
    spark = pipeline.nodes["dataprep"].params
    assert prep["driver_memory"] == spark["spark.driver_memory"]
    assert prep["conf"]["spark.driver.cores"] == str(spark["spark.driver_cores"])
    assert prep["conf"]["spark.sql.shuffle.partitions"] == "4"
    assert prep["env_vars"] == {
        "PIPELOOM_STEP_CONTEXT": "{{ params.output_dir }}/.contexts/dataprep.json"
    }
    assert (prep["pre_execute"], prep["post_execute"]) == ("prepare_step", "publish_outputs")

    assert train["operator"] == "BashOperator" and train["upstream"] == ["dataprep"]
    assert train["bash_command"].startswith("cd '{{ params.code_dir | squote }}/code' && ")
    assert (
        "train.py '{{ params.output_dir | squote }}/.work/train/inputs/step2_input'"
        in train["bash_command"]
    )
    assert train["env"] == {"PIPELOOM_STEP_CONTEXT": "{{ params.output_dir }}/.contexts/train.json"}
    # no destination, but a download input: post_execute removes its private copy
    assert (train["pre_execute"], train["post_execute"]) == ("prepare_step", "publish_outputs")


def test_connection_ids_come_from_the_file_or_the_command_line(
    tmp_path: Path, airflow_python: Path
):
    pipeline = load(titanic_project(tmp_path))
    result = export(
        pipeline, "airflow", tmp_path / "dags", computes={"link1-spark01": "spark_yarn"}
    )
    loaded = _inspect(airflow_python, result.main_file, tmp_path / "home")
    assert loaded["dags"]["titanic"]["tasks"]["dataprep"]["conn_id"] == "spark_yarn"
    assert any("connection 'spark_yarn'" in w.message for w in result.warnings)


def test_script_dag_runs_in_airflow_like_a_pipeloom_run(tmp_path: Path, airflow_python: Path):
    path = fan_project(tmp_path / "project")
    result = export(load(path), "airflow", tmp_path / "dags")
    home = tmp_path / "home"
    env = _airflow_env(home, AIRFLOW__CORE__DAGS_FOLDER=str(result.out_dir))
    migrate = subprocess.run(
        [str(airflow_python), "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    conf = {"python": python_without_pipeloom()}  # steps import the helper the export ships
    ran = subprocess.run(
        [
            str(airflow_python),
            str(EXPORT_ENV / "run_dag.py"),
            str(result.main_file),
            json.dumps(conf),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    line = next((x for x in ran.stdout.splitlines() if x.startswith("PIPELOOM-RESULT ")), None)
    assert line, ran.stdout[-3000:] + ran.stderr[-3000:]
    outcome = json.loads(line.removeprefix("PIPELOOM-RESULT "))
    assert outcome == {
        "state": "success",
        "tasks": {"split": "success", "left-clean": "success", "merge": "success"},
    }, ran.stdout[-5000:]

    outputs = result.out_dir / "outputs"
    context = json.loads((outputs / ".contexts" / "merge.json").read_text())
    assert context["run_id"].startswith("manual__")  # written at run time by pre_execute
    assert context["inputs"]["cleaned"]["path"] == str(outputs / ".work/merge/inputs/cleaned")
    assert not (outputs / ".work/merge/inputs/cleaned").exists()  # removed once merge ran
    assert context["parameters"] == {"factor": 1.5}
    expected = pipeloom_outputs(path)
    for step, ports in expected.items():
        for port, folder in ports.items():
            assert text_content(outputs / step / port) == text_content(folder), (step, port)
    published = outputs / "datastore" / "published" / "left"
    assert text_content(published) == text_content(expected["split"]["left"])


def test_registered_dataset_becomes_a_required_dag_param(tmp_path: Path, airflow_python: Path):
    text = FAN_PIPELINE.replace("    path: data/raw.csv\n", "    from: dataset:raw_table@2\n")
    result = export(load(fan_project(tmp_path / "p", text)), "airflow", tmp_path / "dags")
    loaded = _inspect(airflow_python, result.main_file, tmp_path / "home")
    assert loaded["import_errors"] == {}
    dag = loaded["dags"]["fan"]
    assert dag["params"]["dataset_raw_table"] == ""  # prepare_step refuses to run without it
    split = dag["tasks"]["split"]
    assert "'{{ params.dataset_raw_table | squote }}'" in split["bash_command"]
    assert "REQUIRED_PARAMS = {'dataset_raw_table': 'path of registered dataset raw_table@2'}" in (
        result.main_file.read_text()
    )
