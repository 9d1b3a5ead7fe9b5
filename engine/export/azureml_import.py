"""Read an Azure ML v2 pipeline job YAML into a Pipeloom pipeline.

Spark jobs become Spark steps, command jobs that run a Python script become script steps,
pipeline inputs become datasets (uri_file / uri_folder / mltable) or parameters (literals),
and `${{parent.jobs.S.outputs.O}}` bindings become wires. Jobs written with an inline
component keep its `is_deterministic: false` as `allow_reuse: false`. Whatever has no
Pipeloom equivalent is reported as a warning, never dropped silently.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from engine.export.common import HELPER_DIR, SPARK_PROPERTIES
from engine.fileformat.parse import MAX_DEPTH, read_text
from engine.pipeline.graph import generations
from engine.pipeline.model import (
    Compute,
    Environment,
    InputPort,
    Node,
    OutputPort,
    Parameter,
    Pipeline,
    Ref,
)
from engine.problems import PipelineError, Problem

DATA_TYPES = ("uri_file", "uri_folder", "mltable")
SCALAR_TYPES = {"string": "string", "number": "number", "integer": "integer", "boolean": "boolean"}
MODES = {
    "direct": "direct",
    "download": "download",
    "ro_mount": "mount",
    "rw_mount": "mount",
    "eval_mount": "mount",
    "eval_download": "download",
}
CONF_PARAMS = {prop: param for param, prop in SPARK_PROPERTIES.items()}
BINDING_RE = re.compile(r"\$\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
PARENT_INPUT_RE = re.compile(r"^\$\{\{\s*parent\.inputs\.([A-Za-z0-9_]+)\s*\}\}$")
PARENT_JOB_RE = re.compile(
    r"^\$\{\{\s*parent\.jobs\.([A-Za-z0-9_]+)\.outputs\.([A-Za-z0-9_]+)\s*\}\}$"
)
DATASTORE_PATH_RE = re.compile(r"^azureml://datastores/([^/]+)/paths/(.+)$")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".txt": "text", ".orc": "orc"}


def import_azureml(
    path: str | os.PathLike, target: str | os.PathLike | None = None, warnings: list | None = None
) -> Pipeline:
    """The pipeline described by the Azure ML v2 pipeline job at `path`.

    target: where the Pipeloom file will be saved (relative paths are made relative to its
    folder; default: beside `path`). warnings: a list that receives a Problem per thing that
    did not translate.
    """
    source = Path(path).resolve()
    try:
        doc = _load(source, str(path))
    except yaml.YAMLError as exc:
        raise PipelineError(f"not valid YAML: {exc}", str(path)) from None
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "pipeline"
        or not isinstance(doc.get("jobs"), dict)
    ):
        raise PipelineError(
            "not an Azure ML v2 pipeline job (type: pipeline with jobs:)", str(path)
        )
    target_path = Path(target).resolve() if target else source.with_name("pipeline.yaml")
    reader = _Reader(doc, source.parent, target_path.parent, str(path))
    pipeline = reader.read()
    pipeline.path = str(target_path)
    if warnings is not None:
        warnings.extend(reader.warnings)
    return pipeline


SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(source: Path, path: str) -> Any:
    """The YAML document, read with the pipeline loader's limits: at most MAX_BYTES of UTF-8
    text, MAX_DEPTH levels, no anchors or aliases (an alias bomb expands to billions of
    values), no object-building tags (the safe loader refuses them)."""
    text = read_text(source)
    depth = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, yaml.AliasEvent | yaml.NodeEvent) and getattr(event, "anchor", None):
            mark = event.start_mark
            raise PipelineError(
                [
                    Problem(
                        None,
                        None,
                        "error",
                        "anchors and aliases are not accepted: write the values out",
                        mark.line + 1,
                        mark.column + 1,
                    )
                ],
                path,
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise PipelineError(f"nested more than {MAX_DEPTH} levels deep", path)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.load(text, Loader=SafeLoader)


def _is_launcher(path: str) -> bool:
    """The step launcher a Pipeloom export puts before scripts that use the step helper."""
    return Path(path).as_posix().endswith(f"{HELPER_DIR}/launch.py")


def _unwrap_launcher(tokens: list[str]) -> tuple[str | None, list[str]]:
    """`--spec S --input ... -- SCRIPT ARGS`: the script and its own arguments."""
    if "--" not in tokens or tokens.index("--") + 1 >= len(tokens):
        return None, []
    split = tokens.index("--")
    return tokens[split + 1], tokens[split + 2 :]


class _Reader:
    def __init__(self, doc: dict, source_dir: Path, target_dir: Path, path: str):
        self.doc = doc
        self.source_dir = source_dir
        self.target_dir = target_dir
        self.path = path
        self.warnings: list[Problem] = []
        name = str(doc.get("display_name") or doc.get("name") or Path(path).stem)
        self.p = Pipeline(re.sub(r"[^A-Za-z0-9_\-]", "_", name), doc.get("description"))
        self.datasets: dict[str, str] = {}  # pipeline input -> dataset node
        self.parameters: set[str] = set()
        self.environments: dict[str, str] = {}  # conda file -> environment name
        self.azureml_computes: dict[str, Any] = {}

    def warn(self, node: str | None, field: str | None, message: str) -> None:
        self.warnings.append(Problem(node, field, "warning", message))

    # -- top level --------------------------------------------------------------------------
    def read(self) -> Pipeline:
        for name, spec in (self.doc.get("inputs") or {}).items():
            self._pipeline_input(str(name), spec)
        if self.doc.get("outputs"):
            self.warn(
                None,
                "outputs",
                "pipeline-level outputs are not imported: step outputs stay in the datastore",
            )
        settings = self.doc.get("settings") or {}
        if settings.get("force_rerun"):
            self.warn(
                None,
                "settings.force_rerun",
                "use `pipeloom run --regenerate-outputs` for the same effect",
            )
        jobs = {str(k): v for k, v in self.doc["jobs"].items()}
        steps: dict[str, dict[str, Any]] = {}
        for name, job in jobs.items():
            body = self._job_body(name, job)
            if body is not None and self._add_step(name, body, settings):
                steps[name] = body
        for name, body in steps.items():
            self._wire(self.p.nodes[name], body)
        if self.azureml_computes:
            self.p.export = {"azureml": {"computes": self.azureml_computes}}
        self._place()
        return self.p

    def _pipeline_input(self, name: str, spec: Any) -> None:
        if (
            isinstance(spec, dict)
            and spec.get("type", "uri_folder") in DATA_TYPES
            and "default" not in spec
        ):
            node = Node(self._node_name(name), "dataset", {"kind": "tabular"})
            where = spec.get("path")
            if where is None:
                self.warn(node.name, "path", f"input {name!r} has no path: set one")
            else:
                self._set_location(node, str(where))
            self.p.nodes[node.name] = node
            self.datasets[name] = node.name
            if spec.get("mode"):
                self.warn(
                    node.name,
                    None,
                    f"pipeline-level mode {spec['mode']!r} is not imported: modes are set per input",
                )
            return
        if isinstance(spec, dict):
            ptype = SCALAR_TYPES.get(str(spec.get("type")), "string")
            default = spec.get("default")
        else:
            default = spec
            ptype = {bool: "boolean", int: "integer", float: "number"}.get(type(spec), "string")
        self.p.parameters[name] = Parameter(
            name,
            ptype,
            default,
            (spec or {}).get("description") if isinstance(spec, dict) else None,
        )
        self.parameters.add(name)

    def _set_location(self, node: Node, where: str) -> None:
        if where.startswith("azureml:") and not where.startswith("azureml://"):
            asset = where.removeprefix("azureml:")
            name, _, version = asset.partition(":")
            name, _, label = name.partition("@")
            node.params["from"] = f"dataset:{name}@{version}" if version else f"dataset:{name}"
            if label and label != "latest":
                self.warn(node.name, "from", f"label {label!r} is read as the latest version")
            return
        if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", where) or os.path.isabs(where):
            node.params["path"] = where
        else:
            node.params["path"] = self._relative(where)
        suffix = Path(where.rstrip("/")).suffix.lower()
        if suffix in FORMATS:
            node.params["format.type"] = FORMATS[suffix]

    def _node_name(self, name: str) -> str:
        unique = self.p.unique_node_name(name)
        if unique != name:
            self.warn(
                unique, None, f"{name!r} is both an input and a job: the input is now {unique!r}"
            )
        return unique

    # -- jobs -------------------------------------------------------------------------------
    def _job_body(self, name: str, job: Any) -> dict[str, Any] | None:
        if not isinstance(job, dict):
            self.warn(name, None, "not a job mapping: skipped")
            return None
        body = dict(job)
        component = body.pop("component", None)
        if component is not None:
            if not isinstance(component, dict):
                self.warn(
                    name,
                    "component",
                    f"component {component!r} is a reference, not inline: job skipped",
                )
                return None
            body = {
                **component,
                **body,
                "inputs": body.get("inputs") or {},
                "outputs": body.get("outputs") or {},
            }
            body["_input_types"] = component.get("inputs") or {}
            body["_output_types"] = component.get("outputs") or {}
            body["_deterministic"] = component.get("is_deterministic", True)
        if body.get("type") not in ("spark", "command"):
            self.warn(
                name, "type", f"job type {body.get('type')!r} has no Pipeloom step: job skipped"
            )
            return None
        return body

    def _add_step(self, name: str, body: dict[str, Any], settings: dict) -> bool:
        spark = body["type"] == "spark"
        params: dict[str, Any] = {}
        code = body.get("code")
        if code:
            params["source_directory"] = self._relative(str(code))
        if spark:
            entry = body.get("entry") or {}
            if "file" not in entry:
                self.warn(name, "entry", "only entry.file (a Python file) is supported: set file")
            params["file"] = entry.get("file")
            for key in ("py_files", "jars", "files"):
                if body.get(key):
                    params[key] = list(body[key])
            if body.get("archives"):
                self.warn(name, "archives", "archives are not supported: dropped")
            self._spark_conf(name, body.get("conf") or {}, params)
            args = shlex.split(str(body.get("args") or ""))
            if params["file"] and _is_launcher(params["file"]):
                params["file"], args = _unwrap_launcher(args)
        else:
            tokens = shlex.split(str(body.get("command") or ""))
            script, args = self._python_script(name, tokens)
            if script is None:
                return False
            params["script"] = script
        params["compute"] = self._compute(name, body, spark, settings)
        env = self._environment(name, body.get("environment"))
        if env:
            params["environment"] = env
        if body.get("_deterministic") is False:
            params["allow_reuse"] = False
        for key in ("environment_variables", "distribution", "limits", "identity", "services"):
            if body.get(key):
                self.warn(name, key, f"{key} has no Pipeloom equivalent: dropped")
        node = Node(
            name,
            "spark-step" if spark else "script-step",
            params,
            description=body.get("description"),
        )
        node.params["arguments"] = args  # converted in _wire, once every binding is known
        for out_name, spec in (body.get("outputs") or {}).items():
            node.outputs.append(self._output(name, str(out_name), spec))
        self.p.nodes[name] = node
        return True

    def _python_script(self, name: str, tokens: list[str]) -> tuple[str | None, list[str]]:
        if tokens and re.match(r"^python[0-9.]*$", os.path.basename(tokens[0])):
            rest = tokens[1:]
            while rest and rest[0].startswith("-") and rest[0] != "-m":
                rest = rest[1:]  # interpreter flags such as -u
            if rest and _is_launcher(rest[0]):
                return _unwrap_launcher(rest[1:])
            if rest and rest[0].endswith(".py"):
                return rest[0], rest[1:]
        self.warn(
            name,
            "command",
            f"{' '.join(tokens)!r} does not run a Python script: set the step's script",
        )
        return None, []

    def _spark_conf(self, name: str, conf: dict[str, Any], params: dict[str, Any]) -> None:
        extra = {}
        for key, value in conf.items():
            if key in CONF_PARAMS:
                params[CONF_PARAMS[key]] = (
                    int(value) if not CONF_PARAMS[key].endswith("memory") else str(value)
                )
            else:
                extra[key] = value
        if extra:
            params["spark.conf"] = extra

    def _compute(self, name: str, body: dict[str, Any], spark: bool, settings: dict) -> str:
        ctype = "spark" if spark else "cpu-pool"
        resources = body.get("resources") or {}
        target = body.get("compute")
        if not target and not resources.get("instance_type"):
            target = settings.get("default_compute")
        if target:
            compute = str(target).removeprefix("azureml:")
            mapping: Any = compute
        elif resources.get("instance_type"):
            compute = "serverless_spark" if spark else "serverless"
            mapping = {
                k: str(v) for k, v in resources.items() if k in ("instance_type", "runtime_version")
            }
        else:
            compute = "local_spark" if spark else "local_cpu"
            mapping = None
            self.warn(name, "compute", f"no compute or resources: runs on {compute!r}")
        existing = self.p.computes.get(compute)
        if existing and existing.type != ctype:
            renamed = f"{compute}_{'spark' if spark else 'cpu'}"
            self.warn(
                name,
                "compute",
                f"{compute!r} runs both Spark and command jobs: this job uses {renamed!r}",
            )
            compute = renamed
        if compute not in self.p.computes:
            if spark:
                self.p.computes[compute] = Compute(compute, "spark", master="local[*]")
            else:
                self.p.computes[compute] = Compute(compute, "cpu-pool", workers=2)
            if mapping is not None:
                self.azureml_computes[compute] = mapping
        return compute

    def _environment(self, name: str, env: Any) -> str | None:
        if env is None:
            return None
        if isinstance(env, str):
            self.warn(
                name, "environment", f"environment {env!r} lives in the workspace: not imported"
            )
            return None
        conda = env.get("conda_file") if isinstance(env, dict) else None
        if not conda:
            self.warn(name, "environment", "only environments with a conda_file are imported")
            return None
        if isinstance(conda, dict):
            spec, key = conda, repr(conda)
        else:
            key = str((self.source_dir / str(conda)).resolve())
            try:
                spec = _load(Path(key), str(conda)) or {}
            except PipelineError as exc:  # too large, an alias bomb, binary: not a conda file
                self.warn(name, "environment.conda_file", f"cannot read {conda}: {exc}")
                return None
            except (OSError, yaml.YAMLError) as exc:
                self.warn(name, "environment.conda_file", f"cannot read {conda}: {exc}")
                return None
        if key in self.environments:
            return self.environments[key]
        pip: list[str] = []
        for dep in spec.get("dependencies") or []:
            if isinstance(dep, dict):
                pip.extend(str(x) for x in dep.get("pip") or [])
            elif not re.match(r"^(python|pip)\b", str(dep)):
                self.warn(
                    name, "environment", f"conda package {dep!r} is not a pip requirement: dropped"
                )
        env_name = re.sub(r"[^A-Za-z0-9_\-]", "_", str(spec.get("name") or f"{name}_env"))
        while env_name in self.p.environments:
            env_name += "_2"
        self.p.environments[env_name] = Environment(env_name, pip=pip)
        self.environments[key] = env_name
        if isinstance(env, dict) and env.get("image"):
            self.warn(
                name,
                "environment.image",
                f"image {env['image']} is not used: steps run in a local Python",
            )
        return env_name

    def _output(self, job: str, name: str, spec: Any) -> OutputPort:
        port = OutputPort(name, "tabular")
        if not isinstance(spec, dict):
            self.warn(
                job, f"outputs.{name}", f"binding {spec!r} to a pipeline output is not imported"
            )
            return port
        if spec.get("type") == "uri_file":
            port.kind = "file"
        port.register_as = spec.get("name")
        where = spec.get("path")
        if where:
            match = DATASTORE_PATH_RE.match(str(where))
            if match:
                port.destination = match.group(2).rstrip("/")
            else:
                self.warn(
                    job, f"outputs.{name}.path", f"{where} is not a datastore path: not imported"
                )
        return port

    # -- wiring -----------------------------------------------------------------------------
    def _wire(self, node: Node, body: dict[str, Any]) -> None:
        spark = node.type == "spark-step"
        literal: dict[str, str] = {}  # job input -> text it expands to in the arguments
        for name, spec in (body.get("inputs") or {}).items():
            name = str(name)
            binding, mode = (
                (spec.get("path"), spec.get("mode")) if isinstance(spec, dict) else (spec, None)
            )
            mode = mode or (body.get("_input_types", {}).get(name) or {}).get("mode")
            text = str(binding) if binding is not None else ""
            parent_input = PARENT_INPUT_RE.match(text)
            parent_job = PARENT_JOB_RE.match(text)
            if parent_input and parent_input.group(1) in self.parameters:
                literal[name] = "{parameters." + parent_input.group(1) + "}"
                continue
            if parent_input and parent_input.group(1) in self.datasets:
                ref = Ref(self.datasets[parent_input.group(1)])
            elif parent_job and parent_job.group(1) in self.p.nodes:
                ref = Ref(parent_job.group(1), parent_job.group(2))
            elif isinstance(spec, dict) and spec.get("type") in DATA_TYPES and binding:
                dataset = Node(
                    self.p.unique_node_name(f"{node.name}_{name}"), "dataset", {"kind": "tabular"}
                )
                self._set_location(dataset, text)
                self.p.nodes[dataset.name] = dataset
                ref = Ref(dataset.name)
            elif binding is not None and not BINDING_RE.search(text):
                literal[name] = text  # a literal value: it becomes part of the arguments
                continue
            else:
                self.warn(node.name, f"inputs.{name}", f"binding {text!r} is not imported")
                continue
            port = InputPort(name, ref)
            if mode and not spark:
                port.mode = MODES.get(str(mode))
                if str(mode) not in ("direct", "download", "ro_mount"):
                    self.warn(node.name, f"inputs.{name}", f"mode {mode} read as {port.mode}")
            node.inputs.append(port)
        node.params["arguments"] = [
            self._argument(node, a, literal) for a in node.params["arguments"]
        ]
        if not node.params["arguments"]:
            del node.params["arguments"]

    def _argument(self, node: Node, token: str, literal: dict[str, str]) -> str:
        if "$[[" in token:
            self.warn(node.name, "arguments", f"optional argument {token!r} is kept as written")

        def convert(match: re.Match) -> str:
            section, _, name = match.group(1).partition(".")
            if section == "inputs" and name in literal:
                return literal[name]
            if section in ("inputs", "outputs"):
                return "{" + f"{section}.{name}" + "}"
            self.warn(node.name, "arguments", f"{match.group(0)} has no Pipeloom equivalent: kept")
            return match.group(0)

        return BINDING_RE.sub(convert, token)

    def _relative(self, where: str) -> str:
        """A local path of the Azure file as the new pipeline file sees it.

        Relative when it lies inside the new file's folder, else absolute (a Pipeloom project
        never reaches outside its folder with a relative path).
        """
        if os.path.isabs(where) or "://" in where or where.startswith("azureml:"):
            return where
        absolute = (self.source_dir / where).resolve()
        if absolute.is_relative_to(self.target_dir):
            return absolute.relative_to(self.target_dir).as_posix() or "."
        return absolute.as_posix()

    def _place(self) -> None:
        """Left to right by dependency layer, so the imported graph opens readable."""
        try:
            layers = generations(self.p)
        except Exception:  # noqa: BLE001 - a cycle in the input: keep file order instead
            layers = [list(self.p.nodes)]
        for x, layer in enumerate(layers):
            for y, name in enumerate(layer):
                self.p.nodes[name].position = (260.0 * x, 140.0 * y)
