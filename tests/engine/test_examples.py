"""The example projects: every pipeline file is valid and canonical, and its data reproducible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine import validate, yamlio

PROJECTS = Path(__file__).resolve().parents[2] / "projects"
PIPELINE_FILES = sorted(PROJECTS.glob("*/pipeline.yaml"))
GENERATORS = sorted(PROJECTS.glob("*/data/make_*.py"))


def _id(path: Path) -> str:
    return path.relative_to(PROJECTS).as_posix()


def test_the_examples_are_there():
    names = {p.parent.name for p in PIPELINE_FILES}
    assert {"titanic", "retail"} <= names
    assert {p.parents[1].name for p in GENERATORS} == names


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=_id)
def test_pipeline_loads_and_validates_without_errors(path: Path):
    pipeline = yamlio.load(path)
    problems = validate.validate(pipeline)
    assert [p.format(str(path)) for p in problems if p.is_error] == []
    assert pipeline.nodes, "an example with no nodes shows nothing"


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=_id)
def test_pipeline_file_is_in_canonical_form(path: Path):
    text = path.read_text(encoding="utf-8")
    assert yamlio.dumps(yamlio.load(path)) == text


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=_id)
def test_every_step_entry_file_and_dataset_exists(path: Path):
    pipeline = yamlio.load(path)
    for node in pipeline.nodes.values():
        if node.type == "dataset":
            assert (path.parent / node.params["path"]).is_file(), node.name
        else:
            entry = node.params.get("file") or node.params.get("script")
            assert (path.parent / node.params.get("source_directory", ".") / entry).is_file()


@pytest.mark.parametrize("generator", GENERATORS, ids=_id)
def test_data_generator_reproduces_the_shipped_files(generator: Path, tmp_path: Path):
    result = subprocess.run(
        [sys.executable, str(generator), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    produced = sorted(tmp_path.iterdir())
    assert produced, "the generator wrote nothing"
    for made in produced:
        shipped = generator.parent / made.name
        assert shipped.is_file(), f"{made.name} is generated but not shipped"
        assert made.read_bytes() == shipped.read_bytes(), (
            f"{made.name} differs from the shipped file"
        )
