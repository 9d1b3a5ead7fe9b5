"""`pipeloom preview FILE NODE[.OUTPUT]`: the first rows of a dataset or a step's output."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from engine.cli import EXIT_BAD_INPUT, EXIT_OK, load_pipeline

CELL_WIDTH = 32  # a table column on a terminal is at most this wide


def _rows(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.preview import DEFAULT_ROWS

    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")
    parser.add_argument(
        "target",
        metavar="NODE[.OUTPUT]",
        help="a dataset node, a step's output (NODE.OUTPUT), or dataset:NAME[@VERSION]",
    )
    parser.add_argument(
        "--run", dest="run_id", metavar="RUN", help="that run's output (id, prefix or 'latest')"
    )
    parser.add_argument(
        "-n", "--rows", type=_rows, default=DEFAULT_ROWS, help=f"rows (default {DEFAULT_ROWS})"
    )
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="table (the default on a terminal), csv (the default in a pipe) or json",
    )
    parser.add_argument(
        "--count", action="store_true", help="count the rows even when that reads all the data"
    )


def run(args: argparse.Namespace) -> int:
    from engine.preview import PreviewError, locate_target, open_store, read_preview

    pipeline = load_pipeline(args.file)
    store = open_store(args.file)
    try:
        location = locate_target(pipeline, args.target, run=args.run_id, store=store)
        preview = read_preview(
            location.path,
            location.format,
            rows=args.rows,
            count=True if args.count else None,
            kind=location.kind,
        )
    except PreviewError as exc:
        print(f"pipeloom preview: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        if store is not None:
            store.close()
    style = args.format or ("table" if sys.stdout.isatty() else "csv")
    if style == "json":
        data = preview.to_json()
        data["target"] = location.label
        data["run"] = location.run_id
        json.dump(data, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    elif style == "csv":
        from engine.preview import cell_text

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([c.name for c in preview.columns])
        for row in preview.rows:
            writer.writerow(["" if v is None else _csv_value(v, cell_text) for v in row])
    else:
        print(table(preview))
        where = f" (run {location.run_id})" if location.run_id else ""
        print(f"{location.label}{where}: {preview.summary()}")
        for note in preview.notes:
            print(f"note: {note}")
    return EXIT_OK


def _csv_value(value, cell_text) -> str:
    return value if isinstance(value, str) else cell_text(value)


def table(preview) -> str:
    """Aligned columns: names, types, a rule, then the rows (long cells shortened)."""
    from engine.preview import cell_text

    if not preview.columns:
        return "(no columns)"
    lines = [
        [c.name for c in preview.columns],
        [c.type for c in preview.columns],
        *([cell_text(v) for v in row] for row in preview.rows),
    ]
    lines = [[_fit(cell) for cell in line] for line in lines]
    widths = [max(len(line[i]) for line in lines) for i in range(len(preview.columns))]
    numeric = [_is_number(c.type) for c in preview.columns]
    out = []
    for n, line in enumerate(lines):
        cells = [
            cell.rjust(w) if numeric[i] and n > 1 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if n == 1:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _fit(text: str) -> str:
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _is_number(arrow_type: str) -> bool:
    return arrow_type.startswith(("int", "uint", "float", "double", "decimal", "halffloat"))
