"""`pipeloom export FILE --to azureml|airflow|shell -o DIR`: write the pipeline for a scheduler.

Prints the files written, then every warning (what the target cannot express, and why) as
``file: node.field: warning: message``. Exit 0 when written (warnings do not fail; with
--strict they do), 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys

from engine.cli import EXIT_BAD_INPUT, EXIT_OK, load_pipeline, print_problems
from engine.problems import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.export import TARGETS

    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")
    parser.add_argument("--to", required=True, choices=TARGETS, help="export target")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write to")
    parser.add_argument(
        "--force-rerun",
        action="store_true",
        help="azureml: rerun every step when submitted (settings.force_rerun)",
    )
    parser.add_argument(
        "--compute",
        action="append",
        default=[],
        metavar="NAME=TARGET",
        help="what compute NAME becomes: azureml: a compute name or INSTANCE_TYPE@RUNTIME "
        "(serverless Spark); airflow: a Spark connection id; shell: a spark-submit master",
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 2)")


def parse_computes(items: list[str]) -> dict[str, str]:
    computes = {}
    for item in items:
        name, sep, target = item.partition("=")
        if not sep or not name or not target:
            raise PipelineError(f"--compute {item!r}: expected NAME=TARGET")
        computes[name] = target
    return computes


def run(args: argparse.Namespace) -> int:
    from engine.export import export

    pipeline = load_pipeline(args.file)
    unknown = [n for n in parse_computes(args.compute) if n not in pipeline.computes]
    if unknown:
        known = ", ".join(pipeline.computes) or "none"
        raise PipelineError(f"--compute: no compute named {', '.join(unknown)} (known: {known})")
    result = export(
        pipeline,
        args.to,
        args.output,
        force_rerun=args.force_rerun,
        computes=parse_computes(args.compute),
    )
    if args.force_rerun and args.to != "azureml":
        print(f"note: --force-rerun: {args.to} exports always run every step", file=sys.stderr)
    print(f"wrote {result.main_file}")
    others = [f for f in result.files if f != result.main_file]
    if others:
        print(f"  and {len(others)} more file(s) in {result.out_dir}")
    print_problems(result.warnings, args.file, file=sys.stderr)
    if result.warnings:
        print(f"{len(result.warnings)} warning(s): see above", file=sys.stderr)
    return EXIT_BAD_INPUT if args.strict and result.warnings else EXIT_OK
