"""Runs a pipeline for the designer: the engine's Runner on a worker thread, its events handed
to the GUI thread through a queued Qt signal, and one BackendPool kept for the window's life so
a Spark Connect server stays warm between runs (closed when the window or the app goes away).

    controller = RunController(parent)
    controller.eventsArrived.connect(...)   # list of engine events, on the GUI thread, in order
    controller.runEnded.connect(...)        # RunSummary, or None when the run could not start
    controller.start(pipeline, PlanOptions(...))
    controller.cancel()                     # never blocks
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication

from engine.backends import BackendPool
from engine.events import RunEvent, RunSummary
from engine.pipeline.model import Pipeline
from engine.planning.plan import PlanOptions
from engine.problems import PipelineError, Problem
from engine.running.runner import Runner

DELIVER_MS = 50  # events are handed to the GUI at most this often (a flood in few batches)


@dataclass(frozen=True)
class RunNotStarted:
    """The run could not start (planning refused it, or the runner failed): one clear message."""

    message: str
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _WorkerDone:
    summary: RunSummary | None


class _EventPump(QObject):
    """Collects events from runner threads; one queued signal per batch keeps the GUI fluid
    when a step prints thousands of lines a second."""

    ready = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._events: list = []
        self._posted = False

    def put(self, event) -> None:  # any thread
        with self._lock:
            self._events.append(event)
            post, self._posted = not self._posted, True
        if post:
            self.ready.emit()

    def take(self) -> list:
        with self._lock:
            events, self._events = self._events, []
            self._posted = False
        return events


def describe_error(error: BaseException) -> str:
    """One line a user can act on; a bug's traceback goes to stderr, never to the user."""
    if isinstance(error, PipelineError):
        problems = error.problems
        if len(problems) == 1:
            return problems[0].message
        return "; ".join(p.message for p in problems[:3]) + (
            f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        )
    if isinstance(error, OSError):
        return f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
    return f"internal error: {error!r}"


class RunController(QObject):
    """One run at a time: start, cancel, events on the GUI thread, warm backends kept."""

    eventsArrived = Signal(object)  # list[RunEvent] in emitted order (object: no conversion)
    notStarted = Signal(object)  # RunNotStarted
    runEnded = Signal(object)  # RunSummary | None
    busyChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.backends = BackendPool()
        self.runner: Runner | None = None
        self._thread: threading.Thread | None = None
        self._pump = _EventPump(self)
        self._pump.ready.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._last_delivery = 0.0
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.timeout.connect(self._deliver)
        self._closed = False
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, pipeline: Pipeline, options: PlanOptions | None = None) -> bool:
        """Start running `pipeline` (copied now: later edits change nothing); False if busy."""
        if self.busy or self._closed:
            return False
        try:
            runner = Runner(pipeline, options, backends=self.backends, keep_warm=True)
        except (PipelineError, OSError) as e:  # e.g. the project folder is not writable
            self.notStarted.emit(RunNotStarted(describe_error(e), _problems_of(e)))
            self.runEnded.emit(None)
            return False
        self.runner = runner
        runner.subscribe(self._pump.put)
        self._thread = threading.Thread(
            target=self._work, args=(runner,), name="pipeloom-designer-run", daemon=True
        )
        self._thread.start()
        self.busyChanged.emit(True)
        return True

    def _work(self, runner: Runner) -> None:
        summary = None
        try:
            summary = runner.run()
        except PipelineError as e:
            self._pump.put(RunNotStarted(describe_error(e), list(e.problems)))
        except BaseException as e:
            traceback.print_exc(file=sys.stderr)
            self._pump.put(RunNotStarted(describe_error(e)))
        finally:
            self._pump.put(_WorkerDone(summary))

    def _deliver(self) -> None:
        wait_ms = DELIVER_MS - (time.monotonic() - self._last_delivery) * 1000
        if wait_ms > 1:  # the events keep collecting in the pump meanwhile
            if not self._later.isActive():
                self._later.start(int(wait_ms))
            return
        self._last_delivery = time.monotonic()
        batch: list[RunEvent] = []
        for item in self._pump.take():
            kind = type(item)
            if kind is RunNotStarted:
                self._flush(batch)
                self.notStarted.emit(item)
            elif kind is _WorkerDone:
                self._flush(batch)
                self._finished(item.summary)
            else:
                batch.append(item)
        self._flush(batch)

    def _flush(self, batch: list) -> None:
        if batch:
            events = list(batch)
            batch.clear()
            self.eventsArrived.emit(events)

    def _finished(self, summary: RunSummary | None) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5)
        self.busyChanged.emit(False)
        self.runEnded.emit(summary)

    def cancel(self) -> None:
        """Stop the running steps' process trees; statuses arrive as Canceled."""
        if self.runner is not None and self.busy:
            self.runner.cancel()

    def close(self, timeout: float = 15.0) -> None:
        """Cancel a run still going, wait for it, and stop warm servers (window/app exit)."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None and self.runner is not None:
            self.runner.cancel()
            thread.join(timeout)
        self.backends.close(keep_warm=False)


def _problems_of(error: BaseException) -> list[Problem]:
    return list(error.problems) if isinstance(error, PipelineError) else []
