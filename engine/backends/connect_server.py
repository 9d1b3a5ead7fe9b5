"""Warm Spark Connect servers: started from the pyspark package, one per configuration, owned
by this process (they die with it, even on kill -9) and pooled so later runs reuse them."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from engine import java as java_finder
from engine.backends.server_cds import ServerArchive
from engine.backends.spark_boot import SERVER_STATUS_ENV
from engine.backends.spark_launch import jvm_command, launcher_env
from engine.backends.spark_settings import free_port
from engine.problems import PipelineError
from engine.procs import alive
from engine.userdirs import cache_dir

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
READY_TIMEOUT = 240.0  # seconds; 2 busy cores can make a JVM start slow
_STARTED = re.compile(r"Spark Connect server started at: .*?:(\d+)\s*$")
STATUS_READY, STATUS_FAILED = "ready", "failed"  # first line of a server's status file
_FAILED = ("Error starting Spark Connect server", 'Exception in thread "main"')
# Environment that would make the server (or pyspark inside it) act as a Connect client.
_CLIENT_ENV = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE", "SPARK_API_MODE")
WATCHDOG = str(Path(__file__).with_name("server_watchdog.py"))


class ServerStartError(PipelineError):
    """The Connect server did not come up; the message ends with its last log lines."""

    def __str__(self) -> str:
        return self.problems[0].message


def spark_home() -> str:
    """The Spark distribution inside the installed pyspark package (never a foreign SPARK_HOME)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError("Spark steps need pyspark: pip install 'pyspark[connect]'")
    return list(spec.submodule_search_locations)[0]


@dataclass(frozen=True)
class ServerKey:
    """What makes two servers different: steps may share a server only when all three match."""

    master: str
    conf: tuple[tuple[str, str], ...]  # static Spark configuration, sorted
    python: str  # interpreter of the steps (PYSPARK_PYTHON of the server's Python workers)

    @classmethod
    def of(cls, master: str, conf: dict, python: str) -> ServerKey:
        return cls(master, tuple(sorted((str(k), str(v)) for k, v in conf.items())), python)


def client_env(python: str, base: dict[str, str] | None = None) -> dict:
    """Environment of a Spark process: no inherited Connect settings, loopback, the step's Python."""
    env = dict(os.environ if base is None else base)
    for name in _CLIENT_ENV:
        env.pop(name, None)
    env.update(SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=python, PYSPARK_DRIVER_PYTHON=python)
    return env


def server_env(python: str, java: java_finder.Java, base: dict[str, str] | None = None) -> dict:
    """Environment of any Spark JVM we start: client_env plus our Spark and our Java."""
    env = client_env(python, base)
    env.update(SPARK_HOME=spark_home(), JAVA_HOME=java.home)
    return env


def server_submit_args(key: ServerKey, java_options: list[str], port: int) -> list[str]:
    """SparkSubmit arguments that run the server in the foreground (no daemon) on `port`."""
    conf = dict(key.conf)
    args = ["--master", key.master, "--name", "Pipeloom Connect server"]
    # Driver JVM settings only take effect as spark-submit options in client mode.
    if "spark.driver.memory" in conf:
        args += ["--driver-memory", conf.pop("spark.driver.memory")]
    extra = conf.pop("spark.driver.extraJavaOptions", "")
    options = " ".join([*java_options, extra]).strip()
    if options:
        args += ["--driver-java-options", options]
    conf.setdefault("spark.ui.showConsoleProgress", "false")
    # the default 2 s leaves short jobs without any progress report (and the canvas bar idle)
    conf.setdefault("spark.connect.progress.reportInterval", "200ms")
    conf.update(
        {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(port),
        }
    )
    for name, value in conf.items():
        args += ["--conf", f"{name}={value}"]
    return [*args, "--class", SERVER_CLASS, "spark-internal"]


@dataclass
class ConnectServer:
    """One server process (a watchdog and its JVM); start() returns at once, url() waits."""

    key: ServerKey
    java_options: list[str] = field(default_factory=list)
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_path: Path | None = None
    port: int | None = None
    pid: int | None = None  # the JVM
    started_at: float | None = None
    ready_seconds: float | None = None
    status_path: Path | None = None  # "ready" or "failed\n<why>", for steps already waiting
    _watchdog: subprocess.Popen | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: Exception | None = None
    _stopped: bool = False
    _archive: ServerArchive | None = None
    _jvm_command: list[str] = field(default_factory=list)
    shared_owner: int | None = None  # the pid of `pipeloom serve` when another process owns it

    @classmethod
    def shared(cls, key: ServerKey, owner: int, **known) -> ConnectServer:
        """A ready server that another process owns and publishes (engine.backends.shared_servers):
        used as is, never started or stopped from here."""
        server = cls(key, shared_owner=owner, **known)
        server._ready.set()
        return server

    def start(self) -> None:
        """Launch in a background thread, overlapped with whatever the caller does next.

        The port is picked now, so clients can be started (and import pyspark) while the
        server boots; they wait for the status file to say ready.
        """
        self.started_at = time.monotonic()
        logs = cache_dir() / "servers"
        logs.mkdir(exist_ok=True)
        _prune(logs)
        name = f"connect-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.log_path = logs / f"{name}.log"
        self.status_path = logs / f"{name}.status"
        self.port = free_port()
        threading.Thread(target=self._launch, name="connect-server-start", daemon=True).start()

    def _launch(self) -> None:
        try:
            java = java_finder.find_java()
            env = server_env(self.key.python, java)
            env = launcher_env(env, env["SPARK_HOME"])  # what spark-class would export
            env["SPARK_CONNECT_AUTHENTICATE_TOKEN"] = self.token
            self._archive = ServerArchive(java, env["SPARK_HOME"])
            options = [*self.java_options, *self._archive.java_options()]
            submit_args = server_submit_args(self.key, options, self.port)
            self._jvm_command = jvm_command(submit_args, env, java)
            command = [sys.executable, "-I", "-S", WATCHDOG, str(self.log_path)]
            command += self._jvm_command
            # stdin is the lifeline: only we hold its write end, so our death means EOF there.
            self._watchdog = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # a terminal's Ctrl-C goes to the runner, not the server
            )
            self.pid = int(self._watchdog.stdout.readline() or 0) or None
            if self._stopped:  # closed while we were launching
                raise ServerStartError("The Spark Connect server was stopped while starting")
            self._wait_for_port()
            self.ready_seconds = time.monotonic() - (self.started_at or 0)
            self._write_status(STATUS_READY)
        except Exception as exc:  # reported to whoever waits in url()
            self._error = exc
            self._write_status(f"{STATUS_FAILED}\n{exc}")
            self.stop()
        finally:
            self._ready.set()

    def _write_status(self, text: str) -> None:
        temp = self.status_path.with_suffix(".tmp")
        temp.write_text(text + "\n", encoding="utf-8")
        os.replace(temp, self.status_path)  # readers never see half a status

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + READY_TIMEOUT
        offset = 0
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                chunk = log.read()
            # only whole lines; a partial last line is read again next time
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.decode("utf-8", "replace").splitlines():
                match = _STARTED.search(line)
                if match:
                    return int(match.group(1))
                if any(marker in line for marker in _FAILED):
                    raise self._start_error("failed to start")
            if self._stopped:
                raise ServerStartError("The Spark Connect server was stopped while starting")
            if self._watchdog.poll() is not None:
                raise self._start_error(f"exited with code {self._watchdog.returncode}")
            time.sleep(0.05)
        raise self._start_error(f"was not ready after {READY_TIMEOUT:.0f} s")

    def _start_error(self, what: str) -> ServerStartError:
        lines = "\n".join("  " + line for line in self.log_tail(25))
        return ServerStartError(
            f"The Spark Connect server for master {self.key.master} {what}; "
            f"its log ({self.log_path}) ends with:\n{lines}"
        )

    def wait(self, timeout: float | None = None) -> ConnectServer:
        """Block until the server accepts clients; raises ServerStartError when it cannot."""
        if not self._ready.wait(timeout if timeout is not None else READY_TIMEOUT + 30):
            raise ServerStartError(f"The Spark Connect server for {self.key.master} is not ready")
        if self._error is not None:
            raise self._error
        return self

    def url(self, session_id: str | None = None, wait: bool = True) -> str:
        """Connection string for a client; `localhost` so the token travels without TLS."""
        if wait:
            self.wait()
        elif self._error is not None:
            raise self._error
        url = f"sc://localhost:{self.port}/"
        return f"{url};session_id={session_id}" if session_id else url

    def client_env(self) -> dict[str, str]:
        return {
            "SPARK_CONNECT_AUTHENTICATE_TOKEN": self.token,
            SERVER_STATUS_ENV: str(self.status_path),
        }

    def alive(self) -> bool:
        if self.shared_owner is not None:
            return bool(self.pid) and alive(self.shared_owner) and alive(self.pid)
        return self._watchdog is not None and self._watchdog.poll() is None

    def log_tail(self, count: int) -> list[str]:
        if self.log_path is None or not self.log_path.exists():
            return []
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return [line.rstrip("\n") for line in deque(log, maxlen=count)]

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size if self.log_path else 0
        except OSError:
            return 0

    def log_since(self, offset: int) -> list[str]:
        """Lines the server logged after byte `offset` (see log_size), for failure reports."""
        if self.log_path is None or not self.log_path.exists():
            return []
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace").splitlines()

    def stop(self, grace: float = 10.0, wait: bool = True) -> None:
        """Stop by PID: SIGTERM to the JVM, SIGKILL when it lingers; then the watchdog.

        wait=False returns at once: the watchdog, seeing its lifeline closed, finishes the job.
        """
        if self.shared_owner is not None:
            return  # its owner stops it
        already_stopped, self._stopped = self._stopped, True
        if self.pid:
            if wait:
                _signal_and_wait(self.pid, grace)
            else:
                _signal(self.pid, signal.SIGTERM)
            if self._archive is not None and not already_stopped and self.ready_seconds:
                self._archive.after_stop(self.pid, self._jvm_command)
        if self._watchdog is not None:
            if self._watchdog.stdin:
                self._watchdog.stdin.close()
            if not wait:
                return
            try:
                self._watchdog.wait(grace)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait()
            if self._watchdog.stdout:
                self._watchdog.stdout.close()


def _prune(folder: Path, days: float = 7.0) -> None:
    """Old server logs and status files go; a live server's are touched as it logs."""
    cutoff = time.time() - days * 86400
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _signal_and_wait(pid: int, grace: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

    # the JVM is the watchdog's child: once it exits and is reaped, kill(0) fails; a zombie
    # still answers, so look at its state where /proc exists
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def startup_java_options() -> list[str]:
    """JVM options that shorten the server's start (benchmarks/spark_server_start.py).

    C1 only: on few cores C2 compiler threads compete with Spark's start-up and first jobs;
    start and first query take about half as long. A compute that wants C2 for long jobs sets
    `spark.driver.extraJavaOptions: -XX:TieredStopAtLevel=4` (given after ours, so it wins).

    The code cache keeps the size a tiered JVM gets: with C1 only, the JVM falls back to the
    non-tiered default of 48 MB, which a warm server fills within minutes of varied queries
    ("CodeCache is full. Compiler has been disabled", then "Out of space in CodeCache for
    adapters", and the server exits). Reserved, not committed: it costs nothing until used.
    """
    return ["-XX:TieredStopAtLevel=1", f"-XX:ReservedCodeCacheSize={CODE_CACHE}"]


CODE_CACHE = "240m"  # what the JVM reserves by default with tiered compilation
