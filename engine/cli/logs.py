"""`pipeloom logs FILE RUN [STEP] [--follow]`: the stored output of a run's steps."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from engine.cli import EXIT_OK, load_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")
    parser.add_argument("run_id", metavar="RUN", help="run id (or a unique prefix, or 'latest')")
    parser.add_argument("step", nargs="?", metavar="STEP", help="only this step")
    parser.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new lines until the run ends"
    )


def run(args: argparse.Namespace) -> int:
    from engine.problems import PipelineError
    from engine.storage.store import RunStore

    load_pipeline(args.file)  # a clear error when FILE is not a pipeline
    store = RunStore.for_pipeline(args.file)
    record = store.find_run(args.run_id)
    if record is None:
        raise PipelineError(f"no run {args.run_id!r} (see `pipeloom runs {args.file}`)")
    children = store.child_runs(record.id)
    if args.step:
        children = [c for c in children if c.step == args.step]
        if not children:
            raise PipelineError(f"run {record.id} has no step {args.step!r}")
    prefix = len(children) > 1
    for child in children:
        if child.reused_from:  # it did not run: its lines are in the run it reused
            where = f"[{child.step}] " if prefix else ""
            print(
                f"{where}reused the outputs of run {child.reused_from}: "
                f"pipeloom logs {args.file} {child.reused_from} {child.step}"
            )
    children = [c for c in children if not c.reused_from]
    offsets: dict[str, int] = {}
    while True:
        for child in children:
            if child.log_path:
                offsets[child.step] = _print_new(
                    Path(child.log_path), offsets.get(child.step, 0), child.step if prefix else None
                )
        if not args.follow:
            return EXIT_OK
        current = store.run(record.id)
        if current is None or current.status.finished:
            for child in children:  # lines written between the last read and the end
                if child.log_path:
                    _print_new(
                        Path(child.log_path),
                        offsets.get(child.step, 0),
                        child.step if prefix else None,
                    )
            return EXIT_OK
        time.sleep(0.3)


def _print_new(path: Path, offset: int, step: str | None) -> int:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return offset
    complete = data[: data.rfind(b"\n") + 1]  # a half-written line waits for the next read
    # lines end at "\n" only: a step's \r, \f or \x1c stays inside the line it printed
    for line in complete.decode("utf-8", errors="replace").split("\n")[:-1]:
        sys.stdout.write(f"[{step}] {line}\n" if step else line + "\n")
    sys.stdout.flush()
    return offset + len(complete)
