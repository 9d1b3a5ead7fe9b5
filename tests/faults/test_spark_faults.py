"""Scenarios 1, 2 and 6 with a real Spark: `kill -9` of `pipeloom run` during a Spark step
(its own Connect server, zygote, step process and the server's Python workers all go), SIGINT
and SIGTERM during a Spark step on a shared warm server, and the local server's exposure
(loopback only, token required, token never written anywhere)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import Background, marked, pipeloom, survivors, tree, wait_until

pytestmark = pytest.mark.spark

STEP = """\
import argparse, os, time
from pyspark.sql import SparkSession
from engine.step import context

parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="ok")
parser.add_argument("--marker", default="")
args, _ = parser.parse_known_args()
ctx = context()
spark = SparkSession.builder.getOrCreate()
out = ctx.outputs["out"].path
if args.mode == "hang":  # a job whose Python workers sleep: the server side is busy too
    marker = args.marker

    def slow(batches):
        import os, time
        open(os.path.join(marker, f"worker-{os.getpid()}"), "w").close()
        time.sleep(600)
        yield from batches

    print("MARKER hanging", flush=True)
    spark.range(2).repartition(2).mapInPandas(slow, "id long").collect()
spark.range(50).selectExpr("id", "id * 2 as twice").write.parquet(out)
print("wrote", flush=True)
"""

KILL_PIPELINE = """\
pipeloom: 1
name: sparkkill
computes:
  own: {{type: spark, master: "local[2]", conf: {{spark.sql.shuffle.partitions: "3"}}}}
parameters:
  mode: {{type: string, default: hang}}
nodes:
  prep:
    type: spark-step
    compute: own
    source_directory: code
    file: step.py
    outputs: {{out: {{kind: tabular, format: {{type: parquet}}, register_as: preps}}}}
  slow:
    type: spark-step
    compute: own
    source_directory: code
    file: step.py
    inputs: {{inp: {{from: prep.out}}}}
    outputs: {{out: {{kind: tabular, format: {{type: parquet}}}}}}
    arguments: [--mode, "{{parameters.mode}}", --marker, "{marker}"]
"""

# the shared server's key: master local[*], no conf, this interpreter (tests/conftest.py)
WARM_PIPELINE = """\
pipeloom: 1
name: sparkwarm
computes:
  warm: {{type: spark, master: "local[*]"}}
nodes:
  slow:
    type: spark-step
    compute: warm
    source_directory: code
    file: step.py
    outputs: {{out: {{kind: tabular, format: {{type: parquet}}}}}}
    arguments: [--mode, hang, --marker, "{marker}"]
"""


def spark_project(root: Path, text: str) -> tuple[Path, Path]:
    marker = root / "markers"
    marker.mkdir(parents=True)
    (root / "code").mkdir()
    (root / "code" / "step.py").write_text(STEP)
    (root / "pipeline.yaml").write_text(text.format(marker=marker))
    return root, marker


def workers(marker: Path) -> set[int]:
    return {int(p.name.split("-")[1]) for p in marker.glob("worker-*")}


@pytest.mark.slow
def test_kill_9_during_a_spark_step_leaves_no_server_zygote_step_or_worker(tmp_path, cleanup_pids):
    project, marker = spark_project(tmp_path, KILL_PIPELINE)
    run = Background(project, "run", "pipeline.yaml")
    cleanup_pids.add(run.pid)
    wait_until(lambda: workers(marker), 300, "the slow step's Python workers", run)
    run_id = run.run_id()
    seen = tree(run.pid) | set(marked(run_id)) | workers(marker)
    cleanup_pids.update(seen)
    names = {_name(p) for p in seen}
    assert "java" in names  # the run's own Connect server is among them
    os.kill(run.pid, signal.SIGKILL)
    run.wait(10)
    assert survivors(seen, 10) == [], "processes outlived the killed run by 10 s"

    steps = pipeloom("runs", "pipeline.yaml", run_id, cwd=project).stdout
    assert "prep  Completed" in steps and "slow  Interrupted" in steps, steps
    datastore = project / ".pipeloom" / "datastore"
    assert list((datastore / "runs" / run_id / "prep" / "out").glob("part-*.parquet"))
    assert not (datastore / "runs" / run_id / "slow").exists()

    again = pipeloom("run", "pipeline.yaml", "--param", "mode=ok", cwd=project, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "== prep: Reused" in again.stdout and "== slow: Completed" in again.stdout
    assert not (datastore / "tmp" / run_id).exists()
    with sqlite3.connect(project / ".pipeloom" / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT name, version FROM datasets").fetchall() == [("preps", 1)]


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_spark_step_cancels_it_within_5_s(
    tmp_path, published, cleanup_pids, signum
):
    server, _ = published
    project, marker = spark_project(tmp_path, WARM_PIPELINE)
    run = Background(project, "run", "pipeline.yaml")
    cleanup_pids.add(run.pid)
    wait_until(lambda: workers(marker), 120, "the step's Python workers", run)
    run_id = run.run_id()
    seen = tree(run.pid) | set(marked(run_id)) | workers(marker)
    cleanup_pids.update(seen - {server.pid})
    assert server.pid not in seen  # the shared server is not the run's
    sent = time.monotonic()
    os.kill(run.pid, signum)
    assert run.wait(60) == 130, run.output()[-3000:]
    left = survivors(seen - {run.pid}, max(0.0, 5.0 - (time.monotonic() - sent)))
    assert left == [], f"outlived the cancel by 5 s: {[(p, _name(p)) for p in left]}"
    assert server.alive()  # the shared server stays for other runs
    steps = pipeloom("runs", "pipeline.yaml", run_id, cwd=project).stdout
    assert steps.startswith(f"run {run_id}  Canceled") and "slow  Canceled" in steps, steps


NO_TOKEN_CLIENT = """\
import os, sys
from pyspark.sql import SparkSession
port, target = sys.argv[1], sys.argv[2]
try:
    spark = SparkSession.builder.remote(f"sc://localhost:{port}").getOrCreate()
    spark.range(3).write.text(target)
except Exception as e:
    print("REFUSED", type(e).__name__, str(e).splitlines()[0][:200])
    sys.exit(3)
print("RAN")
"""


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-token", "wrong-token"])
def test_a_client_without_the_token_runs_nothing(tmp_path, spark_connect_server, token):
    env = {k: v for k, v in os.environ.items() if k != "SPARK_CONNECT_AUTHENTICATE_TOKEN"}
    env.pop("SPARK_REMOTE", None)
    if token:
        env["SPARK_CONNECT_AUTHENTICATE_TOKEN"] = token
    target = tmp_path / "written"
    result = subprocess.run(
        [sys.executable, "-c", NO_TOKEN_CLIENT, str(spark_connect_server.port), str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "REFUSED" in result.stdout and not target.exists()


def test_the_server_listens_on_loopback_only(spark_connect_server):
    port = spark_connect_server.port
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                listening.append(address)
    assert listening, "the server's port is not listening"
    # 127.0.0.1, ::1, and 127.0.0.1 as an IPv4-mapped IPv6 address (a JVM's usual socket)
    loopback = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
    assert set(listening) <= loopback, listening
    other = _non_loopback_address()
    if other:
        with pytest.raises(OSError):
            socket.create_connection((other, port), timeout=3).close()


def _non_loopback_address() -> str | None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: only picks an interface
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


TOKEN_PIPELINE = """\
pipeloom: 1
name: tokens
computes:
  remote: {{type: spark, master: "sc://localhost:{port}", token_env: FAULTS_SPARK_TOKEN}}
  warm: {{type: spark, master: "local[*]"}}
nodes:
  viaenv:
    type: spark-step
    compute: remote
    source_directory: code
    file: step.py
    outputs: {{out: {{kind: tabular, format: {{type: parquet}}}}}}
  viashared:
    type: spark-step
    compute: warm
    source_directory: code
    file: step.py
    outputs: {{out: {{kind: tabular, format: {{type: parquet}}}}}}
"""


def test_the_token_is_never_written_and_published_files_are_private(
    tmp_path, published, monkeypatch
):
    server, shared_file = published
    token = server.token.encode()
    assert stat.S_IMODE(shared_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(shared_file.parent.stat().st_mode) == 0o700
    monkeypatch.setenv("FAULTS_SPARK_TOKEN", server.token)
    project = tmp_path / "project"
    project.mkdir()
    (project / "code").mkdir()
    (project / "code" / "step.py").write_text(STEP)
    (project / "pipeline.yaml").write_text(TOKEN_PIPELINE.format(port=server.port))
    result = pipeloom("run", "pipeline.yaml", cwd=project, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for target in ("shell", "airflow", "azureml"):
        exported = pipeloom(
            "export", "pipeline.yaml", "--to", target, "-o", f"out-{target}", cwd=project
        )
        assert exported.returncode == 0, exported.stderr
    for command in (["runs"], ["logs", "latest"], ["datasets"], ["show"]):
        shown = pipeloom(command[0], "pipeline.yaml", *command[1:], cwd=project)
        assert server.token not in shown.stdout + shown.stderr
    assert server.token not in result.stdout + result.stderr
    leaks = [str(p) for p in _files(project) if token in p.read_bytes()]
    leaks += [str(p) for p in _files(server.log_path.parent) if token in p.read_bytes()]
    assert leaks == []


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
