"""engine.step: what a step's script imports to read its context and tabular inputs."""

from __future__ import annotations

import pandas as pd
import pytest

import engine.step as step
from engine.stepcontext import ENV_VAR, InputInfo, OutputInfo, StepContext, load_context


@pytest.fixture
def context_file(tmp_path, monkeypatch):
    csv = tmp_path / "t.csv"
    csv.write_text("a;b\n1;x\n2;y\n")
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "part-0.csv").write_text("a;b\n3;z\n")
    (parts / "part-1.csv").write_text("a;b\n4;w\n")
    (parts / "_SUCCESS").write_text("")
    pq = tmp_path / "pq"
    pq.mkdir()
    pd.DataFrame({"a": [5, 6]}).to_parquet(pq / "part-0.parquet")
    fmt = {"type": "csv", "header": True, "delimiter": ";"}
    ctx = StepContext(
        "run1",
        "s",
        inputs={
            "file": InputInfo("file", str(csv), "tabular", fmt, "mount", True, False),
            "folder": InputInfo("folder", str(parts), "tabular", fmt, "download", False, True),
            "pq": InputInfo("pq", str(pq), "tabular", {"type": "parquet"}, "direct", False, True),
        },
        outputs={"out": OutputInfo("out", str(tmp_path / "out"), "tabular", {"type": "parquet"})},
        parameters={"n": 2},
    )
    path = tmp_path / "context.json"
    ctx.write(path)
    monkeypatch.setenv(ENV_VAR, str(path))
    monkeypatch.setattr(step, "_context", None)
    return path


def test_context_round_trips_and_read_tabular_honours_the_declared_format(context_file):
    ctx = step.context()
    assert ctx == load_context(context_file)
    assert ctx.parameters == {"n": 2} and ctx.outputs["out"].path.endswith("/out")
    assert step.read_tabular("file").to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}
    assert step.read_tabular("folder")["a"].tolist() == [3, 4]  # part files, _SUCCESS skipped
    assert step.read_tabular("pq")["a"].tolist() == [5, 6]
    with pytest.raises(KeyError, match="its inputs: file, folder, pq"):
        step.read_tabular("nope")


def test_outside_pipeloom_the_helper_says_so(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(RuntimeError, match="not running as a Pipeloom step"):
        load_context()
