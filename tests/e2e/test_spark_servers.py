"""Spark Connect servers with real Spark: their lifetime, the pool, start-up failures, a
standalone cluster, the class archive and the cached JVM command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sparksteps import (
    GROUP_SCRIPT,
    ROOT,
    SHARED_SPARK_MASTER,
    StepRun,
    expected_groups,
    make_launch,
    read_result,
    write_rows,
)

from engine.backends.connect_server import ServerKey
from engine.backends.spark import SparkBackend
from engine.pipeline.model import Compute
from engine.procs import alive

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]


OWNER = """
import sys, time
from engine.backends.connect_server import ConnectServer, ServerKey
server = ConnectServer(ServerKey.of("local[1]", {}, sys.executable))
server.start()
while server.pid is None:
    time.sleep(0.05)
print(server.pid, server._watchdog.pid, flush=True)
time.sleep(120)
"""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_server_dies_when_its_owner_is_killed(tmp_path):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        jvm, watchdog = (int(x) for x in owner.stdout.readline().split())
        deadline = time.monotonic() + 60
        while not _cmdline(jvm).split(" ")[0].endswith("/java") and time.monotonic() < deadline:
            time.sleep(0.1)  # spark-class (bash) execs java in the same process
        assert "SparkConnectServer" in _cmdline(jvm)
        assert _cmdline(jvm).split(" ")[0].endswith("/java")
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 60
    while (alive(jvm) or alive(watchdog)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(jvm), "the Connect server outlived its owner"
    assert not alive(watchdog)


def test_pool_keeps_a_warm_server_only_when_asked(spark_connect_server):
    from engine.backends.server_pool import POOL

    key = ServerKey.of(SHARED_SPARK_MASTER, {}, sys.executable)
    first = SparkBackend()
    first._server(Compute("c", "spark", master=SHARED_SPARK_MASTER), sys.executable)
    first.close(keep_warm=True)
    second = SparkBackend()
    again = second._server(Compute("c", "spark", master=SHARED_SPARK_MASTER), sys.executable)
    assert again is spark_connect_server and again.alive()
    second.close(keep_warm=False)
    assert POOL.get(key) is spark_connect_server  # the session fixture still holds it
    assert json.dumps(spark_connect_server.url()).startswith('"sc://localhost:')


def test_a_server_that_cannot_start_fails_its_waiting_step_with_its_log(tmp_path):
    """Steps start while the server boots; when it dies they fail with its last log lines."""
    backend = SparkBackend()
    compute = Compute("bad", "spark", master="local[1]", conf={"spark.driver.memory": "12zb"})
    launch = make_launch(tmp_path, "print('never')", [], backend="connect")
    launch.compute = compute
    try:
        run = StepRun(backend, launch).start().wait()
    finally:
        backend.close(keep_warm=False)
    assert run.code == 2
    text = run.text()
    assert "The Spark Connect server for master local[1]" in text
    assert "Invalid maximum heap size" in text
    assert "never" not in text


def _start_service(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    from engine.backends.connect_server import spark_home

    spark_class = os.path.join(spark_home(), "bin", "spark-class")
    return subprocess.Popen(
        [spark_class, *args],
        stdout=open(log, "wb"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


def _wait_for(path: Path, text: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not in {path}:\n{path.read_text(errors='replace')[-3000:]}")


@pytest.mark.slow
def test_connect_step_on_a_standalone_cluster(tmp_path):
    """A spark:// master: the local Connect server becomes that cluster's driver."""
    from engine.backends.connect_server import server_env
    from engine.backends.spark_settings import free_port
    from engine.java import find_java

    env = server_env(sys.executable, find_java())
    port = free_port()
    master = _start_service(
        [
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(free_port()),
        ],
        tmp_path / "master.log",
        env,
    )
    worker = None
    backend = SparkBackend()
    try:
        _wait_for(tmp_path / "master.log", "I have been elected leader")
        worker = _start_service(
            [
                "org.apache.spark.deploy.worker.Worker",
                f"spark://127.0.0.1:{port}",
                "--host",
                "127.0.0.1",
                "--cores",
                "1",
                "--memory",
                "1g",
                "--webui-port",
                str(free_port()),
            ],
            tmp_path / "worker.log",
            env,
        )
        _wait_for(tmp_path / "worker.log", "Successfully registered with master")
        source = write_rows(tmp_path / "rows.csv")
        target = tmp_path / "out"
        launch = make_launch(
            tmp_path, GROUP_SCRIPT, [str(source), str(target)], master=f"spark://127.0.0.1:{port}"
        )
        run = StepRun(backend, launch).start().wait()
        assert run.code == 0, run.text()
        assert read_result(target) == expected_groups(source)
        assert (
            "Registered app" in (tmp_path / "master.log").read_text()
            or "Registering app" in (tmp_path / "master.log").read_text()
        )
    finally:
        backend.close(keep_warm=False)
        for service in (worker, master):
            if service is not None:
                os.killpg(service.pid, signal.SIGTERM)
                service.wait(30)


@pytest.mark.slow
def test_second_server_start_maps_the_class_archive_the_first_one_left(tmp_path, monkeypatch):
    """AppCDS: the first server records its classes, a dumper archives them after it stops,
    and the next server starts with the archive."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from engine.backends.connect_server import ConnectServer

    key = ServerKey.of("local[1]", {}, sys.executable)
    first = ConnectServer(key, [])
    first.start()
    first.wait()
    assert first._archive.class_list is not None
    assert any(o.startswith("-XX:DumpLoadedClassList=") for o in first._jvm_command)
    archive = first._archive.archive
    first.stop()
    deadline = time.monotonic() + 600
    while not archive.exists() and time.monotonic() < deadline:
        time.sleep(1)
    assert archive.exists(), "no class archive was dumped"
    second = ConnectServer(key, [])
    second.start()
    try:
        second.wait()
        assert f"-XX:SharedArchiveFile={archive}" in second._jvm_command
        assert second.alive()
    finally:
        second.stop()


def test_the_cached_jvm_command_is_the_launchers_and_fills_in_per_start_options(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from engine.backends.connect_server import server_env, server_submit_args
    from engine.backends.spark_launch import jvm_command, parse_launcher_output
    from engine.java import find_java

    assert parse_launcher_output(b"\0\n/usr/bin/java\0-cp\0x\0") == ["/usr/bin/java", "-cp", "x"]
    java = find_java()
    env = server_env(sys.executable, java)
    key = ServerKey.of("local[1]", {"spark.ui.enabled": "false"}, sys.executable)
    commands = [
        jvm_command(server_submit_args(key, [f"-XX:DumpLoadedClassList={name}"], 4321), env, java)
        for name in ("/x/one.lst", "/x/two.lst")
    ]
    assert len(list((tmp_path / "pipeloom" / "launch").iterdir())) == 1  # one launcher run
    for command, name in zip(commands, ("/x/one.lst", "/x/two.lst"), strict=True):
        assert command[0] == java.executable
        assert f"-XX:DumpLoadedClassList={name}" in command
        assert "org.apache.spark.deploy.SparkSubmit" in command
        assert "spark.connect.grpc.binding.port=4321" in command
        assert command[-1] == "spark-internal"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_c1_only_server_keeps_a_full_size_code_cache(spark_connect_server):
    """C1 only would shrink the JVM's code cache to 48 MB, which a warm server fills within
    minutes of varied queries; then it disables its compiler and dies."""
    import re

    from engine.backends.connect_server import startup_java_options

    cmdline = _cmdline(spark_connect_server.pid).split(" ")
    for option in startup_java_options():
        assert option in cmdline
    flags = subprocess.run(
        [cmdline[0], *startup_java_options(), "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    size = int(re.search(r"\bReservedCodeCacheSize\s*=\s*(\d+)", flags).group(1))
    assert size >= 240 * 1024 * 1024
    c1_default = subprocess.run(
        [cmdline[0], "-XX:TieredStopAtLevel=1", "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert int(re.search(r"\bReservedCodeCacheSize\s*=\s*(\d+)", c1_default).group(1)) < size
