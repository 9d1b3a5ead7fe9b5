"""Engine Changes for canvas operations: move, delete, connect (with checks), add, clipboard.

Pure functions of the pipeline (no Qt items): the scene and view decide *what*, these say
*how*, and each result is pushed to the Document as one undo step.
"""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx

from engine.pipeline import changes as ch
from engine.pipeline import registry
from engine.pipeline.graph import build_graph
from engine.pipeline.model import (
    DATASET_OUTPUT,
    InputPort,
    Node,
    OutputPort,
    Pipeline,
    Ref,
    output_kind,
    output_names,
    valid_name,
)

CLIPBOARD_MIME = "application/x-pipeloom-fragment"


class ConnectionRefused(ValueError):
    """A wire the model must not get; the message says why, for the status bar."""


# -- moving and deleting ----------------------------------------------------------------------


def move_change(
    moves: dict[str, tuple[float, float]], label: str | None = None
) -> ch.Change | None:
    """One step for a whole drag: a Group of MoveNode (None when nothing moved)."""
    if not moves:
        return None
    label = label or ("Move node" if len(moves) == 1 else f"Move {len(moves)} nodes")
    return ch.Group([ch.MoveNode(name, pos) for name, pos in moves.items()], label=label)


def delete_change(
    pipeline: Pipeline, nodes: list[str], wires: list[tuple[str, str]]
) -> ch.Change | None:
    """Remove nodes and disconnect wires (target, input), as one step."""
    doomed = [n for n in nodes if n in pipeline.nodes]
    steps: list[ch.Change] = []
    for target, inp in wires:
        if target in doomed or target not in pipeline.nodes:
            continue
        port = pipeline.nodes[target].input(inp)
        if port is not None and port.source is not None:
            steps.append(ch.disconnect(target, inp))
    steps += [ch.RemoveNode(n) for n in doomed]
    if not steps:
        return None
    what = []
    if doomed:
        what.append(f"{len(doomed)} node" + ("s" if len(doomed) > 1 else ""))
    if len(steps) > len(doomed):
        k = len(steps) - len(doomed)
        what.append(f"{k} wire" + ("s" if k > 1 else ""))
    return ch.Group(steps, label="Delete " + " and ".join(what))


# -- connecting -------------------------------------------------------------------------------


def source_ref(pipeline: Pipeline, source: str, output: str) -> Ref:
    """How an input names `source.output`: a dataset is read as plain ``from: name``."""
    node = pipeline.node(source)
    if node.type == "dataset" and output == DATASET_OUTPUT:
        return Ref(source)
    return Ref(source, output)


def upstream_of(pipeline: Pipeline, node: str) -> set[str]:
    """`node` and every node it reads from, directly or not (wiring into these is a cycle)."""
    g = build_graph(pipeline)
    return nx.ancestors(g, node) | {node} if node in g else {node}


def check_input(
    pipeline: Pipeline,
    source: str,
    output: str,
    target: str,
    input: str | None,
    upstream: set[str] | None = None,
) -> str | None:
    """Why `source.output` may not feed `target.input` (input None: a new input), or None."""
    src, dst = pipeline.nodes.get(source), pipeline.nodes.get(target)
    if src is None or dst is None:
        return "that node no longer exists"
    if source == target:
        return "a node cannot read its own output"
    spec = registry.spec(dst.type)
    if spec is None:
        return f"{target} has an unknown type ({dst.type})"
    if dst.type == "dataset" or (input is None and not spec.ports.inputs):
        return f"{spec.title} nodes have no inputs"
    src_kind = output_kind(src, output) or "tabular"
    if input is not None:
        port = dst.input(input)
        if port is None:
            return f"{target} has no input {input!r}"
        if port.kind is not None and not registry.kind_compatible(src_kind, port.kind):
            return f"a {src_kind} output cannot feed the {port.kind} input {target}.{input}"
        if port.mode is not None and port.mode not in spec.ports.input_modes:
            allowed = ", ".join(spec.ports.input_modes)
            return f"{spec.title}s read inputs only in {allowed} mode ({input} is {port.mode})"
        if port.source is not None and str(port.source) == str(
            source_ref(pipeline, source, output)
        ):
            return f"{target}.{input} already reads {source}.{output}"
    if not any(registry.kind_compatible(src_kind, k) for k in spec.ports.input_kinds):
        return f"{spec.title} inputs cannot take a {src_kind} output"
    upstream = upstream if upstream is not None else upstream_of(pipeline, source)
    if target in upstream:
        return f"connecting {source} to {target} would make a cycle"
    return None


def connect_change(
    pipeline: Pipeline, source: str, output: str, target: str, input: str
) -> ch.Change:
    """Wire `source.output` into the existing `target.input`, replacing what it read."""
    problem = check_input(pipeline, source, output, target, input)
    if problem:
        raise ConnectionRefused(problem)
    old = pipeline.nodes[target].input(input).source
    change = ch.connect(
        pipeline, source, source_ref(pipeline, source, output).output, target, input
    )
    change.label = f"Connect {source} to {target}" if old is None else f"Reconnect {target}.{input}"
    return change


def new_input_name(pipeline: Pipeline, target: str, source: str, output: str) -> str:
    """An input name for a wire dropped on the node body: after the source, unique."""
    base = (
        source
        if output == DATASET_OUTPUT or len(output_names(pipeline.node(source))) == 1
        else f"{source}_{output}"
    )
    base = base if valid_name(base) else "input"
    taken = {p.name for p in pipeline.node(target).inputs}
    if base not in taken:
        return base
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def connect_new_input_change(
    pipeline: Pipeline, source: str, output: str, target: str
) -> tuple[ch.Change, str]:
    """Add an input named after the source to `target` and wire it, as one step."""
    problem = check_input(pipeline, source, output, target, None)
    if problem:
        raise ConnectionRefused(problem)
    name = new_input_name(pipeline, target, source, output)
    change = ch.Group(
        [
            ch.AddPort(target, "in", InputPort(name)),
            ch.SetPortField(target, "in", name, "source", source_ref(pipeline, source, output)),
        ],
        label=f"Connect {source} to {target}",
    )
    return change, name


def move_wire_change(
    pipeline: Pipeline, old_target: str, old_input: str, target: str, input: str
) -> ch.Change:
    """A wire picked up at its input end and dropped on another input: one step."""
    ref = pipeline.node(old_target).input(old_input).source
    resolved = pipeline.resolve_output(ref)
    if resolved is None:
        raise ConnectionRefused("that wire's source no longer exists")
    src, output = resolved
    problem = check_input(pipeline, src.name, output, target, input)
    if problem:
        raise ConnectionRefused(problem)
    return ch.Group(
        [ch.disconnect(old_target, old_input), ch.SetPortField(target, "in", input, "source", ref)],
        label=f"Reconnect {src.name} to {target}",
    )


# -- adding -----------------------------------------------------------------------------------


def base_name(node_type: str) -> str:
    return {"dataset": "dataset", "spark-step": "spark_step", "script-step": "script_step"}.get(
        registry.canonical_type(node_type), "node"
    )


def new_node(
    pipeline: Pipeline, node_type: str, position: tuple[float, float], name: str | None = None
) -> Node:
    """A fresh node of `node_type`: a unique name; steps get one output to wire from."""
    spec = registry.spec(node_type)
    if spec is None:
        raise ValueError(f"unknown node type {node_type!r}")
    node = Node(
        pipeline.unique_node_name(name or base_name(node_type)),
        spec.type,
        position=(float(position[0]), float(position[1])),
    )
    if spec.ports.outputs:
        node.outputs.append(OutputPort("output", kind=spec.ports.output_kinds[0]))
    return node


def add_node_change(
    pipeline: Pipeline, node_type: str, position: tuple[float, float], name: str | None = None
) -> tuple[ch.Change, str]:
    node = new_node(pipeline, node_type, position, name)
    change = ch.AddNode(node)
    change.label = f"Add {registry.spec(node_type).title.lower()}"
    return change, node.name


def compatible_types(pipeline: Pipeline, source: str, output: str) -> list[str]:
    """Node types a wire from `source.output` can feed (for quick-add on a wire drop)."""
    src_kind = output_kind(pipeline.node(source), output) or "tabular"
    return [
        s.type
        for s in registry.NODE_SPECS.values()
        if s.ports.inputs
        and any(registry.kind_compatible(src_kind, k) for k in s.ports.input_kinds)
    ]


def add_connected_node_change(
    pipeline: Pipeline,
    node_type: str,
    position: tuple[float, float],
    source: str,
    output: str,
) -> tuple[ch.Change, str]:
    """Create a node at `position` already reading `source.output`: one undo step."""
    if node_type not in compatible_types(pipeline, source, output):
        raise ConnectionRefused(f"a {registry.spec(node_type).title} cannot read {source}.{output}")
    node = new_node(pipeline, node_type, position)
    name = source if output == DATASET_OUTPUT else f"{source}_{output}"
    node.inputs.append(
        InputPort(name if valid_name(name) else "input", source_ref(pipeline, source, output))
    )
    title = registry.spec(node_type).title.lower()
    return ch.Group([ch.AddNode(node)], label=f"Add {title} reading {source}"), node.name


def feeding_types(pipeline: Pipeline, target: str, input: str) -> list[str]:
    """Node types whose new node's output can feed `target.input` (quick-add from an input)."""
    port = pipeline.node(target).input(input)
    kind = port.kind if port is not None else None
    out = []
    for s in registry.NODE_SPECS.values():
        produced = "tabular" if s.type == "dataset" else (s.ports.output_kinds or ("tabular",))[0]
        if s.type != "dataset" and not s.ports.outputs:
            continue
        if kind is None or registry.kind_compatible(produced, kind):
            out.append(s.type)
    return out


def add_feeding_node_change(
    pipeline: Pipeline, node_type: str, position: tuple[float, float], target: str, input: str
) -> tuple[ch.Change, str]:
    """Create a node at `position` whose output feeds `target.input`: one undo step."""
    if node_type not in feeding_types(pipeline, target, input):
        raise ConnectionRefused(f"a {registry.spec(node_type).title} cannot feed {target}.{input}")
    node = new_node(pipeline, node_type, position)
    output = DATASET_OUTPUT if node.type == "dataset" else node.outputs[0].name
    ref = Ref(node.name) if node.type == "dataset" else Ref(node.name, output)
    title = registry.spec(node_type).title.lower()
    change = ch.Group(
        [ch.AddNode(node), ch.SetPortField(target, "in", input, "source", ref)],
        label=f"Add {title} feeding {target}",
    )
    return change, node.name


def rename_problem(pipeline: Pipeline, old: str, new: str) -> str | None:
    """Why `old` cannot be renamed to `new`, or None."""
    if new == old:
        return None
    if not valid_name(new):
        return f"{new!r} is not a valid node name: start with a letter or _, then letters, digits, _ or -"
    if new in pipeline.nodes:
        return f"a node named {new!r} already exists"
    return None


# -- files dropped from the file manager ----------------------------------------------------------

_FORMATS_BY_SUFFIX = {
    ".csv": ("csv", None),
    ".tsv": ("csv", "\t"),
    ".parquet": ("parquet", None),
    ".json": ("json", None),
    ".jsonl": ("json", None),
    ".orc": ("orc", None),
    ".txt": ("text", None),
}


def datasets_change(
    pipeline: Pipeline, paths: list[str], base_dir, position: tuple[float, float]
) -> tuple[ch.Change | None, list[str]]:
    """Dataset nodes for files/folders, stacked from `position`, paths relative to base_dir;
    a known data suffix makes it tabular with that format, anything else a file dataset."""
    steps, names, taken = [], [], set()
    for i, raw in enumerate(paths):
        path = Path(raw)
        stem = "".join(c if c.isalnum() or c in "_-" else "_" for c in path.stem)
        if not stem or not (stem[0].isalpha() or stem[0] == "_"):
            stem = f"data_{stem}"
        name = pipeline.unique_node_name(stem, taken)
        taken.add(name)
        try:
            rel = os.path.relpath(path, base_dir)
        except ValueError:  # another drive
            rel = str(path)
        fmt, delimiter = _FORMATS_BY_SUFFIX.get(path.suffix.lower(), (None, None))
        if fmt is None and path.is_dir():
            fmt = "parquet"  # Spark's usual folder output
        params: dict = {"kind": "tabular" if fmt else "file", "path": rel}
        if fmt:
            params["format.type"] = fmt
        if fmt == "csv":
            params["format.header"] = True
        if delimiter:
            params["format.delimiter"] = delimiter
        xy = (position[0], position[1] + i * 120)
        steps.append(ch.AddNode(Node(name, "dataset", params, position=xy)))
        names.append(name)
    if not steps:
        return None, []
    label = "Add dataset" if len(names) == 1 else f"Add {len(names)} datasets"
    return ch.Group(steps, label=label), names


# -- clipboard --------------------------------------------------------------------------------


def copy_text(pipeline: Pipeline, names: list[str]) -> str:
    """The selected nodes (and the wires among them) as clipboard text."""
    from engine.fileformat import clipboard

    return clipboard.fragment_to_text(clipboard.copy_nodes(pipeline, names))


def paste_change(
    pipeline: Pipeline,
    text: str,
    offset: tuple[float, float] = (0.0, 0.0),
    at: tuple[float, float] | None = None,
) -> tuple[ch.Change, list[str]]:
    """The change that pastes clipboard text (names made unique) and the new node names.

    at: where the pasted group's top-left goes (e.g. the cursor); else shifted by `offset`."""
    from engine.fileformat import clipboard

    fragment = clipboard.fragment_from_text(text)
    if at is not None:
        probe, _ = clipboard.paste(pipeline, fragment)
        corners = [
            c.node.position
            for c in probe.changes
            if isinstance(c, ch.AddNode) and c.node.position is not None
        ]
        if corners:
            left = min(x for x, _ in corners)
            top = min(y for _, y in corners)
            offset = (at[0] - left, at[1] - top)
    return clipboard.paste(pipeline, fragment, offset=offset)
