"""The run store: SQLite (WAL) in the project's .pipeloom/ folder.

Experiments, runs (parameters, status, times), child runs (one per step: status, times,
fingerprint, outputs, log path), registered dataset versions and the data fingerprint cache.
A live runner holds an flock on its run's lock file; a later start marks runs whose lock is
free (their runner died) Interrupted.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.events import Status
from engine.problems import PipelineError

OPEN_TIMEOUT = 30.0  # seconds a store being created by another process is waited for
_IN_CHUNK = 500  # fingerprints per `IN (...)` query (SQLite allows 32766 parameters)

SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL REFERENCES experiments(name),
    pipeline TEXT NOT NULL,
    pipeline_path TEXT,
    parameters TEXT NOT NULL DEFAULT '{}',
    options TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    pid INTEGER,
    message TEXT
);
CREATE TABLE IF NOT EXISTS child_runs (
    run_id TEXT NOT NULL REFERENCES runs(id),
    step TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    started REAL,
    ended REAL,
    duration REAL,
    fingerprint TEXT,
    outputs TEXT NOT NULL DEFAULT '{}',
    log_path TEXT,
    reused_from TEXT,
    message TEXT,
    PRIMARY KEY (run_id, step)
);
CREATE INDEX IF NOT EXISTS child_runs_fingerprint ON child_runs(fingerprint, status);
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    path TEXT NOT NULL,
    run_id TEXT,
    step TEXT,
    output TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS data_fingerprints (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class RunRecord:
    id: str
    experiment: str
    pipeline: str
    pipeline_path: str | None
    parameters: dict[str, Any]
    status: Status
    created: float
    started: float | None
    ended: float | None
    message: str | None


@dataclass(frozen=True)
class ChildRunRecord:
    run_id: str
    step: str
    status: Status
    started: float | None
    ended: float | None
    duration: float | None
    fingerprint: str | None
    outputs: dict[str, str]
    log_path: str | None
    reused_from: str | None
    message: str | None


@dataclass(frozen=True)
class DatasetVersion:
    name: str
    version: int
    path: str
    run_id: str | None
    step: str | None
    output: str | None
    created: float


class RunLock:
    """An exclusive flock held by the live runner of one run (released when its process dies)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _lock_is_free(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the probe lock too
    return True


class RunStore:
    """Thread-safe access to <project>/.pipeloom/runs.db (one connection, one lock)."""

    def __init__(self, pipeloom_dir: Path):
        self.dir = Path(pipeloom_dir)
        self.path = self.dir / "runs.db"
        self.moved_aside: Path | None = None  # where a damaged store was put, when it was
        self._lock = threading.RLock()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open()
            except _Damaged as damage:
                self.moved_aside = _move_aside(self.path)
                print(
                    f"pipeloom: the run store {self.path} was damaged ({damage}); moved it to "
                    f"{self.moved_aside.name} (its runs and datasets stay there) and started a "
                    "new one",
                    file=sys.stderr,
                )
                self._db = self._open()
        except (sqlite3.Error, _Damaged) as e:
            why = "" if os.access(self.dir, os.W_OK) else f" ({self.dir} is not writable)"
            raise PipelineError(f"the run store {self.path} cannot be used: {e}{why}") from None
        except OSError as e:
            raise PipelineError(
                f"the run store folder {self.dir} cannot be used: {e.strerror or e}"
            ) from None

    def _open(self) -> sqlite3.Connection:
        """A connection to a store that passed SQLite's quick check; raises _Damaged if not.

        Processes opening a new store at once race to switch it to WAL, and SQLite answers
        the losers "database is locked" at once, without waiting: they try again."""
        deadline = time.monotonic() + OPEN_TIMEOUT
        while True:
            try:
                return self._open_once()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _open_once(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            problem = db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if problem != "ok":
                raise _Damaged(problem)
            with self._lock:
                db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            db.close()
            if getattr(e, "sqlite_errorcode", None) in (
                sqlite3.SQLITE_CORRUPT,
                sqlite3.SQLITE_NOTADB,
            ):
                raise _Damaged(str(e)) from None
            raise
        except BaseException:
            db.close()
            raise
        return db

    @classmethod
    def for_pipeline(cls, pipeline_path: str | Path) -> RunStore:
        return cls(Path(pipeline_path).resolve().parent / ".pipeloom")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple = ()) -> _Rows:
        """Run one statement; its rows are read while the lock is held (threads share `_db`)."""
        with self._lock:
            return _Rows(self._db.execute(sql, args).fetchall())

    def _tx(self, statements: list[tuple[str, tuple]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- liveness -------------------------------------------------------------------
    def lock_path(self, run_id: str) -> Path:
        return self.dir / "locks" / f"{run_id}.lock"

    def acquire_run_lock(self, run_id: str) -> RunLock:
        return RunLock(self.lock_path(run_id))

    def mark_dead_runs_interrupted(self) -> list[str]:
        """Runs left unfinished by a runner that no longer holds its lock become Interrupted."""
        unfinished = [
            r["id"]
            for r in self._exec(
                "SELECT id FROM runs WHERE status IN (?, ?, ?)",
                (Status.NOT_STARTED, Status.QUEUED, Status.RUNNING),
            )
        ]
        marked = []
        now = time.time()
        for run_id in unfinished:
            if not _lock_is_free(self.lock_path(run_id)):
                continue
            self._tx(
                [
                    (
                        "UPDATE runs SET status=?, ended=COALESCE(ended, ?), message=? WHERE id=?",
                        (Status.INTERRUPTED, now, "its runner stopped unexpectedly", run_id),
                    ),
                    (
                        "UPDATE child_runs SET status=? WHERE run_id=? AND status IN (?, ?, ?)",
                        (
                            Status.INTERRUPTED,
                            run_id,
                            Status.NOT_STARTED,
                            Status.QUEUED,
                            Status.RUNNING,
                        ),
                    ),
                ]
            )
            marked.append(run_id)
            try:
                self.lock_path(run_id).unlink()
            except FileNotFoundError:
                pass
        return marked

    # -- runs -------------------------------------------------------------------------
    def create_run(
        self,
        run_id: str,
        experiment: str,
        pipeline: str,
        pipeline_path: str | None,
        parameters: dict[str, Any],
        options: dict[str, Any],
        steps: list[tuple[str, Status, str | None, str | None]],
    ) -> None:
        """A run and its child runs: steps are (step, status, fingerprint, log_path)."""
        now = time.time()
        statements = [
            ("INSERT OR IGNORE INTO experiments(name, created) VALUES (?, ?)", (experiment, now)),
            (
                "INSERT INTO runs(id, experiment, pipeline, pipeline_path, parameters, options,"
                " status, created, started, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    experiment,
                    pipeline,
                    pipeline_path,
                    json.dumps(parameters),
                    json.dumps(options),
                    Status.RUNNING,
                    now,
                    now,
                    os.getpid(),
                ),
            ),
        ]
        for position, (step, status, fingerprint, log_path) in enumerate(steps):
            statements.append(
                (
                    "INSERT INTO child_runs(run_id, step, position, status, fingerprint, log_path)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, step, position, status, fingerprint, log_path),
                )
            )
        self._tx(statements)

    def finish_run(self, run_id: str, status: Status, message: str | None = None) -> None:
        self._exec(
            "UPDATE runs SET status=?, ended=?, message=? WHERE id=?",
            (status, time.time(), message, run_id),
        )

    def update_child(self, run_id: str, step: str, **fields: Any) -> None:
        """Set columns of one child run (outputs as a dict)."""
        if "outputs" in fields:
            fields["outputs"] = json.dumps(fields["outputs"])
        cols = ", ".join(f"{k}=?" for k in fields)
        self._exec(
            f"UPDATE child_runs SET {cols} WHERE run_id=? AND step=?",
            (*fields.values(), run_id, step),
        )

    def run(self, run_id: str) -> RunRecord | None:
        row = self._exec("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return _run_record(row) if row else None

    def runs(self, pipeline: str | None = None, limit: int = 50) -> list[RunRecord]:
        if pipeline is None:
            rows = self._exec("SELECT * FROM runs ORDER BY created DESC LIMIT ?", (limit,))
        else:
            rows = self._exec(
                "SELECT * FROM runs WHERE pipeline=? ORDER BY created DESC LIMIT ?",
                (pipeline, limit),
            )
        return [_run_record(r) for r in rows]

    def find_run(self, prefix: str) -> RunRecord | None:
        """A run by id or unique id prefix; 'latest' is the newest run."""
        if prefix == "latest":
            rows = self.runs(limit=1)
            return rows[0] if rows else None
        rows = self._exec(
            "SELECT * FROM runs WHERE id LIKE ? ORDER BY created DESC", (prefix + "%",)
        ).fetchall()
        exact = [r for r in rows if r["id"] == prefix]
        if exact:
            return _run_record(exact[0])
        return _run_record(rows[0]) if len(rows) == 1 else None

    def child_runs(self, run_id: str) -> list[ChildRunRecord]:
        rows = self._exec("SELECT * FROM child_runs WHERE run_id=? ORDER BY position", (run_id,))
        return [_child_record(r) for r in rows]

    def completed_with_fingerprint(self, fingerprint: str) -> list[ChildRunRecord]:
        """Completed child runs with this fingerprint, newest first (reuse candidates)."""
        rows = self._exec(
            "SELECT * FROM child_runs WHERE fingerprint=? AND status=? ORDER BY ended DESC",
            (fingerprint, Status.COMPLETED),
        )
        return [_child_record(r) for r in rows]

    def completed_with_fingerprints(
        self, fingerprints: Iterable[str]
    ) -> dict[str, list[ChildRunRecord]]:
        """`completed_with_fingerprint` of many fingerprints in a few queries (a plan's steps):
        fingerprint -> runs, newest first; fingerprints without a completed run are left out."""
        wanted = list(dict.fromkeys(fingerprints))
        found: dict[str, list[ChildRunRecord]] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            rows = self._exec(
                "SELECT * FROM child_runs WHERE status=? AND fingerprint IN "
                f"({','.join('?' * len(chunk))}) ORDER BY ended DESC",
                (Status.COMPLETED, *chunk),
            )
            for row in rows:
                found.setdefault(row["fingerprint"], []).append(_child_record(row))
        return found

    # -- datasets -----------------------------------------------------------------------
    def register_dataset(
        self, name: str, path: str, run_id: str | None, step: str | None, output: str | None
    ) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM datasets WHERE name=?", (name,)
                ).fetchone()
                version = row[0] + 1
                self._db.execute(
                    "INSERT INTO datasets(name, version, path, run_id, step, output, created)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, version, path, run_id, step, output, time.time()),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return version

    def dataset(self, name: str, version: int | None = None) -> DatasetVersion | None:
        if version is None:
            row = self._exec(
                "SELECT * FROM datasets WHERE name=? ORDER BY version DESC LIMIT 1", (name,)
            ).fetchone()
        else:
            row = self._exec(
                "SELECT * FROM datasets WHERE name=? AND version=?", (name, version)
            ).fetchone()
        return DatasetVersion(**dict(row)) if row else None

    def datasets(self) -> list[DatasetVersion]:
        rows = self._exec("SELECT * FROM datasets ORDER BY name, version")
        return [DatasetVersion(**dict(r)) for r in rows]

    # -- data fingerprint cache ---------------------------------------------------------
    def cached_digest(self, path: str, size: int, mtime_ns: int) -> str | None:
        row = self._exec(
            "SELECT digest FROM data_fingerprints WHERE path=? AND size=? AND mtime_ns=?",
            (path, size, mtime_ns),
        ).fetchone()
        return row[0] if row else None

    def cache_digests(self, entries: list[tuple[str, int, int, str]]) -> None:
        if not entries:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO data_fingerprints(path, size, mtime_ns, digest)"
                    " VALUES (?, ?, ?, ?)",
                    entries,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise


class _Damaged(Exception):
    """The store file is not an intact SQLite database."""


def _move_aside(path: Path) -> Path:
    """Rename a damaged store (and its WAL files) to a name nothing uses; never overwrite."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while any(Path(f"{target}{suffix}").exists() for suffix in ("", "-wal", "-shm")):
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm", ""):  # the database last: a crash leaves it in place
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.rename(source, f"{target}{suffix}")
    return target


class _Rows(list):
    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return list(self)


def _run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        experiment=row["experiment"],
        pipeline=row["pipeline"],
        pipeline_path=row["pipeline_path"],
        parameters=json.loads(row["parameters"]),
        status=Status(row["status"]),
        created=row["created"],
        started=row["started"],
        ended=row["ended"],
        message=row["message"],
    )


def _child_record(row: sqlite3.Row) -> ChildRunRecord:
    return ChildRunRecord(
        run_id=row["run_id"],
        step=row["step"],
        status=Status(row["status"]),
        started=row["started"],
        ended=row["ended"],
        duration=row["duration"],
        fingerprint=row["fingerprint"],
        outputs=json.loads(row["outputs"]),
        log_path=row["log_path"],
        reused_from=row["reused_from"],
        message=row["message"],
    )
