"""The Spark backend with real Spark: the shared warm Connect server, spark-submit, auto.

Steps are started the way the runner starts them (StepLaunch -> backend.command ->
engine.procs.StepProcess), without the rest of the runner, so a failure points here.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.backends.base import StepLaunch
from engine.backends.connect_server import ServerKey
from engine.backends.spark import SparkBackend, SparkStepError
from engine.java import JavaMissing
from engine.model import Compute, Node
from engine.procs import StepProcess, alive

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

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


def test_missing_java_fails_the_step_with_one_line(tmp_path):
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    launch = make_launch(tmp_path, "print(1)", [], backend="submit", env=env)
    with pytest.raises(JavaMissing) as caught:
        SparkBackend().command(launch, lambda _: None)
    assert str(caught.value).startswith("Spark needs Java 17 or newer")


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
    from engine.backends.connect_server import POOL

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
    from engine.backends.connect_server import POOL

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
