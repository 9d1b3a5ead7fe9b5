"""What runs on the Ray cluster: a step as a subprocess of a Ray task, its lines sent to a hub.

Shipped to the workers by value (cloudpickle), so it may import only the standard library and
ray: Pipeloom is not installed on the cluster. The gateway (engine.backends.ray_gateway)
creates one `LineHub` actor and submits `run_step` once per step; the step's output travels
through the hub in small batches, so it reaches the step log while the step runs.
"""

from __future__ import annotations

import asyncio
import io
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

BATCH_SECONDS = 0.05  # how long output lines are gathered before one push to the hub
KILL_GRACE = 2.0  # SIGTERM, then SIGKILL to the step's process group


class LineHub:
    """Output lines per step key, pushed by tasks and taken by the gateway (an async actor)."""

    def __init__(self) -> None:
        self._lines: dict[str, list] = {}
        self._closed: dict[str, int | None] = {}
        self._ready: dict[str, asyncio.Event] = {}

    def _event(self, key: str) -> asyncio.Event:
        return self._ready.setdefault(key, asyncio.Event())

    async def push(self, key: str, items: list, exit_code: int | None = None, closed=False):
        self._lines.setdefault(key, []).extend(items)
        if closed:
            self._closed[key] = exit_code
        self._event(key).set()

    async def take(self, key: str, wait: float) -> tuple[list, bool, int | None]:
        """(lines, closed, exit code): waits up to `wait` seconds for something new."""
        event = self._event(key)
        if not self._lines.get(key) and key not in self._closed:
            try:
                await asyncio.wait_for(event.wait(), wait)
            except TimeoutError:
                pass
        event.clear()
        items = self._lines.pop(key, [])
        closed = key in self._closed
        code = self._closed.get(key)
        if closed:
            self._closed.pop(key)
            self._ready.pop(key, None)
        return items, closed, code

    async def ping(self) -> bool:
        return True


def _unpack(base: str, digest: str, blob_ref: list) -> str:
    """The folder holding a zip shipped by the gateway, extracted once per node."""
    import ray

    target = os.path.join(base, digest)
    if not os.path.isdir(target):
        blob = ray.get(blob_ref[0])
        tmp = tempfile.mkdtemp(prefix=f"{digest}.", dir=base)
        zipfile.ZipFile(io.BytesIO(blob)).extractall(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another task on this node extracted it first
            _remove(tmp)
    return target


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def _remove(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def run_step(
    hub,
    key: str,
    code: tuple[str, list],
    helper: tuple[str, list],
    entry: str,
    args: list[str],
    env_vars: dict[str, str],
    context_text: str,
    context_var: str,
) -> int:
    """Run one step on this node; returns its exit code. Output goes to `hub` under `key`."""
    base = os.path.join(tempfile.gettempdir(), "pipeloom-ray")
    os.makedirs(base, exist_ok=True)
    code_dir = _unpack(base, code[0], code[1])
    helper_dir = _unpack(base, helper[0], helper[1])
    workdir = tempfile.mkdtemp(prefix=f"{key}.", dir=base)
    context_file = os.path.join(workdir, "context.json")
    with open(context_file, "w", encoding="utf-8") as f:
        f.write(context_text)
    env = dict(os.environ)
    env.update(env_vars)
    env[context_var] = context_file
    env["PIPELOOM_RAY_NODE"] = _node_id()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (helper_dir, env.get("PYTHONPATH")) if p)
    lines: queue.Queue = queue.Queue()
    proc = subprocess.Popen(
        [sys.executable, "-u", os.path.join(code_dir, entry), *args],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )

    def read(pipe, stream: str) -> None:
        with pipe:
            for raw in iter(pipe.readline, b""):
                lines.put((stream, raw.decode("utf-8", errors="replace").rstrip("\r\n")))
        lines.put(None)  # this stream ended

    readers = [
        threading.Thread(target=read, args=(proc.stdout, "stdout"), daemon=True),
        threading.Thread(target=read, args=(proc.stderr, "stderr"), daemon=True),
    ]
    for t in readers:
        t.start()
    ended = 0

    def gather(wait: float) -> list:
        """Lines that arrived within `wait` seconds of the first one (or of now)."""
        nonlocal ended
        items: list = []
        deadline = time.monotonic() + wait
        while ended < len(readers):
            try:
                item = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                ended += 1
            else:
                items.append(item)
        return items

    try:
        exited_at = None
        while ended < len(readers):
            items = gather(BATCH_SECONDS)
            if items:
                hub.push.remote(key, items)
            if exited_at is None and proc.poll() is not None:
                exited_at = time.monotonic()
            elif exited_at is not None and time.monotonic() - exited_at > KILL_GRACE:
                _kill_group(proc)  # what it left running holds the pipes open
                break
        code_ = proc.wait()
        hub.push.remote(key, [], code_, True)
        return code_
    except BaseException:  # ray.cancel raises KeyboardInterrupt here: stop the whole step
        _kill_group(proc)
        hub.push.remote(key, [("stderr", "canceled on the Ray cluster")], -15, True)
        raise
    finally:
        _remove(workdir)


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 1.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
