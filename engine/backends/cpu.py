"""The CPU-pool backend: a script step is `python -u entry args...` in its own process."""

from __future__ import annotations

from engine.backends.base import LogFn, ProgressSource, StepLaunch, StepToRun
from engine.pipeline.model import Compute


class CpuBackend:
    name = "cpu"

    def prepare(self, steps: list[StepToRun], computes: dict[str, Compute]) -> None:
        """Nothing to warm up: each step is a fresh interpreter."""

    def command(self, launch: StepLaunch, log: LogFn) -> tuple[list[str], dict[str, str]]:
        return [launch.python, "-u", str(launch.entry), *launch.args], dict(launch.env)

    def progress_source(self, launch: StepLaunch) -> ProgressSource | None:
        return None

    def on_failure(self, launch: StepLaunch) -> list[str]:
        return []

    def cancel(self, launch: StepLaunch) -> None:
        """The runner kills the process tree; there is nothing remote to interrupt."""

    def close(self, keep_warm: bool = False) -> None:
        """Nothing is kept running."""
