"""Export to an Azure ML v2 pipeline job YAML (`az ml job create -f pipeline.yml`).

Spark steps become `type: spark` jobs, script steps `type: command` jobs, datasets and
parameters pipeline inputs; wires become `${{parent.jobs.S.outputs.O}}` bindings. A step with
`allow_reuse: false` is written with an inline component marked `is_deterministic: false`,
which is how v2 turns reuse off for one job. Tabular datasets are passed as uri_file /
uri_folder: an mltable input would need an MLTable file that Pipeloom datasets do not have.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from typing import Any

import yaml

from engine.export.common import (
    ExportContext,
    ExportResult,
    arguments,
    check,
    compute_of,
    dataset_is_file,
    dataset_reference,
    entry_file,
    environment_requirements,
    expand,
    identifier,
    input_context,
    is_uri,
    spark_settings,
    uses_step_helper,
)
from engine.pipeline.model import Node, Pipeline

SCHEMA = "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json"
COMMAND_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
DEFAULT_DATASTORE = "workspaceblobstore"
DEFAULT_RUNTIME = "3.4"
MODES = {"download": "download", "mount": "ro_mount", "direct": "direct"}
PARAMETER_TYPES = {
    "string": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
}
# Azure ML refuses a Spark job without all five; these are its smallest serverless sizes
SPARK_REQUIRED = {
    "spark.driver.cores": 1,
    "spark.driver.memory": "2g",
    "spark.executor.cores": 1,
    "spark.executor.memory": "2g",
    "spark.executor.instances": 1,
}
_AZURE_MEMORY_RE = re.compile(r"^\d+[kKmMgGtTpP]$")


def parse_compute_option(value: str) -> str | dict[str, str]:
    """`--compute NAME=TARGET`: TARGET is a compute name, or INSTANCE_TYPE@RUNTIME (serverless)."""
    if "@" in value:
        instance_type, _, runtime = value.partition("@")
        return {"instance_type": instance_type, "runtime_version": runtime}
    return value


def export_azureml(
    pipeline: Pipeline,
    out_dir: str | os.PathLike,
    force_rerun: bool = False,
    computes: dict[str, str] | None = None,
) -> ExportResult:
    check(pipeline)
    ctx = ExportContext(pipeline, "azureml", out_dir)
    AzureMLWriter(ctx, force_rerun, computes or {}).write()
    return ctx.result


class AzureMLWriter:
    def __init__(self, ctx: ExportContext, force_rerun: bool, computes: dict[str, str]):
        self.ctx = ctx
        self.force_rerun = force_rerun
        settings = ctx.settings()
        self.compute_map: dict[str, Any] = dict(settings.get("computes") or {})
        self.compute_map.update({k: parse_compute_option(v) for k, v in computes.items()})
        self.datastore = settings.get("datastore") or DEFAULT_DATASTORE
        self.input_names: dict[str, str] = {}  # dataset node / parameter -> pipeline input
        self.job_names: dict[str, str] = {}
        self.port_names: dict[tuple[str, str, str], str] = {}  # (node, in|out, port) -> name
        self.environment_files: dict[str, str] = {}

    # -- document ---------------------------------------------------------------------------
    def write(self) -> None:
        p = self.ctx.pipeline
        doc: dict[str, Any] = {"$schema": SCHEMA, "type": "pipeline", "display_name": p.name}
        doc["experiment_name"] = p.name
        if p.description:
            doc["description"] = p.description
        inputs = self._pipeline_inputs()
        if inputs:
            doc["inputs"] = inputs
        doc["jobs"] = {}
        for node in self.ctx.steps():
            self.job_names[node.name] = self._name(
                node.name, set(self.job_names.values()), node.name, "name", "job"
            )
        for node in self.ctx.steps():
            doc["jobs"][self.job_names[node.name]] = self._job(node)
        if self.force_rerun:
            doc["settings"] = {"force_rerun": True}
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=4096)
        header = f"# Azure ML v2 pipeline job exported by Pipeloom from {os.path.basename(p.path or p.name)}\n"
        header += "# Submit: az ml job create -f pipeline.yml\n"
        self.ctx.result.main_file = self.ctx.write("pipeline.yml", header + text)

    def _name(self, name: str, taken: set[str], node: str | None, field: str, what: str) -> str:
        result = identifier(name, taken, lower=(what == "job"))
        if result != name:
            self.ctx.warn(
                node,
                field,
                f"renamed to {result!r}: Azure ML {what} names allow only letters, digits and _",
            )
        return result

    def _pipeline_inputs(self) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        taken: set[str] = set()
        for node in self.ctx.datasets():  # unread ones too: they are part of the graph
            name = self._name(node.name, taken, node.name, "name", "input")
            self.input_names[node.name] = name
            inputs[name] = self._dataset_input(node)
        for param in self.ctx.pipeline.parameters.values():
            name = self._name(param.name, taken, None, f"parameters.{param.name}", "input")
            self.input_names[f"parameters.{param.name}"] = name
            if param.default is None:
                inputs[name] = {"type": PARAMETER_TYPES.get(param.type, "string"), "optional": True}
            else:
                inputs[name] = param.default
        return inputs

    def _dataset_input(self, node: Node) -> dict[str, Any]:
        is_file = dataset_is_file(self.ctx, node)
        entry: dict[str, Any] = {"type": "uri_file" if is_file else "uri_folder"}
        ref = dataset_reference(node)
        if ref:
            name, version = ref
            entry["type"] = "uri_folder"
            entry["path"] = f"azureml:{name}:{version}" if version else f"azureml:{name}@latest"
            self.ctx.warn(
                node.name,
                "from",
                f"registered dataset {name!r} is read as Azure ML data asset {name!r}: "
                "register it in the workspace (type uri_folder) first",
            )
        else:
            path = str(node.params.get("path"))
            if is_uri(path) or os.path.isabs(path):
                entry["path"] = path
            else:
                entry["path"] = self.ctx.relative_to_out(self.ctx.base_dir / path)
        return entry

    # -- jobs -------------------------------------------------------------------------------
    def _job(self, node: Node) -> dict[str, Any]:
        spark = node.type == "spark-step"
        code = self.ctx.copy_code(node)
        inputs, input_types = self._bindings(node, spark)
        outputs, output_types = self._outputs(node, spark)
        args = self._arguments(node)
        entry = shlex.quote(entry_file(node))
        if uses_step_helper(self.ctx, node):
            # the launcher writes the step context from the paths Azure ML passes, then runs it
            launch = self._launcher(node, code, inputs)
            entry, args = launch[0], " ".join([*launch[1:], entry, args]).strip()
        body: dict[str, Any] = {"code": code}
        if spark:
            body["entry"] = {"file": entry}
            for key in ("py_files", "jars", "files"):
                if node.params.get(key):
                    body[key] = list(node.params[key])
            body["conf"] = self._spark_conf(node)
            if args:
                body["args"] = args
        else:
            body["command"] = " ".join(["python", entry, args]).strip()
        environment = self._environment(node, spark)
        if environment:
            body["environment"] = environment
        if node.params.get("backend") == "connect":
            self.ctx.warn(
                node.name,
                "backend",
                "Azure ML runs Spark jobs with spark-submit: backend connect is not used",
            )
        job: dict[str, Any] = {"type": "spark" if spark else "command"}
        if node.description:
            job["description"] = node.description
        if node.params.get("allow_reuse", True) is False:
            # v2 disables reuse per component: an inline component with is_deterministic: false
            component = {"type": job["type"], "is_deterministic": False, **body}
            component["inputs"] = input_types
            component["outputs"] = output_types
            job["component"] = component
        else:
            job.update(body)
        job.update(self._compute(node, spark))
        if inputs:
            job["inputs"] = inputs
        if outputs:
            job["outputs"] = outputs
        return job

    def _bindings(self, node: Node, spark: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        bindings: dict[str, Any] = {}
        types: dict[str, Any] = {}
        taken: set[str] = set()
        for port in node.inputs:
            name = self._name(port.name, taken, node.name, f"inputs.{port.name}", "input")
            self.port_names[(node.name, "in", port.name)] = name
            src = self.ctx.source_of(node, port)
            if src is None:
                self.ctx.warn(
                    node.name, f"inputs.{port.name}", "optional input with nothing wired: left out"
                )
                continue
            mode = "direct" if spark else MODES[src.mode]
            if src.is_dataset:
                path = f"${{{{parent.inputs.{self.input_names[src.node.name]}}}}}"
                is_file = dataset_is_file(self.ctx, src.node) and not dataset_reference(src.node)
                kind = "uri_file" if is_file else "uri_folder"
            else:
                out = self.port_names[(src.node.name, "out", src.output)]
                path = f"${{{{parent.jobs.{self.job_names[src.node.name]}.outputs.{out}}}}}"
                kind = "uri_folder"
            bindings[name] = {"path": path, "mode": mode}
            types[name] = {"type": kind, "mode": mode}
        for param in self._parameters_used(node):
            name = self._name(param, taken, node.name, "arguments", "input")
            self.port_names[(node.name, "param", param)] = name
            bindings[name] = f"${{{{parent.inputs.{self.input_names[f'parameters.{param}']}}}}}"
            ptype = self.ctx.pipeline.parameters[param].type
            types[name] = {"type": PARAMETER_TYPES.get(ptype, "string")}
        return bindings, types

    def _launcher(self, node: Node, code: str, bindings: dict[str, Any]) -> list[str]:
        """`launch.py --spec ... --input N=${{inputs.N}} ... --`: the tokens before the script."""
        helper = self.ctx.copy_step_helper(code, launcher=True).removeprefix(f"{code}/")
        job = self.job_names[node.name]
        spec: dict[str, Any] = {"step": node.name, "inputs": {}, "outputs": {}}
        tokens = [f"{helper}/launch.py", "--spec", f"{helper}/{job}.json"]
        for port in node.inputs:
            name = self.port_names[(node.name, "in", port.name)]
            src = self.ctx.source_of(node, port)
            if src is None or name not in bindings:
                continue
            info = input_context(self.ctx, src, "")
            spec["inputs"][port.name] = {"name": port.name, **info}
            tokens += ["--input", f"{port.name}={_binding('inputs', name)}"]
        for port in node.outputs:
            name = self.port_names[(node.name, "out", port.name)]
            spec["outputs"][port.name] = {
                "name": port.name,
                "kind": port.kind,
                "format": port.format,
            }
            tokens += ["--output", f"{port.name}={_binding('outputs', name)}"]
        params = self._parameters_used(node)
        spec["parameter_types"] = {n: self.ctx.pipeline.parameters[n].type for n in params}
        for param in params:
            name = self.port_names[(node.name, "param", param)]
            tokens += ["--param", f"{param}={_binding('inputs', name)}"]
        self.ctx.write(f"{code}/{helper}/{job}.json", json.dumps(spec, indent=2) + "\n")
        return [*tokens, "--"]

    def _parameters_used(self, node: Node) -> list[str]:
        from engine.pipeline.model import templates_in

        used: list[str] = []
        for section, name in templates_in(arguments(node)):
            if section == "parameters" and name not in used:
                used.append(name)
        return used

    def _outputs(self, node: Node, spark: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        outputs: dict[str, Any] = {}
        types: dict[str, Any] = {}
        taken: set[str] = set()
        for port in node.outputs:
            name = self._name(port.name, taken, node.name, f"outputs.{port.name}", "output")
            self.port_names[(node.name, "out", port.name)] = name
            entry: dict[str, Any] = {"type": "uri_folder"}
            if spark:
                entry["mode"] = "direct"
            types[name] = dict(entry)
            if port.register_as:
                entry["name"] = port.register_as
            if port.destination:
                entry["path"] = (
                    f"azureml://datastores/{self.datastore}/paths/{port.destination.strip('/')}"
                )
            outputs[name] = entry
        return outputs, types

    def _arguments(self, node: Node) -> str:
        tokens = []
        for arg in arguments(node):
            expanded = expand(
                arg,
                inputs=lambda n: _binding("inputs", self.port_names[(node.name, "in", n)]),
                outputs=lambda n: _binding("outputs", self.port_names[(node.name, "out", n)]),
                parameters=lambda n: _binding("inputs", self.port_names[(node.name, "param", n)]),
            )
            tokens.append(_quote(expanded))
        return " ".join(tokens)

    def _spark_conf(self, node: Node) -> dict[str, Any]:
        compute = compute_of(self.ctx, node)
        conf = {**(compute.conf if compute else {}), **spark_settings(node)}
        for key, default in SPARK_REQUIRED.items():
            if conf.get(key) is None:
                conf[key] = default
                self.ctx.warn(
                    node.name, "spark", f"{key} is not set; Azure ML requires it: {default} used"
                )
            elif key.endswith(".memory") and not _AZURE_MEMORY_RE.match(str(conf[key])):
                value = f"{max(1, int(conf[key]) // (1024 * 1024))}m"
                self.ctx.warn(
                    node.name,
                    "spark",
                    f"{key} {conf[key]} bytes written as {value}: Azure ML needs a unit",
                )
                conf[key] = value
        return {
            k: conf[k] for k in [*SPARK_REQUIRED, *[k for k in conf if k not in SPARK_REQUIRED]]
        }

    def _compute(self, node: Node, spark: bool) -> dict[str, Any]:
        name = node.params.get("compute")
        target = self.compute_map.get(name)
        if isinstance(target, dict) and target.get("instance_type"):
            resources = {"instance_type": str(target["instance_type"])}
            if spark:
                runtime = target.get("runtime_version")
                if runtime is None:
                    runtime = DEFAULT_RUNTIME
                    self.ctx.warn(
                        node.name,
                        "compute",
                        f"export.azureml.computes.{name} has no runtime_version: {runtime} used",
                    )
                resources["runtime_version"] = str(runtime)
            return {"resources": resources}
        if isinstance(target, str) and target:
            return {"compute": f"azureml:{target.removeprefix('azureml:')}"}
        self.ctx.warn(
            None,
            f"computes.{name}",
            f"compute {name!r} has no entry in export.azureml.computes: assumed an Azure ML compute "
            f"of the same name (map it with --compute {name}=TARGET)",
        )
        return {"compute": f"azureml:{name}"}

    def _environment(self, node: Node, spark: bool) -> dict[str, Any] | None:
        env_name = node.params.get("environment")
        if not env_name and spark:
            return None  # Spark jobs run in the pool's own runtime
        key = env_name or "default"
        if key not in self.environment_files:
            self.environment_files[key] = self._write_environment(key, env_name, node)
        spec: dict[str, Any] = {"conda_file": self.environment_files[key]}
        if not spark:
            spec = {"image": COMMAND_IMAGE, **spec}
        return spec

    def _write_environment(self, key: str, env_name: str | None, node: Node) -> str:
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        if env_name:
            packages = environment_requirements(self.ctx, env_name)
            env = self.ctx.pipeline.environments[env_name]
            if env.python:
                self.ctx.warn(
                    None,
                    f"environments.{env_name}.python",
                    f"interpreter {env.python} is not exported: python {python} from conda is used",
                )
        else:
            packages = ["numpy", "pandas", "pyarrow"]
            self.ctx.warn(
                node.name,
                "environment",
                "no environment: Azure ML command jobs need one; a default with python, numpy, "
                "pandas and pyarrow is written to environments/default.conda.yml",
            )
        conda = {
            "name": identifier(key, set()),
            "channels": ["conda-forge"],
            "dependencies": [f"python={python}", "pip", {"pip": packages}],
        }
        relative = f"environments/{identifier(key, set())}.conda.yml"
        self.ctx.write(relative, yaml.safe_dump(conda, sort_keys=False))
        return relative


def _quote(token: str) -> str:
    """Shell-quote a literal argument; leave ${{...}} bindings readable (Azure ML expands them)."""
    if "${{" in token:
        return f'"{token}"' if re.search(r"\s", token) else token
    return shlex.quote(token)


def _binding(section: str, name: str) -> str:
    """``${{inputs.X}}``: an Azure ML expression (double braces, expanded by the service)."""
    return "${{" + f"{section}.{name}" + "}}"
