"""Typed values of the pipeline file: problems with locations, strict type checks, key lookups.

Shared by the readers of nodes (engine.fileformat.nodes) and of the pipeline (engine.fileformat.schema).
"""

from __future__ import annotations

import difflib
from typing import Any

from engine.pipeline import registry
from engine.problems import PipelineError, Problem

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


def item_at(seq: Any, i: int) -> tuple[int, int] | None:
    at = getattr(seq, "at", None)
    return at[i] if at is not None and i < len(at) else None


def dotted(prefix: str | None, key: str) -> str:
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
                        item_at(value, i) or at,
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


def node_layout(spec: registry.NodeSpec) -> dict[str, Any]:
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
                r.locations[(node, dotted(prefix, str(k)))] = at
            record_keys(r, node, dotted(prefix, str(k)), m[k])


def expect_mapping(r: Reader, node, field, value, at, what: str) -> bool:
    if isinstance(value, dict):
        return True
    r.error(node, field, f"expected a mapping of {what}, got {describe(value)}", at)
    return False


def bad_name(what: str, name: Any) -> str:
    return (
        f"{what} name {name!r} is not allowed: use letters, digits, _ and -, "
        "starting with a letter or _"
    )
