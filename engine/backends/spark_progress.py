"""Job/stage progress of a running Spark step, polled by the runner.

`connect` steps: the bootstrap's progress handler appends JSON lines to a file (read here).
`submit` steps: the driver's Spark UI REST API (/api/v1/applications/...) on a known port.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from engine.backends.base import ProgressUpdate


class ProgressFile:
    """Reads the lines spark_boot.ProgressWriter appends; only updates that changed."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0
        self._last: dict[tuple, tuple[int, int]] = {}

    def poll(self) -> list[ProgressUpdate]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        updates = []
        for line in complete.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
                update = ProgressUpdate(
                    record.get("operation"),
                    record["stage"],
                    int(record["done"]),
                    int(record["total"]),
                )
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line is not worth failing a step over
            if self._changed(update):
                updates.append(update)
        return updates

    def _changed(self, update: ProgressUpdate) -> bool:
        key = (update.job, update.stage)
        value = (update.done, update.total)
        if self._last.get(key) == value:
            return False
        self._last[key] = value
        return True

    def close(self) -> None:
        """The file stays in the step's working folder with its other records."""


class SparkUiProgress:
    """Polls the driver's REST API: stages of the (single) application, as done/total tasks."""

    TIMEOUT = 0.4  # seconds per request; the runner polls about twice a second

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}/api/v1/applications"
        self._app: str | None = None
        self._last: dict[tuple, tuple[int, int]] = {}

    def _get(self, url: str):
        with urllib.request.urlopen(url, timeout=self.TIMEOUT) as response:  # noqa: S310 - loopback
            return json.load(response)

    def poll(self) -> list[ProgressUpdate]:
        try:
            if self._app is None:
                apps = self._get(self.base)
                if not apps:
                    return []
                self._app = apps[0]["id"]
            stages = self._get(f"{self.base}/{self._app}/stages")
        except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError):
            return []  # the UI is not up yet, or already gone
        updates = []
        for stage in stages:
            if stage.get("status") in ("PENDING", "SKIPPED"):
                continue
            update = ProgressUpdate(
                None,
                stage.get("stageId"),
                int(stage.get("numCompleteTasks", 0)),
                int(stage.get("numTasks", 0)),
            )
            key, value = (update.stage, stage.get("attemptId")), (update.done, update.total)
            if self._last.get(key) != value:
                self._last[key] = value
                updates.append(update)
        return updates

    def close(self) -> None:
        """Nothing held between polls."""
