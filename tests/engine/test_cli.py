"""The `pipeloom` CLI: validate and show on real files, exit codes, messages, import weight."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import cli

REPO = Path(__file__).resolve().parent.parent.parent
TITANIC = REPO / "projects" / "titanic"


def pipeloom(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("pipeloom")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]
    return subprocess.run([*argv, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(tmp_path) -> Path:
    """A private copy of the titanic project; returns its pipeline file."""
    dest = tmp_path / "titanic"
    shutil.copytree(TITANIC, dest, ignore=shutil.ignore_patterns(".pipeloom", "__pycache__"))
    return dest / "pipeline.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, marker: str) -> int:
    text = path.read_text()
    return text.count("\n", 0, text.index(marker)) + 1


def test_validate_the_example_is_clean():
    done = pipeloom("validate", "projects/titanic/pipeline.yaml", cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == "projects/titanic/pipeline.yaml: ok (3 nodes)"


def test_validate_counts_one_node_in_the_singular(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text("pipeloom: 1\nname: one\nnodes:\n  d: {type: dataset, path: d.csv}\n")
    done = pipeloom("validate", str(path))
    assert done.stderr.strip().endswith("(1 node)"), done.stderr


def test_validate_prints_file_line_node_field_message(project):
    edit(project, "driver_memory: 1g", "driver_memory: 7 gigs")
    edit(project, "    script: train.py", "    script: missing.py")
    done = pipeloom("validate", str(project))
    assert done.returncode == 2
    lines = done.stdout.splitlines()
    memory_line = line_of(project, "7 gigs")
    assert any(
        line.startswith(f"{project}:{memory_line}:")
        and ": dataprep.spark.driver_memory: " in line
        and "7 gigs" in line
        for line in lines
    ), done.stdout
    assert any(
        line.startswith(f"{project}:{line_of(project, 'missing.py')}:")
        and ": train.script: " in line
        for line in lines
    ), done.stdout
    assert done.stderr.strip() == f"{project}: 2 errors (3 nodes)"


def test_warnings_do_not_fail_unless_strict(project):
    (project.parent / "data" / "Titanic.csv").unlink()
    done = pipeloom("validate", str(project))
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": titanic.path: warning: " in done.stdout
    assert "1 warning" in done.stderr
    assert pipeloom("validate", "--strict", str(project)).returncode == 2


def test_several_files_fail_when_one_fails(project, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeloom: 1\nname: [unclosed\n")
    done = pipeloom("validate", str(project), str(bad))
    assert done.returncode == 2
    assert f"{project}: ok" in done.stderr
    assert str(bad) in done.stdout + done.stderr


def test_show_lists_steps_in_execution_order_with_ports_and_computes(project):
    done = pipeloom("show", str(project))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    order = [out.index(f". {name}  ") for name in ("titanic", "dataprep", "train")]
    assert order == sorted(order), out
    assert "dataprep  spark-step  on link1-spark01 (spark)" in out
    assert "train  script-step  on cpucluster (cpu-pool)  env trainenv" in out
    for row in (
        ("in", "tabular_input", "<- titanic", "tabular", "direct"),
        ("in", "file_input", "<- titanic", "file", "direct"),
        ("in", "step2_input", "<- dataprep.output_dir", "tabular", "download"),
        ("out", "output_dir", "tabular parquet", "register_as registered_dataset"),
    ):
        words = " ".join(row).split()
        assert any(line.split()[: len(words)] == words for line in out.splitlines()), row
    assert "link1-spark01  spark" in out and "local[*]" in out


def test_show_a_cycle_exits_2_with_the_cycle(project):
    edit(
        project,
        "      file_input: {from: titanic, as: file, mode: direct}",
        "      file_input: {from: titanic, as: file, mode: direct}\n"
        "      back: {from: train.model, as: file}",
    )
    done = pipeloom("show", str(project))
    assert done.returncode == 2
    assert "cycle: " in done.stderr and "dataprep" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_version_help_and_usage_errors():
    done = pipeloom("--version")
    assert done.returncode == 0 and done.stdout.startswith("pipeloom ")
    done = pipeloom("--help")
    assert done.returncode == 0
    assert all(name in done.stdout for name in cli.COMMANDS)
    for argv in ((), ("frobnicate",), ("validate",)):
        done = pipeloom(*argv)
        assert done.returncode == 2, argv
        assert "usage:" in done.stderr and "Traceback" not in done.stderr


def test_every_registered_command_module_has_the_contract():
    for name, command in cli.COMMANDS.items():
        module = importlib.import_module(command.module)
        assert callable(module.add_arguments) and callable(module.run), name


def test_internal_error_is_one_line_unless_debugging(project, monkeypatch, capsys):
    import engine.planning.validate

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine.planning.validate, "validate", broken)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    assert cli.main(["validate", str(project)]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "pipeloom: internal error: RuntimeError: boom (run with PIPELOOM_DEBUG=1 for the traceback)"
    ]
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    assert cli.main(["validate", str(project)]) == cli.EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err


HEAVY = ("pyspark", "pandas", "PySide6", "shiboken6")
IMPORTS_OF = r"""
import json, sys
from engine.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("command", ["validate", "show"])
def test_validate_and_show_import_neither_spark_nor_pandas(command):
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_OF, command, str(TITANIC / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr
    loaded = set(result["modules"])
    heavy = {m for m in loaded if m.split(".")[0] in HEAVY}
    assert not heavy, sorted(heavy)
    assert f"engine.cli.{command}" in loaded
    other = "engine.cli.show" if command == "validate" else "engine.cli.validate"
    assert other not in loaded  # only the chosen command's module is imported


def test_dataset_references_are_checked_against_the_project_store(project):
    from engine.storage.store import RunStore

    edit(project, "    path: data/Titanic.csv\n", "    from: dataset:passengers@2\n")
    done = pipeloom("validate", str(project))
    assert done.returncode == 2
    assert ": titanic.from: no registered dataset 'passengers'" in done.stdout
    store = RunStore(project.parent / ".pipeloom")
    store.register_dataset("passengers", str(project.parent / "data"), None, None, None)
    done = pipeloom("validate", str(project))
    assert "dataset 'passengers' has no version '2' (versions: 1)" in done.stdout
    store.register_dataset("passengers", str(project.parent / "data"), None, None, None)
    store.close()
    done = pipeloom("validate", str(project))
    assert done.returncode == 0, done.stdout + done.stderr


def test_show_still_lists_a_pipeline_with_errors_that_has_an_order(project):
    edit(project, "    file: dataprep.py", "    file: missing.py")
    done = pipeloom("show", str(project))
    assert done.returncode == 2
    assert ". dataprep  spark-step" in done.stdout
    assert ": dataprep.file: " in done.stderr and "missing.py" in done.stderr


def test_a_closed_pipe_ends_quietly():
    script = Path(sys.executable).with_name("pipeloom")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]
    proc = subprocess.Popen(
        [*argv, "show", str(TITANIC / "pipeline.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader goes away before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == cli.EXIT_BROKEN_PIPE
    assert "Traceback" not in err and "Exception ignored" not in err
