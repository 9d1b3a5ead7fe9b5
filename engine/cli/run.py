"""`pipeloom run FILE`: plan and run a pipeline with live, step-prefixed output.

Ctrl-C cancels the run (every step's process tree is stopped) and exits 130. When stdout is
a terminal, a live status line stays at the bottom; otherwise every event is a plain line.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from engine.cli import EXIT_CANCELED, EXIT_FAILED, EXIT_OK, load_pipeline
from engine.events import (
    LogLine,
    OutputReady,
    Progress,
    RunFinished,
    RunSummary,
    Status,
    StatusChanged,
)
from engine.problems import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a pipeline parameter (repeatable)",
    )
    parser.add_argument("--experiment", help="experiment name (default: the pipeline's name)")
    parser.add_argument(
        "--regenerate-outputs", action="store_true", help="run every step; reuse nothing"
    )
    parser.add_argument(
        "--from", dest="from_step", metavar="STEP", help="run STEP and everything downstream"
    )
    parser.add_argument("--only", nargs="+", default=[], metavar="STEP", help="run just these")
    parser.add_argument("--quiet", action="store_true", help="no step output, only statuses")


def parse_params(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise PipelineError(f"--param {item!r}: expected NAME=VALUE")
        params[name.strip()] = value
    return params


def run(args: argparse.Namespace) -> int:
    from engine.planning.plan import PlanOptions
    from engine.running.runner import Runner

    pipeline = load_pipeline(args.file)
    options = PlanOptions(
        parameters=parse_params(args.param),
        regenerate_outputs=args.regenerate_outputs,
        from_step=args.from_step,
        only=list(args.only),
    )
    runner = Runner(pipeline, options, experiment=args.experiment)
    printer = LivePrinter(sys.stdout, quiet=args.quiet, runner=runner)
    runner.subscribe(printer)
    return run_with_interrupts(runner, printer)


def run_with_interrupts(runner, printer: LivePrinter) -> int:
    """Run on a worker thread; the main thread maps Ctrl-C (SIGINT) and SIGTERM to cancel."""

    def on_signal(signum, frame) -> None:
        printer.message("canceling: stopping running steps...")
        runner.cancel()

    previous = {
        sig: signal.signal(sig, on_signal)
        for sig in (signal.SIGINT, signal.SIGTERM)
        if threading.current_thread() is threading.main_thread()
    }
    try:
        runner.start()
        while not runner.wait(0.2) and runner.summary is None and runner.error is None:
            pass
        runner.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if runner.error is not None:
        raise runner.error
    summary = runner.summary
    printer.finish(summary)
    if summary.status is Status.COMPLETED:
        return EXIT_OK
    if summary.status is Status.CANCELED:
        return EXIT_CANCELED
    return EXIT_FAILED


class LivePrinter:
    """Prints run events: step-prefixed lines, plus a live status line on a terminal."""

    def __init__(self, out, quiet: bool = False, runner=None):
        self.out = out
        self.runner = runner  # for the plan's validation warnings
        self.quiet = quiet
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.lock = threading.Lock()
        self.statuses: dict[str, Status] = {}
        self.progress: dict[str, str] = {}
        self.width = 0
        self.started = time.monotonic()

    def __call__(self, event) -> None:
        with self.lock:
            if isinstance(event, LogLine):
                if not self.quiet:
                    self._line(f"[{event.step}] {event.text}")
            elif isinstance(event, StatusChanged):
                if event.step is None:
                    if event.status is Status.RUNNING:
                        self._line(f"run {event.run_id}: started")
                        plan = self.runner.plan if self.runner is not None else None
                        for problem in plan.warnings if plan is not None else []:
                            self._line(f"warning: {problem.where()}: {problem.message}")
                    return
                self.statuses[event.step] = event.status
                why = f" ({event.message})" if event.message else ""
                self._line(f"== {event.step}: {event.status}{why}")
            elif isinstance(event, Progress):
                self.progress[event.step] = f"{event.done}/{event.total}"
                if not self.tty:
                    return
            elif isinstance(event, OutputReady):
                registered = (
                    f" registered as {event.dataset} v{event.version}" if event.dataset else ""
                )
                self._line(f"== {event.step}: output {event.output} at {event.path}{registered}")
            elif isinstance(event, RunFinished):
                return
            self._status_line()

    def message(self, text: str) -> None:
        with self.lock:
            self._line(text)
            self._status_line()

    def _line(self, text: str) -> None:
        if self.tty:
            self.out.write("\r\x1b[K")
        self.out.write(text + "\n")
        self.out.flush()

    def _status_line(self) -> None:
        if not self.tty:
            return
        running = [
            f"{s}{' ' + self.progress[s] if s in self.progress else ''}"
            for s, st in self.statuses.items()
            if st is Status.RUNNING
        ]
        done = sum(1 for st in self.statuses.values() if st.finished)
        elapsed = time.monotonic() - self.started
        text = f"[{done}/{len(self.statuses)} done, {elapsed:.0f}s] running: {', '.join(running) or '-'}"
        self.out.write("\r\x1b[K" + text[:200])
        self.out.flush()

    def finish(self, summary: RunSummary) -> None:
        with self.lock:
            if self.tty:
                self.out.write("\r\x1b[K")
            self.out.write(format_summary(summary))
            self.out.flush()


def format_summary(summary: RunSummary) -> str:
    rows = [("step", "status", "duration", "reused")]
    for s in summary.steps:
        duration = f"{s.duration:.1f}s" if s.duration is not None else "-"
        rows.append((s.step, str(s.status), duration, s.reused_from or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    # why a step failed (a build that failed names its environment), under the table
    lines += [f"{s.step}: {s.message}" for s in summary.steps if s.status is Status.FAILED]
    head = f"run {summary.run_id}: {summary.status} in {summary.duration:.1f}s"
    return "\n" + head + "\n" + "\n".join(lines) + "\n"
