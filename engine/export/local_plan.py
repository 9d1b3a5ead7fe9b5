"""What the shell and Airflow exports run, decided once: per step its code, command line,
input copies, fresh output paths, published outputs and step context, with every path kept
symbolic (a root folder chosen at run time plus a relative part) so each target renders it
its own way: "$OUTPUT_DIR/..." in sh, "{{ params.output_dir }}/..." in an Airflow template.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from engine.export.common import (
    ExportContext,
    InputSource,
    arguments,
    compute_of,
    dataset_reference,
    entry_file,
    environment_requirements,
    expand,
    identifier,
    input_context,
    is_uri,
    spark_settings,
    uses_step_helper,
)
from engine.pipeline.model import Node, templates_in

# roots of symbolic paths
PROJECT = "project"  # the folder the pipeline file was in (dataset paths are relative to it)
OUTPUTS = "outputs"  # where step outputs, input copies and step contexts go
DATASTORE = "datastore"  # where `destination:` outputs are published
CODE = "code"  # the export folder, holding the copied code
LITERAL = "literal"  # an absolute path or URI, as is
DATASET = "dataset"  # a registered dataset: its location is given at run time (env / param)
PARAM = "param"  # a pipeline parameter's value


@dataclass(frozen=True)
class Loc:
    """A path (or parameter value) as a root chosen at run time plus a fixed relative part."""

    root: str
    rel: str = ""


# a word of a command line: literal text and Locs, concatenated
Word = list[str | Loc]


@dataclass
class StepPlan:
    node: Node
    spark: bool
    code: str  # the copied source folder, relative to the export folder
    entry: str
    arguments: list[Word]
    master: str | None = None  # spark-submit --master
    connect: str | None = None  # sc:// URL: run with python and SPARK_REMOTE instead
    conf: dict[str, Any] = field(default_factory=dict)
    py_files: list[str] = field(default_factory=list)
    jars: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    environment: str | None = None
    python: str | None = None  # the environment's interpreter, when it names one
    downloads: list[tuple[Loc, Loc]] = field(default_factory=list)  # (source, private copy)
    outputs: list[tuple[str, Loc]] = field(default_factory=list)
    publish: list[tuple[Loc, Loc]] = field(default_factory=list)  # (output, destination)
    context: dict[str, Any] = field(default_factory=dict)  # JSON data with Loc leaves
    context_file: Loc = Loc(OUTPUTS)

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class LocalPlan:
    steps: list[StepPlan]
    parameters: dict[str, tuple[str, Any]]  # parameter -> (variable name, default)
    datasets: dict[str, str]  # registered dataset "NAME@VERSION" -> variable name
    requirements: dict[str, list[str]]  # environment -> pip requirements
    helper_dir: str | None = None  # the copied step helper (for PYTHONPATH), when a step uses it


def plan_local(ctx: ExportContext, computes: dict[str, str] | None = None) -> LocalPlan:
    """Plan every step of `ctx.pipeline` for a local-style runner (sh, Airflow)."""
    computes = computes or {}
    taken: set[str] = set()
    parameters = {
        name: (identifier(f"PARAM_{name}".upper(), taken), p.default)
        for name, p in ctx.pipeline.parameters.items()
    }
    plan = LocalPlan([], parameters, {}, {})
    for node in ctx.steps():
        plan.steps.append(_plan_step(ctx, plan, node, computes, taken))
        if uses_step_helper(ctx, node):
            plan.helper_dir = ctx.copy_step_helper()
    return plan


def _plan_step(
    ctx: ExportContext, plan: LocalPlan, node: Node, computes: dict[str, str], taken: set[str]
) -> StepPlan:
    spark = node.type == "spark-step"
    step = StepPlan(node, spark, ctx.copy_code(node), entry_file(node), [])
    inputs: dict[str, Loc | None] = {}
    context_inputs: dict[str, Any] = {}
    for port in node.inputs:
        src = ctx.source_of(node, port)
        if src is None:
            inputs[port.name] = None
            continue
        loc = _source_location(ctx, plan, src, taken)
        if src.mode == "download":
            copy = Loc(OUTPUTS, f".work/{node.name}/inputs/{port.name}")
            step.downloads.append((loc, copy))
            loc = copy
        inputs[port.name] = loc
        context_inputs[port.name] = {**input_context(ctx, src, ""), "path": loc}
    outputs: dict[str, Loc] = {}
    context_outputs: dict[str, Any] = {}
    for port in node.outputs:
        loc = Loc(OUTPUTS, f"{node.name}/{port.name}")
        outputs[port.name] = loc
        step.outputs.append((port.name, loc))
        context_outputs[port.name] = {"path": loc, "kind": port.kind, "format": dict(port.format)}
        if port.destination:
            step.publish.append((loc, Loc(DATASTORE, port.destination.strip("/"))))
        if port.register_as:
            ctx.warn(
                node.name,
                f"outputs.{port.name}.register_as",
                f"registering {port.register_as!r} needs Pipeloom's datastore: the output stays "
                f"at <output folder>/{node.name}/{port.name}",
            )
    step.arguments = [_word(ctx, node, arg, inputs, outputs, plan) for arg in arguments(node)]
    step.context = {
        "run_id": "",
        "step": node.name,
        "inputs": {k: {"name": k, **v} for k, v in context_inputs.items()},
        "outputs": {k: {"name": k, **v} for k, v in context_outputs.items()},
        "parameters": {
            name: Loc(PARAM, name)
            for section, name in templates_in(arguments(node))
            if section == "parameters"
        },
    }
    step.context_file = Loc(OUTPUTS, f".contexts/{node.name}.json")
    _plan_environment(ctx, plan, step)
    if spark:
        _plan_spark(ctx, step, computes)
    return step


def _source_location(ctx: ExportContext, plan: LocalPlan, src: InputSource, taken) -> Loc:
    if not src.is_dataset:
        return Loc(OUTPUTS, f"{src.node.name}/{src.output}")
    ref = dataset_reference(src.node)
    if ref:
        key = f"{ref[0]}@{ref[1] or 'latest'}"
        if key not in plan.datasets:
            variable = identifier(f"DATASET_{ref[0]}".upper(), taken)
            plan.datasets[key] = variable
            where = f"DAG param {variable.lower()}" if ctx.target == "airflow" else variable
            ctx.warn(
                src.node.name,
                "from",
                f"registered dataset {key} lives in Pipeloom's datastore: give its path in "
                f"{where} when running the export",
            )
        return Loc(DATASET, plan.datasets[key])
    path = str(src.node.params.get("path"))
    if is_uri(path) or os.path.isabs(path):
        return Loc(LITERAL, path)
    return Loc(PROJECT, path)


def _word(ctx, node: Node, arg: str, inputs, outputs, plan: LocalPlan) -> Word:
    parts: Word = []
    marker = "\x00"

    def placeholder(loc: Loc | None, what: str) -> str:
        if loc is None:
            ctx.warn(
                node.name, "arguments", f"{what} is an optional input with nothing wired: empty"
            )
            return ""
        parts.append(loc)
        return marker

    text = expand(
        arg,
        inputs=lambda n: placeholder(inputs.get(n), f"{{inputs.{n}}}"),
        outputs=lambda n: placeholder(outputs.get(n), f"{{outputs.{n}}}"),
        parameters=lambda n: placeholder(Loc(PARAM, n), n),
    )
    word: Word = []
    locs = iter(parts)
    for i, literal in enumerate(text.split(marker)):
        if i:
            word.append(next(locs))
        if literal:
            word.append(literal)
    return word


def _plan_environment(ctx: ExportContext, plan: LocalPlan, step: StepPlan) -> None:
    name = step.node.params.get("environment")
    if not name:
        return
    step.environment = name
    env = ctx.pipeline.environments[name]
    step.python = env.python
    if name not in plan.requirements:
        plan.requirements[name] = environment_requirements(ctx, name)
        if plan.requirements[name]:
            ctx.warn(
                None,
                f"environments.{name}",
                f"packages are not installed by the export: install requirements-{name}.txt into "
                "the Python that runs the step",
            )


def _plan_spark(ctx: ExportContext, step: StepPlan, computes: dict[str, str]) -> None:
    node = step.node
    compute = compute_of(ctx, node)
    master = computes.get(node.params.get("compute")) or (compute.master if compute else None)
    master = master or "local[*]"
    step.conf = {**(compute.conf if compute else {}), **spark_settings(node)}
    for key in ("py_files", "jars", "files"):
        setattr(step, key, list(node.params.get(key) or []))
    if master.startswith("sc://"):
        step.connect = master
        dropped = [k for k in step.conf] + [
            k for k in ("py_files", "jars", "files") if getattr(step, k)
        ]
        if dropped:
            ctx.warn(
                node.name,
                "spark",
                f"{master} is a Spark Connect server: the step runs with SPARK_REMOTE, so "
                f"{', '.join(dropped)} cannot be applied per step",
            )
        if compute and compute.token_env:
            ctx.warn(
                None,
                f"computes.{compute.name}.token_env",
                f"put the token from {compute.token_env} into SPARK_REMOTE (;token=...) yourself",
            )
    else:
        step.master = master
    if node.params.get("backend") == "connect" and step.master:
        ctx.warn(node.name, "backend", "the export runs Spark steps with spark-submit")
