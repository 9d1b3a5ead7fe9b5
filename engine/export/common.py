"""What every export target shares: checking the pipeline, walking steps, copying code, warnings.

An export never drops anything silently: whatever a target cannot express becomes a warning
(a Problem with severity "warning") in the ExportResult, naming the node and field.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.pipeline import registry
from engine.pipeline.graph import execution_order
from engine.pipeline.model import TEMPLATE_RE, InputPort, Node, Pipeline, output_kind
from engine.problems import PipelineError, Problem

TARGETS = ("azureml", "airflow", "shell")

# never copied with a step's code: caches, VCS data and Pipeloom's own run data
_IGNORED_NAMES = {"__pycache__", ".git", ".pipeloom", ".mypy_cache", ".pytest_cache", ".venv"}
_IGNORED_SUFFIXES = (".pyc", ".pyo")
# what each target reads from the pipeline file's `export:` section
EXPORT_SETTINGS = {
    "azureml": ("computes", "datastore"),
    "airflow": ("spark_conn_id", "computes"),
    "shell": ("computes",),
}
# names the exporters write beside the copied code folders
HELPER_DIR = "pipeloom_step"
RESERVED_NAMES = {"environments", "outputs", HELPER_DIR, "pipeline.yml", "run.sh"}
# the step helper's modules: standard library only, so they run anywhere
HELPER_MODULES = ("step.py", "stepcontext.py")


@dataclass
class ExportResult:
    target: str
    out_dir: Path
    files: list[Path] = field(default_factory=list)  # every file written, code copies included
    warnings: list[Problem] = field(default_factory=list)
    main_file: Path | None = None  # the file to hand to the target


@dataclass
class InputSource:
    """Where a step input reads from: a dataset node or another step's output."""

    node: Node
    output: str  # "data" for a dataset
    kind: str  # the input's effective kind
    mode: str  # the input's effective mode

    @property
    def is_dataset(self) -> bool:
        return self.node.type == "dataset"


class ExportContext:
    """One export in progress: the pipeline, its folders, and the warnings collected so far."""

    def __init__(self, pipeline: Pipeline, target: str, out_dir: str | os.PathLike):
        self.pipeline = pipeline
        self.target = target
        self.base_dir = pipeline_dir(pipeline)
        self.out_dir = Path(out_dir).resolve()
        self.result = ExportResult(target, self.out_dir)
        self._code_dirs: dict[Path, str] = {}
        self._helper_dirs: set[str] = set()

    # -- warnings ---------------------------------------------------------------------------
    def warn(self, node: str | None, field_: str | None, message: str) -> None:
        problem = Problem(node, field_, "warning", message)
        if problem not in self.result.warnings:  # said once, however many steps it concerns
            self.result.warnings.append(problem)

    def settings(self) -> dict[str, Any]:
        """The pipeline file's `export.<target>` section; unknown keys and computes warned about."""
        section = self.pipeline.export.get(self.target) or {}
        known = EXPORT_SETTINGS[self.target]
        for key in section:
            if key not in known:
                self.warn(
                    None,
                    f"export.{self.target}.{key}",
                    f"unknown setting, ignored (known: {', '.join(known)})",
                )
        for name in section.get("computes") or {}:
            if name not in self.pipeline.computes:
                self.warn(None, f"export.{self.target}.computes.{name}", "no such compute")
        return section

    # -- steps and inputs -------------------------------------------------------------------
    def steps(self) -> list[Node]:
        """Step nodes in execution order (topological, ties by file order)."""
        return [
            self.pipeline.nodes[name]
            for name in execution_order(self.pipeline)
            if registry.spec(self.pipeline.nodes[name].type).is_step
        ]

    def datasets(self) -> list[Node]:
        return [n for n in self.pipeline.nodes.values() if n.type == "dataset"]

    def source_of(self, node: Node, port: InputPort) -> InputSource | None:
        if port.source is None:
            return None
        resolved = self.pipeline.resolve_output(port.source)
        if resolved is None:  # validation reports dangling wires; check() refuses them first
            raise PipelineError(
                Problem(
                    node.name, f"inputs.{port.name}", "error", f"reads {port.source}: not found"
                )
            )
        src, output = resolved
        kind = port.kind or output_kind(src, output) or "tabular"
        return InputSource(src, output, kind, input_mode(node, port))

    # -- files ------------------------------------------------------------------------------
    def write(self, relative: str, text: str, executable: bool = False) -> Path:
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if executable:
            path.chmod(0o755)
        self.result.files.append(path)
        return path

    def copy_code(self, node: Node) -> str:
        """Copy the step's source_directory into the export once; its path relative to out_dir."""
        source = (self.base_dir / node.params.get("source_directory", ".")).resolve()
        if source in self._code_dirs:
            return self._code_dirs[source]
        if not source.is_dir():
            raise PipelineError(
                Problem(node.name, "source_directory", "error", f"{source} is not a folder")
            )
        taken = set(self._code_dirs.values()) | RESERVED_NAMES
        stem = safe_file_name(source.name if source != self.base_dir else "project")
        relative, i = stem, 2
        while relative in taken:
            relative, i = f"{stem}_{i}", i + 1
        target = self.out_dir / relative
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=self._ignore_for_copy)
        self.result.files.extend(p for p in sorted(target.rglob("*")) if p.is_file())
        self._code_dirs[source] = relative
        return relative

    def copy_step_helper(self, into: str = "", launcher: bool = False) -> str:
        """Pipeloom's step helper (stdlib only) in `into`/pipeloom_step, so steps that import
        `engine.step` run where Pipeloom is not installed; that folder, relative to out_dir.

        launcher: also the script that writes the step context and runs a step (Azure ML).
        """
        relative = f"{into}/{HELPER_DIR}" if into else HELPER_DIR
        if relative not in self._helper_dirs:
            engine = Path(__file__).resolve().parents[1]
            package = self.out_dir / relative / "engine"
            package.mkdir(parents=True, exist_ok=True)
            copies = [(engine / name, package / name) for name in HELPER_MODULES]
            if launcher:
                copies.append(
                    (Path(__file__).with_name("step_launcher.py"), package.parent / "launch.py")
                )
            for source, target in copies:
                shutil.copy2(source, target)
                self.result.files.append(target)
            init = package / "__init__.py"
            init.write_text('"""Pipeloom\'s step helper, copied by an export."""\n')
            self.result.files.append(init)
            self._helper_dirs.add(relative)
        return relative

    def _ignore_for_copy(self, folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        skipped = {n for n in names if n in _IGNORED_NAMES or n.endswith(_IGNORED_SUFFIXES)}
        # the export folder may sit inside the code folder: never copy it into itself
        skipped |= {n for n in names if (here / n) == self.out_dir}
        return skipped

    def relative_to_out(self, path: Path) -> str:
        """`path` as seen from the export folder when both are in the project, else absolute."""
        path = path.resolve()
        if self.out_dir.is_relative_to(self.base_dir) and path.is_relative_to(self.base_dir):
            return Path(os.path.relpath(path, self.out_dir)).as_posix()
        return path.as_posix()


def pipeline_dir(pipeline: Pipeline) -> Path:
    return Path(pipeline.path).resolve().parent if pipeline.path else Path.cwd()


def check(pipeline: Pipeline) -> None:
    """Refuse to export a pipeline with errors (the target would reject it or run it wrongly)."""
    from engine.planning.validate import validate

    problems = [p for p in validate(pipeline) if p.is_error]
    if problems:
        raise PipelineError(problems, pipeline.path)
    if not any(registry.spec(n.type).is_step for n in pipeline.nodes.values()):
        raise PipelineError("the pipeline has no steps: there is nothing to export", pipeline.path)


def input_mode(node: Node, port: InputPort) -> str:
    return port.mode or registry.default_mode(node.type)


def entry_file(node: Node) -> str:
    return node.params[registry.spec(node.type).entry_param]


def arguments(node: Node) -> list[str]:
    return [
        str(a) if not isinstance(a, bool) else str(a).lower()
        for a in node.params.get("arguments") or []
    ]


def expand(
    argument: str,
    inputs: Callable[[str], str],
    outputs: Callable[[str], str],
    parameters: Callable[[str], str],
) -> str:
    """Replace each {inputs.X} / {outputs.Y} / {parameters.Z} with what the callbacks return."""
    sections = {"inputs": inputs, "outputs": outputs, "parameters": parameters}
    return TEMPLATE_RE.sub(lambda m: sections[m.group(1)](m.group(2)), argument)


def spark_settings(node: Node) -> dict[str, Any]:
    """The Spark resources a step asks for, by Spark property name, then its extra conf."""
    conf: dict[str, Any] = {}
    for param, prop in SPARK_PROPERTIES.items():
        value = node.params.get(param)
        if value is not None:
            conf[prop] = value
    conf.update(node.params.get("spark.conf") or {})
    return conf


SPARK_PROPERTIES = {
    "spark.driver_cores": "spark.driver.cores",
    "spark.driver_memory": "spark.driver.memory",
    "spark.executor_cores": "spark.executor.cores",
    "spark.executor_memory": "spark.executor.memory",
    "spark.num_executors": "spark.executor.instances",
}


def dataset_reference(node: Node) -> tuple[str, str | None] | None:
    """(name, version|None) when a dataset node reads a registered dataset (`from: dataset:N@V`)."""
    ref = node.params.get("from")
    if not ref:
        return None
    name, _, version = str(ref).removeprefix("dataset:").partition("@")
    return name, version or None


def is_uri(path: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", path))


def dataset_is_file(ctx: ExportContext, node: Node) -> bool:
    """A dataset path names a file (not a folder): by the disk when it exists, else by suffix."""
    path = str(node.params.get("path") or "")
    if not path:
        return False
    if not is_uri(path):
        local = ctx.base_dir / path
        if local.exists():
            return local.is_file()
    return bool(Path(path.rstrip("/")).suffix) and not path.endswith("/")


def environment_requirements(ctx: ExportContext, name: str | None) -> list[str]:
    """The pip requirements of environment `name`: its pip list, then its requirements file."""
    if not name or name not in ctx.pipeline.environments:
        return []
    env = ctx.pipeline.environments[name]
    lines = list(env.pip)
    if env.requirements_file:
        path = ctx.base_dir / env.requirements_file
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PipelineError(
                Problem(None, f"environments.{name}.requirements_file", "error", f"{path}: {exc}")
            ) from None
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("-") else line
            if line:
                lines.append(line.strip())
    return lines


def uses_step_helper(ctx: ExportContext, node: Node) -> bool:
    """Whether the step's code reads its inputs through Pipeloom's step helper."""
    source = ctx.base_dir / node.params.get("source_directory", ".")
    for path in source.rglob("*.py"):
        if any(part in _IGNORED_NAMES for part in path.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "engine.step" in text or "engine.stepcontext" in text or "PIPELOOM_STEP_CONTEXT" in text:
            return True
    return False


def safe_file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name) or "code"


def identifier(name: str, taken: set[str], lower: bool = False) -> str:
    """`name` as a Python-style identifier not in `taken` (which it is added to)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if lower:
        base = base.lower()
    if not base or base[0].isdigit():
        base = f"_{base}"
    candidate, i = base, 2
    while candidate.lower() in {t.lower() for t in taken}:
        candidate, i = f"{base}_{i}", i + 1
    taken.add(candidate)
    return candidate


def compute_of(ctx: ExportContext, node: Node):
    name = node.params.get("compute")
    return ctx.pipeline.computes.get(name) if name else None


def input_context(ctx: ExportContext, src: InputSource, path: str) -> dict[str, Any]:
    """A step-context input entry (without `name`) for an input read from `src` at `path`."""
    if src.is_dataset:
        fmt = _dataset_format(src.node)
        is_file = dataset_is_file(ctx, src.node)
        uri = is_uri(str(src.node.params.get("path") or ""))
    else:
        port = src.node.output(src.output)
        fmt = dict(port.format) if port else {}
        is_file, uri = False, False
    return {
        "path": path,
        "kind": src.kind,
        "format": fmt,
        "mode": src.mode,
        "is_file": is_file,
        "is_folder": not is_file and not uri,
        "is_uri": uri,
    }


def _dataset_format(node: Node) -> dict[str, Any]:
    fmt = {"type": registry.DATASET.param("format.type").default}
    fmt.update(
        (key.removeprefix("format."), value)
        for key, value in node.params.items()
        if key.startswith("format.") and value is not None
    )
    return fmt
