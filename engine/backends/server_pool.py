"""The process's Spark Connect servers by key: each held while a run needs it, or kept warm.

A key first looks for a server that `pipeloom serve` publishes (engine.backends.shared_servers)
and starts its own (engine.backends.connect_server) only when there is none.
"""

from __future__ import annotations

import threading

from engine.backends.connect_server import ConnectServer, ServerKey, startup_java_options
from engine.backends.shared_servers import find


class ServerPool:
    """Process-wide servers by key; a server stays while any run holds it, or when kept warm."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[ServerKey, ConnectServer] = {}
        self._holders: dict[ServerKey, int] = {}

    def acquire(self, key: ServerKey) -> ConnectServer:
        """Hold the server for `key` (see get) until release(key)."""
        with self._lock:
            self._holders[key] = self._holders.get(key, 0) + 1
        return self.get(key)

    def get(self, key: ServerKey) -> ConnectServer:
        """The pooled server for `key`: one that `pipeloom serve` shares when there is one,
        else our own, started (in the background) when none is alive."""
        with self._lock:
            server = self._servers.get(key)
            if server is None or (server._ready.is_set() and not server.alive()):
                server = find(key)
                if server is None:
                    server = ConnectServer(key, startup_java_options())
                    server.start()
                self._servers[key] = server
            return server

    def release(self, key: ServerKey, keep_warm: bool) -> None:
        """One holder is done; the last one stops the server unless it asks to keep it warm."""
        with self._lock:
            self._holders[key] = max(0, self._holders.get(key, 0) - 1)
            if self._holders[key] or keep_warm:
                return
            server = self._servers.pop(key, None)
        if server is not None:
            server.stop(wait=False)

    def stop_idle(self) -> None:
        """Stop the servers no one holds (kept warm by earlier runs)."""
        with self._lock:
            idle = [k for k in self._servers if not self._holders.get(k)]
            servers = [self._servers.pop(k) for k in idle]
        for server in servers:
            server.stop(wait=False)

    def servers(self) -> list[ConnectServer]:
        with self._lock:
            return list(self._servers.values())

    def stop_all(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
            self._holders.clear()
        for server in servers:
            server.stop()


POOL = ServerPool()
