"""`pipeloom validate FILE...`: load each file, validate it, print its problems.

Problems go to stdout as ``file:line: node.field: message`` (warnings marked, they do not
fail); a one-line summary per file goes to stderr. Exit 0 when every file is free of
errors, 2 when one is unreadable, malformed or has errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli import EXIT_BAD_INPUT, EXIT_OK, load_pipeline, print_problems, summary
from engine.problems import PipelineError, Problem


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="pipeline files (YAML)")
    parser.add_argument(
        "--strict", action="store_true", help="warnings fail too (exit 2), e.g. for CI"
    )


def run(args: argparse.Namespace) -> int:
    worst = EXIT_OK
    for path in args.files:
        if validate_file(path, strict=args.strict) != EXIT_OK:
            worst = EXIT_BAD_INPUT
    return worst


def validate_file(path: str, strict: bool = False) -> int:
    from engine.planning.validate import validate

    counted = ""
    try:
        pipeline = load_pipeline(path)
    except PipelineError as exc:
        problems = exc.problems or [Problem(None, None, "error", str(exc) or "cannot load")]
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        print(f"{path}: cannot read: {reason}", file=sys.stderr)
        return EXIT_BAD_INPUT
    else:
        problems = validate(pipeline, known_datasets=registered_datasets(pipeline, path))
        n = len(pipeline.nodes)
        counted = f" ({n} node{'s' * (n != 1)})"
    print_problems(problems, path)
    print(f"{path}: {summary(problems)}{counted}", file=sys.stderr)
    failed = any(p.is_error for p in problems) or (strict and problems)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def registered_datasets(pipeline, path: str) -> dict[str, set[str]] | None:
    """Dataset versions registered in the project's run store, when the pipeline reads any;
    no store yet means none are registered (as a run would find)."""
    if not any(
        node.type == "dataset" and node.params.get("from") for node in pipeline.nodes.values()
    ):
        return None
    db = Path(path).resolve().parent / ".pipeloom" / "runs.db"
    if not db.is_file():
        return {}
    from engine.storage.store import RunStore

    store = RunStore(db.parent)
    try:
        known: dict[str, set[str]] = {}
        for version in store.datasets():
            known.setdefault(version.name, set()).add(str(version.version))
        return known
    finally:
        store.close()
