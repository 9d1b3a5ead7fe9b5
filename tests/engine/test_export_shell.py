"""Shell export: the script runs under a plain POSIX sh and gives the same outputs as a
Pipeloom run of the same pipeline (compared by sorted content: part-file names differ)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
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

SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"


def _run_script(script: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHON": sys.executable, **env}
    return subprocess.run(
        ["sh", str(script)], env=environment, capture_output=True, text=True, timeout=900
    )


def test_script_is_valid_posix_sh_and_reads_top_down(tmp_path: Path):
    result = export(load(fan_project(tmp_path / "p")), "shell", tmp_path / "out")
    text = result.main_file.read_text()
    assert text.startswith("#!/bin/sh\n") and "\nset -eu\n" in text
    assert os.access(result.main_file, os.X_OK)
    assert subprocess.run(["sh", "-n", str(result.main_file)]).returncode == 0
    # steps in topological order, each announced
    positions = [
        text.index(f"# -- step {i}/3: {n} ")
        for i, n in enumerate(["split", "left-clean", "merge"], 1)
    ]
    assert positions == sorted(positions)
    assert (result.out_dir / "requirements-tools.txt").read_text() == "numpy>=1.26\n"


def test_script_steps_match_a_pipeloom_run(tmp_path: Path):
    path = fan_project(tmp_path / "project")
    result = export(load(path), "shell", tmp_path / "out")
    assert (result.out_dir / "pipeloom_step" / "engine" / "step.py").is_file()
    # a Python without Pipeloom: the steps' `from engine.step import context` uses the copy
    done = _run_script(result.main_file, PYTHON=python_without_pipeloom())
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = result.out_dir / "outputs"
    expected = pipeloom_outputs(path)
    for step, ports in expected.items():
        for port, folder in ports.items():
            assert text_content(outputs / step / port) == text_content(folder), (step, port)
    assert text_content(outputs / "datastore" / "published" / "left") == text_content(
        expected["split"]["left"]
    )
    context = json.loads((outputs / ".contexts" / "merge.json").read_text())
    assert context["parameters"] == {"factor": 1.5}
    assert context["inputs"]["docs"]["path"] == str(tmp_path / "project" / "data" / "docs")
    assert context["inputs"]["docs"]["is_folder"] is True
    # the steps read private copies of their download inputs, deleted once they ran
    assert context["inputs"]["cleaned"]["path"] == str(outputs / ".work/merge/inputs/cleaned")
    assert not (outputs / ".work" / "merge" / "inputs" / "cleaned").exists()


def test_stops_at_the_first_failing_step(tmp_path: Path):
    failing = FAN_PIPELINE.replace('"{parameters.label}"]', '"{parameters.label}", --fail]')
    path = fan_project(tmp_path / "project", failing)
    result = export(load(path), "shell", tmp_path / "out")
    done = _run_script(result.main_file)
    assert done.returncode != 0
    assert "failing on purpose" in done.stderr
    outputs = result.out_dir / "outputs"
    assert (outputs / "split" / "left").is_dir()
    assert not (outputs / "left-clean" / "cleaned").exists()
    assert not (outputs / "merge").exists() and "step 3/3" not in done.stderr


def test_odd_folder_names_and_settings_from_the_environment(tmp_path: Path):
    project = tmp_path / 'it\'s a "project" $HOME'
    path = fan_project(project)
    result = export(load(path), "shell", tmp_path / "export dir")
    elsewhere = tmp_path / "run $1 here"
    done = _run_script(result.main_file, OUTPUT_DIR=str(elsewhere), PARAM_LABEL="bye now")
    assert done.returncode == 0, done.stderr[-3000:]
    merged = text_content(elsewhere / "merge" / "merged")
    assert "left-clean label=bye now factor=2.0" in merged
    assert "docs/readme.txt: some notes" in merged
    context = json.loads((elsewhere / ".contexts" / "split.json").read_text())
    assert context["inputs"]["raw"]["path"] == str(project / "data" / "raw.csv")


@pytest.mark.spark
@pytest.mark.slow
def test_titanic_shell_export_matches_a_pipeloom_run(tmp_path: Path, spark_connect_server):
    path = titanic_project(tmp_path)
    result = export(load(path), "shell", tmp_path / "out")
    done = _run_script(
        result.main_file, SPARK_SUBMIT=str(SPARK_SUBMIT), PYSPARK_PYTHON=sys.executable
    )
    assert done.returncode == 0, done.stderr[-5000:]
    outputs = result.out_dir / "outputs"
    expected = pipeloom_outputs(path)

    def rows(folder: Path) -> pd.DataFrame:
        frame = pd.read_parquet(folder)
        return frame.sort_values(list(frame.columns)).reset_index(drop=True)

    prepared = rows(outputs / "dataprep" / "output_dir")
    assert len(prepared) > 0
    pd.testing.assert_frame_equal(prepared, rows(expected["dataprep"]["output_dir"]))
    pd.testing.assert_frame_equal(rows(outputs / "datastore" / "test"), prepared)
    model = json.loads((outputs / "train" / "model" / "model.json").read_text())
    assert model == json.loads((expected["train"]["model"] / "model.json").read_text())
    shutil.rmtree(outputs)  # parquet outputs are large-ish; tmp_path is kept for a while


def test_registered_dataset_path_is_asked_for_at_run_time(tmp_path: Path):
    text = FAN_PIPELINE.replace("    path: data/raw.csv\n", "    from: dataset:raw_table@2\n")
    path = fan_project(tmp_path / "project", text)
    result = export(load(path), "shell", tmp_path / "out")
    assert any(w.node == "raw" and "DATASET_RAW_TABLE" in w.message for w in result.warnings)
    missing = _run_script(result.main_file)
    assert missing.returncode != 0 and "set DATASET_RAW_TABLE" in missing.stderr
    assert not (result.out_dir / "outputs" / "split").exists()
    # registered datasets are folders (a run's output)
    done = _run_script(result.main_file, DATASET_RAW_TABLE=str(tmp_path / "project/data/docs"))
    assert done.returncode == 0, done.stderr[-3000:]
    merged = text_content(result.out_dir / "outputs" / "merge" / "merged")
    assert "raw/readme.txt: some notes" in merged


def test_spark_connect_compute_runs_the_script_with_spark_remote(tmp_path: Path):
    path = titanic_project(tmp_path)
    path.write_text(
        path.read_text().replace('master: "local[*]"', 'master: "sc://spark-host:15002"')
    )
    result = export(load(path), "shell", tmp_path / "out")
    text = result.main_file.read_text()
    assert 'SPARK_REMOTE=sc://spark-host:15002 "$PYTHON" \\\n    dataprep.py' in text
    assert "$SPARK_SUBMIT" not in text
    dropped = [w for w in result.warnings if w.node == "dataprep" and w.field == "spark"]
    assert dropped and "spark.driver.memory" in dropped[0].message


def test_export_section_sets_masters_and_unknown_settings_are_reported(tmp_path: Path):
    path = titanic_project(tmp_path)
    text = path.read_text().replace(
        "  airflow: {spark_conn_id: spark_default}",
        "  airflow: {spark_conn_id: spark_default}\n"
        '  shell: {computes: {link1-spark01: "local[2]", gone: x}, master: yarn}',
    )
    path.write_text(text)
    result = export(load(path), "shell", tmp_path / "out")
    assert "--master 'local[2]'" in result.main_file.read_text()
    said = {(w.field, w.message) for w in result.warnings}
    assert ("export.shell.master", "unknown setting, ignored (known: computes)") in said
    assert ("export.shell.computes.gone", "no such compute") in said
    overridden = export(load(path), "shell", tmp_path / "out2", computes={"link1-spark01": "yarn"})
    assert "--master yarn" in overridden.main_file.read_text()
