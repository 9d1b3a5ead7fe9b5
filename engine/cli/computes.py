"""`pipeloom computes FILE [--check]`: the pipeline's computes and, with --check, whether each
cluster answers (within 10 s each, checked at once) and what it offers.

Exit code 0 when every checked compute is reachable, 1 when one is not, 2 for a bad file.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor

from engine.backends.reachability import ComputeReport, check_compute, describe
from engine.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, load_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="contact each compute: reachable or not, Spark version, cores/memory, Ray resources",
    )
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")


def check_all(computes) -> list[ComputeReport]:
    """Every compute checked at once, in file order."""
    if not computes:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(computes))) as pool:
        return list(pool.map(check_compute, computes))


def run(args: argparse.Namespace) -> int:
    pipeline = load_pipeline(args.file)
    computes = list(pipeline.computes.values())
    if not computes:
        print(f"{args.file}: no computes")
        return EXIT_BAD_INPUT
    if not args.check:
        rows = [[c.name, *describe(c)] for c in computes]
        if args.json:
            print(
                json.dumps([dict(zip(("name", "kind", "address"), r, strict=True)) for r in rows])
            )
        else:
            print("\n".join(_columns([["compute", "kind", "address"], *rows])))
        return EXIT_OK
    reports = check_all(computes)
    if args.json:
        print(json.dumps([r.__dict__ for r in reports], indent=1))
    else:
        rows = [["compute", "kind", "address", "status"]]
        for r in reports:
            status = "reachable" if r.reachable else "UNREACHABLE"
            rows.append([r.name, r.kind, r.address, f"{status}: {r.detail}"])
        print("\n".join(_columns(rows)))
    return EXIT_OK if all(r.reachable for r in reports) else EXIT_FAILED


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]) for r in rows
    ]
