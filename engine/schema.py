"""The pipeline file's schema (format 1): a tree of plain values <-> the model.

Reading checks every key (unknown ones get a "did you mean") and every value's type, collecting
all problems with their line and column, and records where each key was written in
`pipeline.locations`. Node keys come from the node type's ParamSpecs (a dotted name lives one
level down). Writing produces the canonical data: keys in a stable order, defaults left out.
"""

from __future__ import annotations

import difflib
from typing import Any

from . import registry
from .model import (
    FORMAT_VERSION,
    Compute,
    Environment,
    InputPort,
    Node,
    OutputPort,
    Parameter,
    Pipeline,
    Ref,
    valid_name,
)
from .problems import PipelineError, Problem

TOP_KEYS = (
    "pipeloom",
    "name",
    "description",
    "datastore",
    "computes",
    "environments",
    "parameters",
    "nodes",
    "export",
)
EXPORT_TARGETS = ("azureml", "airflow", "shell")
COMPUTE_KEYS = ("type", "master", "workers", "token_env", "conf")
ENVIRONMENT_KEYS = ("pip", "requirements_file", "python")
PARAMETER_KEYS = ("type", "default", "description")
INPUT_KEYS = ("from", "as", "mode", "optional")
OUTPUT_KEYS = ("kind", "format", "register_as", "destination")
UI_KEYS = ("x", "y")

_SCALARS = (str, int, float, bool)
_TEXT_KINDS = {"string", "text", "file", "directory", "compute", "environment", "dataset"}


def did_you_mean(word: Any, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (expected one of: {', '.join(options)})" if options else ""


def plain(value: Any) -> Any:
    """A deep copy as plain dicts and lists (no positions)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class Reader:
    """Collects problems and key locations while a tree is turned into model objects."""

    def __init__(self, path: str | None = None):
        self.path = path
        self.problems: list[Problem] = []
        self.locations: dict[tuple[str | None, str | None], tuple[int, int]] = {}

    def error(self, node: str | None, field: str | None, message: str, at=None) -> None:
        line, column = at if at else (None, None)
        self.problems.append(Problem(node, field, "error", message, line, column))

    def raise_if_problems(self) -> None:
        if self.problems:
            raise PipelineError(self.problems, self.path)


def key_at(m: Any, key: Any) -> tuple[int, int] | None:
    at = getattr(m, "at", None)
    a = at.get(key) if at is not None else None
    return (a[0], a[1]) if a else None


def value_at(m: Any, key: Any) -> tuple[int, int] | None:
    at = getattr(m, "at", None)
    a = at.get(key) if at is not None else None
    return (a[2], a[3]) if a else None


def _item_at(seq: Any, i: int) -> tuple[int, int] | None:
    at = getattr(seq, "at", None)
    return at[i] if at is not None and i < len(at) else None


def _field(prefix: str | None, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


# -- typed values ---------------------------------------------------------------------------


def check_value(r: Reader, node, field, value, kind, at, choices=()) -> tuple[bool, Any]:
    """(ok, value) for `value` read as `kind`; reports a problem when it does not fit.

    kinds: text, integer, number, boolean, memory, choice, list, mapping, data, position.
    """
    ok = True
    if kind == "text":
        ok = isinstance(value, str)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "memory":
        ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    elif kind == "choice":
        if not isinstance(value, str) or value not in choices:
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            if not hint:
                hint = f" (expected one of: {', '.join(choices)})"
            r.error(node, field, f"{describe(value)} is not allowed here{hint}", at)
            return False, None
        return True, value
    elif kind == "list":
        if not isinstance(value, list):
            ok = False
        else:
            good = True
            for i, item in enumerate(value):
                if not isinstance(item, _SCALARS):
                    r.error(
                        node,
                        f"{field}.{i}",
                        f"list items are text or numbers, not {describe(item)}",
                        _item_at(value, i) or at,
                    )
                    good = False
            return good, list(value) if good else None
    elif kind == "mapping":
        if not isinstance(value, dict):
            ok = False
        else:
            good = True
            for k, item in value.items():
                if not isinstance(k, str):
                    r.error(node, field, f"keys are text, not {describe(k)}", at)
                    good = False
                elif not isinstance(item, _SCALARS):
                    r.error(
                        node,
                        f"{field}.{k}",
                        f"values here are text, numbers or booleans, not {describe(item)}",
                        value_at(value, k) or at,
                    )
                    good = False
            return good, dict(value) if good else None
    elif kind == "data":
        return True, plain(value)
    else:
        raise ValueError(f"unknown value kind {kind!r}")
    if not ok:
        expected = {
            "text": "text",
            "integer": "a whole number",
            "number": "a number",
            "boolean": "true or false",
            "memory": "a size such as 7g or 512m",
            "list": "a list",
            "mapping": "a mapping",
        }[kind]
        hint = ""
        if kind == "text" and isinstance(value, (int, float, bool)):
            hint = ": quote it if it is text"
        r.error(node, field, f"expected {expected}, got {describe(value)}{hint}", at)
        return False, None
    return True, value


def param_kind(p: registry.ParamSpec) -> str:
    if p.kind in _TEXT_KINDS:
        return "text"
    if p.kind in ("integer", "number", "boolean", "memory", "choice", "list", "mapping"):
        return p.kind
    return "data"


def _layout(spec: registry.NodeSpec) -> dict[str, Any]:
    """Top-level file keys of a node type -> ParamSpec, or {sub key: ParamSpec} for groups."""
    cache = _LAYOUTS.get(spec.type)
    if cache is None:
        cache = {}
        for p in spec.params:
            top, _, sub = p.name.partition(".")
            if sub:
                cache.setdefault(top, {})[sub] = p
            else:
                cache[top] = p
        _LAYOUTS[spec.type] = cache
    return cache


_LAYOUTS: dict[str, dict[str, Any]] = {}


def record_keys(r: Reader, node: str | None, prefix: str | None, m: Any) -> None:
    """Locations of every key of a free-form mapping, recursively."""
    if isinstance(m, dict):
        for k in m:
            at = key_at(m, k)
            if at:
                r.locations[(node, _field(prefix, str(k)))] = at
            record_keys(r, node, _field(prefix, str(k)), m[k])


def _mapping(r: Reader, node, field, value, at, what: str) -> bool:
    if isinstance(value, dict):
        return True
    r.error(node, field, f"expected a mapping of {what}, got {describe(value)}", at)
    return False


# -- nodes --------------------------------------------------------------------------------


def read_node(r: Reader, name: str, data: Any, at=None) -> Node | None:
    """A Node from its mapping; problems go to `r` (None when it cannot be built at all)."""
    if not _mapping(r, name, None, data, at, "node settings (type, inputs, outputs, ...)"):
        return None
    type_name = data.get("type")
    if "type" not in data:
        names = ", ".join(registry.NODE_SPECS)
        r.error(name, "type", f"missing key 'type' (one of: {names})", at)
        return None
    if not isinstance(type_name, str):
        r.error(
            name, "type", f"expected a node type, got {describe(type_name)}", value_at(data, "type")
        )
        return None
    spec = registry.spec(type_name)
    node = Node(name, registry.canonical_type(type_name))
    layout = _layout(spec) if spec else {}
    locations = r.locations
    for key, value in data.items():
        k_at = key_at(data, key)
        v_at = value_at(data, key)
        if k_at:
            locations[(name, key)] = k_at
        if key == "type":
            continue
        if key == "description":
            if value is not None:
                ok, value = check_value(r, name, key, value, "text", v_at)
                node.description = value if ok else None
        elif key == "ui":
            node.position = _read_position(r, name, value, v_at)
        elif key == "inputs" and (spec is None or spec.ports.inputs):
            node.inputs = _read_inputs(r, name, value, v_at)
        elif key == "outputs" and (spec is None or spec.ports.outputs):
            node.outputs = _read_outputs(r, name, value, v_at)
        elif spec is None:
            node.params[key] = plain(value)  # unknown type: kept as written; validation reports it
            record_keys(r, name, key, value)
        elif key in layout:
            entry = layout[key]
            if isinstance(entry, dict):
                _read_group(r, node, key, entry, value, v_at)
            elif value is not None:
                ok, value = check_value(r, name, key, value, param_kind(entry), v_at, entry.choices)
                if ok:
                    node.params[key] = value
        else:
            allowed = ["type", "description", *layout]
            allowed += [k for k in ("inputs", "outputs") if getattr(spec.ports, k)]
            allowed.append("ui")
            if key in ("inputs", "outputs"):
                message = f"{spec.title} nodes have no {key}"
            else:
                message = f"unknown key {key!r} for a {spec.type} node{did_you_mean(key, allowed)}"
            r.error(name, key, message, k_at)
    return node


def _read_group(r: Reader, node: Node, key: str, subs: dict, value: Any, at) -> None:
    name = node.name
    if value is None:
        return
    if not _mapping(r, name, key, value, at, f"{key} settings ({', '.join(subs)})"):
        return
    for sub, v in value.items():
        field = f"{key}.{sub}"
        k_at = key_at(value, sub)
        if k_at:
            r.locations[(name, field)] = k_at
        p = subs.get(sub)
        if p is None:
            r.error(
                name, field, f"unknown key {sub!r} in {key}{did_you_mean(sub, tuple(subs))}", k_at
            )
            continue
        if v is None:
            continue
        ok, v = check_value(r, name, field, v, param_kind(p), value_at(value, sub), p.choices)
        if ok:
            node.params[p.name] = v
            if p.kind == "mapping":
                record_keys(r, name, field, value[sub])


def _read_position(r: Reader, name: str, value: Any, at) -> tuple[float, float] | None:
    if value is None:
        return None
    if not _mapping(r, name, "ui", value, at, "x and y"):
        return None
    coords = {}
    for k, v in value.items():
        k_at = key_at(value, k)
        if k_at:
            r.locations[(name, f"ui.{k}")] = k_at
        if k not in UI_KEYS:
            r.error(name, f"ui.{k}", f"unknown key {k!r} in ui{did_you_mean(k, UI_KEYS)}", k_at)
            continue
        ok, v = check_value(r, name, f"ui.{k}", v, "number", value_at(value, k))
        if ok:
            coords[k] = float(v)
    missing = [k for k in UI_KEYS if k not in value]
    if missing:
        r.error(name, "ui", f"ui needs both x and y (missing {', '.join(missing)})", at)
        return None
    return (coords["x"], coords["y"]) if len(coords) == 2 else None


def _port_entries(r: Reader, name: str, section: str, value: Any, at):
    """(port name, its mapping or {}, field) for each valid port entry of inputs/outputs."""
    if value is None:
        return
    if not _mapping(r, name, section, value, at, "port names to their settings"):
        return
    for port, settings in value.items():
        field = f"{section}.{port}"
        k_at = key_at(value, port)
        if k_at:
            r.locations[(name, field)] = k_at
        if not valid_name(port):
            r.error(name, field, _bad_name("a port", port), k_at)
            continue
        if settings is None:
            settings = {}
        if not _mapping(r, name, field, settings, value_at(value, port), "port settings"):
            continue
        for k in settings:
            k2 = key_at(settings, k)
            if k2:
                r.locations[(name, f"{field}.{k}")] = k2
        yield port, settings, field


def _read_inputs(r: Reader, name: str, value: Any, at) -> list[InputPort]:
    ports = []
    for port_name, s, field in _port_entries(r, name, "inputs", value, at):
        port = InputPort(port_name)
        for k, v in s.items():
            v_at = value_at(s, k)
            f = f"{field}.{k}"
            if v is None:
                continue
            if k == "from":
                ok, v = check_value(r, name, f, v, "text", v_at)
                if ok:
                    ref = Ref.parse(v)
                    if valid_name(ref.node) and (ref.output is None or valid_name(ref.output)):
                        port.source = ref
                    else:
                        r.error(
                            name, f, f"{v!r} is not a reference: write NODE or NODE.OUTPUT", v_at
                        )
            elif k == "as":
                ok, v = check_value(r, name, f, v, "choice", v_at, registry.KINDS)
                port.kind = v if ok else None
            elif k == "mode":
                ok, v = check_value(r, name, f, v, "choice", v_at, registry.INPUT_MODES)
                port.mode = v if ok else None
            elif k == "optional":
                ok, v = check_value(r, name, f, v, "boolean", v_at)
                port.optional = bool(v) if ok else False
            else:
                r.error(
                    name,
                    f,
                    f"unknown key {k!r} in an input{did_you_mean(k, INPUT_KEYS)}",
                    key_at(s, k),
                )
        ports.append(port)
    return ports


def _read_outputs(r: Reader, name: str, value: Any, at) -> list[OutputPort]:
    ports = []
    for port_name, s, field in _port_entries(r, name, "outputs", value, at):
        port = OutputPort(port_name)
        for k, v in s.items():
            v_at = value_at(s, k)
            f = f"{field}.{k}"
            if v is None:
                continue
            if k == "kind":
                ok, v = check_value(r, name, f, v, "choice", v_at, registry.KINDS)
                if ok:
                    port.kind = v
            elif k == "format":
                ok, v = check_value(r, name, f, v, "mapping", v_at)
                if ok:
                    port.format = v
                    record_keys(r, name, f, s[k])
            elif k in ("register_as", "destination"):
                ok, v = check_value(r, name, f, v, "text", v_at)
                if ok:
                    setattr(port, k, v)
            else:
                r.error(
                    name,
                    f,
                    f"unknown key {k!r} in an output{did_you_mean(k, OUTPUT_KEYS)}",
                    key_at(s, k),
                )
        ports.append(port)
    return ports


def _bad_name(what: str, name: Any) -> str:
    return (
        f"{what} name {name!r} is not allowed: use letters, digits, _ and -, "
        "starting with a letter or _"
    )


# -- pipeline sections ----------------------------------------------------------------------


def _entries(r: Reader, section: str, value: Any, at, node: str | None = None):
    """(name, settings, field) of each entry of a named section (computes, nodes, ...)."""
    if value is None:
        return
    if not _mapping(r, node, section, value, at, "names to their settings"):
        return
    for name, settings in value.items():
        field = f"{section}.{name}"
        k_at = key_at(value, name)
        if section == "nodes":
            if k_at:
                r.locations[(name, None)] = k_at
        elif k_at:
            r.locations[(None, field)] = k_at
        if not valid_name(name):
            what = {"nodes": "a node", "computes": "a compute"}.get(section, "an entry")
            r.error(
                name if section == "nodes" else None,
                None if section == "nodes" else field,
                _bad_name(what, name),
                k_at,
            )
            continue
        yield name, settings, field, k_at


def _read_fields(r: Reader, field: str, settings: Any, at, table: dict, what: str) -> dict | None:
    """Typed values of a small fixed mapping (a compute, environment, parameter)."""
    if settings is None:
        settings = {}
    if not _mapping(r, None, field, settings, at, f"{what} settings ({', '.join(table)})"):
        return None
    out = {}
    for k, v in settings.items():
        f = f"{field}.{k}"
        k_at = key_at(settings, k)
        if k_at:
            r.locations[(None, f)] = k_at
        if k not in table:
            r.error(None, f, f"unknown key {k!r} in a {what}{did_you_mean(k, tuple(table))}", k_at)
            continue
        if v is None:
            continue
        kind, choices = table[k]
        ok, v = check_value(r, None, f, v, kind, value_at(settings, k), choices)
        if ok:
            out[k] = v
            if isinstance(settings[k], dict):
                record_keys(r, None, f, settings[k])
    return out


_COMPUTE_TABLE = {
    "type": ("choice", registry.COMPUTE_TYPES),
    "master": ("text", ()),
    "workers": ("integer", ()),
    "token_env": ("text", ()),
    "conf": ("mapping", ()),
}
_ENVIRONMENT_TABLE = {
    "pip": ("list", ()),
    "requirements_file": ("text", ()),
    "python": ("text", ()),
}
_PARAMETER_TABLE = {
    "type": ("choice", registry.PARAMETER_TYPES),
    "default": ("data", ()),
    "description": ("text", ()),
}
_PARAMETER_VALUE = {
    "string": "text",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
}


def read_computes(r: Reader, value: Any, at) -> dict[str, Compute]:
    out = {}
    for name, s, field, k_at in _entries(r, "computes", value, at):
        fields = _read_fields(r, field, s, value_at(value, name), _COMPUTE_TABLE, "compute")
        if fields is None:
            continue
        if "type" not in fields:
            if s is None or "type" not in s:
                types = " or ".join(registry.COMPUTE_TYPES)
                r.error(None, f"{field}.type", f"missing key 'type' ({types})", k_at)
            continue
        out[name] = Compute(name, **fields)
    return out


def read_environments(r: Reader, value: Any, at) -> dict[str, Environment]:
    out = {}
    for name, s, field, _k in _entries(r, "environments", value, at):
        fields = _read_fields(r, field, s, value_at(value, name), _ENVIRONMENT_TABLE, "environment")
        if fields is not None:
            if "pip" in fields and not all(isinstance(x, str) for x in fields["pip"]):
                r.error(None, f"{field}.pip", "pip lists requirement texts", value_at(s, "pip"))
                continue
            out[name] = Environment(name, **fields)
    return out


def read_parameters(r: Reader, value: Any, at) -> dict[str, Parameter]:
    out = {}
    for name, s, field, _k in _entries(r, "parameters", value, at):
        fields = _read_fields(r, field, s, value_at(value, name), _PARAMETER_TABLE, "parameter")
        if fields is None:
            continue
        param = Parameter(name, **fields)
        if param.default is not None:
            check_value(
                r,
                None,
                f"{field}.default",
                param.default,
                _PARAMETER_VALUE[param.type],
                value_at(s, "default"),
            )
        out[name] = param
    return out


def read_nodes(r: Reader, value: Any, at) -> dict[str, Node]:
    out = {}
    for name, s, _field, k_at in _entries(r, "nodes", value, at):
        node = read_node(r, name, s, value_at(value, name) or k_at)
        if node is not None:
            out[name] = node
    return out


def read_export(r: Reader, value: Any, at) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if value is None or not _mapping(r, None, "export", value, at, "export targets"):
        return out
    for target, settings in value.items():
        field = f"export.{target}"
        k_at = key_at(value, target)
        if k_at:
            r.locations[(None, field)] = k_at
        if target not in EXPORT_TARGETS:
            r.error(
                None,
                field,
                f"unknown export target {target!r}{did_you_mean(target, EXPORT_TARGETS)}",
                k_at,
            )
            continue
        if settings is None:
            settings = {}
        if _mapping(r, None, field, settings, value_at(value, target), "export settings"):
            record_keys(r, None, field, settings)
            out[target] = plain(settings)
    return out


def read_pipeline(tree: Any, r: Reader) -> Pipeline:
    """The model of a (migrated) format-1 tree; raises PipelineError listing every problem."""
    p = Pipeline()
    if not isinstance(tree, dict):
        r.error(
            None,
            None,
            f"a pipeline file is a mapping (pipeloom, name, nodes, ...), not {describe(tree)}",
        )
        r.raise_if_problems()
    for key, value in tree.items():
        k_at = key_at(tree, key)
        v_at = value_at(tree, key)
        if k_at:
            r.locations[(None, key)] = k_at
        if key == "pipeloom":
            continue  # checked by engine.migrate
        if key in ("name", "description", "datastore"):
            if value is None and key != "name":
                continue
            ok, value = check_value(r, None, key, value, "text", v_at)
            if ok:
                setattr(p, key, value)
        elif key == "computes":
            p.computes = read_computes(r, value, v_at)
        elif key == "environments":
            p.environments = read_environments(r, value, v_at)
        elif key == "parameters":
            p.parameters = read_parameters(r, value, v_at)
        elif key == "nodes":
            p.nodes = read_nodes(r, value, v_at)
        elif key == "export":
            p.export = read_export(r, value, v_at)
        else:
            r.error(None, key, f"unknown key {key!r}{did_you_mean(key, TOP_KEYS)}", k_at)
    p.version = FORMAT_VERSION
    r.raise_if_problems()
    p.locations = r.locations
    return p


# -- writing --------------------------------------------------------------------------------


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
    else:
        for k, value in params.items():
            if value is not None:
                data[k] = value
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
