"""A Spark step and a script step run by the runner on the session's warm Spark server: the
step helper reads declared formats into Spark and pandas; outputs flow between them."""

from __future__ import annotations

import pytest

from engine.backends import BackendPool
from engine.events import Status
from engine.fileformat import yamlio
from engine.running.runner import Runner

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]

PIPELINE = """\
pipeloom: 1
name: sparky
computes:
  spark: {type: spark, master: "local[*]"}
  pool: {type: cpu-pool, workers: 1}
nodes:
  rows:
    type: dataset
    kind: tabular
    path: data/rows.csv
    format: {type: csv, header: true, delimiter: ";"}
  totals:
    type: spark-step
    compute: spark
    backend: connect
    source_directory: code
    file: totals.py
    inputs:
      rows: {from: rows}
    outputs:
      out: {kind: tabular, format: {type: parquet}, register_as: totals}
  check:
    type: script-step
    compute: pool
    source_directory: code
    script: check.py
    inputs:
      totals: {from: totals.out, mode: mount}
"""

TOTALS = """
from pyspark.sql import SparkSession, functions as F
from engine.step import context, read_tabular

spark = SparkSession.builder.getOrCreate()
rows = read_tabular("rows", spark)
result = rows.groupBy("key").agg(F.sum("value").alias("total")).orderBy("key")
result.write.parquet(context().outputs["out"].path)
print("groups", result.count(), flush=True)
"""

CHECK = """
from engine.step import read_tabular
frame = read_tabular("totals").sort_values("key")
print("totals", dict(zip(frame["key"], frame["total"])), flush=True)
"""


def test_spark_step_then_script_step_through_the_runner(tmp_path, spark_connect_server):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "totals.py").write_text(TOTALS)
    (tmp_path / "code" / "check.py").write_text(CHECK)
    (tmp_path / "data").mkdir()
    lines = ["key;value"] + [f"k{i % 3};{i}" for i in range(30)]
    (tmp_path / "data" / "rows.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    pool = BackendPool()
    runner = Runner(yamlio.load(str(tmp_path / "pipeline.yaml")), backends=pool, keep_warm=True)
    summary = runner.run()
    pool.close()
    assert {s.step: s.status for s in summary.steps} == {
        "totals": Status.COMPLETED,
        "check": Status.COMPLETED,
    }, runner.log_paths["totals"].read_text()[-3000:]
    expected = {f"k{k}": sum(i for i in range(30) if i % 3 == k) for k in range(3)}
    assert f"stdout: totals {expected}" in runner.log_paths["check"].read_text()
    assert "stdout: groups 3" in runner.log_paths["totals"].read_text()
