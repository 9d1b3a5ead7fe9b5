"""`pipeloom`: the engine headless, for scripts and CI.

Each subcommand lives in its own module, listed in COMMANDS, and is imported only when that
command runs (so `pipeloom validate` never pays for Spark or pandas). A command module
defines ``add_arguments(parser)`` and ``run(args) -> exit code``; to add one, write the module
and add a line to COMMANDS. Errors a user can cause are printed as messages, never as a
traceback: this module is the boundary that catches them. A front end: command modules may
import every other layer of the engine (never engine.api).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1  # the pipeline ran and a step failed
EXIT_BAD_INPUT = 2  # unreadable, malformed or invalid input (also argparse usage errors)
EXIT_INTERNAL = 70  # a bug in Pipeloom (EX_SOFTWARE)
EXIT_CANCELED = 130  # Ctrl-C
EXIT_BROKEN_PIPE = 141  # the reader went away (`pipeloom show x | head`)

DEBUG_ENV = "PIPELOOM_DEBUG"


@dataclass(frozen=True)
class Command:
    module: str  # defines add_arguments(parser) and run(args) -> int
    help: str


COMMANDS: dict[str, Command] = {
    "validate": Command(
        "engine.cli.validate", "check pipeline files; list problems as file:line: node.field"
    ),
    "show": Command(
        "engine.cli.show", "show the steps in execution order with inputs, outputs, computes"
    ),
    "run": Command("engine.cli.run", "run a pipeline: live step output, then a summary"),
    "serve": Command(
        "engine.cli.serve", "keep the pipeline's Spark servers warm for the runs of other processes"
    ),
    "runs": Command("engine.cli.runs", "list the runs of a pipeline (or the steps of one run)"),
    "logs": Command("engine.cli.logs", "print the stored output of a run's steps"),
    "datasets": Command("engine.cli.datasets", "list registered dataset versions"),
    "preview": Command(
        "engine.cli.preview", "print the first rows of a dataset or of a step's output"
    ),
    "computes": Command(
        "engine.cli.computes", "list the computes; --check: reachable, versions, cores, resources"
    ),
    "envs": Command(
        "engine.cli.envs", "list the pipeline's environments and their builds; build or prune them"
    ),
    "export": Command("engine.cli.export", "write the pipeline for Azure ML, Airflow or sh"),
    "import": Command(
        "engine.cli.import_azureml", "read an Azure ML v2 pipeline job into a pipeline file"
    ),
}


class _VersionAction(argparse.Action):
    """--version, looked up only when asked (package metadata is slow to import)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"pipeloom {version()}")
        parser.exit()


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("pipeloom")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """All subcommands with their help; only the one named in `argv` gets its arguments."""
    parser = argparse.ArgumentParser(
        prog="pipeloom",
        description="Validate, inspect, run and export Pipeloom pipelines without the designer.",
        epilog="exit codes: 0 ok, 1 the pipeline failed, 2 bad input, 130 canceled",
    )
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        if name == chosen:
            module = importlib.import_module(command.module)
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns its exit code (the console script exits with it)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")  # odd names never crash a print
    try:
        try:
            args = build_parser(argv).parse_args(argv)
        except SystemExit as exit_:  # --help, --version and usage errors (code 2)
            return exit_.code if isinstance(exit_.code, int) else EXIT_OK
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not as exit 120 at interpreter shutdown
        return code
    except KeyboardInterrupt:
        print("pipeloom: canceled", file=sys.stderr)
        return EXIT_CANCELED
    except BrokenPipeError:
        # the reader closed the pipe: stop writing, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the one boundary where any error becomes a message
        return report_exception(exc)


def report_exception(exc: BaseException) -> int:
    """Print a user-caused error as its message, anything else as one internal-error line."""
    from engine.problems import PipelineError

    if isinstance(exc, PipelineError):
        print_problems(exc.problems, exc.path, file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, UnicodeError):
        print(f"pipeloom: not valid text: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exception(exc)
    print(
        f"pipeloom: internal error: {type(exc).__name__}: {exc} "
        f"(run with {DEBUG_ENV}=1 for the traceback)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


# -- helpers for command modules --------------------------------------------------------


def load_pipeline(path: str):
    """The pipeline in `path`; raises PipelineError (located problems) or OSError."""
    from engine.fileformat.yamlio import load
    from engine.problems import PipelineError, Problem

    try:
        return load(path)
    except RecursionError:  # a parser or builder that recursed on absurd nesting
        raise PipelineError(
            Problem(None, None, "error", "the file is nested too deeply to read"), path
        ) from None


def print_problems(problems, path: str | None, file=None) -> None:
    out = sys.stdout if file is None else file
    for problem in problems:
        print(problem.format(path), file=out)


def summary(problems) -> str:
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) or "ok"
