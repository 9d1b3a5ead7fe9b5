"""Reading one node of the pipeline file: its type's parameters, ports and position.

Node keys come from the node type's ParamSpecs; a dotted name lives one level down
(``spark.driver_memory`` is ``spark: {driver_memory: ...}``). Renamed types load as the new
type; a node of an unknown type keeps what was written, for validation to report.
"""

from __future__ import annotations

from typing import Any

from engine.fileformat.values import (
    INPUT_KEYS,
    OUTPUT_KEYS,
    UI_KEYS,
    Reader,
    bad_name,
    check_value,
    describe,
    did_you_mean,
    expect_mapping,
    key_at,
    node_layout,
    param_kind,
    plain,
    record_keys,
    value_at,
)
from engine.pipeline import registry
from engine.pipeline.model import InputPort, Node, OutputPort, Ref, valid_name

# -- nodes --------------------------------------------------------------------------------


def _positions(m: Any) -> dict:
    """Where each key of a mapping read from YAML is: key -> (key line, column, value line,
    column); empty for a mapping built in code. Read directly, not through key_at/value_at:
    a 5,000-node file has some 60,000 keys."""
    return getattr(m, "at", None) or _NOWHERE


_NOWHERE: dict = {}


def read_node(r: Reader, name: str, data: Any, at=None) -> Node | None:
    """A Node from its mapping; problems go to `r` (None when it cannot be built at all)."""
    if not expect_mapping(r, name, None, data, at, "node settings (type, inputs, outputs, ...)"):
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
    layout = node_layout(spec) if spec else {}
    locations = r.locations
    at = _positions(data)
    for key, value in data.items():
        a = at.get(key)
        if a:
            k_at = locations[(name, key)] = (a[0], a[1])
            v_at = (a[2], a[3])
        else:
            k_at = v_at = None
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
    if not expect_mapping(r, name, key, value, at, f"{key} settings ({', '.join(subs)})"):
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


_UI_FIELDS = {k: f"ui.{k}" for k in UI_KEYS}


def _read_position(r: Reader, name: str, value: Any, at) -> tuple[float, float] | None:
    if value is None:
        return None
    if not expect_mapping(r, name, "ui", value, at, "x and y"):
        return None
    coords = {}
    where = _positions(value)
    locations = r.locations
    for k, v in value.items():
        a = where.get(k)
        k_at = (a[0], a[1]) if a else None
        field = _UI_FIELDS.get(k) or f"ui.{k}"
        if k_at:
            locations[(name, field)] = k_at
        if k not in UI_KEYS:
            r.error(name, field, f"unknown key {k!r} in ui{did_you_mean(k, UI_KEYS)}", k_at)
            continue
        if v.__class__ is int or v.__class__ is float:  # the usual case: a plain number
            coords[k] = float(v)
            continue
        ok, v = check_value(r, name, field, v, "number", (a[2], a[3]) if a else None)
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
    if not expect_mapping(r, name, section, value, at, "port names to their settings"):
        return
    at = _positions(value)
    locations = r.locations
    for port, settings in value.items():
        field = f"{section}.{port}"
        a = at.get(port)
        k_at = (a[0], a[1]) if a else None
        if k_at:
            locations[(name, field)] = k_at
        if not valid_name(port):
            r.error(name, field, bad_name("a port", port), k_at)
            continue
        if settings is None:
            settings = {}
        if not expect_mapping(
            r, name, field, settings, (a[2], a[3]) if a else None, "port settings"
        ):
            continue
        inner = _positions(settings)
        for k in settings:
            a = inner.get(k)
            if a:
                locations[(name, f"{field}.{k}")] = (a[0], a[1])
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
