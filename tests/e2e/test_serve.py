"""`pipeloom serve`: another process's runs use its warm server; stopping it stops the server,
and runs start their own again."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.procs import alive

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

# a conf of its own: this key is not the one the session's shared server uses
PIPELINE = """\
pipeloom: 1
name: served
computes:
  spark: {type: spark, master: "local[2]", conf: {spark.pipeloom.test: serve}}
  same: {type: spark, master: "local[2]", conf: {spark.pipeloom.test: serve}}
nodes:
  count:
    type: spark-step
    compute: spark
    backend: connect
    source_directory: code
    file: count.py
    outputs:
      out: {kind: file}
"""

COUNT = """
import os
from pyspark.sql import SparkSession
from engine.step import context

n = SparkSession.builder.getOrCreate().range(1000).count()
os.makedirs(context().outputs["out"].path)
print("rows", n, flush=True)
"""


def cli(*args: str, cwd: Path, **kwargs):
    return [sys.executable, "-m", "engine.cli", *args], {"cwd": cwd, "text": True, **kwargs}


def run_once(project: Path) -> str:
    argv, kw = cli("run", "pipeline.yaml", "--regenerate-outputs", cwd=project)
    result = subprocess.run(argv, capture_output=True, timeout=300, **kw)
    assert result.returncode == 0, result.stdout + result.stderr
    log = sorted((project / ".pipeloom" / "runs").glob("*/logs/count.log"))[-1].read_text()
    assert "rows 1000" in log
    return log


def test_runs_use_the_served_server_until_serve_stops(tmp_path):
    from engine.backends.connect_server import ServerKey
    from engine.backends.shared_servers import _file

    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "count.py").write_text(COUNT)
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    argv, kw = cli("serve", "pipeline.yaml", cwd=tmp_path)
    serve = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    try:
        seen = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = serve.stdout.readline()
            seen.append(line)
            if "Ctrl-C stops them" in line or not line:
                break
        assert "Ctrl-C stops them" in seen[-1], "".join(seen)
        assert any(line.startswith("warmed up in") for line in seen), "".join(seen)
        starting = [line for line in seen if "starting a Spark Connect server" in line]
        assert len(starting) == 1 and starting[0].startswith("spark, same:"), "".join(seen)
        published = _file(
            ServerKey.of("local[2]", {"spark.pipeloom.test": "serve"}, sys.executable)
        )
        assert stat.S_IMODE(published.stat().st_mode) == 0o600  # it holds the token
        jvm = json.loads(published.read_text())["pid"]

        log = run_once(tmp_path)
        assert f"on the Spark Connect server of `pipeloom serve` (process {serve.pid})" in log
        assert alive(jvm)  # the run ended; the served server stays

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) == 0
        assert "stopping the servers" in serve.stdout.read()
        assert not published.exists()
        deadline = time.monotonic() + 30
        while alive(jvm) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(jvm)
    finally:
        if serve.poll() is None:
            os.kill(serve.pid, signal.SIGKILL)
            serve.wait()
    log = run_once(tmp_path)  # no server is served now: the run starts its own
    assert "pipeloom serve" not in log


def test_serve_without_a_local_spark_compute_says_so(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        "pipeloom: 1\nname: remote\ncomputes:\n  far: {type: spark, master: 'sc://h:15002'}\n"
        "nodes: {}\n"
    )
    argv, kw = cli("serve", "pipeline.yaml", cwd=tmp_path)
    result = subprocess.run(argv, capture_output=True, timeout=60, **kw)
    assert result.returncode == 2
    assert "no Spark compute that runs here" in result.stderr
    assert "Traceback" not in result.stderr
