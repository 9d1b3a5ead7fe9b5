"""Locating data to preview through a real run store after real runs of a script step, and
`pipeloom preview` on it: dataset nodes, step outputs (latest or chosen run), registered
versions, and exit 2 with a message for data that does not exist yet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.backends import BackendPool
from engine.fileformat import yamlio
from engine.pipeline.model import Compute, InputPort, Node, OutputPort, Pipeline, Ref
from engine.preview import PreviewError, locate_target, open_store, read_preview
from engine.running.runner import Runner

STEP = r"""
import os, sys
import pyarrow.compute as pc, pyarrow.csv as pacsv, pyarrow.parquet as pq
from engine.step import context

ctx = context()
source = pacsv.read_csv(ctx.inputs["raw"].path)
scale = int(sys.argv[1])
out = ctx.outputs["table"].path
for part in (0, 1):
    folder = os.path.join(out, f"part={part}")
    os.makedirs(folder)
    chunk = source.filter(pc.equal(pc.bit_wise_and(source["id"], 1), part))
    chunk = chunk.append_column("scaled", pc.multiply(chunk["id"], scale))
    pq.write_table(chunk, os.path.join(folder, "part-00000.snappy.parquet"))
open(os.path.join(out, "_SUCCESS"), "w").close()
os.makedirs(ctx.outputs["model"].path)
with open(os.path.join(ctx.outputs["model"].path, "weights.bin"), "wb") as f:
    f.write(bytes(64))
"""


def pipeloom(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("pipeloom")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120)


def run(path: Path, scale: str) -> str:
    pipeline = yamlio.load(str(path))
    pipeline.nodes["prep"].params["arguments"] = [scale]
    pool = BackendPool()
    runner = Runner(pipeline, backends=pool)
    try:
        summary = runner.run()
    finally:
        pool.close()
        runner.store.close()
    assert str(summary.status) == "Completed", summary
    return summary.run_id


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project whose step ran twice (scale 10, then 100): returns (file, run ids)."""
    root = tmp_path_factory.mktemp("previewproj")
    (root / "code").mkdir()
    (root / "code" / "prep.py").write_text(STEP)
    (root / "data").mkdir()
    (root / "data" / "raw.csv").write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(10)))
    pipeline = Pipeline("previewproj")
    pipeline.computes["pool"] = Compute("pool", "cpu-pool", workers=1)
    pipeline.nodes["raw"] = Node(
        "raw", "dataset", {"kind": "tabular", "path": "data/raw.csv", "format.type": "csv"}
    )
    pipeline.nodes["prep"] = Node(
        "prep",
        "script-step",
        {"source_directory": "code", "script": "prep.py", "compute": "pool", "arguments": ["1"]},
        inputs=[InputPort("raw", Ref("raw"), mode="direct")],
        outputs=[
            OutputPort("table", "tabular", {"type": "parquet"}, register_as="scaled"),
            OutputPort("model", "file"),
        ],
    )
    pipeline.nodes["later"] = Node(
        "later",
        "script-step",
        {"source_directory": "code", "script": "prep.py", "compute": "pool"},
        outputs=[OutputPort("out", "tabular")],
    )
    path = root / "pipeline.yaml"
    yamlio.save(pipeline, str(path))
    unrun = root / "unrun" / "pipeline.yaml"  # the same pipeline with no run store yet
    unrun.parent.mkdir()
    yamlio.save(pipeline, str(unrun))
    pipeline.nodes.pop("later")
    yamlio.save(pipeline, str(path))
    first = run(path, "10")
    second = run(path, "100")
    return path, unrun, first, second


def test_dataset_node_and_latest_or_chosen_run_of_an_output(project):
    path, _, first, second = project
    pipeline = yamlio.load(str(path))
    store = open_store(path)
    try:
        raw = locate_target(pipeline, "raw", store=store)
        assert raw.path == str(path.parent / "data" / "raw.csv") and raw.format == {"type": "csv"}
        latest = locate_target(pipeline, "prep.table", store=store)
        assert latest.run_id == second and latest.label == "prep.table"
        preview = read_preview(latest.path, latest.format, kind=latest.kind)
        assert [c.name for c in preview.columns] == ["id", "name", "scaled", "part"]
        assert preview.rows[0] == (0, "n0", 0, 0) and preview.rows[1] == (2, "n2", 200, 0)
        assert preview.row_count == 10 and preview.files == 2
        chosen = locate_target(pipeline, "prep.table", run=first[:-3], store=store)
        assert chosen.run_id == first
        assert read_preview(chosen.path, chosen.format).rows[1] == (2, "n2", 20, 0)
        model = locate_target(pipeline, "prep.model", store=store)
        listing = read_preview(model.path, model.format, kind=model.kind)
        assert listing.rows[0][:2] == ("weights.bin", 64)
        version = locate_target(pipeline, "dataset:scaled@1", store=store)
        assert version.run_id == first and version.label == "scaled@1"
        assert version.format == {"type": "parquet"}  # from the step that produced it
        assert locate_target(pipeline, "dataset:scaled", store=store).run_id == second
        with pytest.raises(PreviewError, match="several outputs: name one \\(table, model\\)"):
            locate_target(pipeline, "prep", store=store)
        with pytest.raises(PreviewError, match="no output 'tabel'"):
            locate_target(pipeline, "prep.tabel", store=store)
        with pytest.raises(PreviewError, match="'scaled' has version 7"):
            locate_target(pipeline, "dataset:scaled@7", store=store)
    finally:
        store.close()


def test_outputs_without_data_say_what_to_do(project):
    _, unrun, _, _ = project
    pipeline = yamlio.load(str(unrun))
    assert open_store(unrun) is None and not (unrun.parent / ".pipeloom").exists()
    with pytest.raises(PreviewError, match=r"prep.table has no data yet: nothing has run; run"):
        locate_target(pipeline, "prep.table", store=None)


def test_cli_preview_formats_and_exit_codes(project):
    path, unrun, first, second = project
    done = pipeloom("preview", str(path), "prep.table", "-n", "3", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["run"] == second and data["row_count"] == 10
    assert [c["name"] for c in data["columns"]] == ["id", "name", "scaled", "part"]
    assert data["rows"] == [[0, "n0", 0, 0], [2, "n2", 200, 0], [4, "n4", 400, 0]]

    done = pipeloom("preview", str(path), "prep.table", "--run", first, "-n", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["id,name,scaled,part", "0,n0,0,0", "2,n2,20,0"]  # a pipe

    done = pipeloom("preview", str(path), "raw", "-n", "2", "--format", "table")
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["id", "name"] and lines[1].split() == ["int64", "string"]
    assert lines[3].split() == ["0", "n0"] and lines[-1].startswith("raw: 10 rows (showing 2)")

    missing = pipeloom("preview", str(unrun), "later.out")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("pipeloom preview: later.out has no data yet")
    assert "Traceback" not in missing.stderr
    unknown = pipeloom("preview", str(path), "nosuch")
    assert unknown.returncode == 2 and "no node 'nosuch'" in unknown.stderr
    assert pipeloom("preview", str(path), "raw", "-n", "-1").returncode == 2
