"""Steps run in their built environment, end to end: a script step and a Spark step whose UDF
imports a package that only the environment has (on the Connect server's Python workers), the
`pipeloom run` / `pipeloom envs` commands, reuse of the build, a rebuild on a spec edit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from wheels import make_wheel  # noqa: E402

from engine.backends import BackendPool  # noqa: E402
from engine.events import Status  # noqa: E402
from engine.fileformat import yamlio
from engine.planning.plan import PlanOptions  # noqa: E402
from engine.running.runner import Runner  # noqa: E402

PIPELINE = """\
pipeloom: 1
name: envs
computes:
  spark: {type: spark, master: "local[2]"}
  pool: {type: cpu-pool, workers: 2}
environments:
  tiny: {pip: [pipeloom-envtiny]}
nodes:
  udf:
    type: spark-step
    compute: spark
    environment: tiny
    source_directory: code
    file: udf.py
    allow_reuse: false
  use:
    type: script-step
    compute: pool
    environment: tiny
    source_directory: code
    script: use.py
    allow_reuse: false
"""

UDF = """
import sys
import pipeloom_envtiny  # the driver: this step's process
from pyspark.sql import SparkSession, functions as F
from pyspark.sql.types import IntegerType, StringType

spark = SparkSession.builder.getOrCreate()

@F.udf(IntegerType())
def plus(x):
    import pipeloom_envtiny  # the executors: the server's Python workers
    return x + pipeloom_envtiny.VALUE

@F.udf(StringType())
def where(_x):
    return sys.prefix

rows = spark.range(3).select(plus("id").alias("v"), where("id").alias("p")).collect()
print("udf values", sorted(r.v for r in rows), flush=True)
print("executor prefix", rows[0].p, flush=True)
"""

USE = """
import sys
import pipeloom_envtiny, pandas
print("script value", pipeloom_envtiny.VALUE, "prefix", sys.prefix, flush=True)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory, offline_environments):
    make_wheel(offline_environments, "pipeloom-envtiny", "1.0", "VALUE = 42\n")
    make_wheel(offline_environments, "pipeloom-envtiny", "0.9", "VALUE = 9\n")
    root = tmp_path_factory.mktemp("envproject")
    (root / "code").mkdir()
    (root / "code" / "udf.py").write_text(UDF)
    (root / "code" / "use.py").write_text(USE)
    (root / "pipeline.yaml").write_text(PIPELINE)
    return root


def pipeloom(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _prefix(log: str, marker: str) -> str:
    line = next(line for line in log.splitlines() if marker in line)
    return line.split(marker, 1)[1].split()[-1]


@pytest.mark.spark
@pytest.mark.timeout(900)
def test_script_and_spark_steps_import_the_environments_package(project):
    pool = BackendPool()  # as the designer does: the environment's server stays warm
    try:
        first = Runner(yamlio.load(str(project / "pipeline.yaml")), backends=pool, keep_warm=True)
        summary = first.run()
        logs = {name: path.read_text() for name, path in first.log_paths.items()}
        assert {s.step: s.status for s in summary.steps} == {
            "udf": Status.COMPLETED,
            "use": Status.COMPLETED,
        }, logs
        assert "stdout: udf values [42, 43, 44]" in logs["udf"]
        built = [name for name, log in logs.items() if "environment tiny: built in" in log]
        assert len(built) == 1  # both steps need it; it is built once
        env_prefix = _prefix(logs["use"], "prefix")
        assert _prefix(logs["udf"], "executor prefix") == env_prefix  # executors: its Python
        assert Path(env_prefix, "pipeloom-env.json").is_file()

        again = Runner(yamlio.load(str(project / "pipeline.yaml")), backends=pool, keep_warm=True)
        summary = again.run()
        logs = {name: path.read_text() for name, path in again.log_paths.items()}
        assert all(s.status == Status.COMPLETED for s in summary.steps), logs
        for log in logs.values():
            assert "environment tiny: cached (1 package of its own" in log
            assert "environment tiny: built" not in log
        assert "stdout: udf values [42, 43, 44]" in logs["udf"]
    finally:
        pool.close()


def test_cli_streams_the_build_reuses_it_and_rebuilds_after_an_edit(project, tmp_path):
    only_script = ("run", "pipeline.yaml", "--only", "use")
    first = pipeloom(*only_script, cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "environment tiny:" in first.stdout and "script value 42" in first.stdout

    listed = pipeloom("envs", "pipeline.yaml", cwd=project)
    assert listed.returncode == 0
    name, state, *_rest = listed.stdout.split()
    assert (name, state) == ("tiny", "built") and "udf, use" in listed.stdout

    second = pipeloom(*only_script, cwd=project)
    assert "environment tiny: cached" in second.stdout and "script value 42" in second.stdout

    text = PIPELINE.replace("pip: [pipeloom-envtiny]", "pip: [pipeloom-envtiny==0.9]")
    (project / "pipeline.yaml").write_text(text)
    try:
        assert pipeloom("envs", "pipeline.yaml", cwd=project).stdout.split()[1:3] == [
            "not", "built"
        ]  # fmt: skip
        built = pipeloom("envs", "pipeline.yaml", "--build", cwd=project)
        assert built.returncode == 0, built.stderr
        assert "+ pipeloom-envtiny==0.9" in built.stdout
        assert "environment tiny: built in" in built.stdout
        third = pipeloom(*only_script, cwd=project)
        assert "environment tiny: cached" in third.stdout and "script value 9" in third.stdout
        unknown = pipeloom("envs", "pipeline.yaml", "--build", "nope", cwd=project)
        assert unknown.returncode == 2 and "no environment 'nope'" in unknown.stderr
        kept = pipeloom("envs", "--prune", "36500", cwd=project)  # nothing is that old
        assert kept.returncode == 0 and "0 environments removed" in kept.stdout
        assert pipeloom("envs", "--prune", "-1", cwd=project).returncode == 2
    finally:
        (project / "pipeline.yaml").write_text(PIPELINE)


def test_a_failed_build_names_the_environment_in_the_run_summary(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "use.py").write_text(USE)
    text = PIPELINE.replace(
        "pip: [pipeloom-envtiny]", "pip: [pipeloom-envtiny, surely-no-such-package-q]"
    )
    text = text.split("  udf:\n")[0] + "  use:\n" + text.split("  use:\n")[1]
    (tmp_path / "pipeline.yaml").write_text(text)
    done = pipeloom("run", "pipeline.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "surely-no-such-package-q" in done.stdout  # the installer's words, streamed
    summary = done.stdout.split("step  status", 1)[1]  # the table at the end, and why
    assert "use: environment 'tiny' could not be built (uv exited with code 1)" in summary
    assert "script value" not in done.stdout
    failed = pipeloom("envs", "pipeline.yaml", "--build", cwd=tmp_path)
    assert failed.returncode == 1 and "environment 'tiny' could not be built" in failed.stderr


@pytest.mark.spark
@pytest.mark.timeout(900)
def test_serve_keeps_the_environments_server_warm_for_runs(project):
    import signal

    serve = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", "pipeline.yaml"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seen = []
        while True:
            line = serve.stdout.readline()
            seen.append(line)
            if "Ctrl-C stops them" in line or not line:
                break
        text = "".join(seen)
        assert "Ctrl-C stops them" in text and "environment tiny:" in text, text
        starting = [line for line in seen if "starting a Spark Connect server" in line]
        assert len(starting) == 1 and starting[0].startswith("spark (environment tiny):"), text
        done = pipeloom("run", "pipeline.yaml", "--only", "udf", cwd=project)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"on the Spark Connect server of `pipeloom serve` (process {serve.pid})" in (
            done.stdout
        )
        assert "udf values [42, 43, 44]" in done.stdout
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def test_two_concurrent_runs_build_their_environment_once(project, tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "use.py").write_text(USE)
    text = PIPELINE.replace("pip: [pipeloom-envtiny]", "pip: [pipeloom-envtiny==1.0]")
    text = text.split("  udf:\n")[0] + "  use:\n" + text.split("  use:\n")[1]
    (tmp_path / "pipeline.yaml").write_text(text)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "run", "pipeline.yaml"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sum("environment tiny: built in" in out for out in outputs) == 1, outputs
    assert sum("environment tiny: cached" in out for out in outputs) == 1, outputs
    assert all("script value 42" in out for out in outputs)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_cluster_gets_the_environments_packages_shipped(project, tmp_path):
    """A spark:// master: its executors run their own Python (here Pipeloom's, which lacks the
    package), and the environment's packages reach them as a zip (Connect artifacts)."""
    import os
    import signal

    from test_spark_servers import _start_service, _wait_for

    from engine.backends.connect_server import server_env
    from engine.backends.spark_settings import free_port
    from engine.java import find_java

    env = server_env(sys.executable, find_java())
    port = free_port()
    args = ["--host", "127.0.0.1", "--webui-port"]
    master = _start_service(
        ["org.apache.spark.deploy.master.Master", *args, str(free_port()), "--port", str(port)],
        tmp_path / "master.log",
        env,
    )
    worker = None
    pool = BackendPool()
    try:
        _wait_for(tmp_path / "master.log", "I have been elected leader")
        worker = _start_service(
            ["org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", *args,
             str(free_port()), "--cores", "1", "--memory", "1g"],
            tmp_path / "worker.log",
            env,
        )  # fmt: skip
        _wait_for(tmp_path / "worker.log", "Successfully registered with master")
        text = (project / "pipeline.yaml").read_text()
        text = text.replace('master: "local[2]"', f'master: "spark://127.0.0.1:{port}"')
        (tmp_path / "pipeline.yaml").write_text(text)
        (tmp_path / "code").symlink_to(project / "code")
        pipeline = yamlio.load(str(tmp_path / "pipeline.yaml"))
        runner = Runner(pipeline, PlanOptions(only=("udf",)), backends=pool)
        summary = runner.run()
        log = runner.log_paths["udf"].read_text()
        assert [s.status for s in summary.steps] == [Status.COMPLETED], log
        assert "its packages go to the executors of spark://" in log
        assert "stdout: udf values [42, 43, 44]" in log
        assert _prefix(log, "executor prefix") == sys.prefix  # the cluster's own Python
    finally:
        pool.close()
        for service in (worker, master):
            if service is not None:
                os.killpg(service.pid, signal.SIGTERM)
                service.wait(30)
