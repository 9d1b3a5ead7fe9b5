"""The Ray backend: script steps of a cpu-pool whose master is `ray://HOST:PORT`.

Each Ray address gets one gateway process (engine.backends.ray_gateway) holding a warm Ray
Client connection, started in the background by `prepare`. A step's command is a tiny local
process (engine.backends.ray_attach) that hands the step to the gateway and relays its output,
so the runner captures, stores and cancels a Ray step like any other: killing that process
cancels the Ray task. What travels: the step's snapshot (zipped once per run and folder, as
its working code), its environment's pip requirements (Ray's runtime environment), its
context file's content and its PIPELOOM_* variables. Inputs and outputs are paths, so the
datastore must be on a mount every node shares (docs/clusters.md).

Needs the optional extra `pipeloom[ray]`; the gateway alone imports ray.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from engine.backends.base import BackendError, LogFn, ProgressSource, StepLaunch, StepToRun
from engine.backends.ray_gateway import HELPER_FILES
from engine.backends.reachability import ComputeUnreachable, require_reachable
from engine.environments import spec_of
from engine.pipeline.model import Compute
from engine.stepcontext import ENV_VAR

ATTACH = str(Path(__file__).with_name("ray_attach.py"))
ENGINE_PARENT = str(Path(__file__).resolve().parent.parent.parent)
# seconds a gateway may take to connect and start its hub actor; the address was probed
# first, so an unreachable cluster fails in seconds and this only bounds a slow one
READY_TIMEOUT = 120.0
SHIPPED_VARS = ("PYTHONUNBUFFERED", "PIPELOOM_RUN_ID", "PIPELOOM_STEP")
DASHBOARD_SCHEMES = ("http://", "https://")  # a Ray dashboard: steps run as Ray jobs


class RayUnavailable(BackendError):
    """The Ray cluster cannot be used (not installed, unreachable, refused)."""


class RayGateway:
    """One gateway process for one Ray address; stops when its owner closes it or dies."""

    def __init__(self, compute: Compute):
        self.compute = compute
        self.address = str(compute.master)
        self._dir = tempfile.mkdtemp(prefix="pipeloom-ray-")
        self.socket = os.path.join(self._dir, "gateway.sock")
        self._ready = threading.Event()
        self.error: str | None = None
        self.resources: dict = {}
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ENGINE_PARENT, env.get("PYTHONPATH")) if p)
        self._log = open(os.path.join(self._dir, "gateway.log"), "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.backends.ray_gateway", self.address, self.socket],
            stdin=subprocess.PIPE,  # its end of life: closed by us or by our death
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            start_new_session=True,
        )
        threading.Thread(target=self._await_ready, daemon=True).start()

    def _await_ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode("utf-8", errors="replace")
        try:
            message = json.loads(line)
        except ValueError:
            message = {"error": self._last_log_line() or "the gateway exited"}
        if "ready" in message:
            self.resources = message["ready"]
        else:
            self.error = message.get("error") or "no answer"
        self._ready.set()

    def _last_log_line(self) -> str:
        self._log.flush()
        text = Path(self._log.name).read_text(encoding="utf-8", errors="replace")
        lines = [x for x in text.strip().splitlines() if x.strip()]
        return lines[-1][:300] if lines else ""

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and self.error is None

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        if not self._ready.wait(timeout):
            self.stop()
            self.error = f"no connection within {timeout:.0f} s"
        if self.error:
            raise RayUnavailable(
                f"compute {self.compute.name!r}: cannot use the Ray cluster at {self.address}: "
                f"{self.error}"
            )

    def stop(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class RayBackend:
    name = "ray"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gateways: dict[str, RayGateway] = {}
        self._modules: Path | None = None  # the folders a Ray job ships (dashboard addresses)

    def prepare(self, steps: list[StepToRun], computes: dict[str, Compute]) -> None:
        """Start connecting to every Ray cluster the run uses, in the background."""
        if importlib.util.find_spec("ray") is None:
            return  # command() says what to install
        for step in steps:
            if not str(step.compute.master).startswith(DASHBOARD_SCHEMES):
                self._gateway(step.compute, start_only=True)

    def _gateway(self, compute: Compute, start_only: bool = False) -> RayGateway:
        with self._lock:
            gateway = self._gateways.get(str(compute.master))
            if gateway is not None and not gateway.alive and gateway._ready.is_set():
                gateway.stop()  # lost its cluster or failed to connect: try again
                gateway = None
            if gateway is None:
                gateway = self._gateways[str(compute.master)] = RayGateway(compute)
        return gateway

    def command(self, launch: StepLaunch, log: LogFn) -> tuple[list[str], dict[str, str]]:
        if importlib.util.find_spec("ray") is None:
            raise RayUnavailable(
                f"compute {launch.compute.name!r} runs steps on Ray, which is not installed: "
                "pip install 'pipeloom[ray]'"
            )
        try:
            require_reachable(launch.compute)
        except ComputeUnreachable as e:
            raise RayUnavailable(str(e)) from None
        if str(launch.compute.master).startswith(DASHBOARD_SCHEMES):
            return self._job_command(launch, log)
        gateway = self._gateway(launch.compute)
        gateway.wait_ready()
        request_file = self._write_request(launch, log, gateway.address, {})
        log(f"on the Ray cluster {gateway.address}")
        env = {k: v for k, v in launch.env.items() if k != ENV_VAR}
        return [sys.executable, "-u", ATTACH, gateway.socket, str(request_file)], env

    def _job_command(self, launch: StepLaunch, log: LogFn) -> tuple[list[str], dict[str, str]]:
        """A dashboard address: the step is one Ray job (see engine.backends.ray_job)."""
        address = str(launch.compute.master)
        extra = {"address": address, "py_modules": self._job_modules()}
        request_file = self._write_request(launch, log, address, extra)
        log(f"as a job on the Ray cluster {address}")
        env = {k: v for k, v in launch.env.items() if k != ENV_VAR}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ENGINE_PARENT, env.get("PYTHONPATH")) if p)
        return [sys.executable, "-u", "-m", "engine.backends.ray_job", str(request_file)], env

    def _write_request(self, launch: StepLaunch, log: LogFn, address: str, extra: dict) -> Path:
        """What the step's relay (task) or job runner reads: code, entry, arguments, the
        shipped variables, the step context and the runtime environment."""
        request = {
            "run": launch.run_id,
            "step": launch.step,
            "where": f"compute {launch.compute.name!r} ({address})",
            **extra,
            "code_dir": str(launch.code_dir),
            "entry": launch.entry.relative_to(launch.code_dir).as_posix(),
            "args": launch.args,
            "env": {k: launch.env[k] for k in SHIPPED_VARS if k in launch.env},
            "context": launch.context_file.read_text(encoding="utf-8"),
            "runtime_env": self._runtime_env(launch, log),
        }
        request_file = launch.workdir / "ray-request.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        return request_file

    def _job_modules(self) -> list[str]:
        """Folders shipped with every job: the step helper and the boot module."""
        from engine.backends.ray_job import BOOT_MODULE, BOOT_SOURCE

        with self._lock:
            if self._modules is None:
                root = Path(tempfile.mkdtemp(prefix="pipeloom-ray-modules-"))
                helper = root / "engine"
                helper.mkdir()
                for name in HELPER_FILES:
                    shutil.copyfile(Path(ENGINE_PARENT) / "engine" / name, helper / name)
                boot = root / BOOT_MODULE
                boot.mkdir()
                (boot / "__init__.py").write_text("", encoding="utf-8")
                (boot / "__main__.py").write_text(BOOT_SOURCE, encoding="utf-8")
                self._modules = root
            return [str(self._modules / "engine"), str(self._modules / BOOT_MODULE)]

    def _runtime_env(self, launch: StepLaunch, log: LogFn) -> dict | None:
        env = launch.environment
        if env is None:
            return None
        if env.python:
            log(f"note: environment {env.name!r}: python is not used on Ray (its workers' is)")
        reqs = spec_of(env, launch.project_dir).requirements()
        return {"pip": reqs} if reqs else None

    def progress_source(self, launch: StepLaunch) -> ProgressSource | None:
        return None

    def on_failure(self, launch: StepLaunch) -> list[str]:
        return []

    def cancel(self, launch: StepLaunch) -> None:
        """The runner kills the step's attach process; its gateway then cancels the task."""

    def close(self, keep_warm: bool = False) -> None:
        if keep_warm:
            return
        with self._lock:
            gateways, self._gateways = list(self._gateways.values()), {}
        for gateway in gateways:
            gateway.stop()
        if self._modules is not None:
            shutil.rmtree(self._modules, ignore_errors=True)
            self._modules = None
