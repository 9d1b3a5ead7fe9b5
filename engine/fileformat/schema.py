"""The pipeline file's schema (format 1): a tree of plain values <-> the model.

Reading checks every key (unknown ones get a "did you mean") and every value's type, collecting
all problems with their line and column, and records where each key was written in
`pipeline.locations`. Nodes are read by engine.fileformat.nodes; writing (canonical data, keys in a
stable order, defaults left out) is engine.fileformat.canonical. This module re-exports both.
"""

from __future__ import annotations

from typing import Any

from engine.fileformat.canonical import (  # noqa: F401 - re-exported
    compute_to_data,
    environment_to_data,
    input_to_data,
    node_to_data,
    output_to_data,
    parameter_to_data,
    pipeline_to_data,
)
from engine.fileformat.nodes import read_node
from engine.fileformat.values import (  # noqa: F401 - re-exported
    EXPORT_TARGETS,
    TOP_KEYS,
    Reader,
    bad_name,
    check_value,
    describe,
    did_you_mean,
    expect_mapping,
    key_at,
    plain,
    record_keys,
    value_at,
)
from engine.pipeline import registry
from engine.pipeline.model import (
    FORMAT_VERSION,
    Compute,
    Environment,
    Node,
    Parameter,
    Pipeline,
    valid_name,
)

# -- pipeline sections ----------------------------------------------------------------------


def _entries(r: Reader, section: str, value: Any, at, node: str | None = None):
    """(name, settings, field) of each entry of a named section (computes, nodes, ...)."""
    if value is None:
        return
    if not expect_mapping(r, node, section, value, at, "names to their settings"):
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
                bad_name(what, name),
                k_at,
            )
            continue
        yield name, settings, field, k_at


def _read_fields(r: Reader, field: str, settings: Any, at, table: dict, what: str) -> dict | None:
    """Typed values of a small fixed mapping (a compute, environment, parameter)."""
    if settings is None:
        settings = {}
    if not expect_mapping(r, None, field, settings, at, f"{what} settings ({', '.join(table)})"):
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
    if value is None or not expect_mapping(r, None, "export", value, at, "export targets"):
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
        if expect_mapping(r, None, field, settings, value_at(value, target), "export settings"):
            record_keys(r, None, field, settings)
            out[target] = plain(settings)
    return out


def read_pipeline(tree: Any, r: Reader) -> Pipeline:
    """The model of a (migrated) format-1 tree; raises PipelineError listing every problem."""
    p = Pipeline()
    if not isinstance(tree, dict):
        empty = "the file is empty (or only comments): " if tree is None else ""
        at = (getattr(tree, "line", 1), getattr(tree, "column", 1))
        r.error(
            None,
            None,
            f"{empty}a pipeline file is a mapping (pipeloom, name, nodes, ...), "
            f"not {describe(tree)}",
            at,
        )
        r.raise_if_problems()
    for key, value in tree.items():
        k_at = key_at(tree, key)
        v_at = value_at(tree, key)
        if k_at:
            r.locations[(None, key)] = k_at
        if key == "pipeloom":
            continue  # checked by engine.fileformat.migrate
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
