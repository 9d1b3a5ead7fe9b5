"""Validation: every problem of a pipeline as a located `Problem`; never raises on user input.

Checks are linear in the size of the pipeline (one pass over nodes and ports, one graph
traversal for cycles), so a 10,000-node pipeline validates in well under a second.
Path and setting checks that are not about the graph live in engine.planning.checks.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Collection, Mapping
from typing import Any

import networkx as nx

from engine.gcpause import gc_paused
from engine.pipeline import registry
from engine.pipeline.graph import build_graph, is_acyclic
from engine.pipeline.model import (
    NAME_RE,
    TEMPLATE_RE,
    InputPort,
    Node,
    Pipeline,
    Ref,
    output_kind,
    output_names,
    valid_name,
)
from engine.planning.checks import Checker, check_pipeline_sections, check_value
from engine.problems import Problem

# `{section.name}` that looks like a template but is not one we expand (e.g. `{input.x}`)
_TEMPLATE_LIKE_RE = re.compile(r"\{([A-Za-z_]+)\.([^{}\s]*)\}")
_TEMPLATE_SECTIONS = ("inputs", "outputs", "parameters")


@gc_paused
def validate(
    pipeline: Pipeline,
    base_dir: str | os.PathLike | None = None,
    known_datasets: Collection[str] | Mapping[str, Collection[str]] | None = None,
    graph: nx.MultiDiGraph | None = None,
) -> list[Problem]:
    """Every problem found in `pipeline`, errors and warnings, in file order.

    base_dir: folder that relative paths are resolved against (default: the pipeline file's
    folder; with neither, file existence is not checked). known_datasets: names of registered
    datasets (or name -> versions); None skips the existence check of `dataset:` references.
    graph: engine.pipeline.graph.build_graph(pipeline) when the caller has it already (the plan).
    """
    if base_dir is None and pipeline.path:
        base_dir = os.path.dirname(os.path.abspath(pipeline.path))
    checker = Checker(pipeline, os.fspath(base_dir) if base_dir is not None else None)
    if known_datasets is not None:
        checker.known_datasets = _with_registered_here(pipeline, known_datasets)
    check_pipeline_sections(checker)
    for key, node in pipeline.nodes.items():
        if key != node.name:  # only an API misuse gets here; the file cannot say it
            checker.error(key, None, f"node {key!r} is stored under another name ({node.name!r})")
        _check_node(checker, node)
    _check_cycles(checker, build_graph(pipeline) if graph is None else graph)
    return checker.problems


def _with_registered_here(
    pipeline: Pipeline, known: Collection[str] | Mapping[str, Collection[str]]
) -> dict[str, set[str] | None]:
    """Known datasets plus those this pipeline registers (any version of those)."""
    if isinstance(known, Mapping):
        names: dict[str, set[str] | None] = {k: {str(v) for v in vs} for k, vs in known.items()}
    else:
        names = dict.fromkeys(known)
    for node in pipeline.nodes.values():
        for port in node.outputs:
            if isinstance(port.register_as, str):
                names[port.register_as] = None
    return names


# -- nodes ------------------------------------------------------------------------------


def _check_node(c: Checker, node: Node) -> None:
    name = node.name
    if not valid_name(name):
        c.error(name, None, f"invalid node name {name!r}: {_NAME_RULE}")
    spec = registry.spec(node.type) if isinstance(node.type, str) else None
    if spec is None:
        c.error(name, "type", f"unknown node type {node.type!r}{_did_you_mean(node.type, _TYPES)}")
        _check_ports(c, node, None)
        return
    for key, value in node.params.items():
        pspec = spec.param(key)
        if pspec is None:
            known = [p.name for p in spec.params]
            c.error(
                name, key, f"unknown setting {key!r} for a {spec.type}{_did_you_mean(key, known)}"
            )
            continue
        check_value(c, node, pspec, value)
    for pspec in spec.required:
        if node.params.get(pspec.name) is None:
            c.error(name, pspec.name, f"{pspec.label.lower()} is required (`{pspec.name}:`)")
    if spec.type == "dataset":
        c.check_dataset(node)
    else:
        c.check_step_files(node, spec)
        _check_arguments(c, node)
    _check_ports(c, node, spec)


_NAME_RULE = "use letters, digits, '_' and '-', starting with a letter or '_'"
_TYPES = sorted(set(registry.NODE_SPECS) | set(registry._REPLACED))


def _did_you_mean(word: Any, choices: Collection[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_ports(c: Checker, node: Node, spec: registry.NodeSpec | None) -> None:
    name = node.name
    rules = spec.ports if spec else None
    if rules is not None and not rules.inputs and node.inputs:
        c.error(name, "inputs", f"a {spec.type} node has no inputs")
    if rules is not None and not rules.outputs and node.outputs:
        c.error(
            name, "outputs", f"a {spec.type} node has no outputs of its own (it is read as a whole)"
        )
    seen_inputs: set[str] = set()
    for port in node.inputs:
        field = f"inputs.{port.name}"
        if not valid_name(port.name):
            c.error(name, field, f"invalid input name {port.name!r}: {_NAME_RULE}")
        elif port.name in seen_inputs:
            c.error(name, field, f"two inputs are named {port.name!r}")
        seen_inputs.add(port.name)
        _check_input(c, node, port, field, rules)
    seen_outputs: set[str] = set()
    for port in node.outputs:
        field = f"outputs.{port.name}"
        if not valid_name(port.name):
            c.error(name, field, f"invalid output name {port.name!r}: {_NAME_RULE}")
        elif port.name in seen_outputs:
            c.error(name, field, f"two outputs are named {port.name!r}")
        elif port.name in seen_inputs:
            c.error(name, field, f"{port.name!r} names both an input and an output of this step")
        seen_outputs.add(port.name)
        c.check_output(node, port, field, rules)


def _check_input(
    c: Checker, node: Node, port: InputPort, field: str, rules: registry.PortRules | None
) -> None:
    name = node.name
    if port.mode is not None:
        if port.mode not in registry.INPUT_MODES:
            choices = ", ".join(registry.INPUT_MODES)
            c.error(name, f"{field}.mode", f"unknown input mode {port.mode!r} (one of {choices})")
        elif rules is not None and port.mode not in rules.input_modes:
            allowed = " or ".join(rules.input_modes)
            c.error(
                name,
                f"{field}.mode",
                f"a {node.type} takes inputs only in mode {allowed}, not {port.mode!r}",
            )
    if port.kind is not None:
        if port.kind not in registry.KINDS:
            c.error(name, f"{field}.as", f"unknown kind {port.kind!r} (tabular or file)")
        elif rules is not None and port.kind not in rules.input_kinds:
            c.error(name, f"{field}.as", f"a {node.type} does not take {port.kind} inputs")
    ref = port.source
    if ref is None:
        if not port.optional:
            c.error(
                name,
                field,
                f"input {port.name!r} is not connected: set `from: NODE[.OUTPUT]` or make it optional",
            )
        return
    source = c.pipeline.nodes.get(ref.node)
    if source is None:
        if isinstance(ref.node, str) and ref.node.startswith("dataset:"):
            msg = f"`from: {ref}` names a registered dataset: add a dataset node with that `from:` and read it"
        else:
            msg = f"`from: {ref}`: no node named {ref.node!r}{_did_you_mean(ref.node, c.pipeline.nodes)}"
        c.error(name, f"{field}.from", msg)
        return
    resolved = c.pipeline.resolve_output(ref)
    if resolved is not None:
        _check_kind(c, node, port, field, ref, output_kind(*resolved))
        return
    outs = output_names(source)  # why it does not resolve
    if ref.output is not None:
        hint = f" (its outputs: {', '.join(outs)})" if outs else " (it has no outputs)"
        msg = f"`from: {ref}`: {ref.node!r} has no output {ref.output!r}{hint}"
    elif not outs:
        msg = f"`from: {ref}`: {ref.node!r} has no outputs"
    else:
        msg = (
            f"`from: {ref}` is ambiguous: {ref.node!r} has outputs {', '.join(outs)}; "
            f"name one ({ref.node}.{outs[0]})"
        )
    c.error(name, f"{field}.from", msg)


def _check_kind(
    c: Checker, node: Node, port: InputPort, field: str, ref: Ref, source_kind: str | None
) -> None:
    """A tabular source feeds tabular or file inputs; a file source only file inputs."""
    if (
        port.kind in registry.KINDS
        and source_kind in registry.KINDS
        and not registry.kind_compatible(source_kind, port.kind)
    ):
        c.error(
            node.name,
            f"{field}.as",
            f"kind mismatch: {ref} is {source_kind} and cannot feed a {port.kind} input "
            f"(a file output feeds only file inputs)",
        )


def _check_arguments(c: Checker, node: Node) -> None:
    """Dangling template references are errors; ports no argument mentions are warnings."""
    args = node.params.get("arguments")
    if not isinstance(args, list):
        return  # missing, or a wrong type already reported by check_value
    templated = [a for a in args if isinstance(a, str) and "{" in a]
    if not templated:
        return  # no templates at all: the step reads its ports from the step context
    inputs = {p.name for p in node.inputs}
    outputs = {p.name for p in node.outputs}
    known = {"inputs": inputs, "outputs": outputs, "parameters": c.pipeline.parameters}
    used: dict[str, set[str]] = {"inputs": set(), "outputs": set(), "parameters": set()}
    # the common case first: every template names a port or parameter (a match cannot span
    # two arguments: neither part of the pattern matches a newline)
    for section, ref in _TEMPLATE_LIKE_RE.findall("\n".join(templated)):
        names = known.get(section)
        if names is None or ref not in names:
            _check_templates_in_detail(c, node, args, known)
            return
        used[section].add(ref)
    for refs in used.values():
        for ref in refs:
            if not NAME_RE.match(ref):  # a malformed one, e.g. {inputs.a.b}
                _check_templates_in_detail(c, node, args, known)
                return
    _unused_ports(c, node, known, used)


def _check_templates_in_detail(
    c: Checker, node: Node, args: list, known: dict[str, Collection[str]]
) -> None:
    """Each template of each argument, with a message naming the argument that is wrong."""
    name = node.name
    used: dict[str, set[str]] = {"inputs": set(), "outputs": set()}
    for i, arg in enumerate(args):
        if not isinstance(arg, str) or "{" not in arg:
            continue
        for m in _TEMPLATE_LIKE_RE.finditer(arg):
            section, ref = m.group(1), m.group(2)
            if section not in _TEMPLATE_SECTIONS:
                close = difflib.get_close_matches(section, _TEMPLATE_SECTIONS, n=1)
                if close:
                    c.error(
                        name,
                        "arguments",
                        f"argument {i + 1}: unknown template {m.group(0)} (did you mean "
                        f"{{{close[0]}.{ref}}}?)",
                    )
                continue
            if not TEMPLATE_RE.fullmatch(m.group(0)):
                c.error(name, "arguments", f"argument {i + 1}: malformed template {m.group(0)}")
                continue
            if ref not in known[section]:
                owner = {"inputs": "input of this step", "outputs": "output of this step"}
                c.error(
                    name,
                    "arguments",
                    f"argument {i + 1}: {m.group(0)} names no "
                    f"{owner.get(section, 'parameter of the pipeline')}"
                    f"{_did_you_mean(ref, known[section])}",
                )
            elif section in used:
                used[section].add(ref)
    _unused_ports(c, node, known, used)


def _unused_ports(
    c: Checker, node: Node, known: dict[str, Collection[str]], used: dict[str, set[str]]
) -> None:
    """Warn of ports no argument passes, once the arguments pass some port."""
    name = node.name
    if not (used["inputs"] or used["outputs"]):
        return  # no port templates: the step reads its ports from the step context
    for section, direction in (("inputs", "input"), ("outputs", "output")):
        for port_name in sorted(known[section] - used[section]):
            c.warning(
                name,
                f"{section}.{port_name}",
                f"{direction} {port_name!r} is not passed in the arguments "
                f"(the step can still find it in its step context)",
            )


# -- graph ------------------------------------------------------------------------------


def _check_cycles(c: Checker, g: nx.MultiDiGraph) -> None:
    """One problem per cycle-carrying strongly connected component (linear time)."""
    if is_acyclic(g):
        return
    for component in nx.strongly_connected_components(g):
        if len(component) == 1:
            (only,) = component
            if not g.has_edge(only, only):
                continue
        sub = g.subgraph(component)
        try:
            edges = nx.find_cycle(sub)
        except nx.NetworkXNoCycle:  # pragma: no cover - a strongly connected component has one
            continue
        names = [e[0] for e in edges]
        closing = edges[-1]  # (source, target, key): key is the target's input name
        path = " -> ".join([*names, names[0]])
        c.error(
            closing[1],
            f"inputs.{closing[2]}",
            f"cycle: {path} (a step cannot depend on its own output)",
        )
