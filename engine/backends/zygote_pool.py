"""Zygotes (see spark_zygote.py) per step interpreter, owned by this process like its servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

ZYGOTE = str(Path(__file__).with_name("spark_zygote.py"))
_CLIENT_ENV = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE")


class Zygote:
    def __init__(self, python: str):
        self.python = python
        self.folder = tempfile.mkdtemp(prefix="pipeloom-z-")  # 0700: only we may connect
        self.socket = os.path.join(self.folder, "zygote.sock")
        env = {k: v for k, v in os.environ.items() if k not in _CLIENT_ENV}
        # stdin is the lifeline (EOF when we die or stop it); start_new_session keeps Ctrl-C away
        self.process = subprocess.Popen(
            [python, "-u", ZYGOTE, "serve", self.socket],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def client_argv(self, argv: list[str]) -> list[str]:
        """`python -u ARGV...` as a request to this zygote (or that command, when it is gone)."""
        return [self.python, "-I", "-S", ZYGOTE, "run", self.socket, self.python, *argv]

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class ZygotePool:
    """Like the server pool: a zygote stays while a backend holds it, or when kept warm."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zygotes: dict[str, Zygote] = {}
        self._holders: dict[str, int] = {}

    def acquire(self, python: str) -> Zygote:
        with self._lock:
            self._holders[python] = self._holders.get(python, 0) + 1
        return self.get(python)

    def get(self, python: str) -> Zygote:
        with self._lock:
            zygote = self._zygotes.get(python)
            if zygote is None or not zygote.alive():
                zygote = self._zygotes[python] = Zygote(python)
            return zygote

    def release(self, python: str, keep_warm: bool) -> None:
        with self._lock:
            self._holders[python] = max(0, self._holders.get(python, 0) - 1)
            if self._holders[python] or keep_warm:
                return
            zygote = self._zygotes.pop(python, None)
        if zygote is not None:
            zygote.stop()

    def stop_idle(self) -> None:
        with self._lock:
            idle = [p for p in self._zygotes if not self._holders.get(p)]
            zygotes = [self._zygotes.pop(p) for p in idle]
        for zygote in zygotes:
            zygote.stop()


ZYGOTES = ZygotePool()
