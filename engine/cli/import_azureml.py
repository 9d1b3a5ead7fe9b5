"""`pipeloom import AZUREML.yml -o pipeline.yaml`: an Azure ML v2 pipeline job as a Pipeloom file.

Spark and command jobs become Spark and script steps, pipeline inputs datasets and
parameters, bindings wires. What has no Pipeloom equivalent is listed as a warning.
"""

from __future__ import annotations

import argparse
import os
import sys

from engine.cli import EXIT_BAD_INPUT, EXIT_OK, print_problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="Azure ML v2 pipeline job (YAML)")
    parser.add_argument(
        "-o", "--output", required=True, metavar="PIPELINE", help="Pipeloom pipeline file to write"
    )
    parser.add_argument("--force", action="store_true", help="overwrite PIPELINE if it exists")


def run(args: argparse.Namespace) -> int:
    from engine.export.azureml_import import import_azureml
    from engine.fileformat.yamlio import save

    if os.path.exists(args.output) and not args.force:
        print(f"{args.output}: exists (use --force to overwrite)", file=sys.stderr)
        return EXIT_BAD_INPUT
    warnings: list = []
    pipeline = import_azureml(args.file, target=args.output, warnings=warnings)
    save(pipeline, args.output)
    print(f"wrote {args.output}: {len(pipeline.nodes)} nodes")
    print_problems(warnings, args.file, file=sys.stderr)
    return EXIT_OK
