"""Where a compute's cluster is and whether it answers: addresses, TCP probes, status reports.

`check_compute` answers `pipeloom computes --check` and the designer's "Test connection":
per compute, reachable or not (within CHECK_TIMEOUT seconds), and what the cluster offers
(a standalone master's cores and memory from its JSON status, a Connect server's Spark
version, a Ray cluster's resources). Pure Python; Ray and pyspark run in child processes.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from engine.pipeline.computes import host_port, is_ray
from engine.pipeline.model import Compute
from engine.problems import PipelineError

CHECK_TIMEOUT = 10.0  # seconds a whole check of one compute may take
RAY_CONNECT_TIMEOUT = 5.0  # seconds a TCP probe of a Ray address may take
SPARK_UI_PORT_CONF = "spark.master.ui.port"  # where a standalone master's status is read
DEFAULT_SPARK_UI_PORT = 8080


class ComputeUnreachable(PipelineError):
    """A compute's cluster does not answer; the message names the compute and address."""

    def __str__(self) -> str:
        return self.problems[0].message


def ray_client_target(address: str) -> str:
    """What ray.init takes: a ray:// address as is; a dashboard URL has no client address."""
    if address.startswith("ray://"):
        return address
    raise PipelineError(
        f"{address} is a Ray dashboard address; steps run through Ray Client: use "
        "ray://HOST:10001 (the head's client server port) as the compute's master"
    )


def probe_tcp(address: str, timeout: float, default_port: int = 10001) -> None:
    """Raise ConnectionError naming the address unless it accepts a TCP connection in time."""
    host, port = host_port(address, default_port)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as e:
        why = e.strerror or str(e) or type(e).__name__
        raise ConnectionError(f"nothing answers at {host}:{port} ({why})") from None


def require_reachable(compute: Compute, timeout: float = 5.0) -> None:
    """Fail fast (ComputeUnreachable) when a cluster master does not accept connections."""
    master = compute.master or ""
    defaults = {"spark://": 7077, "sc://": 15002, "ray://": 10001, "http://": 8265}
    for scheme, port in defaults.items():
        if master.startswith(scheme):
            try:
                probe_tcp(master, timeout, port)
            except ConnectionError as e:
                raise ComputeUnreachable(
                    f"compute {compute.name!r}: cannot reach {master}: {e}. "
                    "Is the cluster running, and is the address right?"
                ) from None
            return


@dataclass
class ComputeReport:
    name: str
    kind: str  # what the compute is, in words
    address: str
    reachable: bool
    detail: str  # what the cluster offers, or why it cannot be reached
    facts: dict = field(default_factory=dict)  # version, cores, memory, resources


def describe(compute: Compute) -> tuple[str, str]:
    """(kind in words, address) of a compute, without contacting it."""
    master = compute.master if isinstance(compute.master, str) else ""
    if compute.type == "cpu-pool":
        if is_ray(compute):
            return "Ray cluster", master
        workers = compute.workers or os.cpu_count() or 1
        return f"local process pool ({workers} workers)", "this machine"
    if master.startswith("sc://"):
        return "Spark Connect server", master
    if master.startswith("spark://"):
        return "Spark standalone master", master
    if master.startswith("local") or not master:
        return "local Spark", master or "local[*]"
    return "Spark cluster", master


def check_compute(compute: Compute, env: dict[str, str] | None = None) -> ComputeReport:
    """Contact a compute's cluster (at most CHECK_TIMEOUT seconds) and say what it offers."""
    env = dict(os.environ if env is None else env)
    kind, address = describe(compute)
    report = ComputeReport(compute.name, kind, address, True, "")
    started = time.monotonic()
    try:
        if compute.type == "cpu-pool" and not is_ray(compute):
            report.detail = f"{os.cpu_count() or 1} cores on this machine"
        elif is_ray(compute):
            _check_ray(compute, report)
        elif address.startswith("sc://"):
            _check_connect(compute, report, env)
        elif address.startswith("spark://"):
            _check_standalone(compute, report)
        elif kind == "local Spark":
            from engine.java import JavaMissing, find_java

            try:
                java = find_java(env)
                report.detail = f"this machine ({os.cpu_count()} cores), Java {java.major}"
            except JavaMissing as e:
                report.reachable, report.detail = False, str(e)
        else:
            require_reachable(compute)
            report.detail = "accepts connections (no status is read from this kind of master)"
    except (ComputeUnreachable, ConnectionError, PipelineError) as e:
        report.reachable, report.detail = False, str(e)
    report.facts["seconds"] = round(time.monotonic() - started, 2)
    return report


def _remaining(started: float) -> float:
    return max(1.0, CHECK_TIMEOUT - (time.monotonic() - started))


def _check_standalone(compute: Compute, report: ComputeReport) -> None:
    require_reachable(compute)
    host, _ = host_port(report.address, 7077)
    ui_port = int(compute.conf.get(SPARK_UI_PORT_CONF, DEFAULT_SPARK_UI_PORT))
    url = f"http://{host}:{ui_port}/json/"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status = json.load(response)
    except (OSError, ValueError) as e:
        report.detail = (
            f"accepts connections; no status at {url} ({e}); set {SPARK_UI_PORT_CONF} in the "
            "compute's conf when the master's web UI is not on port 8080"
        )
        return
    status.setdefault("version", _ui_version(f"http://{host}:{ui_port}/"))
    workers = [w for w in status.get("workers", []) if w.get("state") == "ALIVE"]
    cores, memory = status.get("cores", 0), status.get("memory", 0)
    report.facts.update(
        version=status.get("version"),
        workers=len(workers),
        cores=cores,
        memory_mb=memory,
        status=status.get("status"),
    )
    report.detail = (
        f"Spark {status.get('version', '?')}, {len(workers)} worker(s) alive, "
        f"{cores} cores, {_mb(memory)} memory offered (master {status.get('status', '?')})"
    )
    if not workers:
        report.detail += "; no worker: steps would wait for resources"


def _ui_version(url: str) -> str | None:
    """The Spark version a web UI page shows (the master's JSON does not say it)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            html = response.read(200_000).decode("utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(r'<span class="version[^"]*">([^<]+)</span>', html)
    return found.group(1).strip() if found else None


def _mb(mb: int) -> str:
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb} MiB"


_CONNECT_PROBE = r"""
import json, os, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
print(json.dumps({"version": spark.version}))
spark.stop()
"""


def _check_connect(compute: Compute, report: ComputeReport, env: dict[str, str]) -> None:
    started = time.monotonic()
    require_reachable(compute)
    url = report.address
    if compute.token_env:
        token = env.get(compute.token_env)
        if not token:
            raise PipelineError(
                f"compute {compute.name!r}: the environment variable {compute.token_env} "
                "(its token_env) is not set"
            )
        env["SPARK_CONNECT_AUTHENTICATE_TOKEN"] = token  # never on the command line
    env.pop("SPARK_REMOTE", None)
    out = _run_probe([sys.executable, "-c", _CONNECT_PROBE, url], env, _remaining(started))
    report.facts["version"] = out["version"]
    report.detail = f"Spark Connect server, Spark {out['version']}"


def _check_ray(compute: Compute, report: ComputeReport) -> None:
    started = time.monotonic()
    require_reachable(compute)
    address = report.address
    if address.startswith(("http://", "https://")):
        _check_ray_dashboard(address, report)
        return
    sock = os.path.join(tempfile.mkdtemp(prefix="pipeloom-check-"), "gw.sock")
    argv = [sys.executable, "-m", "engine.backends.ray_gateway", address, sock]
    out = _run_probe(argv, dict(os.environ), _remaining(started), first_line=True)
    if "error" in out:
        raise ConnectionError(f"Ray at {address} refused the connection: {out['error']}")
    resources = out["ready"]
    report.facts["resources"] = resources
    report.detail = "Ray cluster: " + _ray_summary(resources)


def _ray_summary(resources: dict) -> str:
    parts = []
    for key in ("CPU", "GPU", "memory", "object_store_memory"):
        if key in resources:
            value = resources[key]
            parts.append(
                f"{_mb(int(value) // 2**20)} {key}" if "memory" in key else f"{value:g} {key}"
            )
    others = sorted(
        k for k in resources if k not in ("CPU", "GPU", "memory", "object_store_memory")
    )
    parts += [f"{resources[k]:g} {k}" for k in others]
    return ", ".join(parts) or "no resources"


def _check_ray_dashboard(address: str, report: ComputeReport) -> None:
    url = address.rstrip("/") + "/api/version"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            version = json.load(response)
    except (OSError, ValueError) as e:
        raise ConnectionError(f"no Ray dashboard answers at {url} ({e})") from None
    report.facts["version"] = version.get("ray_version")
    resources: dict[str, float] = {}
    try:
        url = address.rstrip("/") + "/api/v0/nodes?limit=1000&detail=true"
        with urllib.request.urlopen(url, timeout=5) as response:
            nodes = json.load(response)["data"]["result"]["result"]
        for node in nodes:
            if node.get("state") == "ALIVE":
                for key, value in (node.get("resources_total") or {}).items():
                    if not key.startswith("node:"):
                        resources[key] = resources.get(key, 0) + value
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if "object_store_memory" not in resources and "objectStoreMemory" in resources:
        resources["object_store_memory"] = resources.pop("objectStoreMemory")
    report.facts["resources"] = resources
    report.detail = f"Ray {version.get('ray_version', '?')} (dashboard: steps run as Ray jobs)" + (
        ": " + _ray_summary(resources) if resources else ""
    )


def _run_probe(
    argv: list[str], env: dict[str, str], timeout: float, first_line: bool = False
) -> dict:
    """The JSON a probe process prints (its first line when `first_line`), within `timeout`."""
    proc = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        if first_line:
            import selectors

            sel = selectors.DefaultSelector()
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                raise ConnectionError(f"no answer within {timeout:.0f} s")
            line = proc.stdout.readline()
        else:
            line, err = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                lines = [x for x in err.strip().splitlines() if x.strip()]
                raise ConnectionError(lines[-1][:300] if lines else f"exit {proc.returncode}")
            line = (line.strip().splitlines() or [""])[-1]
        try:
            return json.loads(line)
        except ValueError:
            raise ConnectionError(f"unexpected answer {line[:200]!r}") from None
    except subprocess.TimeoutExpired:
        raise ConnectionError(f"no answer within {timeout:.0f} s") from None
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    import signal

    if proc.stdin:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(2)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
