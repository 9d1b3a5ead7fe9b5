"""The cache of built environments: one folder per spec key under the user cache.

    <root>/<key>/                     the virtual environment (bin/python, lib/...)
    <root>/<key>/pipeloom-env.json    written last, atomically: only then is the build trusted
    <root>/<key>.lock                 held (flock) while the environment is built or pruned

A build writes into the final folder, because a virtual environment records its own absolute
path (scripts' shebangs, pyvenv.cfg) and does not survive a rename; the marker written last
plays the role of the rename: a build killed half-way leaves no marker, and the next build
deletes what it left. The marker's mtime is the environment's last use (for --prune).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.userdirs import cache_dir

ROOT_ENV = "PIPELOOM_ENVS_DIR"  # overrides where environments are built
MARKER = "pipeloom-env.json"
KEY_RE = re.compile(r"[0-9a-f]{20}")  # the names of build folders (spec.EnvSpec.key)


def root() -> Path:
    custom = os.environ.get(ROOT_ENV)
    if custom:
        return Path(os.path.abspath(os.path.expanduser(custom)))
    return cache_dir() / "envs"


def env_dir(key: str) -> Path:
    return root() / key


def python_of(folder: Path) -> Path:
    return folder / "bin" / "python"


@dataclass
class Built:
    """What the marker of a complete build records."""

    key: str
    path: Path
    names: list[str]  # environment names it was built for
    spec: str  # the requirements, for people reading `pipeloom envs`
    packages: list[str]  # name==version of what the environment itself holds
    installer: str  # uv | pip
    seconds: float  # how long the build took
    built_at: float
    last_used: float

    @property
    def python(self) -> Path:
        return python_of(self.path)


def read_built(key: str) -> Built | None:
    """The complete build of `key`, or None (not built, or killed half-way)."""
    folder = env_dir(key)
    marker = folder / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        used = marker.stat().st_mtime
    except (OSError, ValueError):
        return None
    return Built(
        key=key,
        path=folder,
        names=list(data.get("names", [])),
        spec=str(data.get("spec", "")),
        packages=list(data.get("packages", [])),
        installer=str(data.get("installer", "")),
        seconds=float(data.get("seconds", 0.0)),
        built_at=float(data.get("built_at", 0.0)),
        last_used=used,
    )


def write_marker(folder: Path, data: dict) -> None:
    temp = folder / (MARKER + ".tmp")
    with open(temp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, folder / MARKER)


def touch(built: Built) -> None:
    """Record a use (what --prune looks at); a read-only cache only loses that record."""
    try:
        os.utime(built.path / MARKER)
    except OSError:
        pass


def folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


class KeyLock:
    """An exclusive flock on `<root>/<key>.lock`, between threads and processes alike (each
    holder opens its own descriptor). The kernel drops it when its holder dies."""

    def __init__(self, key: str):
        self.path = root() / f"{key}.lock"
        self._fd: int | None = None

    def acquire(
        self,
        blocking: bool = True,
        waiting: Callable[[], None] | None = None,
        canceled: Callable[[], bool] | None = None,
    ) -> bool:
        """Take the lock; `waiting` is called once when another holder makes us wait, and
        the wait ends (False) as soon as `canceled()` says so."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking or (canceled is not None and canceled()):
                    os.close(fd)
                    return False
                if waiting is not None and not told:
                    waiting()
                    told = True
                time.sleep(0.1)  # a poll, so a canceled run stops waiting
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> KeyLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def all_built() -> list[Built]:
    """Every complete build in the cache."""
    folder = root()
    if not folder.is_dir():
        return []
    found = []
    for child in sorted(folder.iterdir()):
        if child.is_dir() and KEY_RE.fullmatch(child.name):
            built = read_built(child.name)
            if built is not None:
                found.append(built)
    return found


def remove(key: str) -> bool:
    """Delete the build of `key` (to build it again); False when it is being built now."""
    lock = KeyLock(key)
    if not lock.acquire(blocking=False):
        return False
    try:
        folder = env_dir(key)
        (folder / MARKER).unlink(missing_ok=True)  # no run trusts it from here on
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        lock.release()


_prune_lock = threading.Lock()


def prune(older_than_days: float, now: float | None = None) -> list[Built]:
    """Delete the builds unused for `older_than_days` (and leftovers of killed builds); returns
    the builds deleted. A build being made or used for a build right now (locked) is skipped."""
    now = time.time() if now is None else now
    limit = now - older_than_days * 86400
    removed = []
    folder = root()
    if not folder.is_dir():
        return removed
    with _prune_lock:
        for child in sorted(folder.iterdir()):
            if not child.is_dir() or not KEY_RE.fullmatch(child.name):
                continue  # only builds are ever deleted, whatever else the folder holds
            built = read_built(child.name)
            if built is not None and built.last_used >= limit:
                continue
            lock = KeyLock(child.name)
            if not lock.acquire(blocking=False):
                continue
            try:
                built = read_built(child.name)  # used or rebuilt since we looked
                if built is not None and built.last_used >= limit:
                    continue
                (child / MARKER).unlink(missing_ok=True)  # no run trusts it from here on
                shutil.rmtree(child, ignore_errors=True)
                if built is not None:
                    removed.append(built)
            finally:
                lock.release()  # its file stays: another process may be waiting on it
    return removed
