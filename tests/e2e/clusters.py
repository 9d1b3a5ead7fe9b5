"""Real clusters on 127.0.0.1 for tests and benchmarks: a two-node Ray cluster and a Spark
standalone master + worker. Each node is one foreground process (`ray start --block`,
`spark-class ...Master/Worker`) started here and stopped by its PID (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    """The engine's own choice (below the ephemeral range: outgoing connections cannot take
    it between now and the service's bind)."""
    from engine.backends.spark_settings import free_port as engine_free_port

    return engine_free_port()


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s: {log.read_text()[-2000:]}")


def stop_pid(proc: subprocess.Popen, grace: float = 40.0) -> None:
    """SIGTERM the node's process (it stops what it started), SIGKILL its group if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Nodes:
    procs: list[subprocess.Popen] = field(default_factory=list)
    workdir: Path = Path()

    def stop(self) -> None:
        head_gone = bool(self.procs) and self.procs[0].poll() is not None
        for proc in reversed(self.procs):
            stop_pid(proc, grace=3.0 if head_gone else 40.0)  # orphans only wait to drain
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class RayCluster(Nodes):
    address: str = ""  # ray://127.0.0.1:PORT (Ray Client)
    gcs: str = ""  # 127.0.0.1:PORT (what a second node joins)
    dashboard: str = ""  # http://127.0.0.1:PORT (Jobs API, state API)

    def running_tasks(self) -> list[dict]:
        """Tasks the cluster reports RUNNING (the state API behind `ray list tasks`)."""
        out = subprocess.run(
            [str(BIN / "ray"), "list", "tasks", "--address", self.dashboard, "--format=json",
             "--filter", "state=RUNNING", "--detail"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        if not out.stdout.lstrip().startswith("["):  # "No resource in the cluster"
            return []
        return [t for t in json.loads(out.stdout) if t.get("name", "").endswith("run_step")]

    def jobs(self) -> list[dict]:
        """Ray jobs and their status (the Jobs API behind `ray list jobs`)."""
        with urllib.request.urlopen(f"{self.dashboard}/api/jobs/", timeout=30) as r:
            return json.load(r)


def ray_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(RAY_USAGE_STATS_ENABLED="0", PYTHONUNBUFFERED="1")
    return env


def start_ray_cluster(cpus_per_node: int = 1) -> RayCluster:
    """A head (GCS, client server, dashboard) and a second node, each with `cpus_per_node`."""
    workdir = Path(tempfile.mkdtemp(prefix="plray"))  # short: Ray's socket paths must fit
    gcs_port, client_port, dash_port = free_port(), free_port(), free_port()
    common = [f"--num-cpus={cpus_per_node}", "--object-store-memory=80000000", "--block",
              "--node-ip-address=127.0.0.1", "--disable-usage-stats"]  # fmt: skip
    cluster = RayCluster(workdir=workdir)
    head_log = workdir / "head.log"
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", f"--port={gcs_port}",
         f"--ray-client-server-port={client_port}", "--dashboard-host=127.0.0.1",
         f"--dashboard-port={dash_port}", f"--temp-dir={workdir / 't'}", *common],
        stdout=head_log.open("wb"), stderr=subprocess.STDOUT, env=ray_env(),
        start_new_session=True,
    )  # fmt: skip
    cluster.procs.append(head)
    try:
        _wait_port(client_port, head, head_log, 90)
        worker_log = workdir / "worker.log"
        worker = subprocess.Popen(
            [str(BIN / "ray"), "start", f"--address=127.0.0.1:{gcs_port}",
             '--resources={"second_node": 1}', *common],
            stdout=worker_log.open("wb"), stderr=subprocess.STDOUT, env=ray_env(),
            start_new_session=True,
        )  # fmt: skip
        cluster.procs.append(worker)
        cluster.address = f"ray://127.0.0.1:{client_port}"
        cluster.gcs = f"127.0.0.1:{gcs_port}"
        cluster.dashboard = f"http://127.0.0.1:{dash_port}"
        _wait_nodes(cluster, 2, worker, worker_log)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_nodes(cluster: RayCluster, count: int, proc, log: Path, timeout: float = 90) -> None:
    url = f"{cluster.dashboard}/api/v0/nodes?limit=100"  # the state API behind `ray list nodes`
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the second Ray node exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                nodes = json.load(r)["data"]["result"]["result"]
            if sum(1 for n in nodes if n.get("state") == "ALIVE") >= count:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Ray cluster has not {count} nodes after {timeout} s")


@dataclass
class SparkStandalone(Nodes):
    master: str = ""  # spark://127.0.0.1:PORT
    ui_port: int = 0  # the master's web UI (its /json/ status)


def spark_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    return env


def start_spark_standalone(worker_cores: int = 1, worker_memory: str = "1g") -> SparkStandalone:
    from engine.backends.connect_server import spark_home

    workdir = Path(tempfile.mkdtemp(prefix="plspark"))
    spark_class = os.path.join(spark_home(), "bin", "spark-class")
    port, ui_port, worker_ui = free_port(), free_port(), free_port()
    env = spark_env()
    env["SPARK_WORKER_DIR"] = str(workdir / "work")
    env["SPARK_LOG_DIR"] = str(workdir)
    cluster = SparkStandalone(workdir=workdir, ui_port=ui_port)
    master_log = workdir / "master.log"
    master = subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(ui_port)],
        stdout=master_log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    cluster.procs.append(master)
    cluster.master = f"spark://127.0.0.1:{port}"
    try:
        _wait_port(port, master, master_log, 60)
        worker_log = workdir / "worker.log"
        worker = subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
             "--cores", str(worker_cores), "--memory", worker_memory,
             "--webui-port", str(worker_ui), cluster.master],
            stdout=worker_log.open("wb"), stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )  # fmt: skip
        cluster.procs.append(worker)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as r:
                    if any(w.get("state") == "ALIVE" for w in json.load(r).get("workers", [])):
                        break
            except (OSError, ValueError):
                pass
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Spark worker did not register: {worker_log.read_text()}")
            time.sleep(0.3)
    except BaseException:
        cluster.stop()
        raise
    return cluster
