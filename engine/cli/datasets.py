"""`pipeloom datasets FILE`: registered dataset versions of a pipeline's project."""

from __future__ import annotations

import argparse
import datetime as dt

from engine.cli import EXIT_OK, load_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")
    parser.add_argument("name", nargs="?", metavar="NAME", help="only this dataset")


def run(args: argparse.Namespace) -> int:
    from engine.cli.runs import _table
    from engine.storage.store import RunStore

    load_pipeline(args.file)  # a clear error when FILE is not a pipeline
    store = RunStore.for_pipeline(args.file)
    rows = [("dataset", "version", "created", "run", "step.output", "path")]
    for d in store.datasets():
        if args.name and d.name != args.name:
            continue
        created = dt.datetime.fromtimestamp(d.created).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            (d.name, str(d.version), created, d.run_id or "", f"{d.step}.{d.output}", d.path)
        )
    print(_table(rows) if len(rows) > 1 else "no registered datasets")
    return EXIT_OK
