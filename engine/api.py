"""A Python API mirroring the Azure ML SDK v1 pipeline classes, so seed code ports with few edits.

    titanic = Dataset.Tabular.from_delimited_files("data/Titanic.csv")
    prepared = OutputFileDatasetConfig(destination="test").read_parquet_files()
    prep = SparkStep(name="dataprep", file="dataprep.py", source_directory="code",
                     arguments=["--input", titanic.as_named_input("tabular_input"),
                                "--output_dir", prepared],
                     outputs=[prepared], compute_target="link1-spark01")
    Pipeline(steps=[prep], name="titanic").save("pipeline.yaml")

The objects only describe; `Pipeline.to_model()` turns them into the one engine.model.Pipeline
(the same one the YAML loader builds), and `save` writes the pipeline file. Inputs, outputs and
parameters placed in `arguments` become `{inputs.X}`, `{outputs.Y}`, `{parameters.Z}`.
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Any

from . import model, registry
from .problems import PipelineError

COLUMN_SPACING = 260.0  # x between layers of the left-to-right layout
ROW_SPACING = 140.0  # y between nodes of one layer

_NOT_NAME_RE = re.compile(r"[^A-Za-z0-9_\-]+")


def _node_name(text: str, fallback: str) -> str:
    """A valid node/port name made from free text (a file stem, a --flag)."""
    name = _NOT_NAME_RE.sub("_", text).strip("_-")
    if not name:
        return fallback
    return name if model.valid_name(name) else f"_{name}"


def _path_of(path: Any) -> str:
    """The seed passes `[(datastore, "file.csv")]`; Pipeloom paths are relative to the file."""
    if isinstance(path, list | tuple) and len(path) == 1 and isinstance(path[0], list | tuple):
        path = path[0]
    if isinstance(path, list):
        if len(path) != 1:
            raise PipelineError(f"a dataset has exactly one path; got {len(path)}: {path!r}")
        path = path[0]
    if isinstance(path, tuple):
        if len(path) != 2:
            raise PipelineError(f"expected (datastore, path); got {path!r}")
        path = path[1]
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise PipelineError(f"a dataset path must be a non-empty string; got {path!r}")
    text = os.fspath(path)
    if "://" in text:
        return text
    return posixpath.normpath(text.replace(os.sep, "/"))


def _relative_dir(path: str | os.PathLike | None) -> str | None:
    if path is None:
        return None
    return posixpath.normpath(os.fspath(path).replace(os.sep, "/"))


# -- datasets ---------------------------------------------------------------------------------


class Dataset:
    """A dataset: a path read as a table (Tabular) or as files (File), or a registered version.

    Create with `Dataset.Tabular.from_delimited_files`, `Dataset.Tabular.from_parquet_files`,
    `Dataset.File.from_files` or `Dataset.get_by_name`. Datasets on the same path (or the same
    registered version) become one dataset node; a File view of a tabular node is an input
    with `as: file`.
    """

    Tabular: _TabularFactory
    File: _FileFactory

    def __init__(
        self,
        kind: str,
        path: str | None = None,
        registered: str | None = None,
        format: dict[str, Any] | None = None,
        name: str | None = None,
    ):
        if kind not in registry.KINDS:
            raise PipelineError(f"dataset kind must be one of {', '.join(registry.KINDS)}")
        if (path is None) == (registered is None):
            raise PipelineError("a dataset has either a path or a registered dataset reference")
        self.kind = kind
        self.path = path
        self.registered = registered  # "dataset:NAME" or "dataset:NAME@VERSION"
        self.format = dict(format or {})
        self.name = name

    @staticmethod
    def get_by_name(
        *args: Any, name: Any = None, version: Any = None, kind: str = "tabular"
    ) -> Dataset:
        """A registered dataset (`dataset:NAME@VERSION`; no version or "latest" = the newest).

        `get_by_name("x", 2)` or the seed's `get_by_name(ws, name="x", version=2)`.
        """
        if args and not isinstance(args[0], str):
            args = args[1:]  # the seed passes its workspace first
        if len(args) > 2:
            raise TypeError("get_by_name takes a name and a version")
        positional = dict(zip(("name", "version"), args, strict=False))
        if name is not None and "name" in positional:
            raise TypeError("get_by_name got the name twice")
        name = positional.get("name", name)
        version = positional.get("version", version)
        if not isinstance(name, str) or not model.valid_name(name):
            raise PipelineError(f"not a dataset name: {name!r}")
        ref = f"dataset:{name}"
        if version not in (None, "latest"):
            ref += f"@{version}"
        return Dataset(kind, registered=ref, name=name)

    def key(self) -> tuple:
        """Datasets with the same key share one node."""
        return ("path", self.path) if self.path is not None else ("registered", self.registered)

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self, name=name)

    def as_download(self) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self).as_download()

    def as_mount(self) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self).as_mount()

    def as_hdfs(self) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self).as_hdfs()

    def __repr__(self) -> str:
        where = self.path if self.path is not None else self.registered
        return f"<Dataset {self.kind} {where}>"


class _TabularFactory:
    @staticmethod
    def from_delimited_files(
        path: Any,
        header: bool = True,
        separator: str = ",",
        encoding: str | None = None,
    ) -> Dataset:
        fmt: dict[str, Any] = {"type": "csv", "header": bool(header), "delimiter": separator}
        if encoding is not None:
            fmt["encoding"] = encoding
        return Dataset("tabular", path=_path_of(path), format=fmt)

    @staticmethod
    def from_parquet_files(path: Any) -> Dataset:
        return Dataset("tabular", path=_path_of(path), format={"type": "parquet"})

    @staticmethod
    def from_json_lines_files(path: Any) -> Dataset:
        return Dataset("tabular", path=_path_of(path), format={"type": "json"})


class _FileFactory:
    @staticmethod
    def from_files(path: Any) -> Dataset:
        return Dataset("file", path=_path_of(path))


Dataset.Tabular = _TabularFactory()
Dataset.File = _FileFactory()


class _InputConfig:
    """Something a step reads: a named input port with a mode (direct/mount/download)."""

    def __init__(self, name: str | None = None, mode: str | None = None):
        if name is not None and not model.valid_name(name):
            raise PipelineError(f"not a valid input name: {name!r}")
        self.name = name
        self.mode = mode

    def _with_mode(self, mode: str):
        dup = copy.copy(self)
        dup.mode = mode
        return dup

    def as_download(self, path_on_compute: str | None = None):
        """A private copy in the step's working folder."""
        return self._with_mode("download")

    def as_mount(self, path_on_compute: str | None = None):
        """The original path, checked for changes after the step."""
        return self._with_mode("mount")

    def as_hdfs(self):
        """The path/URI as is (mode direct): what Spark steps read."""
        return self._with_mode("direct")

    as_direct = as_hdfs


class DatasetConsumptionConfig(_InputConfig):
    """A dataset read by a step under an input name (the seed's `as_named_input`)."""

    def __init__(self, dataset: Dataset, name: str | None = None, mode: str | None = None):
        super().__init__(name, mode)
        self.dataset = dataset

    def __repr__(self) -> str:
        return f"<input {self.name or '?'} of {self.dataset!r} mode={self.mode}>"


# -- outputs ----------------------------------------------------------------------------------


class OutputFileDatasetConfig:
    """A step's output folder; optionally registered as a dataset and published at a path.

    `destination` is a datastore path (or the seed's `(datastore, path)`); the name defaults
    to the `--flag` before it in the step's arguments.
    """

    def __init__(self, name: str | None = None, destination: Any = None):
        if name is not None and not model.valid_name(name):
            raise PipelineError(f"not a valid output name: {name!r}")
        if isinstance(destination, tuple):
            destination = destination[1] if len(destination) == 2 else destination
        if destination is not None and not isinstance(destination, str):
            raise PipelineError(f"an output destination is a datastore path; got {destination!r}")
        self.name = name
        self.destination = destination
        self.kind = "file"
        self.format: dict[str, Any] = {}
        self.register_as: str | None = None
        self.producer: _Step | None = None

    def register_on_complete(
        self, name: str, description: str | None = None, tags: dict | None = None
    ) -> OutputFileDatasetConfig:
        """Add a new version of dataset `name` when the step completes."""
        if not model.valid_name(name):
            raise PipelineError(f"not a valid dataset name: {name!r}")
        self.register_as = name
        return self

    def read_parquet_files(self) -> OutputFileDatasetConfig:
        """Declare the folder a table of Parquet files (a tabular output)."""
        self.kind, self.format = "tabular", {"type": "parquet"}
        return self

    def read_delimited_files(
        self, header: bool = True, separator: str = ","
    ) -> OutputFileDatasetConfig:
        """Declare the folder a table of CSV files (a tabular output)."""
        self.kind = "tabular"
        self.format = {"type": "csv", "header": bool(header), "delimiter": separator}
        return self

    def as_input(self, name: str | None = None) -> OutputInputConfig:
        """This output read by a later step, under the input name `name`."""
        return OutputInputConfig(self, name)

    def as_download(self) -> OutputInputConfig:
        return self.as_input().as_download()

    def as_mount(self) -> OutputInputConfig:
        return self.as_input().as_mount()

    def __repr__(self) -> str:
        return f"<output {self.name or '?'} kind={self.kind}>"


class HDFSOutputDatasetConfig(OutputFileDatasetConfig):
    """The seed's Spark output config; the same as OutputFileDatasetConfig here."""


class OutputInputConfig(_InputConfig):
    """An earlier step's output read by a step (the seed's `output.as_input(name)`)."""

    def __init__(self, output: OutputFileDatasetConfig, name: str | None = None):
        super().__init__(name)
        self.output = output

    def __repr__(self) -> str:
        return f"<input {self.name or '?'} of {self.output!r} mode={self.mode}>"


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
    def create(cls, pip_packages: Iterable[str] | None = None, **_conda: Any) -> CondaDependencies:
        if _conda.get("conda_packages"):
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


# -- pipeline ---------------------------------------------------------------------------------


class Pipeline:
    """Steps (and, through their inputs, the steps and datasets they read) as one pipeline.

    Steps that produce an output some listed step reads are included even when not listed
    (the seed's resolve_closure). `parameters` adds pipeline parameters that no argument uses.
    """

    def __init__(
        self,
        steps: Sequence[_Step],
        name: str = "pipeline",
        description: str | None = None,
        parameters: Iterable[PipelineParameter] | None = None,
        datastore: str | None = ".pipeloom/datastore",
        default_source_directory: str | os.PathLike | None = None,
        export: dict[str, Any] | None = None,
    ):
        if not steps:
            raise PipelineError("a pipeline needs at least one step")
        self.steps = list(steps)
        self.name = name
        self.description = description
        self.parameters = list(parameters or [])
        self.datastore = datastore
        self.default_source_directory = _relative_dir(default_source_directory)
        self.export = copy.deepcopy(export or {})

    def to_model(self) -> model.Pipeline:
        """The engine model of this pipeline (datasets as nodes, laid out left to right)."""
        from .api_build import build_model  # it reads the classes of this module

        return build_model(self)

    def save(self, path: str | os.PathLike) -> model.Pipeline:
        """Write the pipeline file (canonical form); returns the saved model."""
        from . import yamlio

        pipeline = self.to_model()
        yamlio.save(pipeline, os.fspath(path))
        return pipeline

    def submit(
        self,
        experiment: str | None = None,
        regenerate_outputs: bool = False,
        parameters: dict[str, Any] | None = None,
        path: str | os.PathLike | None = None,
    ):
        """Start a run in the background (the seed's Experiment.submit); returns a PipelineRun.

        `path`: the pipeline file that locates the project (default ./<name>.yaml, not written).
        """
        from .api_run import submit

        return submit(self.to_model(), experiment, regenerate_outputs, parameters, path=path)
