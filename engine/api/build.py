"""Turn the seed-style API objects (engine.api) into the engine model.

Each node is first written as the data a person would put in the pipeline file and then built
by the YAML loader's own `node_from_data`, so the API and the file always mean the same thing.
"""

from __future__ import annotations

import posixpath
from typing import Any, Protocol

import networkx as nx

from engine.api import data as api_data
from engine.api.steps import PipelineParameter, _Step
from engine.fileformat import yamlio
from engine.gcpause import gc_paused
from engine.pipeline import model, registry
from engine.pipeline.graph import generations
from engine.problems import PipelineError

InputLike = api_data.DatasetConsumptionConfig | api_data.OutputInputConfig
COLUMN_SPACING = 260.0  # x between layers of the left-to-right layout
ROW_SPACING = 140.0  # y between nodes of one layer


class PipelineSpec(Protocol):
    """What is read of an engine.api.Pipeline (a protocol, so this module need not import it)."""

    steps: list[_Step]
    name: str
    description: str | None
    parameters: list[PipelineParameter]
    datastore: str | None
    default_source_directory: str | None
    export: dict[str, Any]


@gc_paused
def build_model(spec: PipelineSpec) -> model.Pipeline:
    steps = _steps_in_order(spec.steps)
    _check_unique_step_names(steps)
    ports = {id(step): _StepPorts(step) for step in steps}
    datasets = _DatasetNodes({step.name for step in steps})
    for step in steps:
        for config in ports[id(step)].inputs.values():
            if isinstance(config, api_data.DatasetConsumptionConfig):
                datasets.add(config.dataset)
    datasets.name_nodes()

    pipeline = model.Pipeline(spec.name, spec.description)
    pipeline.datastore = spec.datastore
    pipeline.export = spec.export
    _add_sections(pipeline, spec, steps)
    for name, data in datasets.node_data():
        pipeline.nodes[name] = yamlio.node_from_data(name, data)
    for step in steps:
        data = _step_data(step, ports[id(step)], datasets, ports, spec.default_source_directory)
        pipeline.nodes[step.name] = yamlio.node_from_data(step.name, data)
    _lay_out(pipeline)
    return pipeline


# -- steps --------------------------------------------------------------------------------------


def _producer(item: Any) -> _Step | None:
    if isinstance(item, api_data.OutputInputConfig):
        return item.output.producer
    if isinstance(item, api_data.OutputFileDatasetConfig):
        return item.producer
    return None


def _steps_in_order(listed: list[_Step]) -> list[_Step]:
    """Listed steps plus the steps producing what they read, producers first (stable)."""
    found: list[_Step] = []
    index: dict[int, int] = {}
    queue = list(listed)
    while queue:
        step = queue.pop(0)
        if id(step) in index:
            continue
        if not isinstance(step, _Step):
            raise PipelineError(f"not a step: {step!r}")
        index[id(step)] = len(found)
        found.append(step)
        for item in [*step.inputs, *step.arguments]:
            producer = _producer(item)
            if producer is None and isinstance(
                item, api_data.OutputInputConfig | api_data.OutputFileDatasetConfig
            ):
                raise PipelineError(f"step {step.name} reads {item!r}, which no step writes")
            if producer is not None and producer is not step:
                queue.append(producer)
    g = nx.DiGraph()
    g.add_nodes_from(index.values())
    for step in found:
        for item in [*step.inputs, *step.arguments]:
            producer = _producer(item)
            if producer is not None and producer is not step:
                g.add_edge(index[id(producer)], index[id(step)])
    try:
        order = list(nx.lexicographical_topological_sort(g))
    except nx.NetworkXUnfeasible:
        raise PipelineError("the steps read each other's outputs in a cycle") from None
    return [found[i] for i in order]


def _check_unique_step_names(steps: list[_Step]) -> None:
    seen: set[str] = set()
    for step in steps:
        if step.name in seen:
            raise PipelineError(f"two steps are named {step.name!r}; give them different names")
        seen.add(step.name)


def _flag_names(arguments: list[Any]) -> dict[int, str]:
    """id(object) -> name taken from the `--flag` just before it in the arguments."""
    names: dict[int, str] = {}
    for previous, item in zip(arguments, arguments[1:], strict=False):
        if isinstance(previous, str) and previous.startswith("-") and not isinstance(item, str):
            names.setdefault(id(item), api_data._node_name(previous.lstrip("-"), "port"))
    return names


class _StepPorts:
    """A step's input and output ports by name, and which port each API object is."""

    def __init__(self, step: _Step):
        self.step = step
        self.flags = _flag_names(step.arguments)
        self.inputs: dict[str, InputLike] = {}
        self.outputs: dict[str, api_data.OutputFileDatasetConfig] = {}
        self.port_of: dict[int, tuple[str, str]] = {}  # id(object) -> ("inputs"|"outputs", name)
        for out in step.outputs:
            self._add_output(out)
        for item in step.arguments:
            if isinstance(item, api_data.OutputFileDatasetConfig) and item.producer is step:
                self._add_output(item)
        for item in [*step.inputs, *step.arguments]:
            if isinstance(item, str | int | float | PipelineParameter):
                continue
            if isinstance(item, api_data.OutputFileDatasetConfig) and item.producer is step:
                continue
            self._add_input(item)

    def _add_output(self, out: api_data.OutputFileDatasetConfig) -> None:
        if id(out) in self.port_of:
            return
        name = out.name or self.flags.get(id(out)) or self._free("output", self.outputs)
        if name in self.outputs:
            raise PipelineError(f"step {self.step.name} has two outputs named {name!r}")
        self.outputs[name] = out
        self.port_of[id(out)] = ("outputs", name)

    def _add_input(self, item: Any) -> None:
        if id(item) in self.port_of:
            return
        if isinstance(item, api_data.Dataset):
            config: InputLike = api_data.DatasetConsumptionConfig(item)
        elif isinstance(item, api_data.OutputFileDatasetConfig):
            config = api_data.OutputInputConfig(item)
        elif isinstance(item, InputLike):
            config = item
        else:
            raise PipelineError(f"step {self.step.name}: cannot read {item!r}")
        name = config.name or self.flags.get(id(item)) or self._default_input_name(config)
        existing = self.inputs.get(name)
        if existing is not None and not _same_input(existing, config):
            raise PipelineError(f"step {self.step.name} has two different inputs named {name!r}")
        self.inputs.setdefault(name, config)
        self.port_of[id(item)] = ("inputs", name)

    def _default_input_name(self, config: InputLike) -> str:
        if isinstance(config, api_data.OutputInputConfig):
            base = config.output.name or "input"
        else:
            ds = config.dataset
            base = ds.name or _stem(ds.path or "input")
        return self._free(base, self.inputs)

    @staticmethod
    def _free(base: str, taken: dict) -> str:
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        return name

    def template(self, item: Any) -> str:
        """An argument as written in the file: text, a number, or a `{section.name}` template."""
        if isinstance(item, str):
            return item
        if isinstance(item, PipelineParameter):
            return f"{{parameters.{item.name}}}"
        if isinstance(item, int | float) and not isinstance(item, bool):
            return str(item)
        if id(item) not in self.port_of:
            raise PipelineError(f"step {self.step.name}: cannot pass {item!r} as an argument")
        section, name = self.port_of[id(item)]
        return f"{{{section}.{name}}}"


def _same_input(a: InputLike, b: InputLike) -> bool:
    if type(a) is not type(b) or a.mode != b.mode:
        return False
    if isinstance(a, api_data.OutputInputConfig):
        return a.output is b.output
    return a.dataset.key() == b.dataset.key() and a.dataset.kind == b.dataset.kind


def _stem(path: str) -> str:
    base = posixpath.basename(path.rstrip("/")) or "data"
    return api_data._node_name(posixpath.splitext(base)[0].lower(), "data")


# -- dataset nodes ------------------------------------------------------------------------------


class _DatasetNodes:
    """Dataset objects grouped into nodes: one per path (or registered version) and format.

    A File dataset joins a Tabular one on the same path (read as files through `as: file`)."""

    def __init__(self, step_names: set[str]):
        self.groups: list[dict[str, Any]] = []  # {"key", "kind", "format", "members", "name"}
        self.group_of: dict[int, dict[str, Any]] = {}
        self.taken = set(step_names)

    def add(self, ds: api_data.Dataset) -> None:
        if id(ds) in self.group_of:
            return
        for group in self.groups:
            if group["key"] != ds.key():
                continue
            if ds.kind == "file" or group["kind"] == "file" or group["format"] == ds.format:
                self._join(group, ds)
                return
        group = {"key": ds.key(), "kind": ds.kind, "format": ds.format, "members": []}
        self.groups.append(group)
        self._join(group, ds)

    def _join(self, group: dict[str, Any], ds: api_data.Dataset) -> None:
        if ds.kind == "tabular" and group["kind"] == "file":
            group["kind"], group["format"] = "tabular", ds.format
        group["members"].append(ds)
        self.group_of[id(ds)] = group

    def name_nodes(self) -> None:
        for group in self.groups:
            explicit = next((ds.name for ds in group["members"] if ds.name), None)
            first = group["members"][0]
            base = explicit or _stem(first.path or first.registered or "data")
            name, i = base, 2
            while name in self.taken:
                name, i = f"{base}_{i}", i + 1
            group["name"] = name
            self.taken.add(name)

    def node_name(self, ds: api_data.Dataset) -> str:
        return self.group_of[id(ds)]["name"]

    def input_kind(self, ds: api_data.Dataset) -> str | None:
        """`as:` of an input reading `ds`: only when it differs from the node's kind."""
        return ds.kind if ds.kind != self.group_of[id(ds)]["kind"] else None

    def node_data(self) -> list[tuple[str, dict[str, Any]]]:
        result = []
        for group in self.groups:
            first = group["members"][0]
            data: dict[str, Any] = {"type": "dataset", "kind": group["kind"]}
            if first.path is not None:
                data["path"] = first.path
            else:
                data["from"] = first.registered
            if group["kind"] == "tabular" and group["format"]:
                data["format"] = dict(group["format"])
            result.append((group["name"], data))
        return result


# -- step nodes and pipeline sections -----------------------------------------------------------


def _step_data(
    step: _Step,
    ports: _StepPorts,
    datasets: _DatasetNodes,
    all_ports: dict[int, _StepPorts],
    default_source_directory: str | None,
) -> dict[str, Any]:
    spec = registry.spec(step.type)
    data: dict[str, Any] = {"type": step.type, "compute": step.compute.name}
    if step.environment is not None:
        data["environment"] = step.environment.name
    params = {
        "source_directory": step.source_directory or default_source_directory,
        step.entry_key: step.entry,
        "allow_reuse": step.allow_reuse,
        **step.step_params(),
    }
    for key, value in params.items():
        _put(data, key, value, spec)
    arguments = [ports.template(item) for item in step.arguments]
    if arguments:
        data["arguments"] = arguments
    if ports.inputs:
        data["inputs"] = {n: _input_data(c, datasets, all_ports) for n, c in ports.inputs.items()}
    if ports.outputs:
        data["outputs"] = {n: _output_data(out) for n, out in ports.outputs.items()}
    return data


def _put(data: dict[str, Any], key: str, value: Any, spec: registry.NodeSpec | None) -> None:
    """Set a (dotted) key unless the value is unset or the node type's default."""
    param = spec.param(key) if spec else None
    if value is None or (param is not None and value == param.default):
        return
    head, _, rest = key.partition(".")
    if rest:
        data.setdefault(head, {})[rest] = value
    else:
        data[key] = value


def _input_data(
    config: InputLike, datasets: _DatasetNodes, all_ports: dict[int, _StepPorts]
) -> dict[str, Any]:
    if isinstance(config, api_data.OutputInputConfig):
        producer = config.output.producer
        _, output = all_ports[id(producer)].port_of[id(config.output)]
        data: dict[str, Any] = {"from": f"{producer.name}.{output}"}
    else:
        data = {"from": datasets.node_name(config.dataset)}
        kind = datasets.input_kind(config.dataset)
        if kind is not None:
            data["as"] = kind
    if config.mode is not None:
        data["mode"] = config.mode
    return data


def _output_data(out: api_data.OutputFileDatasetConfig) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": out.kind}
    if out.format:
        data["format"] = dict(out.format)
    if out.register_as:
        data["register_as"] = out.register_as
    if out.destination:
        data["destination"] = out.destination
    return data


def _add_sections(pipeline: model.Pipeline, spec: PipelineSpec, steps: list[_Step]) -> None:
    """Computes, environments and parameters in order of first use; a name means one thing."""
    for step in steps:
        _add_once(pipeline.computes, step.compute.to_model(), "compute")
        if step.environment is not None:
            _add_once(pipeline.environments, step.environment.to_model(), "environment")
    used = [a for step in steps for a in step.arguments if isinstance(a, PipelineParameter)]
    for parameter in [*spec.parameters, *used]:
        _add_once(pipeline.parameters, parameter.to_model(), "parameter")


def _add_once(section: dict[str, Any], entry: Any, what: str) -> None:
    existing = section.get(entry.name)
    if existing is None:
        section[entry.name] = entry
    elif existing != entry:
        raise PipelineError(f"two different {what}s are named {entry.name!r}")


def _lay_out(pipeline: model.Pipeline) -> None:
    """Left to right by data dependency layers; top to bottom in file order within a layer."""
    for column, layer in enumerate(generations(pipeline)):
        for row, name in enumerate(layer):
            x, y = column * COLUMN_SPACING, row * ROW_SPACING
            pipeline.nodes[name].position = (_whole(x), _whole(y))


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
