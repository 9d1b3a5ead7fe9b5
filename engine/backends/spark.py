"""The Spark backend: each Spark step runs under `connect` (a fresh Python process on a warm
Spark Connect server) or `submit` (spark-submit); `auto` picks per step from its code."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine import java as java_finder
from engine.backends.base import BackendError, LogFn, ProgressSource, StepLaunch, StepToRun
from engine.backends.classic_api import find_classic_use
from engine.backends.connect_server import ConnectServer, ServerKey, client_env, server_env
from engine.backends.reachability import require_reachable
from engine.backends.server_pool import POOL
from engine.backends.spark_boot import ARTIFACTS_ENV, PROGRESS_ENV, SQL_CONF_ENV
from engine.backends.spark_progress import ProgressFile, SparkUiProgress
from engine.backends.spark_settings import (
    EXECUTOR_PARAMS,
    RESOURCES,
    StepSpark,
    is_local,
    is_remote_connect,
    master_of,
    modules_zip,
    reachable,
)
from engine.backends.submit import submit_command
from engine.backends.zygote_pool import ZYGOTES, Zygote
from engine.environments import spec_of
from engine.environments.cache import read_built
from engine.environments.pack import packed_packages
from engine.pipeline.model import Compute
from engine.problems import PipelineError

BOOT = str(Path(__file__).with_name("spark_boot.py"))


class SparkStepError(PipelineError, BackendError):
    """A Spark step cannot start (unreachable server, classic code on Connect, ...)."""

    def __str__(self) -> str:
        return self.problems[0].message


MAX_REMEMBERED = 500  # steps whose session/progress the backend keeps for on_failure/cancel
ERROR_LOG_WAIT = 3.0  # seconds a failed step waits for the server to log its error
SERVER_ERROR_LINES = 80  # at most this many server log lines are attached to a failed step


@dataclass
class SparkRun:
    """What the backend remembers about one running step."""

    mode: str  # connect | submit
    session_id: str | None = None
    url: str | None = None  # connect: the session's connection string
    token: str | None = None
    server: ConnectServer | None = None
    log_offset: int = 0
    progress: ProgressSource | None = None


class SparkBackend:
    name = "spark"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[ServerKey] = set()
        self._zygote_pythons: set[str] = set()
        self._runs: dict[tuple[str, str], SparkRun] = {}

    # -- servers ---------------------------------------------------------------------------

    def prepare(self, steps: list[StepToRun], computes: dict[str, Compute]) -> None:
        """Start (in the background) the local server every connect/auto step will need.

        An `auto` step whose code uses the classic API will run under spark-submit: it gets
        no server (the same scan decides again on its snapshot when it starts).
        """
        classic: dict[tuple[Path, Path], bool] = {}  # steps mostly share a folder and script
        for step in steps:
            node = step.node
            compute = computes.get(node.params.get("compute"))
            if compute is None or compute.type != "spark":
                continue
            chosen = node.params.get("backend") or "auto"
            if chosen == "submit":
                continue
            remote = is_remote_connect(master_of(compute))
            if chosen == "auto" and not remote:
                key = (step.entry, step.source_dir)
                if key not in classic:
                    classic[key] = find_classic_use(*key) is not None
                if classic[key]:
                    continue
            python = getattr(step, "python", None) or sys.executable
            if python == sys.executable:  # an environment's zygote waits for its build
                self._zygote(python)
            if not remote:
                self._server(compute, _server_python(compute, python))

    def _server(self, compute: Compute, python: str) -> ConnectServer:
        key = ServerKey.of(master_of(compute), compute.conf, python)
        with self._lock:
            first = key not in self._held
            self._held.add(key)
        return POOL.acquire(key) if first else POOL.get(key)

    def _zygote(self, python: str) -> Zygote:
        with self._lock:
            first = python not in self._zygote_pythons
            self._zygote_pythons.add(python)
        return ZYGOTES.acquire(python) if first else ZYGOTES.get(python)

    def close(self, keep_warm: bool = False) -> None:
        with self._lock:
            held, self._held = self._held, set()
            pythons, self._zygote_pythons = self._zygote_pythons, set()
        for key in held:
            POOL.release(key, keep_warm)
        for python in pythons:
            ZYGOTES.release(python, keep_warm)
        if not keep_warm:
            POOL.stop_idle()
            ZYGOTES.stop_idle()

    # -- steps -----------------------------------------------------------------------------

    def command(self, launch: StepLaunch, log: LogFn) -> tuple[list[str], dict[str, str]]:
        if master_of(launch.compute).startswith("spark://"):  # else Spark retries for minutes
            require_reachable(launch.compute)
        mode = self._mode(launch, log)
        shipped = self._ship_environment(launch, log)
        if mode == "submit":
            submit = submit_command(launch, log, shipped)
            self._remember(launch, SparkRun("submit", progress=SparkUiProgress(submit.ui_port)))
            return submit.argv, submit.env
        return self._connect_command(launch, log, shipped)

    def _ship_environment(self, launch: StepLaunch, log: LogFn) -> str | None:
        """For executors on other machines (a cluster master, an sc:// server): the zip of the
        step's built environment, which Spark puts on their Python path."""
        if launch.environment is None or not _executors_elsewhere(launch.compute):
            return None
        built = read_built(spec_of(launch.environment, launch.project_dir).key)
        if built is None:  # no packages of its own: nothing to ship
            return None
        zip_path, compiled = packed_packages(built)
        log(
            f"environment {launch.environment.name}: its packages go to the executors of "
            f"{master_of(launch.compute)} as {zip_path.name} (their Python runs them)"
        )
        if compiled:
            log(
                f"note: {', '.join(compiled)} hold compiled code, which does not import from a "
                "zip: install them on the cluster's Python (docs/environments.md)"
            )
        return str(zip_path)

    def _mode(self, launch: StepLaunch, log: LogFn) -> str:
        chosen = launch.node.params.get("backend") or "auto"
        master = master_of(launch.compute)
        use = None
        if chosen == "auto" or is_remote_connect(master):
            use = find_classic_use(launch.entry, launch.code_dir)
        if is_remote_connect(master):
            if chosen == "submit" or use:
                why = use.describe(launch.code_dir) if use else "backend: submit was asked for"
                raise SparkStepError(
                    f"{launch.step}: compute {launch.compute.name} is a Spark Connect server "
                    f"({master}), which cannot run classic-API code ({why}); use a compute "
                    "with a local[...], spark://, yarn or k8s:// master"
                )
            return "connect"
        if chosen != "auto":
            return chosen
        if use:
            log(f"backend auto -> submit: {use.describe(launch.code_dir)}")
            return "submit"
        log("backend auto -> connect (no classic Spark API found in the code)")
        return "connect"

    def _connect_command(
        self, launch: StepLaunch, log: LogFn, shipped: str | None = None
    ) -> tuple[list[str], dict[str, str]]:
        settings = StepSpark.of(launch.node, launch.code_dir)
        session_id = str(uuid.uuid4())  # Connect wants a UUID; one per step run
        master = master_of(launch.compute)
        run = SparkRun("connect", session_id=session_id)
        if is_remote_connect(master):
            env = client_env(launch.python, launch.env)  # no Java needed: the server is remote
            run.url, run.token = self._remote_url(launch.compute, session_id, launch.env)
            if run.token:
                env["SPARK_CONNECT_AUTHENTICATE_TOKEN"] = run.token
            self._note_remote(launch, settings, log)
        else:
            env = server_env(launch.python, java_finder.find_java(launch.env), launch.env)
            server = self._server(launch.compute, _server_python(launch.compute, launch.python))
            if server.shared_owner is not None:
                log(
                    f"on the Spark Connect server of `pipeloom serve` (process {server.shared_owner})"
                )
            # no wait: the step imports pyspark while the server boots (see spark_boot)
            run.server, run.token = server, server.token
            run.url = server.url(session_id, wait=False)
            run.log_offset = server.log_size()
            env.update(server.client_env())
            self._note_unhonoured(launch, settings, log)
        env["SPARK_REMOTE"] = run.url
        progress_file = launch.workdir / "spark-progress.jsonl"
        env[PROGRESS_ENV] = str(progress_file)
        run.progress = ProgressFile(progress_file)
        sql_conf = settings.runtime_sql_conf()
        if sql_conf:
            env[SQL_CONF_ENV] = json.dumps(sql_conf)
        artifacts = [str(p) for p in settings.py_files]
        modules = modules_zip(launch.code_dir, launch.entry, launch.workdir / "modules.zip")
        if modules:
            artifacts.append(str(modules))
        if shipped:
            artifacts.append(shipped)
        if artifacts:
            env[ARTIFACTS_ENV] = json.dumps(artifacts)
        self._remember(launch, run)
        # a fork of a process that has imported pyspark already: ~1 s less per step
        zygote = self._zygote(launch.python)
        return zygote.client_argv([BOOT, str(launch.entry), *launch.args]), env

    def _remote_url(
        self, compute: Compute, session_id: str, env: dict[str, str]
    ) -> tuple[str, str | None]:
        master = master_of(compute)
        parsed = urllib.parse.urlparse("http" + master[2:])
        host, port = parsed.hostname or "", parsed.port or 15002
        problem = reachable(host, port)
        if problem:
            raise SparkStepError(
                f"Cannot reach the Spark Connect server {master} of compute {compute.name}: "
                f"{problem}. Is it running, and is the address right?"
            )
        token = None
        if compute.token_env:
            token = env.get(compute.token_env)
            if not token:
                raise SparkStepError(
                    f"Compute {compute.name} reads its token from ${compute.token_env}, "
                    "which is not set"
                )
        base = master.split(";", 1)[0].rstrip("/")
        return f"{base}/;session_id={session_id}", token

    def _note_unhonoured(self, launch: StepLaunch, settings: StepSpark, log: LogFn) -> None:
        """A shared server has one driver and one static conf: say what this step cannot get."""
        compute = launch.compute
        server_conf = {k: str(v) for k, v in compute.conf.items()}
        local = is_local(master_of(compute))
        for param, value in settings.resources.items():
            key, _option, default = RESOURCES[param]
            if local and param in EXECUTOR_PARAMS:
                log(
                    f"note: {param} = {value} has no effect with master {master_of(compute)}: "
                    "in local mode the driver runs the tasks"
                )
                continue
            actual = server_conf.get(key, default)
            if actual is not None and str(actual) == value:
                continue
            runs_with = f"{key}={actual}" if actual is not None else f"{key} unset"
            log(
                f"note: {param} = {value} is not applied: the shared Spark Connect server of "
                f"compute {compute.name} runs with {runs_with}; set it in "
                f"computes.{compute.name}.conf, or use backend: submit"
            )
        for key, value in settings.static_conf().items():
            if server_conf.get(key) == value:
                continue
            log(
                f"note: spark.conf {key} = {value} is not applied: static settings of a shared "
                f"Spark Connect server come from computes.{compute.name}.conf (spark.sql.* "
                "settings are applied per step); or use backend: submit"
            )
        for name, paths in (("jars", settings.jars), ("files", settings.files)):
            if paths:
                log(
                    f"note: {name} ({', '.join(p.name for p in paths)}) are not shipped to the "
                    f"shared Spark Connect server; use backend: submit for them"
                )

    def _note_remote(self, launch: StepLaunch, settings: StepSpark, log: LogFn) -> None:
        """An existing server keeps its own resources and static settings."""
        asked = [f"{k} = {v}" for k, v in settings.resources.items()]
        asked += [f"spark.conf {k} = {v}" for k, v in settings.static_conf().items()]
        asked += [
            f"{n}: {len(p)} file(s)"
            for n, p in (("jars", settings.jars), ("files", settings.files))
            if p
        ]
        for item in asked:
            log(
                f"note: {item} is not applied: compute {launch.compute.name} is an existing "
                "Spark Connect server with its own settings (spark.sql.* settings are applied)"
            )

    def _remember(self, launch: StepLaunch, run: SparkRun) -> None:
        with self._lock:
            self._runs[(launch.run_id, launch.step)] = run
            while len(self._runs) > MAX_REMEMBERED:  # a long-lived designer runs many steps
                del self._runs[next(iter(self._runs))]

    def _run(self, launch: StepLaunch) -> SparkRun | None:
        with self._lock:
            return self._runs.get((launch.run_id, launch.step))

    def progress_source(self, launch: StepLaunch) -> ProgressSource | None:
        run = self._run(launch)
        return run.progress if run else None

    def on_failure(self, launch: StepLaunch) -> list[str]:
        """The server's log lines for this step's session (or its time window)."""
        run = self._run(launch)
        if run is None or run.server is None:
            return []
        # the client may see the error before the server's log has it: wait a moment for it
        deadline = time.monotonic() + ERROR_LOG_WAIT
        while True:
            lines = run.server.log_since(run.log_offset)
            used = run.session_id and any(run.session_id in line for line in lines)
            if not used or any(" ERROR " in line for line in lines) or time.monotonic() > deadline:
                return server_error_lines(lines, run.session_id or "")
            time.sleep(0.1)

    def cancel(self, launch: StepLaunch) -> None:
        """Interrupt the session's jobs on the server; the runner kills the process tree."""
        run = self._run(launch)
        if run is None or run.mode != "connect" or not run.url:
            return
        thread = threading.Thread(target=_interrupt, args=(run.url, run.token), daemon=True)
        thread.start()
        thread.join(3.0)  # keep cancel within the runner's 5 s budget


def _executors_elsewhere(compute: Compute) -> bool:
    """Whether the compute's executors may run on other machines than this one."""
    return not is_local(master_of(compute))


def _server_python(compute: Compute, python: str) -> str:
    """The Python of a server's executors: the step's environment on a local master; on a
    cluster, the cluster's (the interpreter path Pipeloom runs with, as for steps without an
    environment), the environment's packages being shipped to it as a zip."""
    return python if not _executors_elsewhere(compute) else sys.executable


def _interrupt(url: str, token: str | None) -> None:
    try:
        from pyspark.sql.connect.client import DefaultChannelBuilder
        from pyspark.sql.connect.session import SparkSession as ConnectSession

        builder = DefaultChannelBuilder(url)
        if token:
            builder.set("token", token)
        session = ConnectSession(connection=builder)
        session.interruptAll()
        session._client.close()
    except Exception:  # noqa: BLE001 - the step's process is killed anyway
        pass


def server_error_lines(lines: list[str], session_id: str) -> list[str]:
    """Error lines (and their stack traces) from a server log excerpt; this session's first."""
    picked: list[str] = []
    keep = False
    for line in lines:
        starts_record = line[:2].isdigit()  # log4j lines start with the date; traces do not
        if starts_record:
            keep = (session_id and session_id in line) or " ERROR " in line
        if keep:
            picked.append(line)
    if not picked:
        return []
    if len(picked) > SERVER_ERROR_LINES:
        picked = picked[:SERVER_ERROR_LINES] + [f"... ({len(picked) - SERVER_ERROR_LINES} more)"]
    return ["Spark Connect server log for this step:", *picked]
