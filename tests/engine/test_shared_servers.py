"""engine.backends.shared_servers: a published server is believed only while it is really there."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from engine.backends import shared_servers
from engine.backends.connect_server import ServerKey


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


KEY = ServerKey.of("local[2]", {"spark.x": "1"}, sys.executable)


def write(cache, key, owner, pid, status_text="ready\n", **extra):
    status = cache / "server.status"
    status.write_text(status_text)
    data = {
        "owner": owner,
        "pid": pid,
        "port": 15999,
        "token": "secret",
        "log": str(cache / "server.log"),
        "status": str(status),
        "master": key.master,
        "conf": [list(p) for p in key.conf],
        "python": key.python,
        **extra,
    }
    path = shared_servers._file(key)
    path.write_text(json.dumps(data))
    return path


def test_a_live_ready_server_of_another_process_is_found(cache, sleeper):
    write(cache, KEY, owner=sleeper, pid=sleeper)
    server = shared_servers.find(KEY)
    assert server is not None and server.shared_owner == sleeper
    assert server.url() == "sc://localhost:15999/"
    assert server.client_env()["SPARK_CONNECT_AUTHENTICATE_TOKEN"] == "secret"
    assert server.alive()
    server.stop()  # not ours: nothing happens
    assert server.alive()


def test_a_dead_owner_or_a_server_not_ready_is_not_believed(cache, sleeper):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = write(cache, KEY, owner=dead.pid, pid=sleeper)
    assert shared_servers.find(KEY) is None
    assert not path.exists()  # the stale file is removed
    write(cache, KEY, owner=sleeper, pid=sleeper, status_text="failed\nno port\n")
    assert shared_servers.find(KEY) is None


def test_another_key_or_a_foreign_file_is_ignored(cache, sleeper):
    other = ServerKey.of("local[2]", {"spark.x": "2"}, sys.executable)
    path = write(cache, other, owner=sleeper, pid=sleeper)
    os.replace(path, shared_servers._file(KEY))  # a file for another key under this name
    assert shared_servers.find(KEY) is None
    shared_servers._file(KEY).write_text("[1, 2]")
    assert shared_servers.find(KEY) is None
    shared_servers._file(KEY).write_text('{"owner": "x"}')
    assert shared_servers.find(KEY) is None
    assert not shared_servers._file(KEY).exists()


def test_this_process_does_not_find_what_it_publishes_and_only_withdraws_its_own(
    cache, sleeper, monkeypatch
):
    from engine.backends.connect_server import ConnectServer

    server = ConnectServer.shared(KEY, owner=sleeper, pid=sleeper, port=1, token="t")
    server.log_path, server.status_path = cache / "l", cache / "s"
    monkeypatch.setattr(server, "shared_owner", None)  # as if this process owned it
    path = shared_servers.publish(server)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the token
    assert json.loads(path.read_text())["owner"] == os.getpid()
    assert shared_servers.find(KEY) is None
    shared_servers.withdraw(server)
    assert not path.exists()
    write(cache, KEY, owner=sleeper, pid=sleeper)
    shared_servers.withdraw(server)  # someone else's: kept
    assert shared_servers._file(KEY).exists()
