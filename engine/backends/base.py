"""The contract between the runner and a backend that starts step processes.

The runner builds one `StepLaunch` per step that must run (snapshot taken, context file
written, templates expanded), asks the step's backend for the command to run, starts that
command in its own process group, captures its output line by line and kills the process
tree on cancel. A backend only says *what* to run and manages whatever it keeps warm
(a Spark Connect server); it never starts or waits for the step process itself.

Call order per run (all calls come from runner threads; a backend must be thread-safe):

    backend.prepare(steps, computes)       once, as soon as the plan shows the backend runs
                                           something (steps: what it will run, see
                                           StepToRun); must not block (start servers in the
                                           background)
    for each step it runs, on a worker thread:
        argv, env = backend.command(launch, log)     may block until a server is ready;
                                                     raise PipelineError (or BackendError) to
                                                     fail the step with a readable message
        source = backend.progress_source(launch)      optional ProgressSource, polled by the
                                                     runner while the process runs
        ... process runs ...
        backend.on_failure(launch) -> lines          only when the step failed
        backend.cancel(launch)                       only when the run is canceled while the
                                                     step runs (the runner kills the process
                                                     tree itself)
    backend.close(keep_warm)               once, when the run ends (keep_warm: leave servers
                                           up for the next run of the same process)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from engine.pipeline.model import Compute, Environment, Node

LogFn = Callable[[str], None]


class StepToRun(Protocol):
    """What `prepare` knows of a step before its snapshot exists (engine.planning.plan.StepPlan)."""

    node: Node
    compute: Compute
    source_dir: Path  # the project's folder; the snapshot is taken from it right after
    entry: Path
    python: str | None  # the interpreter its environment will provide (maybe not built yet)


class BackendError(Exception):
    """A backend cannot start a step (no Java, server failed to start, ...); shown as is."""


@dataclass
class StepLaunch:
    """Everything a backend needs to start one step; built by the runner."""

    run_id: str
    step: str  # node name
    node: Node
    compute: Compute
    environment: Environment | None
    python: str  # interpreter that runs the step (sys.executable unless the environment says)
    workdir: Path  # the step's private working folder
    code_dir: Path  # snapshot of source_directory taken at submit; shared by the run's steps
    # that use the same folder, so read-only
    entry: Path  # absolute path of the entry file inside code_dir
    args: list[str]  # arguments, templates expanded to absolute paths/values
    env: dict[str, str]  # base environment: os.environ + PIPELOOM_STEP_CONTEXT, PYTHONUNBUFFERED=1
    context_file: Path  # the JSON file PIPELOOM_STEP_CONTEXT names
    project_dir: Path = field(default_factory=Path)  # folder of the pipeline file

    @property
    def session_id(self) -> str:
        """A stable id for this step's session on a shared server (unique per run and step)."""
        return f"{self.run_id}-{self.step}"


@dataclass(frozen=True)
class ProgressUpdate:
    """One job/stage progress sample; the runner turns it into an events.Progress."""

    job: int | str | None
    stage: int | str | None
    done: int
    total: int


@runtime_checkable
class ProgressSource(Protocol):
    """Something the runner polls (about every 0.5 s) while a step's process runs."""

    def poll(self) -> list[ProgressUpdate]:
        """New progress since the last poll; must not block for long (< ~1 s)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """Turns a StepLaunch into a command; owns warm servers. See the module docstring."""

    name: str

    def prepare(self, steps: list[StepToRun], computes: dict[str, Compute]) -> None: ...

    def command(self, launch: StepLaunch, log: LogFn) -> tuple[list[str], dict[str, str]]: ...

    def progress_source(self, launch: StepLaunch) -> ProgressSource | None: ...

    def on_failure(self, launch: StepLaunch) -> list[str]: ...

    def cancel(self, launch: StepLaunch) -> None: ...

    def close(self, keep_warm: bool = False) -> None: ...
