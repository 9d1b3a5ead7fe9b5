"""Node types declared as data: the palette, inspector, validation, YAML I/O and export read these.

Executors are registered elsewhere (engine.backends) so that loading specs never imports Spark.
A ParamSpec name with a dot lives one level down in the file: ``spark.driver_memory`` is
``spark: {driver_memory: ...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

KINDS = ("tabular", "file")
INPUT_MODES = ("direct", "mount", "download")
FORMATS = ("csv", "parquet", "json", "text", "orc", "binary")
BACKENDS = ("auto", "connect", "submit")

MEMORY_RE = re.compile(r"^[1-9][0-9]*[kmgtp]?$", re.IGNORECASE)


@dataclass(frozen=True)
class ParamSpec:
    """One editable setting of a node type.

    kind: string | text | integer | number | boolean | choice | memory | list | mapping |
          file | directory | compute | environment | dataset
    """

    name: str
    kind: str
    label: str
    help: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    group: str = "General"
    minimum: float | None = None
    compute_type: str | None = None  # for kind=compute: which compute type fits


@dataclass(frozen=True)
class PortRules:
    """What ports a node type has and which kinds/modes they may carry."""

    inputs: bool  # the user may add named inputs
    outputs: bool  # the user may add named outputs
    input_kinds: tuple[str, ...] = KINDS
    output_kinds: tuple[str, ...] = KINDS
    input_modes: tuple[str, ...] = INPUT_MODES
    default_mode: str = "direct"


@dataclass(frozen=True)
class NodeSpec:
    type: str
    title: str
    category: str
    description: str
    icon: str  # file name under resources/icons
    params: tuple[ParamSpec, ...]
    ports: PortRules
    replaces: tuple[str, ...] = ()  # older type names that load as this one
    keywords: tuple[str, ...] = ()
    entry_param: str | None = None  # the param naming the entry file (file | script)
    runs_on: str | None = None  # compute type the step runs on

    def param(self, name: str) -> ParamSpec | None:
        return self._by_name().get(name)

    def _by_name(self) -> dict[str, ParamSpec]:
        cache = self.__dict__.get("_cache")
        if cache is None:
            cache = {p.name: p for p in self.params}
            object.__setattr__(self, "_cache", cache)
        return cache

    @cached_property
    def required(self) -> tuple[ParamSpec, ...]:
        """The settings a node of this type must have."""
        return tuple(p for p in self.params if p.required)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if p.default is not None}

    @property
    def is_step(self) -> bool:
        return self.runs_on is not None


def _common_step_params(entry: str, entry_label: str, compute_type: str) -> list[ParamSpec]:
    return [
        ParamSpec(
            "source_directory",
            "directory",
            "Source directory",
            "Folder with the step's code, relative to the pipeline file. It is snapshotted "
            "when the step is submitted, so edits during a run change nothing.",
            default=".",
        ),
        ParamSpec(
            entry,
            "file",
            entry_label,
            "Python file to run, relative to the source directory.",
            required=True,
        ),
        ParamSpec(
            "arguments",
            "list",
            "Arguments",
            "Command-line arguments. {inputs.NAME} and {outputs.NAME} expand to absolute "
            "paths, {parameters.NAME} to the pipeline parameter's value.",
            default=None,
        ),
        ParamSpec(
            "compute",
            "compute",
            "Compute",
            "Where the step runs: a Spark compute for Spark steps, a CPU pool for scripts.",
            required=True,
            compute_type=compute_type,
        ),
        ParamSpec(
            "environment",
            "environment",
            "Environment",
            "Python packages the step needs (an entry of the pipeline's environments).",
        ),
        ParamSpec(
            "allow_reuse",
            "boolean",
            "Allow reuse",
            "Reuse the outputs of an earlier run when code, data, arguments and settings are "
            "unchanged. Turn off for steps with side effects.",
            default=True,
        ),
    ]


def _memory(name: str, label: str, help: str) -> ParamSpec:
    return ParamSpec(name, "memory", label, help, group="Spark resources")


def _count(name: str, label: str, help: str) -> ParamSpec:
    return ParamSpec(name, "integer", label, help, group="Spark resources", minimum=1)


DATASET = NodeSpec(
    type="dataset",
    title="Dataset",
    category="Data",
    description="A file or folder of data (CSV, Parquet, ...) or a registered dataset version.",
    icon="dataset.svg",
    keywords=("data", "csv", "parquet", "table", "file", "input"),
    ports=PortRules(inputs=False, outputs=False),
    params=(
        ParamSpec(
            "kind",
            "choice",
            "Kind",
            "tabular: rows and columns read with its format. file: the files themselves, "
            "passed as paths.",
            default="tabular",
            choices=KINDS,
        ),
        ParamSpec(
            "path",
            "file",
            "Path",
            "File or folder, relative to the pipeline file (or an absolute path or URI).",
        ),
        ParamSpec(
            "from",
            "dataset",
            "Registered dataset",
            "dataset:NAME or dataset:NAME@VERSION: a dataset registered by an earlier run "
            "(instead of a path).",
        ),
        ParamSpec(
            "format.type",
            "choice",
            "Format",
            "How a tabular dataset is read.",
            default="csv",
            choices=FORMATS,
            group="Format",
        ),
        ParamSpec(
            "format.header",
            "boolean",
            "Header row",
            "CSV: the first line names the columns.",
            group="Format",
        ),
        ParamSpec(
            "format.delimiter", "string", "Delimiter", "CSV: the field separator.", group="Format"
        ),
        ParamSpec(
            "format.encoding", "string", "Encoding", "Text encoding, e.g. utf-8.", group="Format"
        ),
    ),
)

SPARK_STEP = NodeSpec(
    type="spark-step",
    title="Spark step",
    category="Steps",
    description="A PySpark script run on a Spark compute (the SynapseSparkStep).",
    icon="spark.svg",
    keywords=("spark", "pyspark", "synapse", "prep", "etl", "transform"),
    replaces=("synapse-spark-step", "spark"),
    entry_param="file",
    runs_on="spark",
    ports=PortRules(inputs=True, outputs=True, input_modes=("direct",), default_mode="direct"),
    params=tuple(
        _common_step_params("file", "Entry file", "spark")
        + [
            ParamSpec(
                "backend",
                "choice",
                "Backend",
                "connect: a warm Spark Connect server (fast). submit: spark-submit per run, for "
                "the classic API (RDDs, SparkContext). auto: submit when the script uses the "
                "classic API, else connect.",
                default="auto",
                choices=BACKENDS,
            ),
            _memory(
                "spark.driver_memory", "Driver memory", "Memory of the driver, e.g. 7g or 512m."
            ),
            _count("spark.driver_cores", "Driver cores", "Cores of the driver."),
            _memory(
                "spark.executor_memory", "Executor memory", "Memory of each executor, e.g. 7g."
            ),
            _count("spark.executor_cores", "Executor cores", "Cores of each executor."),
            _count("spark.num_executors", "Executors", "How many executors to start."),
            ParamSpec(
                "spark.conf",
                "mapping",
                "Spark configuration",
                "Extra Spark settings (spark.sql.shuffle.partitions: 8, ...).",
                group="Spark resources",
            ),
            ParamSpec(
                "py_files",
                "list",
                "Python files",
                "Extra .py/.zip/.egg files for the Python path, relative to the source directory.",
                group="Dependencies",
            ),
            ParamSpec(
                "jars",
                "list",
                "Jars",
                "Jar files for the driver and executors, relative to the source directory.",
                group="Dependencies",
            ),
            ParamSpec(
                "files",
                "list",
                "Files",
                "Files placed in each executor's working directory.",
                group="Dependencies",
            ),
        ]
    ),
)

SCRIPT_STEP = NodeSpec(
    type="script-step",
    title="Script step",
    category="Steps",
    description="A Python script run on a pool of CPU worker processes (the PythonScriptStep).",
    icon="script.svg",
    keywords=("python", "script", "train", "model", "cpu", "pandas"),
    replaces=("python-script-step", "script"),
    entry_param="script",
    runs_on="cpu-pool",
    ports=PortRules(inputs=True, outputs=True, default_mode="mount"),
    params=tuple(_common_step_params("script", "Script", "cpu-pool")),
)

NODE_SPECS: dict[str, NodeSpec] = {s.type: s for s in (DATASET, SPARK_STEP, SCRIPT_STEP)}
_REPLACED: dict[str, str] = {old: s.type for s in NODE_SPECS.values() for old in s.replaces}

COMPUTE_TYPES = ("spark", "cpu-pool")
PARAMETER_TYPES = ("string", "number", "integer", "boolean")


def spec(type_name: str) -> NodeSpec | None:
    """The spec of a node type, following `replaces` for renamed types."""
    return NODE_SPECS.get(type_name) or NODE_SPECS.get(_REPLACED.get(type_name, ""))


def canonical_type(type_name: str) -> str:
    return _REPLACED.get(type_name, type_name)


def kind_compatible(source_kind: str, input_kind: str) -> bool:
    """A tabular source feeds tabular or file inputs; a file source feeds only file inputs."""
    if source_kind == "tabular":
        return input_kind in ("tabular", "file")
    return input_kind == source_kind


def valid_memory(value: Any) -> bool:
    """``7g``, ``512m``, ``1024`` (bytes as Spark reads them) are valid; ``7 gigs`` is not."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and bool(MEMORY_RE.match(value.strip()))


def default_mode(node_type: str) -> str:
    s = spec(node_type)
    return s.ports.default_mode if s else "direct"
