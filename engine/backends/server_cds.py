"""Class-data sharing (AppCDS) for the Connect server JVM: its ~10k Spark classes are loaded
from a memory-mapped archive instead of being parsed and verified at every start.

Java 17 has no auto-created archives, so it takes two runs: the first server writes the list
of classes it loaded (-XX:DumpLoadedClassList); when it stops, a detached helper waits for it
to exit and dumps the archive (-Xshare:dump, niced); later servers map it
(-XX:SharedArchiveFile). The archive is keyed by Java and Spark installation, kept in the
cache folder; a stale or unusable one is ignored by the JVM (-Xshare:auto).

An archive is about 210 MB and every virtual environment has its own pyspark, so archives
do not pile up: each records the Spark it was made for, and goes when that Spark is gone
(its venv deleted or pyspark reinstalled) or when no server has used it for UNUSED_DAYS.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from engine.java import Java
from engine.userdirs import cache_dir

DUMPER = str(Path(__file__).with_name("server_cds_dump.py"))
DUMP_STALE = 900.0  # seconds after which a dump's lock is considered abandoned
UNUSED_DAYS = 14.0  # an archive no server has mapped for this long is deleted


def _folder() -> Path:
    folder = cache_dir() / "cds"
    folder.mkdir(exist_ok=True)
    return folder


def archive_key(java: Java, spark_home: str) -> str:
    jars = Path(spark_home, "jars")
    material = [java.executable, java.major, spark_home, jars.stat().st_mtime_ns]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:24]


class ServerArchive:
    """What one server start does about CDS: use the archive, or record a class list."""

    def __init__(self, java: Java, spark_home: str):
        folder = _folder()
        key = archive_key(java, spark_home)
        self.java = java
        self.archive = folder / f"{key}.jsa"
        self.lock = folder / f"{key}.dumping"
        self.class_list: Path | None = None
        for old in folder.glob("*.classlist"):  # left by servers whose owner was killed
            try:
                if time.time() - old.stat().st_mtime > 86400:
                    old.unlink()
            except OSError:
                pass
        prune_archives(folder, keep=key)
        _write_json(folder / f"{key}.json", {"spark_home": spark_home, "java": java.executable})
        if self.archive.exists():
            try:
                os.utime(self.archive)  # used now: its age says how long it went unused
            except OSError:
                pass
        if not self.archive.exists() and not self._dump_running():
            self.class_list = folder / f"{key}.{os.getpid()}-{uuid.uuid4().hex[:6]}.classlist"

    def _dump_running(self) -> bool:
        try:
            return time.time() - self.lock.stat().st_mtime < DUMP_STALE
        except OSError:
            return False

    def java_options(self) -> list[str]:
        if self.archive.exists():
            return [f"-XX:SharedArchiveFile={self.archive}", "-Xshare:auto"]
        if self.class_list is not None:
            return [f"-XX:DumpLoadedClassList={self.class_list}"]
        return []

    def after_stop(self, jvm_pid: int | None, command: list[str]) -> None:
        """The server is stopping: hand its class list to a detached dumper."""
        if self.class_list is None or not jvm_pid or "-cp" not in command:
            return
        classpath = command[command.index("-cp") + 1]
        subprocess.Popen(
            [sys.executable, "-I", "-S", DUMPER, str(jvm_pid), str(self.class_list)]
            + [str(self.archive), str(self.lock), self.java.executable, classpath],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives us: the dump takes a while, once
        )
        self.class_list = None


def prune_archives(folder: Path, keep: str) -> list[Path]:
    """Delete the archives (and their records) whose Spark is gone or that no server has used
    for UNUSED_DAYS; never `keep`. Returns what went."""
    gone = []
    cutoff = time.time() - UNUSED_DAYS * 86400
    for archive in folder.glob("*.jsa"):
        key = archive.stem
        if key == keep:
            continue
        record = folder / f"{key}.json"
        try:
            spark_home = json.loads(record.read_text(encoding="utf-8")).get("spark_home")
        except (OSError, ValueError, AttributeError):
            spark_home = None
        try:
            unused = archive.stat().st_mtime < cutoff
        except OSError:
            continue
        spark_gone = isinstance(spark_home, str) and not Path(spark_home, "jars").is_dir()
        if spark_gone or unused:
            for path in (archive, record):
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                except OSError:
                    break
            gone.append(archive)
    return gone


def _write_json(path: Path, data: dict) -> None:
    try:
        if path.exists():
            return
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        temp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass  # a record is only for tidying up
