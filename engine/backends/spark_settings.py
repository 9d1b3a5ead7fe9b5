"""A Spark step's settings as the backends need them: resources, conf, dependencies, modules."""

from __future__ import annotations

import random
import socket
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.pipeline.model import Compute, Node

DEFAULT_MASTER = "local[*]"
# node resource param -> (spark conf key, spark-submit option, Spark's default when unset)
RESOURCES = {
    "spark.driver_memory": ("spark.driver.memory", "--driver-memory", "1g"),
    "spark.driver_cores": ("spark.driver.cores", "--driver-cores", "1"),
    "spark.executor_memory": ("spark.executor.memory", "--executor-memory", "1g"),
    "spark.executor_cores": ("spark.executor.cores", "--executor-cores", None),
    "spark.num_executors": ("spark.executor.instances", "--num-executors", None),
}
EXECUTOR_PARAMS = ("spark.executor_memory", "spark.executor_cores", "spark.num_executors")


def master_of(compute: Compute) -> str:
    return compute.master or DEFAULT_MASTER


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def is_remote_connect(master: str) -> bool:
    return master.startswith("sc://")


@dataclass(frozen=True)
class StepSpark:
    """What one Spark step asks for."""

    resources: dict[str, str]  # node resource param -> value, only those set
    conf: dict[str, str]  # the step's spark.conf
    py_files: list[Path]
    jars: list[Path]
    files: list[Path]

    @classmethod
    def of(cls, node: Node, code_dir: Path) -> StepSpark:
        params = node.params
        resources = {k: str(params[k]) for k in RESOURCES if params.get(k) not in (None, "")}
        conf = {str(k): conf_value(v) for k, v in (params.get("spark.conf") or {}).items()}

        def paths(name: str) -> list[Path]:
            return [code_dir / str(p) for p in (params.get(name) or [])]

        return cls(resources, conf, paths("py_files"), paths("jars"), paths("files"))

    def runtime_sql_conf(self) -> dict[str, str]:
        return {k: v for k, v in self.conf.items() if k.startswith("spark.sql.")}

    def static_conf(self) -> dict[str, str]:
        return {k: v for k, v in self.conf.items() if not k.startswith("spark.sql.")}


def conf_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def modules_zip(code_dir: Path, entry: Path, dest: Path) -> Path | None:
    """A zip of the snapshot's Python modules (package layout kept) for workers to import;
    None when the entry file is the only module (its functions travel by value)."""
    modules = [
        p
        for p in sorted(code_dir.rglob("*.py"))
        if p != entry
        and not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(code_dir).parts
        )
    ]
    if not modules:
        return None
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in modules:
            archive.write(path, path.relative_to(code_dir).as_posix())
    return dest


_LOW_PORTS = (20000, 32768)  # below Linux's default ephemeral range (32768-60999)


def _ephemeral_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    try:
        with open(path, encoding="ascii") as handle:
            low, high = (int(part) for part in handle.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port(tries: int = 64) -> int:
    """A TCP port free on 127.0.0.1 now, for a server started a few seconds later.

    Taken outside the kernel's ephemeral range when it can be: a port the kernel handed out
    for bind(0) is also what it hands any outgoing connection, and one did take a Connect
    server's port while its JVM booted ("Failed to bind to address"). A port below the range
    is only taken by someone asking for it by number."""
    low, _high = _ephemeral_range()
    start, stop = _LOW_PORTS[0], min(_LOW_PORTS[1], low)
    pick = random.SystemRandom()
    for _ in range(tries if stop - start > 100 else 0):
        port = pick.randrange(start, stop)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # any free port
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host: str, port: int, timeout: float = 5.0) -> str | None:
    """None when host:port accepts a TCP connection, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)
