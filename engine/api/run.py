"""The run handle the Python API returns from `Pipeline.submit(...)` (the seed's PipelineRun).

The run starts on a background thread at submit; the handle reports statuses, step logs and
outputs, waits, and cancels.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from engine.events import LogLine, RunEvent, Status
from engine.pipeline.model import Pipeline
from engine.planning.plan import PlanOptions
from engine.running.runner import Runner


class StepRun:
    """One step (child run) of a submitted run."""

    def __init__(self, run: PipelineRun, name: str):
        self._run = run
        self.name = name

    def get_status(self) -> str:
        return str(self._run._runner.statuses.get(self.name, Status.NOT_STARTED))

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self._run._runner._outputs.get(self.name, {}))

    def get_log(self) -> str:
        """Everything the step printed so far (with times and streams), as stored."""
        path = self._run._runner.log_paths.get(self.name)
        return path.read_text(encoding="utf-8", errors="replace") if path and path.exists() else ""

    def __repr__(self) -> str:
        return f"<StepRun {self.name}: {self.get_status()}>"


class PipelineRun:
    def __init__(self, runner: Runner):
        self._runner = runner
        self._lock = threading.Lock()
        self._events: list[RunEvent] = []
        self._printer = None
        runner.subscribe(self._on_event)
        runner.start()

    def _on_event(self, event: RunEvent) -> None:
        with self._lock:
            self._events.append(event)
            printer = self._printer
        if printer is not None:
            printer(event)

    @property
    def id(self) -> str | None:
        return self._runner.run_id

    def get_status(self) -> str:
        if self._runner.error is not None:
            return str(Status.FAILED)
        if self._runner.summary is not None:
            return str(self._runner.summary.status)
        return str(Status.RUNNING if self._runner.run_id else Status.NOT_STARTED)

    def get_steps(self) -> list[StepRun]:
        self._runner.planned.wait()
        plan = self._runner.plan
        return [StepRun(self, name) for name in (plan.steps if plan else [])]

    def find_step_run(self, name: str) -> StepRun:
        return StepRun(self, name)

    def wait_for_completion(self, show_output: bool = True, timeout: float | None = None) -> str:
        """Block until the run ends; with show_output, print its events live (and the past ones).

        Raises the PipelineError when the pipeline could not start at all. Ctrl-C cancels.
        """
        if show_output:
            from engine.cli.run import LivePrinter

            printer = LivePrinter(sys.stdout)
            with self._lock:
                for event in self._events:
                    printer(event)
                self._printer = printer
        try:
            self._runner.wait(timeout)
        except KeyboardInterrupt:
            self.cancel()
            self._runner.wait()
            raise
        finally:
            self._printer = None
        if self._runner.error is not None:
            raise self._runner.error
        if show_output and self._runner.summary is not None:
            from engine.cli.run import format_summary

            print(format_summary(self._runner.summary), end="")
        return self.get_status()

    def cancel(self) -> None:
        self._runner.cancel()

    def get_logs(self) -> dict[str, str]:
        return {s.name: s.get_log() for s in self.get_steps()}

    def log_lines(self, step: str | None = None) -> list[LogLine]:
        """The log lines received so far as events (of one step, or all)."""
        with self._lock:
            return [
                e
                for e in self._events
                if isinstance(e, LogLine) and (step is None or e.step == step)
            ]

    def __repr__(self) -> str:
        return f"<PipelineRun {self.id}: {self.get_status()}>"


def submit(
    pipeline: Pipeline,
    experiment: str | None = None,
    regenerate_outputs: bool = False,
    parameters: dict | None = None,
    from_step: str | None = None,
    only: list[str] | None = None,
    path: str | Path | None = None,
) -> PipelineRun:
    """Start running an engine model; `path` locates the project when the model has none."""
    if path is not None:
        pipeline.path = str(Path(path).resolve())
    elif pipeline.path is None:
        pipeline.path = str(Path.cwd() / f"{pipeline.name}.yaml")
    options = PlanOptions(
        parameters=dict(parameters or {}),
        regenerate_outputs=regenerate_outputs,
        from_step=from_step,
        only=list(only or []),
    )
    return PipelineRun(Runner(pipeline, options, experiment=experiment))
