"""Validation of settings and paths: values against their ParamSpec, computes, environments,
parameters, files that must exist and paths that must stay inside the project or datastore.

engine.planning.validate drives these checks; `Checker` collects the problems with their file lines.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any

from engine.pipeline import registry
from engine.pipeline.computes import is_ray
from engine.pipeline.model import Node, OutputPort, Pipeline, valid_name
from engine.problems import PipelineError, Problem, Severity
from engine.storage.shared import datastore_path, unshared_datastore

DATASET_REF_RE = re.compile(r"^dataset:([A-Za-z_][A-Za-z0-9_\-]*)(?:@([A-Za-z0-9_.\-]+))?$")
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# local, local[4], local[*], local[4,2], local-cluster[2,1,1024], spark://h:p[,h:p], yarn,
# k8s://[https://]host[:port], sc://host[:port][/;param=value...]
MASTER_RE = re.compile(
    r"^(local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?"
    r"|local-cluster\[[1-9]\d*,\s*[1-9]\d*,\s*[1-9]\d*\]"
    r"|spark://[^\s:/,]+:\d{1,5}(,[^\s:/,]+:\d{1,5})*"
    r"|yarn"
    r"|k8s://(https?://)?[^\s/:]+(:\d{1,5})?/?"
    r"|sc://[^\s/:;]+(:\d{1,5})?(/;\S*)?)$"
)


class Checker:
    """Collects problems, locating each by (node, field) in `pipeline.locations`."""

    def __init__(self, pipeline: Pipeline, base_dir: str | None):
        self.pipeline = pipeline
        self.base_dir = base_dir
        self.known_datasets: dict[str, set[str] | None] | None = None
        self.problems: list[Problem] = []
        self._exists: dict[tuple[str, str], bool] = {}
        self._step_files: dict[tuple, list[tuple[str, str]]] = {}  # see check_step_files

    def add(self, severity: Severity, node: str | None, field: str | None, message: str) -> None:
        loc = self.location(node, field)
        line, column = loc if loc else (None, None)
        self.problems.append(Problem(node, field, severity, message, line, column))

    def error(self, node: str | None, field: str | None, message: str) -> None:
        self.add("error", node, field, message)

    def warning(self, node: str | None, field: str | None, message: str) -> None:
        self.add("warning", node, field, message)

    def location(self, node: str | None, field: str | None) -> tuple[int, int] | None:
        """(node, field), then its parent fields (`inputs.x.from` -> `inputs.x` -> `inputs`),
        then the node itself."""
        locations = self.pipeline.locations
        while True:
            loc = locations.get((node, field))
            if loc is not None:
                return loc
            if not field:
                return None
            field = field.rpartition(".")[0] or None

    def exists(self, path: str, what: str) -> bool:
        key = (path, what)
        found = self._exists.get(key)
        if found is None:
            found = os.path.isdir(path) if what == "dir" else os.path.isfile(path)
            self._exists[key] = found
        return found

    def resolve(self, path: str) -> str | None:
        """Absolute path of a project-relative `path`, or None when there is no base folder."""
        if os.path.isabs(path):
            return path
        return os.path.join(self.base_dir, path) if self.base_dir is not None else None

    # -- nodes ----------------------------------------------------------------------------
    def check_dataset(self, node: Node) -> None:
        path, ref = node.params.get("path"), node.params.get("from")
        if path is None and ref is None:
            self.error(
                node.name, "path", "a dataset needs `path:` or `from: dataset:NAME[@VERSION]`"
            )
        elif path is not None and ref is not None:
            self.error(node.name, "from", "a dataset has either `path:` or `from:`, not both")
        if not isinstance(path, str) or not path or URI_RE.match(path):
            return
        if not os.path.isabs(path) and _escapes(path):
            self.error(node.name, "path", f"path {path!r} leads outside the project folder")
            return
        full = self.resolve(path)
        if full is not None and not os.path.exists(full):
            self.warning(node.name, "path", f"path {path!r} does not exist (yet): {full}")

    def check_step_files(self, node: Node, spec: registry.NodeSpec) -> None:
        """The source directory and entry file exist and stay inside the project.

        Checked once per combination of these settings: the steps of a big pipeline mostly
        share a folder and a few scripts, and the answer is the same for each.
        """
        params = node.params
        keys = ("source_directory", spec.entry_param, "py_files", "jars", "files")
        try:
            memo_key = tuple(_hashable(params.get(k) if k else None) for k in keys)
            found = self._step_files.get(memo_key)
        except TypeError:  # a wrong type (already reported): check without the memo
            memo_key, found = None, None
        if found is None:
            found = self._step_file_problems(node, spec)
            if memo_key is not None:
                self._step_files[memo_key] = found
        for field, message in found:
            self.error(node.name, field, message)

    def _step_file_problems(self, node: Node, spec: registry.NodeSpec) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        source = node.params.get("source_directory", ".")
        if not isinstance(source, str):
            return problems  # wrong type already reported
        source_dir: str | None = None
        if not os.path.isabs(source) and _escapes(source):
            problems.append(
                (
                    "source_directory",
                    f"source directory {source!r} leads outside the project folder",
                )
            )
        else:
            source_dir = self.resolve(source)
            if source_dir is not None and not self.exists(source_dir, "dir"):
                problems.append(
                    (
                        "source_directory",
                        f"source directory {source!r} does not exist: "
                        f"{os.path.normpath(source_dir)}",
                    )
                )
                source_dir = None
        entry_key = spec.entry_param
        entry = node.params.get(entry_key) if entry_key else None
        files: list[tuple[str, str]] = [(entry_key, entry)] if isinstance(entry, str) else []
        for key in ("py_files", "jars", "files"):
            value = node.params.get(key)
            if isinstance(value, list):
                files += [(key, v) for v in value if isinstance(v, str) and not URI_RE.match(v)]
        for key, rel in files:
            if os.path.isabs(rel) or _escapes(rel):
                problems.append(
                    (
                        key,
                        f"{rel!r} must be a path inside the source directory {source!r} "
                        f"(only that folder is snapshotted for a run)",
                    )
                )
            elif source_dir is not None and not self.exists(os.path.join(source_dir, rel), "file"):
                problems.append(
                    (
                        key,
                        f"{rel!r} does not exist in source directory {source!r}: "
                        f"{os.path.normpath(os.path.join(source_dir, rel))}",
                    )
                )
        return problems

    def check_output(
        self, node: Node, port: OutputPort, field: str, rules: registry.PortRules | None
    ) -> None:
        name = node.name
        if port.kind not in registry.KINDS:
            self.error(name, f"{field}.kind", f"unknown kind {port.kind!r} (tabular or file)")
        elif rules is not None and port.kind not in rules.output_kinds:
            self.error(name, f"{field}.kind", f"a {node.type} does not write {port.kind} outputs")
        if not isinstance(port.format, dict):
            self.error(name, f"{field}.format", "format must be a mapping, e.g. {type: parquet}")
        else:
            ftype = port.format.get("type")
            if ftype is not None and ftype not in registry.FORMATS:
                self.error(
                    name,
                    f"{field}.format.type",
                    f"unknown format {ftype!r}{_did_you_mean(ftype, registry.FORMATS)}",
                )
        if port.register_as is not None and not valid_name(port.register_as):
            self.error(name, f"{field}.register_as", f"invalid dataset name {port.register_as!r}")
        dest = port.destination
        if dest is None:
            return
        if not isinstance(dest, str) or not dest.strip():
            self.error(name, f"{field}.destination", "destination must be a path in the datastore")
        elif URI_RE.match(dest) or os.path.isabs(dest) or _escapes(dest):
            self.error(
                name,
                f"{field}.destination",
                f"destination {dest!r} must be a relative path inside the datastore "
                f"(no absolute path, URI or '..')",
            )
        elif os.path.normpath(dest) == ".":
            self.error(name, f"{field}.destination", "destination cannot be the datastore itself")


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _escapes(rel: str) -> bool:
    """A relative path that climbs above its starting folder (`../x`, `a/../../x`)."""
    norm = os.path.normpath(rel)
    return norm == ".." or norm.startswith("../")


def _did_you_mean(word: Any, choices) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(value: Any) -> str:
    text = repr(value)
    return (text[:40] + "...") if len(text) > 43 else text


# -- values against their ParamSpec -----------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_scalar(v: Any) -> bool:
    return isinstance(v, str) or _is_number(v)


def _all_scalars(values: list) -> bool:
    for v in values:
        if type(v) is not str and not _is_scalar(v):  # most are plain strings
            return False
    return True


_EXPECTED = {
    "string": ("text", lambda v: isinstance(v, str)),
    "text": ("text", lambda v: isinstance(v, str)),
    "file": ("a path", lambda v: isinstance(v, str) and bool(v)),
    "directory": ("a path", lambda v: isinstance(v, str) and bool(v)),
    "integer": ("a whole number", _is_int),
    "number": ("a number", _is_number),
    "boolean": ("true or false", lambda v: isinstance(v, bool)),
    "list": ("a list", lambda v: isinstance(v, list) and _all_scalars(v)),
    "mapping": (
        "a mapping",
        lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v),
    ),
    "compute": ("a compute name", lambda v: isinstance(v, str)),
    "environment": ("an environment name", lambda v: isinstance(v, str)),
    "dataset": ("dataset:NAME[@VERSION]", lambda v: isinstance(v, str)),
}


def check_value(c: Checker, node: Node, pspec: registry.ParamSpec, value: Any) -> None:
    """One node setting against its spec: type, range, choices and what it refers to."""
    if value is None:
        return
    name, key, kind = node.name, pspec.name, pspec.kind
    if kind == "memory":
        if not registry.valid_memory(value):
            c.error(
                name,
                key,
                f"{pspec.label.lower()} {_describe(value)} is not a Spark memory size "
                f"(a number with an optional unit k, m, g, t: 512m, 7g)",
            )
        return
    if kind == "choice":
        if value not in pspec.choices:
            c.error(
                name,
                key,
                f"{_describe(value)} is not one of {', '.join(pspec.choices)}"
                f"{_did_you_mean(value, pspec.choices)}",
            )
        return
    expected, fits = _EXPECTED.get(kind, ("a value", lambda v: True))
    if not fits(value):
        c.error(name, key, f"{pspec.label.lower()} must be {expected}, not {_describe(value)}")
        return
    if pspec.minimum is not None and value < pspec.minimum:
        c.error(name, key, f"{pspec.label.lower()} must be at least {pspec.minimum:g}, not {value}")
    elif kind == "compute":
        _check_compute_ref(c, node, pspec, value)
    elif kind == "environment" and value not in c.pipeline.environments:
        c.error(
            name,
            key,
            f"unknown environment {value!r}{_did_you_mean(value, c.pipeline.environments)}",
        )
    elif kind == "dataset":
        _check_dataset_ref(c, node, key, value)


def _check_compute_ref(c: Checker, node: Node, pspec: registry.ParamSpec, value: str) -> None:
    compute = c.pipeline.computes.get(value)
    if compute is None:
        c.error(
            node.name,
            pspec.name,
            f"unknown compute {value!r}{_did_you_mean(value, c.pipeline.computes)}",
        )
    elif (
        pspec.compute_type
        and compute.type in registry.COMPUTE_TYPES  # an unknown type is reported on its own
        and compute.type != pspec.compute_type
    ):
        c.error(
            node.name,
            pspec.name,
            f"a {node.type} runs on a {pspec.compute_type} compute; {value!r} is a {compute.type}",
        )


def _check_dataset_ref(c: Checker, node: Node, key: str, value: str) -> None:
    m = DATASET_REF_RE.match(value)
    if m is None:
        c.error(node.name, key, f"{value!r} is not a dataset reference (dataset:NAME[@VERSION])")
        return
    known = c.known_datasets
    if known is None:
        return
    ds, version = m.group(1), m.group(2)
    if ds not in known:
        c.error(node.name, key, f"no registered dataset {ds!r}{_did_you_mean(ds, known)}")
        return
    versions = known[ds]
    if (
        version is not None
        and version != "latest"
        and versions is not None
        and version not in versions
    ):
        listed = ", ".join(sorted(versions)) or "none"
        c.error(node.name, key, f"dataset {ds!r} has no version {version!r} (versions: {listed})")


# -- pipeline sections ------------------------------------------------------------------


def check_pipeline_sections(c: Checker) -> None:
    p = c.pipeline
    if p.datastore is not None and (not isinstance(p.datastore, str) or not p.datastore.strip()):
        c.error(None, "datastore", "datastore must be a folder path")
    elif p.datastore is not None:
        try:
            datastore_path(p.datastore)
        except PipelineError as e:
            c.error(None, "datastore", str(e.problems[0].message))
    unshared = unshared_datastore(p, c.base_dir)
    if unshared:
        c.warning(None, "datastore", unshared)
    for name, compute in p.computes.items():
        _check_compute(c, name, compute)
    for name, env in p.environments.items():
        field = f"environments.{name}"
        if not valid_name(name):
            c.error(None, field, f"invalid environment name {name!r}")
        if not isinstance(env.pip, list) or not all(isinstance(x, str) for x in env.pip):
            c.error(None, f"{field}.pip", "pip must be a list of requirement strings")
        req = env.requirements_file
        if req is None:
            continue
        if not isinstance(req, str) or not req:
            c.error(None, f"{field}.requirements_file", "requirements_file must be a path")
        elif not os.path.isabs(req) and _escapes(req):
            c.error(
                None,
                f"{field}.requirements_file",
                f"{req!r} leads outside the project folder",
            )
        else:
            full = c.resolve(req)
            if full is not None and not c.exists(full, "file"):
                c.error(None, f"{field}.requirements_file", f"{req!r} does not exist: {full}")
    for name, param in p.parameters.items():
        field = f"parameters.{name}"
        if not valid_name(name):
            c.error(None, field, f"invalid parameter name {name!r}")
        if param.type not in registry.PARAMETER_TYPES:
            c.error(
                None,
                f"{field}.type",
                f"unknown parameter type {param.type!r} "
                f"(one of {', '.join(registry.PARAMETER_TYPES)})",
            )
            continue
        expected, fits = _EXPECTED[param.type]
        if param.default is not None and not fits(param.default):
            c.error(
                None,
                f"{field}.default",
                f"default must be {expected} (type {param.type}), not {_describe(param.default)}",
            )


def _check_compute(c: Checker, name: str, compute) -> None:
    field = f"computes.{name}"
    if not valid_name(name):
        c.error(None, field, f"invalid compute name {name!r}")
    if compute.type not in registry.COMPUTE_TYPES:
        c.error(
            None,
            f"{field}.type",
            f"unknown compute type {compute.type!r} (one of {', '.join(registry.COMPUTE_TYPES)})"
            f"{_did_you_mean(compute.type, registry.COMPUTE_TYPES)}",
        )
        return
    if not isinstance(compute.conf, dict):
        c.error(None, f"{field}.conf", "conf must be a mapping of Spark settings")
    if compute.type == "spark":
        master = compute.master
        if master is None:
            c.error(
                None, field, "a spark compute needs `master:` (local[*], spark://HOST:7077, ...)"
            )
        elif not isinstance(master, str) or not MASTER_RE.match(master.strip()):
            c.error(
                None,
                f"{field}.master",
                f"{_describe(master)} is not a Spark master URL (local, local[N], local[*], "
                f"spark://HOST:PORT, yarn, k8s://HOST:PORT, sc://HOST:PORT)",
            )
        if compute.token_env is not None:
            if not isinstance(compute.token_env, str) or not ENV_VAR_RE.match(compute.token_env):
                c.error(
                    None,
                    f"{field}.token_env",
                    f"{_describe(compute.token_env)} is not an environment variable name",
                )
            elif isinstance(master, str) and not master.startswith("sc://"):
                c.warning(None, f"{field}.token_env", "token_env is used only with sc:// masters")
        if compute.workers is not None:
            c.warning(None, f"{field}.workers", "workers is a cpu-pool setting; ignored for spark")
    else:
        workers = compute.workers
        if workers is not None and (not _is_int(workers) or workers < 1):
            c.error(
                None,
                f"{field}.workers",
                f"workers must be a whole number of at least 1, not {_describe(workers)}",
            )
        if compute.master is not None and not is_ray(compute):
            c.warning(  # older files may have one: they keep running on this machine
                None,
                f"{field}.master",
                f"{_describe(compute.master)} is not a Ray address, so it is ignored and the "
                "steps run on this machine; a Ray cluster is master: ray://HOST:10001",
            )
