"""Spark steps started the way the runner starts them (StepLaunch -> backend.command ->
engine.procs.StepProcess), for the e2e tests of the Spark backend and its servers."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from engine.backends.base import StepLaunch
from engine.backends.spark import SparkBackend
from engine.pipeline.model import Compute, Node
from engine.procs import StepProcess

ROOT = Path(__file__).resolve().parents[2]
SHARED_SPARK_MASTER = "local[*]"  # the key of the shared server (tests/conftest.py)

GROUP_SCRIPT = """
import sys
from pyspark.sql import SparkSession, functions as F

source, target = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("group").getOrCreate()
print("session", type(spark).__module__, flush=True)
rows = spark.read.option("header", True).option("inferSchema", True).csv(source)
result = (
    rows.filter(F.col("value") > 2)
    .groupBy("key")
    .agg(F.sum("value").alias("total"), F.count("*").alias("n"))
    .orderBy("key")
)
result.coalesce(1).write.option("header", True).csv(target)
print("wrote", result.count(), "groups", flush=True)
"""


def write_rows(path: Path) -> Path:
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["key", "value"])
        for i in range(300):
            out.writerow([f"k{i % 7}", i % 11])
    return path


def read_result(folder: Path) -> list[dict]:
    rows = []
    for part in sorted(folder.glob("part-*.csv")):
        with open(part, newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return sorted(rows, key=lambda r: r["key"])


def expected_groups(source: Path) -> list[dict]:
    totals: dict[str, list[int]] = {}
    with open(source, newline="") as handle:
        for row in csv.DictReader(handle):
            if int(row["value"]) > 2:
                t = totals.setdefault(row["key"], [0, 0])
                t[0] += int(row["value"])
                t[1] += 1
    return [{"key": k, "total": str(v[0]), "n": str(v[1])} for k, v in sorted(totals.items())]


class StepRun:
    """A step run through the backend like the runner does, with its lines and progress."""

    def __init__(self, backend: SparkBackend, launch: StepLaunch):
        self.backend, self.launch = backend, launch
        self.notes: list[str] = []
        self.lines: list[tuple[str, str]] = []
        self.progress = []
        self.code: int | None = None

    def start(self) -> StepRun:
        argv, env = self.backend.command(self.launch, self.notes.append)
        self.process = StepProcess(
            argv, env, self.launch.workdir, lambda s, _t, text: self.lines.append((s, text))
        )
        return self

    def wait(self) -> StepRun:
        source = self.backend.progress_source(self.launch)
        while True:
            try:
                self.code = self.process.wait(timeout=0.3)
                break
            except subprocess.TimeoutExpired:
                pass
            if source is not None:
                self.progress += source.poll()
        if source is not None:
            self.progress += source.poll()
            source.close()
        return self

    def text(self) -> str:
        return "\n".join(t for _s, t in self.lines)


def make_launch(
    tmp_path: Path,
    script: str,
    args: list[str],
    backend: str = "connect",
    master: str = SHARED_SPARK_MASTER,
    spark: dict | None = None,
    modules: dict[str, str] | None = None,
    env: dict | None = None,
    token_env: str | None = None,
) -> StepLaunch:
    name = f"step{uuid.uuid4().hex[:6]}"
    workdir = tmp_path / name
    code = workdir / "code"
    code.mkdir(parents=True)
    (code / "main.py").write_text(textwrap.dedent(script))
    for module, text in (modules or {}).items():
        (code / module).parent.mkdir(parents=True, exist_ok=True)
        (code / module).write_text(textwrap.dedent(text))
    params = {"compute": "spark1", "backend": backend, "file": "main.py"}
    params.update(spark or {})
    base_env = dict(os.environ if env is None else env)
    base_env["PYTHONPATH"] = str(ROOT)
    return StepLaunch(
        run_id="run1",
        step=name,
        node=Node(name, "spark-step", params),
        compute=Compute("spark1", "spark", master=master, token_env=token_env),
        environment=None,
        python=sys.executable,
        workdir=workdir,
        code_dir=code,
        entry=code / "main.py",
        args=args,
        env=base_env,
        context_file=workdir / "context.json",
    )
