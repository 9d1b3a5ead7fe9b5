"""`pipeloom validate` on every broken file in tests/corpus: exit 2, the expected place, no
traceback, and no YAML tag ever constructed (a canary file would appear)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text())
CANARY = "pipeloom-canary-created"  # what the python/object tags in the corpus would create


def pipeloom_command() -> list[str]:
    script = Path(sys.executable).with_name("pipeloom")
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every corpus file validated in its own process (two at a time), from an empty folder."""
    cwd = tmp_path_factory.mktemp("corpus-cwd")

    def run(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*pipeloom_command(), "validate", str(CORPUS / name)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PIPELOOM_DEBUG": ""},
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(EXPECTED, pool.map(run, EXPECTED), strict=True))
    done["<cwd>"] = cwd  # type: ignore[assignment]
    return done


def test_corpus_is_complete():
    files = {p.name for p in CORPUS.glob("*.yaml")} - {"expected.yaml"}
    assert files == set(EXPECTED), "every corpus file needs an expectation and vice versa"
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_is_reported_at_its_place(runs, name):
    expected = EXPECTED[name]
    done = runs[name]
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    assert done.returncode == expected["exit"], output
    path = str(CORPUS / name)
    lines = [line for line in output.splitlines() if line.startswith(path)]
    if "where" in expected:
        lines = [line for line in lines if f": {expected['where']}: " in line]
        assert lines, f"no message names {expected['where']}:\n{output}"
    if "line" in expected:
        lines = [line for line in lines if line.startswith(f"{path}:{expected['line']}:")]
        assert lines, f"no message names line {expected['line']}:\n{output}"
    if "message_contains" in expected:
        text = expected["message_contains"].lower()
        assert any(text in line.lower() for line in lines), f"no message with {text!r}:\n{output}"
    assert lines, output


def test_no_yaml_tag_was_ever_constructed(runs):
    tagged = [n for n in EXPECTED if "!!python/" in (CORPUS / n).read_text(errors="replace")]
    assert tagged, "the corpus must keep its python/object tags"
    assert all(runs[n].returncode == 2 for n in tagged)
    for folder in (runs["<cwd>"], CORPUS, Path.cwd()):
        assert not (Path(folder) / CANARY).exists(), f"a YAML tag ran code in {folder}"


def test_unreadable_paths_exit_2_without_traceback(tmp_path):
    for target in (tmp_path / "missing.yaml", tmp_path):
        done = subprocess.run(
            [*pipeloom_command(), "validate", str(target)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert str(target) in done.stdout + done.stderr
        assert "Traceback" not in done.stdout + done.stderr
