"""Parameters, environments, computes and steps of the seed-style API (engine.api re-exports them)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence
from typing import Any

from engine.api.data import (
    OutputFileDatasetConfig,
    _node_name,
    _relative_dir,
)
from engine.pipeline import model, registry
from engine.problems import PipelineError

# -- parameters, environments, computes -------------------------------------------------------


class PipelineParameter:
    """A pipeline parameter; placed in `arguments` it becomes `{parameters.NAME}`."""

    def __init__(self, name: str, default_value: Any, description: str | None = None):
        if not model.valid_name(name):
            raise PipelineError(f"not a valid parameter name: {name!r}")
        self.name = name
        self.default_value = default_value
        self.description = description

    @property
    def type(self) -> str:
        value = self.default_value
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "integer"
        if isinstance(value, float):
            return "number"
        return "string"

    def to_model(self) -> model.Parameter:
        return model.Parameter(self.name, self.type, self.default_value, self.description)


class CondaDependencies:
    """Pip packages of an environment (the seed's `env.python.conda_dependencies`)."""

    def __init__(self, pip_packages: Iterable[str] | None = None):
        self.pip_packages: list[str] = list(pip_packages or [])

    @classmethod
    def create(
        cls, pip_packages: Iterable[str] | None = None, conda_packages: Iterable[str] | None = None
    ) -> CondaDependencies:
        if conda_packages:
            raise PipelineError("conda packages are not supported; list pip packages instead")
        return cls(pip_packages)

    def add_pip_package(self, package: str) -> None:
        if package not in self.pip_packages:
            self.pip_packages.append(package)


class _PythonSection:
    def __init__(self, pip_packages: Iterable[str] | None, interpreter: str | None):
        self.conda_dependencies = CondaDependencies(pip_packages)
        self.interpreter_path = interpreter


class Environment:
    """Python packages a step needs: `Environment("trainenv", pip_packages=[...])`,
    `Environment.from_pip_requirements(name, file)` or the seed's
    `env.python.conda_dependencies.add_pip_package(...)`."""

    def __init__(
        self,
        name: str,
        pip_packages: Iterable[str] | None = None,
        requirements_file: str | None = None,
        python: str | None = None,
    ):
        if not model.valid_name(name):
            raise PipelineError(f"not a valid environment name: {name!r}")
        self.name = name
        self.python = _PythonSection(pip_packages, python)
        self.requirements_file = requirements_file

    @classmethod
    def from_pip_requirements(cls, name: str, file_path: str | os.PathLike) -> Environment:
        """Packages from a requirements file (kept as a path relative to the pipeline file)."""
        return cls(name, requirements_file=_relative_dir(file_path))

    def to_model(self) -> model.Environment:
        return model.Environment(
            self.name,
            pip=list(self.python.conda_dependencies.pip_packages),
            requirements_file=self.requirements_file,
            python=self.python.interpreter_path,
        )


class RunConfiguration:
    """The seed's run configuration: only its environment matters here."""

    def __init__(self, environment: Environment | None = None):
        self.environment = environment


class SparkCompute:
    """A Spark compute: `local[*]`, spark://HOST:7077, yarn, k8s://..., or sc://HOST:15002."""

    type = "spark"

    def __init__(
        self,
        name: str,
        master: str = "local[*]",
        token_env: str | None = None,
        conf: dict[str, Any] | None = None,
    ):
        if not model.valid_name(name):
            raise PipelineError(f"not a valid compute name: {name!r}")
        self.name, self.master, self.token_env = name, master, token_env
        self.conf = dict(conf or {})

    def to_model(self) -> model.Compute:
        return model.Compute(
            self.name, "spark", master=self.master, token_env=self.token_env, conf=self.conf
        )


class CpuPool:
    """A pool of CPU worker processes for script steps."""

    type = "cpu-pool"

    def __init__(self, name: str, workers: int = 2):
        if not model.valid_name(name):
            raise PipelineError(f"not a valid compute name: {name!r}")
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise PipelineError(f"a CPU pool needs at least one worker; got {workers!r}")
        self.name, self.workers = name, workers

    def to_model(self) -> model.Compute:
        return model.Compute(self.name, "cpu-pool", workers=self.workers)


# -- steps ------------------------------------------------------------------------------------


class _Step:
    type = ""
    entry_key = ""
    default_compute: type = SparkCompute

    def __init__(
        self,
        name: str | None,
        entry: str,
        source_directory: str | os.PathLike | None,
        arguments: Sequence[Any] | None,
        inputs: Sequence[Any] | None,
        outputs: Sequence[OutputFileDatasetConfig] | None,
        compute_target: Any,
        environment: Environment | None,
        allow_reuse: bool,
    ):
        if not isinstance(entry, str) or not entry:
            raise PipelineError(f"a step needs an entry file; got {entry!r}")
        self.name = name or _node_name(posixpath.splitext(posixpath.basename(entry))[0], "step")
        if not model.valid_name(self.name):
            raise PipelineError(f"not a valid step name: {self.name!r}")
        self.entry = entry
        self.source_directory = _relative_dir(source_directory)
        self.arguments = list(arguments or [])
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.compute = self._compute(compute_target)
        self.environment = environment
        self.allow_reuse = allow_reuse
        for out in self.outputs:
            if not isinstance(out, OutputFileDatasetConfig):
                raise PipelineError(f"step {self.name}: not an output config: {out!r}")
            if out.producer is not None and out.producer is not self:
                raise PipelineError(
                    f"output {out.name or out!r} is written by both {out.producer.name} "
                    f"and {self.name}"
                )
            out.producer = self
        for item in self.arguments:
            if isinstance(item, OutputFileDatasetConfig) and item.producer is None:
                item.producer = self  # an output passed only as an argument is still written here

    def _compute(self, target: Any):
        if target is None:
            raise PipelineError(f"step {self.name} needs a compute_target")
        if isinstance(target, str):
            return self.default_compute(target)
        if not isinstance(target, SparkCompute | CpuPool):
            raise PipelineError(f"step {self.name}: not a compute: {target!r}")
        return target

    def step_params(self) -> dict[str, Any]:
        """The type-specific YAML keys (beyond ports, arguments, compute, environment)."""
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class SparkStep(_Step):
    """A PySpark script on a Spark compute, with the SynapseSparkStep keywords."""

    type = "spark-step"
    entry_key = "file"
    default_compute = SparkCompute

    def __init__(
        self,
        file: str,
        source_directory: str | os.PathLike | None = None,
        compute_target: Any = None,
        driver_memory: str | None = None,
        driver_cores: int | None = None,
        executor_memory: str | None = None,
        executor_cores: int | None = None,
        num_executors: int | None = None,
        name: str | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[OutputFileDatasetConfig] | None = None,
        arguments: Sequence[Any] | None = None,
        conf: dict[str, Any] | None = None,
        py_files: Sequence[str] | None = None,
        jars: Sequence[str] | None = None,
        files: Sequence[str] | None = None,
        environment: Environment | None = None,
        allow_reuse: bool = True,
        backend: str | None = None,
    ):
        super().__init__(
            name,
            file,
            source_directory,
            arguments,
            inputs,
            outputs,
            compute_target,
            environment,
            allow_reuse,
        )
        if backend is not None and backend not in registry.BACKENDS:
            raise PipelineError(f"backend must be one of {', '.join(registry.BACKENDS)}")
        self.backend = backend
        self.spark = {
            "driver_memory": driver_memory,
            "driver_cores": driver_cores,
            "executor_memory": executor_memory,
            "executor_cores": executor_cores,
            "num_executors": num_executors,
            "conf": dict(conf) if conf else None,
        }
        self.py_files, self.jars, self.files = py_files, jars, files

    def step_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"backend": self.backend}
        params.update({f"spark.{k}": v for k, v in self.spark.items()})
        for key in ("py_files", "jars", "files"):
            value = getattr(self, key)
            params[key] = list(value) if value else None
        return params


class ScriptStep(_Step):
    """A Python script on a CPU pool, with the PythonScriptStep keywords."""

    type = "script-step"
    entry_key = "script"
    default_compute = CpuPool

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: Sequence[Any] | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[OutputFileDatasetConfig] | None = None,
        source_directory: str | os.PathLike | None = None,
        allow_reuse: bool = True,
        environment: Environment | None = None,
    ):
        if runconfig is not None and environment is not None:
            raise PipelineError("give the environment either in runconfig or as environment")
        env = environment or (runconfig.environment if runconfig is not None else None)
        super().__init__(
            name,
            script_name,
            source_directory,
            arguments,
            inputs,
            outputs,
            compute_target,
            env,
            allow_reuse,
        )
