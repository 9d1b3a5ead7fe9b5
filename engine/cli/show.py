"""`pipeloom show FILE`: the pipeline as a readable tree, steps in execution order.

Each node lists its inputs (source, effective kind and mode), its outputs and where it runs.
A pipeline with errors is still shown when it has an order (exit 2, problems on stderr).
"""

from __future__ import annotations

import argparse
import sys

from engine.cli import EXIT_BAD_INPUT, EXIT_OK, load_pipeline, print_problems, summary
from engine.pipeline import registry
from engine.pipeline.graph import build_graph, find_cycle
from engine.pipeline.model import Node, Pipeline, output_kind
from engine.problems import errors


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")


def run(args: argparse.Namespace) -> int:
    from engine.pipeline.graph import execution_order
    from engine.planning.validate import validate

    pipeline = load_pipeline(args.file)
    problems = validate(pipeline)
    graph = build_graph(pipeline)
    if find_cycle(graph) is None:
        print("\n".join(render(pipeline, execution_order(pipeline, graph))))
    if errors(problems):
        print_problems(errors(problems), args.file, file=sys.stderr)
        print(f"{args.file}: {summary(problems)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def render(p: Pipeline, order: list[str]) -> list[str]:
    lines = [f"{p.name}: {p.description}" if p.description else p.name]
    if p.datastore:
        lines.append(f"datastore  {p.datastore}")
    if p.computes:
        lines += ["", "computes"] + _columns(
            [[name, str(c.type), _compute_detail(c)] for name, c in p.computes.items()]
        )
    if p.environments:
        lines += ["", "environments"] + _columns(
            [[name, _environment_detail(e)] for name, e in p.environments.items()]
        )
    if p.parameters:
        lines += ["", "parameters"] + _columns(
            [[name, str(q.type), f"= {q.default!r}"] for name, q in p.parameters.items()]
        )
    lines += ["", "steps, in execution order"]
    width = len(str(len(order)))
    for i, name in enumerate(order, 1):
        node = p.nodes[name]
        lines.append(f"{i:>{width}}. {name}  {_node_detail(p, node)}")
        lines += [" " * (width + 4) + row for row in _columns(_port_rows(p, node))]
    return lines


def _columns(rows: list[list[str]], indent: str = "  ") -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[-1]
        for r in rows
    ]


def _compute_detail(c) -> str:
    if c.type == "spark":
        return str(c.master) + (f"  (token from ${c.token_env})" if c.token_env else "")
    return f"{c.workers} workers" if c.workers else "one worker per core"


def _environment_detail(e) -> str:
    parts = [", ".join(map(str, e.pip))] if e.pip else []
    if e.requirements_file:
        parts.append(f"-r {e.requirements_file}")
    if e.python:
        parts.append(f"python {e.python}")
    return "; ".join(parts) or "(no packages)"


def _node_detail(p: Pipeline, node: Node) -> str:
    params = node.params
    if node.type == "dataset":
        where = params.get("path") or params.get("from") or "?"
        fmt = params.get("format.type", "csv") if params.get("kind", "tabular") == "tabular" else ""
        return "  ".join(
            str(x) for x in ("dataset", params.get("kind", "tabular"), fmt, where) if x
        )
    spec = registry.spec(node.type)
    compute = params.get("compute")
    parts = [str(node.type)]
    if compute is not None:
        c = p.computes.get(compute)
        parts.append(f"on {compute}" + (f" ({c.type})" if c else " (unknown compute)"))
    if params.get("environment"):
        parts.append(f"env {params['environment']}")
    if spec and spec.entry_param and params.get(spec.entry_param):
        source = params.get("source_directory", ".")
        entry = str(params[spec.entry_param])
        parts.append(entry if source in (".", "", None) else f"{source}/{entry}")
    if params.get("allow_reuse") is False:
        parts.append("no reuse")
    return "  ".join(parts)


def _port_rows(p: Pipeline, node: Node) -> list[list[str]]:
    rows = []
    default_mode = registry.default_mode(node.type)
    for port in node.inputs:
        source, kind = "(not connected)", port.kind
        if port.source is not None:
            source = f"<- {port.source}"
            resolved = p.resolve_output(port.source)
            if kind is None and resolved is not None:
                kind = output_kind(*resolved)
        flags = "optional" if port.optional else ""
        mode = port.mode or default_mode
        rows.append(["in", str(port.name), source, str(kind or "?"), f"{mode} {flags}".strip()])
    for port in node.outputs:
        extra = []
        if port.register_as:
            extra.append(f"register_as {port.register_as}")
        if port.destination:
            extra.append(f"destination {port.destination}")
        fmt = port.format.get("type", "") if isinstance(port.format, dict) else ""
        rows.append(["out", str(port.name), "", f"{port.kind} {fmt}".strip(), "  ".join(extra)])
    return rows
