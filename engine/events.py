"""What a run reports while it runs: plain frozen objects, safe to hand across threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """Statuses of a run and of its child (step) runs; the seed's names plus three."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    SKIPPED = "Skipped"  # an upstream step failed
    REUSED = "Reused"  # outputs of an earlier identical step passed on without running
    INTERRUPTED = "Interrupted"  # its runner died; found by a later start

    @property
    def finished(self) -> bool:
        return self in FINISHED

    @property
    def succeeded(self) -> bool:
        return self in (Status.COMPLETED, Status.REUSED)


FINISHED = frozenset(
    {
        Status.COMPLETED,
        Status.FAILED,
        Status.CANCELED,
        Status.SKIPPED,
        Status.REUSED,
        Status.INTERRUPTED,
    }
)


@dataclass(frozen=True)
class StatusChanged:
    """A step (or the run, when step is None) changed status; `message` says why, if known."""

    run_id: str
    step: str | None
    status: Status
    time: float
    message: str | None = None


@dataclass(frozen=True)
class LogLine:
    """One line a step wrote (stream: stdout | stderr | pipeloom for the engine's own notes)."""

    step: str
    stream: str
    time: float
    text: str


@dataclass(frozen=True)
class Progress:
    """Spark job/stage progress of a step: `done` of `total` tasks."""

    step: str
    job: int | str | None
    stage: int | str | None
    done: int
    total: int


@dataclass(frozen=True)
class OutputReady:
    """A step's output is complete at `path` (registered as `dataset`@`version` if any)."""

    step: str
    output: str
    path: str
    dataset: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class StepSummary:
    step: str
    status: Status
    duration: float | None
    reused_from: str | None = None  # run id whose outputs were reused
    message: str | None = None


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: Status
    duration: float
    steps: tuple[StepSummary, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RunFinished:
    summary: RunSummary


RunEvent = StatusChanged | LogLine | Progress | OutputReady | RunFinished
