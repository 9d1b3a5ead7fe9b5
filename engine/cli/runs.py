"""`pipeloom runs FILE`: the run history of a pipeline's project, newest first."""

from __future__ import annotations

import argparse
import datetime as dt

from engine.cli import EXIT_OK, load_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")
    parser.add_argument("run_id", nargs="?", metavar="RUN", help="show the steps of this run")
    parser.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")


def run(args: argparse.Namespace) -> int:
    from engine.problems import PipelineError
    from engine.storage.store import RunStore

    pipeline = load_pipeline(args.file)
    store = RunStore.for_pipeline(args.file)
    store.mark_dead_runs_interrupted()
    if args.run_id:
        record = store.find_run(args.run_id)
        if record is None:
            raise PipelineError(f"no run {args.run_id!r} (see `pipeloom runs {args.file}`)")
        print(f"run {record.id}  {record.status}  experiment {record.experiment}")
        if record.parameters:
            print("parameters: " + ", ".join(f"{k}={v}" for k, v in record.parameters.items()))
        rows = [("step", "status", "duration", "reused from", "outputs")]
        for c in store.child_runs(record.id):
            duration = f"{c.duration:.1f}s" if c.duration is not None else "-"
            outputs = ", ".join(f"{k}={v}" for k, v in c.outputs.items())
            rows.append((c.step, str(c.status), duration, c.reused_from or "", outputs))
        print(_table(rows))
        return EXIT_OK
    rows = [("run", "status", "started", "duration", "experiment")]
    for r in store.runs(pipeline.name, limit=args.limit):
        started = dt.datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M:%S")
        duration = f"{r.ended - r.created:.1f}s" if r.ended else "-"
        rows.append((r.id, str(r.status), started, duration, r.experiment))
    if len(rows) == 1:
        print(f"no runs of {pipeline.name} yet")
    else:
        print(_table(rows))
    return EXIT_OK


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
