"""Scenario 3: runs of the same pipeline at the same moment: two `pipeloom run`s, and a run
from the CLI while the designer's run controller runs it on the same warm Spark server (the
one `pipeloom serve` would share). Both complete, the store passes SQLite's integrity check,
every output holds only its own run's data, dataset versions have no gaps or duplicates."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest
from faultkit import Background, write_project

SCRIPTS = """\
pipeloom: 1
name: twice
computes:
  pool: {type: cpu-pool, workers: 2}
nodes:
  raw: {type: dataset, kind: file, path: data/in.txt}
  a:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {inp: {from: raw, as: file}}
    outputs: {out: {kind: file, register_as: as, destination: shared/a}}
  b:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {inp: {from: a.out}}
    outputs: {out: {kind: file, register_as: bs}}
"""


def check_store(project: Path, runs: list[str], datasets: dict[str, str]) -> None:
    """Integrity, gapless versions (one per run), and each output holding its own run's data."""
    with sqlite3.connect(project / ".pipeloom" / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT name, version, path, run_id FROM datasets").fetchall()
        statuses = db.execute("SELECT id, status FROM runs").fetchall()
    assert sorted(statuses) == sorted((r, "Completed") for r in runs)
    for name, step in datasets.items():
        versions = sorted((v, p, r) for n, v, p, r in rows if n == name)
        assert [v for v, _, _ in versions] == list(range(1, len(runs) + 1))
        assert sorted(r for _, _, r in versions) == sorted(runs)
        for _version, path, run_id in versions:
            assert Path(path) == project / ".pipeloom/datastore/runs" / run_id / step / "out"


def own_data(project: Path, run_id: str, step: str) -> str:
    folder = project / ".pipeloom" / "datastore" / "runs" / run_id / step / "out"
    return "".join(p.read_text() for p in sorted(folder.iterdir()))


def test_two_cli_runs_at_the_same_moment_keep_their_outputs_apart(tmp_path):
    write_project(tmp_path, SCRIPTS)
    runs = [
        Background(tmp_path, "run", "pipeline.yaml", "--regenerate-outputs", name=f"run{i}")
        for i in range(2)
    ]
    codes = [r.wait(120) for r in runs]
    assert codes == [0, 0], [r.output() for r in runs]
    ids = [r.run_id() for r in runs]
    assert len(set(ids)) == 2
    check_store(tmp_path, ids, {"as": "a", "bs": "b"})
    for run_id in ids:
        a, b = own_data(tmp_path, run_id, "a"), own_data(tmp_path, run_id, "b")
        assert a == f"hello\na ok {run_id}\n"
        assert b == f"{a}b ok {run_id}\n"  # b read a's output of its own run
    shared = tmp_path / ".pipeloom" / "datastore" / "shared"
    published_run = (shared / "a" / "part-0.txt").read_text().split()[-1]
    assert published_run in ids
    marker = Path((shared / ".a.published-from").read_text())
    assert marker.parts[-3] == published_run  # the marker names the run whose copy is there


SPARK_STEP = """\
import json, sys
from pyspark.sql import SparkSession
from engine.step import context

ctx = context()
spark = SparkSession.builder.getOrCreate()
rows = spark.range(200).selectExpr("id", f"'{ctx.run_id}' as run")
rows.repartition(4).write.parquet(ctx.outputs["out"].path)
print("wrote", flush=True)
"""

SPARK = """\
pipeloom: 1
name: shared
computes:
  warm: {type: spark, master: "local[*]"}
nodes:
  make:
    type: spark-step
    compute: warm
    source_directory: code
    file: step.py
    outputs: {out: {kind: tabular, format: {type: parquet}, register_as: made}}
    allow_reuse: false
"""


@pytest.mark.spark
def test_a_cli_run_and_a_designer_run_share_the_warm_server(tmp_path, published, qtbot):
    import pyarrow.parquet as pq

    from designer.run_controller import RunController
    from engine.fileformat.yamlio import load

    server, _ = published
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "step.py").write_text(SPARK_STEP)
    (tmp_path / "pipeline.yaml").write_text(SPARK)
    controller = RunController()
    ended = []
    controller.runEnded.connect(ended.append)
    cli = Background(tmp_path, "run", "pipeline.yaml")
    assert controller.start(load(str(tmp_path / "pipeline.yaml")))
    qtbot.waitUntil(lambda: bool(ended), timeout=300_000)
    assert cli.wait(300) == 0, cli.output()
    designer = ended[0]
    assert designer is not None and str(designer.status) == "Completed"
    ids = [cli.run_id(), designer.run_id]
    check_store(tmp_path, ids, {"made": "make"})
    for run_id in ids:
        folder = tmp_path / ".pipeloom" / "datastore" / "runs" / run_id / "make" / "out"
        table = pq.read_table(folder)
        assert table.num_rows == 200 and set(table.column("run").to_pylist()) == {run_id}
    assert server.alive()
    controller.close()


# a key of its own: `pipeloom serve` starts a server rather than finding the session's one
SERVED = SPARK.replace(
    'warm: {type: spark, master: "local[*]"}',
    'warm: {type: spark, master: "local[2]", conf: {spark.pipeloom.faults: served}}',
)


@pytest.mark.spark
@pytest.mark.slow
def test_two_cli_runs_while_pipeloom_serve_holds_the_server(tmp_path, cleanup_pids):
    import pyarrow.parquet as pq

    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "step.py").write_text(SPARK_STEP)
    (tmp_path / "pipeline.yaml").write_text(SERVED)
    serve = Background(tmp_path, "serve", "pipeline.yaml", name="serve")
    cleanup_pids.add(serve.pid)
    try:
        serve.wait_for("Ctrl-C stops them", 300)
        runs = [Background(tmp_path, "run", "pipeline.yaml", name=f"run{i}") for i in range(2)]
        codes = [r.wait(300) for r in runs]
        assert codes == [0, 0], [r.output()[-2000:] for r in runs]
        for run in runs:
            assert f"of `pipeloom serve` (process {serve.pid})" in _step_log(tmp_path, run)
        ids = [r.run_id() for r in runs]
        check_store(tmp_path, ids, {"made": "make"})
        for run_id in ids:
            folder = tmp_path / ".pipeloom" / "datastore" / "runs" / run_id / "make" / "out"
            assert set(pq.read_table(folder).column("run").to_pylist()) == {run_id}
        serve.process.send_signal(signal.SIGINT)
        assert serve.wait(60) == 0, serve.output()
    finally:
        serve.stop()


def _step_log(project: Path, run: Background) -> str:
    return (project / ".pipeloom" / "runs" / run.run_id() / "logs" / "make.log").read_text()
