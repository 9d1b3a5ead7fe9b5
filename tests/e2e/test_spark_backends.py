"""The Spark backend with real Spark: the shared warm Connect server, spark-submit, auto.

Steps are started the way the runner starts them (StepLaunch -> backend.command ->
engine.procs.StepProcess), without the rest of the runner, so a failure points here.
"""

from __future__ import annotations

import os
import signal
import time
from types import SimpleNamespace

import pytest
from sparksteps import (
    GROUP_SCRIPT,
    StepRun,
    expected_groups,
    make_launch,
    read_result,
    write_rows,
)

from engine.backends.spark import SparkBackend, SparkStepError
from engine.java import JavaMissing
from engine.procs import alive

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]


@pytest.fixture
def backend(spark_connect_server):
    backend = SparkBackend()
    yield backend
    backend.close(keep_warm=False)


def test_same_result_under_connect_and_submit(tmp_path, backend):
    source = write_rows(tmp_path / "rows.csv")
    results = {}
    for mode in ("connect", "submit"):
        target = tmp_path / f"out-{mode}"
        launch = make_launch(tmp_path, GROUP_SCRIPT, [str(source), str(target)], backend=mode)
        run = StepRun(backend, launch).start().wait()
        assert run.code == 0, run.text()
        results[mode] = read_result(target)
        assert run.progress, f"{mode}: no job/stage progress was reported"
        assert all(0 <= u.done <= u.total for u in run.progress)
        module = "pyspark.sql.connect.session" if mode == "connect" else "pyspark.sql.session"
        assert f"session {module}" in run.text()
    assert results["connect"] == results["submit"] == expected_groups(source)


def test_auto_runs_spark_context_code_with_submit(tmp_path, backend):
    script = """
    import sys
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    total = spark.sparkContext.parallelize(range(100), 4).map(lambda x: x * 2).sum()
    open(sys.argv[1], "w").write(str(total))
    """
    out = tmp_path / "total.txt"
    run = StepRun(backend, make_launch(tmp_path, script, [str(out)], backend="auto"))
    run.start().wait()
    assert run.code == 0, run.text()
    assert out.read_text() == str(2 * sum(range(100)))
    assert any("backend auto -> submit: main.py line 5 uses" in n for n in run.notes), run.notes


def test_auto_runs_dataframe_code_on_the_warm_server(tmp_path, backend, spark_connect_server):
    script = """
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.master("local[1]").getOrCreate() if False else None
    """
    # builder.master(...) alone forces submit; plain DataFrame code goes to connect
    launch = make_launch(tmp_path, script, [], backend="auto")
    assert backend._mode(launch, lambda _: None) == "submit"
    script = """
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    print("rows", spark.range(10).count())
    """
    run = StepRun(backend, make_launch(tmp_path, script, [], backend="auto")).start().wait()
    assert run.code == 0, run.text()
    assert "rows 10" in run.text()
    assert any("backend auto -> connect" in n for n in run.notes)


def test_udf_imports_a_module_of_the_snapshot(tmp_path, backend):
    script = """
    from pyspark.sql import SparkSession, functions as F, types as T
    from helpers.maths import triple

    spark = SparkSession.builder.getOrCreate()
    tripled = F.udf(lambda x: triple(x), T.LongType())
    rows = spark.range(5).select(tripled("id").alias("t")).collect()
    print("tripled", sorted(r.t for r in rows))
    """
    modules = {
        "helpers/__init__.py": "",
        "helpers/maths.py": "def triple(x):\n    return 3 * x\n",
    }
    launch = make_launch(tmp_path, script, [], backend="connect", modules=modules)
    run = StepRun(backend, launch).start().wait()
    assert run.code == 0, run.text()
    assert "tripled [0, 3, 6, 9, 12]" in run.text()


def test_settings_a_shared_server_cannot_honour_are_noted_and_sql_conf_applies(tmp_path, backend):
    script = """
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    print("partitions", spark.conf.get("spark.sql.shuffle.partitions"))
    """
    spark = {
        "spark.driver_memory": "7g",
        "spark.executor_cores": 2,
        "spark.conf": {"spark.sql.shuffle.partitions": 3, "spark.task.maxFailures": 2},
    }
    launch = make_launch(tmp_path, script, [], backend="connect", spark=spark)
    run = StepRun(backend, launch).start().wait()
    assert run.code == 0, run.text()
    assert "partitions 3" in run.text()
    notes = "\n".join(run.notes)
    assert "spark.driver_memory = 7g is not applied" in notes
    assert "spark.driver.memory=1g" in notes
    assert "spark.executor_cores = 2 has no effect with master local[*]" in notes
    assert "spark.task.maxFailures = 2 is not applied" in notes
    assert "shuffle.partitions" not in notes  # a runtime SQL setting is applied, not noted


def test_failed_step_gets_the_server_error_lines(tmp_path, backend):
    script = """
    from pyspark.sql import SparkSession, functions as F, types as T

    def explode(x):
        raise ValueError("boom-7f3a in a UDF")

    spark = SparkSession.builder.getOrCreate()
    spark.range(3).select(F.udf(explode, T.LongType())("id")).collect()
    """
    run = StepRun(backend, make_launch(tmp_path, script, [])).start().wait()
    assert run.code != 0
    lines = backend.on_failure(run.launch)
    assert lines and lines[0] == "Spark Connect server log for this step:"
    assert any("boom-7f3a" in line for line in lines), lines


def test_cancel_interrupts_the_sessions_jobs(tmp_path, backend):
    script = """
    import time
    from pyspark.sql import SparkSession, functions as F, types as T

    def slow(x):
        time.sleep(0.2)
        return x

    spark = SparkSession.builder.getOrCreate()
    print("started", flush=True)
    spark.range(0, 100000, 1, 2).select(F.udf(slow, T.LongType())("id")).collect()
    print("finished")
    """
    run = StepRun(backend, make_launch(tmp_path, script, [])).start()
    source = backend.progress_source(run.launch)
    deadline = time.monotonic() + 120
    while not source.poll() and time.monotonic() < deadline:  # the job is running
        time.sleep(0.3)
    canceled_at = time.monotonic()
    backend.cancel(run.launch)
    code = run.process.wait(timeout=60)  # no kill: the interrupt alone ends the query
    assert code != 0
    assert time.monotonic() - canceled_at < 30
    assert "finished" not in run.text()


def test_killing_a_step_cancels_its_jobs_on_the_server(tmp_path, backend):
    """The runner's cancel (SIGTERM to the step) also stops the session's server-side jobs."""
    script = """
    import time
    from pyspark.sql import SparkSession, functions as F, types as T

    def slow(x):
        time.sleep(0.2)
        return x

    spark = SparkSession.builder.getOrCreate()
    spark.range(0, 100000, 1, 2).select(F.udf(slow, T.LongType())("id")).collect()
    """
    run = StepRun(backend, make_launch(tmp_path, script, [])).start()
    source = backend.progress_source(run.launch)
    deadline = time.monotonic() + 120
    while not source.poll() and time.monotonic() < deadline:
        time.sleep(0.3)
    remembered = backend._run(run.launch)
    offset = remembered.server.log_size()
    run.process.kill()
    wanted = "Asked to cancel jobs with tag SparkConnect_OperationTag_User_"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = remembered.server.log_since(offset)
        if any(wanted in line and remembered.session_id in line for line in lines):
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the server kept running the killed step's job")


def test_unreachable_connect_master_is_a_clear_error(tmp_path):
    backend = SparkBackend()
    launch = make_launch(tmp_path, "print(1)", [], master="sc://127.0.0.1:9")
    with pytest.raises(SparkStepError) as caught:
        backend.command(launch, lambda _: None)
    message = str(caught.value)
    assert "Cannot reach the Spark Connect server sc://127.0.0.1:9 of compute spark1" in message
    assert "\n" not in message


def test_missing_java_fails_the_step_with_one_line(tmp_path, without_pip_java):
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    launch = make_launch(tmp_path, "print(1)", [], backend="submit", env=env)
    with pytest.raises(JavaMissing) as caught:
        SparkBackend().command(launch, lambda _: None)
    assert str(caught.value).startswith("Spark needs Java 17 or newer")


def test_a_forked_step_sees_its_own_arguments_environment_and_folder(tmp_path, backend):
    script = """
    import os, sys
    print("argv", sys.argv[1:])
    print("name", __name__, "path0", sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
    print("env", os.environ.get("STEP_MARK"), "cwd", os.getcwd())
    print("forked", "pyspark.sql.connect.session" in sys.modules)
    raise SystemExit(3)
    """
    env = dict(os.environ, STEP_MARK="m-41")
    launch = make_launch(tmp_path, script, ["a b", "--x"], env=env)
    run = StepRun(backend, launch).start().wait()
    text = run.text()
    assert run.code == 3, text
    assert "argv ['a b', '--x']" in text
    assert "name __main__ path0 True" in text
    assert f"env m-41 cwd {launch.workdir}" in text
    assert "forked True" in text  # started from the zygote, not a cold interpreter


def test_killing_a_step_kills_its_forked_process_and_children(tmp_path, backend):
    script = """
    import os, subprocess, sys, time
    child = subprocess.Popen(["sleep", "300"])
    print("pids", os.getpid(), child.pid, flush=True)
    time.sleep(300)
    """
    run = StepRun(backend, make_launch(tmp_path, script, [])).start()
    deadline = time.monotonic() + 120
    while not any(t.startswith("pids ") for _s, t in run.lines) and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = [int(p) for p in next(t for _s, t in run.lines if t.startswith("pids ")).split()[1:]]
    assert all(alive(p) for p in pids)
    run.process.kill()  # what the runner does on cancel: the step's process group, then SIGKILL
    deadline = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids), "a forked step outlived its process"


def test_a_forked_step_dies_when_its_process_is_killed_hard(tmp_path, backend):
    script = """
    import os, time
    print("pid", os.getpid(), flush=True)
    time.sleep(300)
    """
    run = StepRun(backend, make_launch(tmp_path, script, [])).start()
    deadline = time.monotonic() + 120
    while not any(t.startswith("pid ") for _s, t in run.lines) and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = int(next(t for _s, t in run.lines if t.startswith("pid ")).split()[1])
    os.kill(run.process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
    run.process.wait(timeout=10)


def test_an_sc_master_uses_that_server_with_the_token_from_token_env(
    tmp_path, backend, spark_connect_server
):
    from engine.backends.server_pool import POOL

    servers_before = len(POOL.servers())
    script = """
    from pyspark.sql import SparkSession
    print("rows", SparkSession.builder.getOrCreate().range(7).count())
    """
    env = dict(os.environ, REMOTE_TOKEN=spark_connect_server.token)
    env.pop("SPARK_CONNECT_AUTHENTICATE_TOKEN", None)
    master = f"sc://localhost:{spark_connect_server.port}"
    launch = make_launch(tmp_path, script, [], master=master, env=env, token_env="REMOTE_TOKEN")
    backend.prepare(
        [
            SimpleNamespace(
                node=launch.node,
                compute=launch.compute,
                source_dir=launch.code_dir,
                entry=launch.entry,
            )
        ],
        {"spark1": launch.compute},
    )
    run = StepRun(backend, launch).start().wait()
    assert run.code == 0, run.text()
    assert "rows 7" in run.text()
    assert len(POOL.servers()) == servers_before  # no local server was started for it

    classic = "from pyspark import SparkContext\nSparkContext.getOrCreate()\n"
    launch = make_launch(tmp_path, classic, [], master=master, env=env, token_env="REMOTE_TOKEN")
    with pytest.raises(SparkStepError, match="cannot run classic-API code"):
        backend.command(launch, lambda _: None)
    launch = make_launch(tmp_path, script, [], master=master, token_env="NO_SUCH_TOKEN_VAR")
    with pytest.raises(SparkStepError, match=r"\$NO_SUCH_TOKEN_VAR, which is not set"):
        backend.command(launch, lambda _: None)
