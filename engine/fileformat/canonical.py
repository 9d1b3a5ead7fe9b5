"""Writing the pipeline file's data: the model as plain mappings in canonical key order."""

from __future__ import annotations

from typing import Any

from engine.fileformat.values import plain
from engine.pipeline import registry
from engine.pipeline.model import (
    FORMAT_VERSION,
    Compute,
    Environment,
    InputPort,
    Node,
    OutputPort,
    Parameter,
    Pipeline,
)


def node_to_data(node: Node) -> dict[str, Any]:
    """The canonical mapping of a node: type, description, params in spec order, ports, ui."""
    data: dict[str, Any] = {"type": node.type}
    if node.description is not None:
        data["description"] = node.description
    params = node.params
    spec = registry.spec(node.type)
    if spec is not None:
        written = set()
        for p in spec.params:
            value = params.get(p.name)
            if value is None:
                continue
            written.add(p.name)
            top, _, sub = p.name.partition(".")
            if sub:
                data.setdefault(top, {})[sub] = value
            else:
                data[top] = value
        for k, value in params.items():  # set through the API but unknown to the spec
            if k not in written and value is not None:
                data[k] = value
    else:  # an unknown type keeps exactly what was written, nulls included
        data.update(params)
    if node.inputs:
        data["inputs"] = {p.name: input_to_data(p) for p in node.inputs}
    if node.outputs:
        data["outputs"] = {p.name: output_to_data(p) for p in node.outputs}
    if node.position is not None:
        data["ui"] = {"x": _coordinate(node.position[0]), "y": _coordinate(node.position[1])}
    return data


def _coordinate(v: float) -> float | int:
    """Whole coordinates are written without ``.0`` (``ui: {x: 260, y: 0}``)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    return v


def input_to_data(port: InputPort) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if port.source is not None:
        d["from"] = str(port.source)
    if port.kind is not None:
        d["as"] = port.kind
    if port.mode is not None:
        d["mode"] = port.mode
    if port.optional:
        d["optional"] = True
    return d


def output_to_data(port: OutputPort) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": port.kind}
    if port.format:
        d["format"] = dict(port.format)
    if port.register_as is not None:
        d["register_as"] = port.register_as
    if port.destination is not None:
        d["destination"] = port.destination
    return d


def compute_to_data(c: Compute) -> dict[str, Any]:
    d: dict[str, Any] = {"type": c.type}
    for k in ("master", "workers", "token_env"):
        v = getattr(c, k)
        if v is not None:
            d[k] = v
    if c.conf:
        d["conf"] = dict(c.conf)
    return d


def environment_to_data(e: Environment) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if e.pip:
        d["pip"] = list(e.pip)
    if e.requirements_file is not None:
        d["requirements_file"] = e.requirements_file
    if e.python is not None:
        d["python"] = e.python
    return d


def parameter_to_data(p: Parameter) -> dict[str, Any]:
    d: dict[str, Any] = {"type": p.type}
    if p.default is not None:
        d["default"] = p.default
    if p.description is not None:
        d["description"] = p.description
    return d


def pipeline_to_data(p: Pipeline) -> dict[str, Any]:
    """The canonical mapping of a pipeline, keys in TOP_KEYS order."""
    data: dict[str, Any] = {"pipeloom": FORMAT_VERSION, "name": p.name}
    if p.description is not None:
        data["description"] = p.description
    if p.datastore is not None:
        data["datastore"] = p.datastore
    if p.computes:
        data["computes"] = {k: compute_to_data(v) for k, v in p.computes.items()}
    if p.environments:
        data["environments"] = {k: environment_to_data(v) for k, v in p.environments.items()}
    if p.parameters:
        data["parameters"] = {k: parameter_to_data(v) for k, v in p.parameters.items()}
    data["nodes"] = {k: node_to_data(v) for k, v in p.nodes.items()}
    if p.export:
        data["export"] = plain(p.export)
    return data
