"""Script steps on a real two-node Ray cluster on 127.0.0.1 (ray://, Ray Client): titanic's
training with its environment, the retail example, parallel steps on both nodes, cancel,
an unreachable cluster."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.backends import BackendPool
from engine.events import LogLine, Status
from engine.fileformat import yamlio
from engine.procs import alive
from engine.running.runner import Runner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clusters import free_port, start_ray_cluster  # noqa: E402

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PROJECTS = Path(__file__).resolve().parents[2] / "projects"


@pytest.fixture(scope="module")
def ray_cluster():
    cluster = start_ray_cluster(cpus_per_node=1)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def pool():
    """One backend pool for the module: the Ray gateway stays connected between runs."""
    pool = BackendPool()
    yield pool
    pool.close()


def on_ray(project: Path, compute: str, address: str) -> Path:
    """The project's pipeline file with `compute` moved onto the Ray cluster."""
    path = project / "pipeline.yaml"
    text = re.sub(
        rf"^  {compute}: .*$",
        f'  {compute}: {{type: cpu-pool, master: "{address}"}}',
        path.read_text(),
        count=1,
        flags=re.M,
    )
    path.write_text(text)
    return path


def run(path: Path, pool: BackendPool, runner_box: list | None = None, lines=None):
    runner = Runner(yamlio.load(str(path)), backends=pool, keep_warm=True)
    lines: list[LogLine] = [] if lines is None else lines
    runner.subscribe(lambda e: lines.append(e) if isinstance(e, LogLine) else None)
    if runner_box is not None:
        runner_box.append(runner)
    summary = runner.run()
    runner.store.close()
    return {s.step: s.status for s in summary.steps}, summary, lines


def text_of(lines: list[LogLine], step: str) -> str:
    return "\n".join(x.text for x in lines if x.step == step)


@pytest.mark.spark
def test_titanic_trains_on_ray_with_its_environment(
    tmp_path, ray_cluster, pool, spark_connect_server
):
    project = tmp_path / "titanic"
    shutil.copytree(
        PROJECTS / "titanic", project, ignore=shutil.ignore_patterns(".pipeloom", "__pycache__")
    )
    path = on_ray(project, "cpucluster", ray_cluster.address)
    statuses, summary, lines = run(path, pool)
    log = text_of(lines, "train")
    assert statuses == {"dataprep": Status.COMPLETED, "train": Status.COMPLETED}, log
    assert f"on the Ray cluster {ray_cluster.address}" in log
    datastore = project / ".pipeloom" / "datastore" / "runs" / summary.run_id
    assert json.loads((datastore / "train" / "model" / "model.json").read_text())
    # the environment went as Ray's runtime environment: the step ran in its virtualenv
    request = json.loads(next((project / ".pipeloom").rglob("ray-request.json")).read_text())
    assert request["runtime_env"] == {"pip": ["numpy>=1.26", "pandas>=2.2", "pyarrow>=15"]}


@pytest.mark.spark
def test_retail_script_steps_run_on_ray(tmp_path, ray_cluster, pool, spark_connect_server):
    project = tmp_path / "retail"
    shutil.copytree(
        PROJECTS / "retail", project, ignore=shutil.ignore_patterns(".pipeloom", "__pycache__")
    )
    path = on_ray(project, "cpu", ray_cluster.address)
    statuses, summary, lines = run(path, pool)
    assert set(statuses.values()) == {Status.COMPLETED}, statuses
    for step in ("order_stats", "segment_customers"):
        assert "on the Ray cluster" in text_of(lines, step)
    segments = project / ".pipeloom" / "datastore" / "runs" / summary.run_id / "segment_customers"
    assert any((segments / "segments").iterdir())


FAN_OUT = """\
pipeloom: 1
name: fan
computes:
  ray: {{type: cpu-pool, master: "{address}"}}
nodes:
{steps}
"""
FAN_STEP = """\
  {name}:
    type: script-step
    compute: ray
    source_directory: code
    script: step.py
    arguments: ["{{outputs.out}}", "{seconds}"]
    allow_reuse: false
    outputs:
      out: {{kind: file}}
"""
STEP = """\
import json, os, sys, time
out, seconds = sys.argv[1], float(sys.argv[2])
os.makedirs(out)
started = time.time()
print("started", os.getpid(), flush=True)
print("a warning", file=sys.stderr, flush=True)
with open(os.path.join(out, "pid"), "w") as f:
    f.write(str(os.getpid()))
time.sleep(seconds)
with open(os.path.join(out, "times.json"), "w") as f:
    json.dump({"node": os.environ.get("PIPELOOM_RAY_NODE", "job"), "start": started,
               "end": time.time()}, f)
print("ended", flush=True)
"""


def fan_project(tmp_path: Path, address: str, seconds: dict[str, float]) -> Path:
    (tmp_path / "code").mkdir(parents=True)
    (tmp_path / "code" / "step.py").write_text(STEP)
    steps = "".join(FAN_STEP.format(name=n, seconds=s) for n, s in seconds.items())
    path = tmp_path / "pipeline.yaml"
    path.write_text(FAN_OUT.format(address=address, steps=steps))
    return path


def test_independent_steps_run_at_once_on_both_nodes(tmp_path, ray_cluster, pool):
    path = fan_project(tmp_path, ray_cluster.address, {"a": 3, "b": 3})
    statuses, summary, lines = run(path, pool)
    assert statuses == {"a": Status.COMPLETED, "b": Status.COMPLETED}, text_of(lines, "a")
    streams = {(x.stream, x.text) for x in lines if x.step == "a"}
    assert ("stderr", "a warning") in streams and ("stdout", "ended") in streams
    runs = tmp_path / ".pipeloom" / "datastore" / "runs" / summary.run_id
    a, b = (json.loads((runs / s / "out" / "times.json").read_text()) for s in "ab")
    assert a["start"] < b["end"] and b["start"] < a["end"]  # they overlapped
    assert a["node"] != b["node"]  # one CPU per node: each ran on its own node


def test_cancel_stops_the_remote_step(tmp_path, ray_cluster, pool):
    path = fan_project(tmp_path, ray_cluster.address, {"slow": 300})
    box: list[Runner] = []
    result: dict = {}
    live: list[LogLine] = []
    thread = threading.Thread(target=lambda: result.update(out=run(path, pool, box, live)))
    thread.start()
    pid = None
    deadline = time.monotonic() + 120
    while pid is None and time.monotonic() < deadline:
        pids = list((tmp_path / ".pipeloom" / "datastore").rglob("pid"))
        pid = int(pids[0].read_text()) if pids and pids[0].read_text() else None
        time.sleep(0.2)
    assert pid is not None and alive(pid)
    assert ray_cluster.running_tasks()
    while not any(x.text.startswith("started") for x in list(live)):  # output arrives live
        assert time.monotonic() < deadline
        time.sleep(0.1)
    box[0].cancel()
    thread.join(60)
    statuses, _summary, _lines = result["out"]
    assert statuses == {"slow": Status.CANCELED}
    deadline = time.monotonic() + 30  # a bound for the check, not the cancel's speed
    while (alive(pid) or ray_cluster.running_tasks()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not alive(pid)
    assert ray_cluster.running_tasks() == []


def test_cancel_stops_the_ray_job_of_a_dashboard_address(tmp_path, ray_cluster, pool):
    path = fan_project(tmp_path, ray_cluster.dashboard, {"slow": 300})
    box: list[Runner] = []
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(out=run(path, pool, box)))
    thread.start()
    deadline = time.monotonic() + 120
    while not list((tmp_path / ".pipeloom" / "datastore").rglob("pid")):
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.2)
    mine = [j for j in ray_cluster.jobs() if "-slow-" in (j.get("submission_id") or "")]
    assert [j["status"] for j in mine] == ["RUNNING"]
    [pid_file] = (tmp_path / ".pipeloom" / "datastore").rglob("pid")
    while not pid_file.read_text():
        time.sleep(0.1)
    step_pid = int(pid_file.read_text())
    box[0].cancel()
    thread.join(60)
    assert result["out"][0] == {"slow": Status.CANCELED}
    deadline = time.monotonic() + 30  # a bound for the check, not the cancel's speed
    while time.monotonic() < deadline:
        states = {j["submission_id"]: j["status"] for j in ray_cluster.jobs()}
        if states[mine[0]["submission_id"]] == "STOPPED":
            break
        time.sleep(0.5)
    assert states[mine[0]["submission_id"]] == "STOPPED"
    while alive(step_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(step_pid)


def test_an_unreachable_ray_cluster_fails_the_run_naming_compute_and_address(tmp_path):
    address = f"ray://127.0.0.1:{free_port()}"  # nothing listens there
    path = fan_project(tmp_path, address, {"a": 0})
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert f"compute 'ray': cannot reach {address}" in out
    assert "Traceback" not in out


def test_computes_check_reports_the_ray_clusters_resources(tmp_path, ray_cluster):
    path = fan_project(tmp_path, ray_cluster.address, {"a": 0})
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "computes", str(path), "--check", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [report] = json.loads(done.stdout)
    assert report["reachable"] and report["kind"] == "Ray cluster"
    assert report["facts"]["resources"]["CPU"] == 2  # one per node
    assert report["facts"]["resources"]["second_node"] == 1
    assert "2 CPU" in report["detail"]


def test_a_dashboard_address_runs_the_step_as_a_ray_job(tmp_path, ray_cluster, pool):
    path = fan_project(tmp_path, ray_cluster.dashboard, {"a": 0})
    statuses, summary, lines = run(path, pool)
    log = text_of(lines, "a")
    assert statuses == {"a": Status.COMPLETED}, log
    assert f"as a job on the Ray cluster {ray_cluster.dashboard}" in log
    assert "started" in log and "ended" in log
    out = tmp_path / ".pipeloom" / "datastore" / "runs" / summary.run_id / "a" / "out"
    assert json.loads((out / "times.json").read_text())["node"]
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "computes", str(path), "--check", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    [report] = json.loads(done.stdout)
    assert report["reachable"] and report["facts"]["resources"].get("CPU") == 2, report


def test_a_lost_cluster_fails_the_running_step_with_a_clear_message(tmp_path, ray_cluster, pool):
    """Last in the module: it stops the cluster's head under a running step."""
    path = fan_project(tmp_path, ray_cluster.address, {"slow": 300})
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(out=run(path, pool)))
    thread.start()
    deadline = time.monotonic() + 120
    while not list((tmp_path / ".pipeloom" / "datastore").rglob("pid")):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    [pid_file] = (tmp_path / ".pipeloom" / "datastore").rglob("pid")
    while not pid_file.read_text():
        time.sleep(0.1)
    step_pid = int(pid_file.read_text())
    os.killpg(ray_cluster.procs[0].pid, signal.SIGKILL)  # the head node, all of it, at once
    try:
        thread.join(120)
        assert not thread.is_alive()
    finally:
        if alive(step_pid):  # its node's Ray may be gone before it could stop it
            os.kill(step_pid, signal.SIGKILL)
    statuses, _summary, lines = result["out"]
    assert statuses == {"slow": Status.FAILED}
    assert f"lost the Ray cluster at {ray_cluster.address}" in text_of(lines, "slow")
