"""Connect servers shared between Pipeloom processes.

`pipeloom serve FILE` starts the servers of a pipeline's Spark computes and publishes each one
here; any run that needs a server with the same key (master, static conf, step Python) in
another process (`pipeloom run`, the designer, the API) uses the published server instead of
booting its own, so every run starts warm.

A published server is one JSON file per key under the user cache, readable only by its user
(it holds the server's token). It is believed only while its owner and the server's JVM are
alive and the server's status file says ready; whoever finds a stale file removes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from engine.backends.connect_server import STATUS_READY, ConnectServer, ServerKey
from engine.procs import alive
from engine.userdirs import cache_dir


def folder() -> Path:
    path = cache_dir() / "shared"
    path.mkdir(exist_ok=True, mode=0o700)
    return path


def _file(key: ServerKey) -> Path:
    digest = hashlib.sha256(json.dumps([key.master, key.conf, key.python]).encode()).hexdigest()
    return folder() / f"{digest[:20]}.json"


def publish(server: ConnectServer) -> Path:
    """Offer a ready server this process owns to other processes; returns its file."""
    server.wait()
    path = _file(server.key)
    data = {
        "owner": os.getpid(),
        "pid": server.pid,
        "port": server.port,
        "token": server.token,
        "log": str(server.log_path),
        "status": str(server.status_path),
        "master": server.key.master,
        "conf": [list(pair) for pair in server.key.conf],
        "python": server.key.python,
    }
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(temp, path)  # readers never see half a file
    return path


def withdraw(server: ConnectServer) -> None:
    """Stop offering a server (only the file this process published)."""
    path = _file(server.key)
    data = _read(path)
    if data is not None and data.get("owner") == os.getpid():
        path.unlink(missing_ok=True)


def find(key: ServerKey) -> ConnectServer | None:
    """The server another live process publishes for `key`, ready for clients; else None."""
    path = _file(key)
    data = _read(path)
    if data is None:
        return None
    try:
        same_key = (
            data["master"] == key.master
            and tuple(tuple(pair) for pair in data["conf"]) == key.conf
            and data["python"] == key.python
        )
        owner, pid, status = int(data["owner"]), int(data["pid"]), Path(data["status"])
        if not same_key or owner == os.getpid():
            return None
        if not (alive(owner) and alive(pid) and _first_line(status) == STATUS_READY):
            path.unlink(missing_ok=True)  # its owner or server died: nobody serves it now
            return None
        return ConnectServer.shared(
            key,
            owner=owner,
            pid=pid,
            port=int(data["port"]),
            token=str(data["token"]),
            log_path=Path(data["log"]),
            status_path=status,
        )
    except (KeyError, TypeError, ValueError):
        path.unlink(missing_ok=True)  # not a file we wrote
        return None


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _first_line(path: Path) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().strip()
    except OSError:
        return ""
