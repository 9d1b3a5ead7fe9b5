"""The Ray gateway: one process per Ray address that keeps a warm Ray Client connection.

`python -m engine.backends.ray_gateway ADDRESS SOCKET` connects to the cluster, prints one
JSON line on stdout ({"ready": resources} or {"error": message}), then serves step requests
on the Unix socket SOCKET (engine.backends.ray_attach is the client): each request becomes
one Ray task (engine.backends.ray_remote.run_step) whose output lines are relayed back as
JSON lines until {"exit": code} or {"error": message}. A client that disconnects (its
process was killed: the step was canceled) gets its task canceled. The gateway exits when
its stdin closes (its owner ended, however) or when it loses the cluster.

Keeping one connection warm is what makes a Ray step cheap: connecting takes seconds,
submitting a task to a connected client takes milliseconds (see docs/clusters.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import socket
import sys
import threading
import time
import zipfile
from pathlib import Path

from engine.backends import ray_remote
from engine.backends.reachability import RAY_CONNECT_TIMEOUT, probe_tcp, ray_client_target
from engine.stepcontext import ENV_VAR

HELPER_FILES = ("__init__.py", "step.py", "stepcontext.py")  # `from engine.step import ...`
TAKE_WAIT = 0.25  # seconds the gateway waits on the hub for new lines
CANCEL_GRACE = 3.0  # seconds between a polite and a forced ray.cancel
CONNECT_DEADLINE = 90.0  # seconds of connection attempts (the owner waits READY_TIMEOUT)


def _zip_folder(folder: Path, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, prefix + path.relative_to(folder).as_posix())
    return buf.getvalue()


def _zip_helper() -> bytes:
    engine_dir = Path(__file__).resolve().parent.parent
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in HELPER_FILES:
            z.write(engine_dir / name, f"engine/{name}")
    return buf.getvalue()


class Gateway:
    def __init__(self, address: str):
        import ray
        from ray import cloudpickle

        self.address = address
        self.ray = ray
        cloudpickle.register_pickle_by_value(ray_remote)  # the cluster has no Pipeloom
        self._lock = threading.Lock()
        self._packages: dict[str, tuple[str, list]] = {}
        self.lost: str | None = None
        target = ray_client_target(address)
        deadline = time.monotonic() + CONNECT_DEADLINE
        while True:
            probe_tcp(target, RAY_CONNECT_TIMEOUT)  # nobody there: fail now, do not retry
            try:
                ray.init(target, logging_level="ERROR", log_to_driver=False)
                break
            except Exception:
                # a busy head may not start its per-client server in time ("Initialization
                # failure from server"): the next attempt usually finds it warm
                if time.monotonic() > deadline:
                    raise
                with contextlib.suppress(Exception):
                    ray.shutdown()
                time.sleep(1.0)
        self.hub = ray.remote(num_cpus=0)(ray_remote.LineHub).remote()
        ray.get(self.hub.ping.remote(), timeout=60)
        self.task = ray.remote(ray_remote.run_step)
        self.helper = self._package_bytes(_zip_helper())

    def resources(self) -> dict:
        return {k: v for k, v in self.ray.cluster_resources().items() if not k.startswith("node:")}

    def _package_bytes(self, blob: bytes) -> tuple[str, list]:
        digest = hashlib.sha256(blob).hexdigest()[:20]
        return digest, [self.ray.put(blob)]

    def package(self, folder: str) -> tuple[str, list]:
        """The snapshot folder as (digest, [object ref]); snapshots never change, so cached."""
        with self._lock:
            found = self._packages.get(folder)
        if found is None:
            found = self._package_bytes(_zip_folder(Path(folder)))
            with self._lock:
                self._packages[folder] = found
        return found

    def serve_step(self, conn: socket.socket, request: dict) -> None:
        ray = self.ray
        send = _Sender(conn)
        key = f"{request['run']}-{request['step']}-{os.urandom(4).hex()}"
        runtime_env = request.get("runtime_env") or None
        try:
            task = self.task.options(num_cpus=1, max_retries=0, runtime_env=runtime_env)
            ref = task.remote(
                self.hub,
                key,
                self.package(request["code_dir"]),
                self.helper,
                request["entry"],
                request["args"],
                request["env"],
                request["context"],
                ENV_VAR,
            )
        except Exception as e:  # noqa: BLE001 - e.g. the snapshot cannot be shipped
            send({"error": self.describe_failure(e)})
            return
        gone = threading.Event()
        threading.Thread(target=_watch_hangup, args=(conn, gone), daemon=True).start()
        canceled_at: float | None = None
        try:
            while True:
                if (gone.is_set() or send.broken) and canceled_at is None:
                    ray.cancel(ref)
                    canceled_at = _now()
                elif canceled_at is not None and _now() - canceled_at > CANCEL_GRACE:
                    ray.cancel(ref, force=True)
                    return
                items, closed, code = ray.get(self.hub.take.remote(key, TAKE_WAIT), timeout=60)
                for stream, text in items:
                    send({"out" if stream == "stdout" else "err": text})
                if closed:
                    send({"exit": code})
                    return
                if items:
                    continue
                done, _ = ray.wait([ref], timeout=0)  # quiet: is the task still there?
                if done:  # ended without closing its stream: it raised or its worker died
                    ray.get(ref)
                    send({"exit": 0})
                    return
        except Exception as e:  # noqa: BLE001 - every failure becomes the step's message
            send({"error": self.describe_failure(e)})

    def describe_failure(self, e: Exception) -> str:
        from ray import exceptions as rx

        if isinstance(e, rx.TaskCancelledError):
            return "canceled on the Ray cluster"
        if isinstance(e, rx.WorkerCrashedError | rx.NodeDiedError | rx.OwnerDiedError):
            return f"the Ray node running the step was lost ({type(e).__name__})"
        if isinstance(e, rx.RuntimeEnvSetupError):
            last = str(e).strip().splitlines()[-1:] or [""]
            return f"Ray could not set up the step's environment: {last[0]}"
        if isinstance(e, ConnectionError | rx.GetTimeoutError) or "connection" in str(e).lower():
            self.lost = f"lost the Ray cluster at {self.address}: {_first_line(e)}"
            return self.lost
        return f"the Ray task failed: {_first_line(e)}"


class _Sender:
    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.broken = False

    def __call__(self, message: dict) -> None:
        if self.broken:
            return
        try:
            self.conn.sendall((json.dumps(message) + "\n").encode())
        except OSError:
            self.broken = True


def _watch_hangup(conn: socket.socket, gone: threading.Event) -> None:
    try:
        while conn.recv(1024):
            pass
    except OSError:
        pass
    gone.set()


def _now() -> float:
    return time.monotonic()


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:300]


def _read_request(conn: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the client closed before sending its request")
        data += chunk
    return json.loads(data)


def _handle(gateway: Gateway, conn: socket.socket) -> None:
    with conn:
        try:
            request = _read_request(conn)
        except (OSError, ValueError):
            return
        gateway.serve_step(conn, request)
    if gateway.lost:
        os._exit(3)  # the owner starts a new gateway for the next step


def main(argv: list[str]) -> int:
    address, sock_path = argv
    os.environ.setdefault("RAY_CLIENT_RECONNECT_GRACE_PERIOD", "5")  # a lost cluster fails fast
    try:
        gateway = Gateway(address)
        resources = gateway.resources()
    except Exception as e:  # noqa: BLE001 - reported to the owner as one line
        print(json.dumps({"error": _first_line(e)}), flush=True)
        return 1
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(64)
    threading.Thread(target=_serve, args=(gateway, server), daemon=True).start()
    print(json.dumps({"ready": resources}), flush=True)
    sys.stdin.read()  # returns when the owner closes our stdin or dies
    return 0


def _serve(gateway: Gateway, server: socket.socket) -> None:
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_handle, args=(gateway, conn), daemon=True).start()


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))
