"""The plan of a run, made before anything starts: order, fingerprints, reuse decisions.

A run with nothing to do is known here, so it starts no Spark. `--from STEP` runs STEP and
everything downstream; `--only STEP...` runs just those (selected steps always run); steps
they read from are reused (their outputs from an earlier run with the same fingerprint) or
the plan is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from engine.gcpause import gc_paused
from engine.pipeline import registry
from engine.pipeline.graph import build_graph, execution_order
from engine.pipeline.model import PARAMETER_TEMPLATE_RE, Compute, Environment, Node, Pipeline
from engine.planning.fingerprint import Hasher, hash_json, is_uri, local_imports, output_fingerprint
from engine.problems import PipelineError, Problem, errors
from engine.storage.datastore import Datastore, parse_dataset_ref
from engine.storage.store import ChildRunRecord, RunStore

DEFAULT_DATASTORE = ".pipeloom/datastore"
# settings that change where/whether a step runs but not what it computes
_NOT_FINGERPRINTED = {"allow_reuse", "compute", "environment", "source_directory", "arguments"}


@dataclass
class PlanOptions:
    parameters: dict[str, Any] = field(default_factory=dict)  # overrides of the defaults
    regenerate_outputs: bool = False
    from_step: str | None = None
    only: list[str] = field(default_factory=list)


@dataclass
class InputPlan:
    name: str
    source_node: str
    source_output: str
    source_is_step: bool
    kind: str
    mode: str
    format: dict[str, Any]
    location: str | None  # dataset path/URI or reused output; None until the upstream step runs
    fingerprint: str


@dataclass
class OutputPlan:
    name: str
    kind: str
    format: dict[str, Any]
    register_as: str | None
    destination: str | None


@dataclass
class StepPlan:
    name: str
    node: Node
    compute: Compute
    environment: Environment | None
    source_dir: Path
    entry: Path
    fingerprint: str
    inputs: list[InputPlan]
    outputs: list[OutputPlan]
    upstream: list[str]  # steps whose outputs this step reads
    action: str  # "run" | "reuse"
    reason: str  # why it runs or which run it reuses
    reused: ChildRunRecord | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # the ones its arguments use
    python: str | None = None  # its environment's interpreter, known before it is built


@dataclass
class Plan:
    pipeline: Pipeline
    project_dir: Path
    datastore: Datastore
    parameters: dict[str, Any]
    steps: dict[str, StepPlan]  # execution order
    warnings: list[Problem] = field(default_factory=list)

    @property
    def to_run(self) -> list[StepPlan]:
        return [s for s in self.steps.values() if s.action == "run"]

    @property
    def nothing_to_do(self) -> bool:
        return not self.to_run


def project_dir(pipeline: Pipeline) -> Path:
    return Path(pipeline.path).resolve().parent if pipeline.path else Path.cwd()


def datastore_root(pipeline: Pipeline) -> Path:
    from engine.storage.shared import datastore_path  # file:///PATH -> /PATH

    return (
        project_dir(pipeline) / datastore_path(pipeline.datastore or DEFAULT_DATASTORE)
    ).resolve()


def resolve_parameters(pipeline: Pipeline, overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults with `--param k=v` overrides converted to each parameter's type."""
    values = {name: p.default for name, p in pipeline.parameters.items()}
    problems = []
    for name, raw in overrides.items():
        param = pipeline.parameters.get(name)
        if param is None:
            known = ", ".join(pipeline.parameters) or "none"
            problems.append(f"unknown parameter {name!r} (parameters: {known})")
            continue
        try:
            values[name] = _convert(raw, param.type)
        except ValueError:
            problems.append(f"parameter {name!r} is a {param.type}; {raw!r} is not")
    if problems:
        raise PipelineError([Problem(None, "parameters", "error", m) for m in problems])
    return values


def _convert(raw: Any, type_name: str) -> Any:
    if not isinstance(raw, str):
        return raw
    if type_name == "integer":
        return int(raw)
    if type_name == "number":
        return float(raw)
    if type_name == "boolean":
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(raw)
    return raw


@gc_paused
def make_plan(
    pipeline: Pipeline, store: RunStore, options: PlanOptions | None = None, validate: bool = True
) -> Plan:
    """The plan of a run; raises PipelineError (with every problem) when it cannot run."""
    options = options or PlanOptions()
    base = project_dir(pipeline)
    warnings: list[Problem] = []
    g = build_graph(pipeline)
    if validate:
        from engine.planning.validate import validate as validate_pipeline

        known = {}
        for d in store.datasets():
            known.setdefault(d.name, set()).add(str(d.version))
        problems = validate_pipeline(pipeline, base, known_datasets=known, graph=g)
        if errors(problems):
            raise PipelineError(errors(problems), pipeline.path)
        warnings = [p for p in problems if not p.is_error]
    parameters = resolve_parameters(pipeline, options.parameters)
    order = execution_order(pipeline, g)
    hasher = Hasher(store)
    builder = _PlanBuilder(pipeline, store, hasher, base, parameters)
    try:
        for name in order:
            builder.add(pipeline.nodes[name])
    finally:
        hasher.flush()
    steps = builder.steps
    selected = _selection(pipeline, g, steps, options)
    # earlier runs of every step, in a few queries rather than one per step
    earlier = store.completed_with_fingerprints(s.fingerprint for s in steps.values())
    plan_steps: dict[str, StepPlan] = {}
    chosen = set(selected)
    needed = set(selected)
    todo = list(selected)
    while todo:  # everything the selection reads from, transitively
        for upstream in steps[todo.pop()].upstream:
            if upstream not in needed:
                needed.add(upstream)
                todo.append(upstream)
    unavailable = []
    for name in order:
        if name not in needed:
            continue
        step = steps[name]
        if name in chosen:
            _decide(step, plan_steps, options, earlier.get(step.fingerprint, ()))
        else:
            step.reused = _reusable(earlier.get(step.fingerprint, ()))
            if step.reused is None:
                unavailable.append(name)
                continue
            step.action, step.reason = "reuse", f"not selected; outputs of run {step.reused.run_id}"
        plan_steps[name] = step
    if unavailable:
        raise PipelineError(
            [
                Problem(
                    n,
                    None,
                    "error",
                    f"the selected steps read outputs of {n!r}, which has no completed run with "
                    "its current code, data and settings; run it first (or include it)",
                )
                for n in unavailable
            ],
            pipeline.path,
        )
    _fill_reused_locations(plan_steps)
    datastore = Datastore(datastore_root(pipeline))
    return Plan(pipeline, base, datastore, parameters, plan_steps, warnings)


def _selection(
    pipeline: Pipeline, g: nx.MultiDiGraph, steps: dict[str, StepPlan], options: PlanOptions
) -> list[str]:
    for name in ([options.from_step] if options.from_step else []) + list(options.only):
        if name not in steps:
            what = "a dataset, not a step" if name in pipeline.nodes else "not a node"
            known = ", ".join(steps) or "none"
            raise PipelineError(f"cannot select {name!r}: it is {what} (steps: {known})")
    chosen: set[str] = set(steps)
    if options.from_step:
        chosen = {options.from_step} | {d for d in nx.descendants(g, options.from_step)}
    if options.only:
        chosen = chosen & set(options.only) if options.from_step else set(options.only)
    return [n for n in steps if n in chosen]


def _decide(
    step: StepPlan,
    planned: dict[str, StepPlan],
    options: PlanOptions,
    earlier: Iterable[ChildRunRecord],
) -> None:
    """Run or reuse `step`; `earlier`: completed runs with its fingerprint, newest first."""
    runs_upstream = [u for u in step.upstream if u in planned and planned[u].action == "run"]
    if options.regenerate_outputs:
        step.action, step.reason = "run", "--regenerate-outputs"
    elif options.from_step or options.only:
        step.action, step.reason = "run", "selected with --from/--only"
    elif not step.node.params.get("allow_reuse", True):
        step.action, step.reason = "run", "allow_reuse is off"
    elif runs_upstream:
        step.action, step.reason = "run", f"upstream {', '.join(runs_upstream)} runs"
    else:
        step.reused = _reusable(earlier)
        if step.reused is None:
            step.action, step.reason = "run", "no earlier run with this fingerprint"
        else:
            step.action, step.reason = "reuse", f"outputs of run {step.reused.run_id}"


def _reusable(earlier: Iterable[ChildRunRecord]) -> ChildRunRecord | None:
    """The newest of these completed child runs whose outputs all still exist."""
    for record in earlier:
        if all(Path(p).exists() for p in record.outputs.values()):
            return record
    return None


def _fill_reused_locations(steps: dict[str, StepPlan]) -> None:
    for step in steps.values():
        for inp in step.inputs:
            if inp.source_is_step and inp.location is None:
                upstream = steps[inp.source_node]
                if upstream.action == "reuse" and upstream.reused is not None:
                    inp.location = upstream.reused.outputs.get(inp.source_output)


class _PlanBuilder:
    """Fingerprints nodes in execution order; dataset nodes resolve to a location."""

    def __init__(self, pipeline, store, hasher, base, parameters):
        self.pipeline: Pipeline = pipeline
        self.store: RunStore = store
        self.hasher: Hasher = hasher
        self.base: Path = base
        self.parameters = parameters
        self.datasets: dict[str, tuple[str, str, str, dict]] = {}  # name -> loc, fp, kind, fmt
        self.steps: dict[str, StepPlan] = {}
        self._entry_files: set[Path] | None = None
        self._data_memo: dict[str, str] = {}  # location -> fingerprint, once per plan
        self._locations: dict[str, str] = {}  # dataset path as written -> location
        self._code_memo: dict[tuple[str, str], tuple[Path, Path, str | None, str]] = {}
        self._shared_memo: dict[tuple, str] = {}  # see _shared

    def add(self, node: Node) -> None:
        spec = registry.spec(node.type)
        if node.type == "dataset" or (spec and spec.type == "dataset"):
            self.datasets[node.name] = self._dataset(node)
        elif spec is not None and spec.is_step:
            self.steps[node.name] = self._step(node, spec)

    def _dataset(self, node: Node) -> tuple[str, str, str, dict]:
        fmt = _format_of(node)
        kind = node.params.get("kind", "tabular")
        ref = node.params.get("from")
        if ref:
            dataset_name, version = parse_dataset_ref(str(ref))
            found = self.store.dataset(dataset_name, version)
            if found is None:
                which = f"version {version}" if version else "any version"
                raise PipelineError(
                    Problem(node.name, "from", "error", f"dataset {dataset_name!r} has no {which}"),
                    self.pipeline.path,
                )
            location = found.path
        else:
            raw = str(node.params.get("path") or "")
            location = self._locations.get(raw)
            if location is None:  # many dataset nodes may name the same file
                location = raw if is_uri(raw) else str((self.base / raw).resolve())
                self._locations[raw] = location
        try:
            fingerprint = self._data_memo.get(location)
            if fingerprint is None:  # many dataset nodes may name the same file
                fingerprint = self._data_memo[location] = self.hasher.data(location)
        except FileNotFoundError:
            raise PipelineError(
                Problem(
                    node.name, "path", "error", f"dataset file or folder {location} is missing"
                ),
                self.pipeline.path,
            ) from None
        return location, fingerprint, kind, fmt

    def _code(self, source_rel: str, entry_rel: str) -> tuple[Path, Path, str | None, str]:
        """Source folder, entry file, code fingerprint (None: no entry file) and the entry
        relative to the folder, once per pair.

        Many steps share a folder and script; resolving and hashing once keeps big plans linear.
        """
        key = (source_rel, entry_rel)
        found = self._code_memo.get(key)
        if found is None:
            source_dir = (self.base / source_rel).resolve()
            entry = (source_dir / entry_rel).resolve()
            code = None
            if entry.is_file():
                code = self.hasher.code(source_dir, self._other_entries(source_dir, entry))
            found = self._code_memo[key] = (
                source_dir,
                entry,
                code,
                os.path.relpath(entry, source_dir),
            )
        return found

    def _step(self, node: Node, spec: registry.NodeSpec) -> StepPlan:
        p = self.pipeline
        source_dir, entry, code, entry_rel = self._code(
            str(node.params.get("source_directory") or "."),
            str(node.params.get(spec.entry_param or "script") or ""),
        )
        compute = p.computes[node.params["compute"]]
        env_name = node.params.get("environment")
        environment = p.environments.get(env_name) if env_name else None
        inputs, upstream = [], []
        default_mode = spec.ports.default_mode
        for port in node.inputs:
            if port.source is None:
                continue
            src, out = p.resolve_output(port.source)
            mode = port.mode or default_mode
            dataset = self.datasets.get(src.name)
            if dataset is not None:
                location, fp, src_kind, fmt = dataset
                kind = port.kind or src_kind or "tabular"
                inputs.append(
                    InputPlan(port.name, src.name, out, False, kind, mode, fmt, location, fp)
                )
            else:
                upstream_step = self.steps[src.name]
                port_out = src.output(out)
                kind = port.kind or (port_out.kind if port_out else None) or "tabular"
                fmt = dict(port_out.format) if port_out else {}
                fp = output_fingerprint(upstream_step.fingerprint, out)
                inputs.append(InputPlan(port.name, src.name, out, True, kind, mode, fmt, None, fp))
                if src.name not in upstream:
                    upstream.append(src.name)
        outputs = [
            OutputPlan(o.name, o.kind, dict(o.format), o.register_as, o.destination)
            for o in node.outputs
        ]
        arguments = node.params.get("arguments") or []
        used = _parameters_used(arguments)
        used_params = {n: self.parameters.get(n) for n in sorted(used)}
        if code is None:
            raise PipelineError(
                Problem(node.name, spec.entry_param, "error", f"entry file {entry} does not exist"),
                p.path,
            )
        parts = {
            # what many steps share (code, entry, compute conf, environment), hashed once
            "shared": self._shared(spec.type, entry_rel, code, compute, environment),
            "arguments": arguments,
            "parameters": used_params,
            "settings": {k: v for k, v in node.params.items() if k not in _NOT_FINGERPRINTED},
            "inputs": {i.name: [i.fingerprint, i.kind, i.format] for i in inputs},
            "outputs": [[o.name, o.kind, o.format] for o in outputs],
        }
        return StepPlan(
            name=node.name,
            node=node,
            compute=compute,
            environment=environment,
            source_dir=source_dir,
            entry=entry,
            fingerprint=hash_json(parts),
            inputs=inputs,
            outputs=outputs,
            upstream=upstream,
            action="run",
            reason="",
            parameters=used_params,
        )

    def _shared(
        self,
        step_type: str,
        entry_rel: str,
        code: str,
        compute: Compute,
        environment: Environment | None,
    ) -> str:
        """The fingerprint of what steps with the same code, compute and environment share.

        Hashed once per combination: an environment's requirements file is read once per plan,
        not once per step.
        """
        key = (step_type, entry_rel, code, compute.name, environment.name if environment else None)
        found = self._shared_memo.get(key)
        if found is None:
            found = self._shared_memo[key] = hash_json(
                {
                    "type": step_type,
                    "entry": entry_rel,
                    "code": code,
                    "spark_conf": compute.conf if compute.type == "spark" else None,
                    "environment": _environment_spec(environment, self.base),
                }
            )
        return found

    def _entries(self) -> set[Path]:
        """The entry files of all steps (computed once per plan)."""
        if self._entry_files is None:
            raw = set()
            for other in self.pipeline.nodes.values():
                other_spec = registry.spec(other.type)
                if other_spec is None or not other_spec.is_step:
                    continue
                other_dir = str(other.params.get("source_directory") or ".")
                raw.add((other_dir, str(other.params.get(other_spec.entry_param) or "")))
            self._entry_files = {(self.base / d / e).resolve() for d, e in raw}
        return self._entry_files

    def _other_entries(self, source_dir: Path, entry: Path) -> set[str]:
        """Entry files of other steps in the same folder that this step does not import.

        Two steps sharing a source_directory: editing one's script reruns only that step.
        """
        others = {e for e in self._entries() if e != entry and source_dir in e.parents}
        others = {e.relative_to(source_dir).as_posix() for e in others}
        if not others:
            return set()
        return others - local_imports(entry, source_dir)


def _parameters_used(arguments: list) -> set[str]:
    """Names of the pipeline parameters that ``{parameters.NAME}`` templates use."""
    used: set[str] = set()
    for arg in arguments:
        if isinstance(arg, str):
            if "{parameters." in arg:  # most arguments are plain words or port templates
                used.update(PARAMETER_TEMPLATE_RE.findall(arg))
        elif isinstance(arg, list):
            used |= _parameters_used(arg)
    return used


def _format_of(node: Node) -> dict[str, Any]:
    fmt = {k.split(".", 1)[1]: v for k, v in node.params.items() if k.startswith("format.")}
    if isinstance(node.params.get("format"), dict):
        fmt.update(node.params["format"])
    return fmt


def _environment_spec(env: Environment | None, base: Path) -> Any:
    if env is None:
        return None
    req_text = None
    if env.requirements_file:
        try:
            req_text = (base / env.requirements_file).read_text(encoding="utf-8")
        except OSError:
            req_text = None
    return {"pip": list(env.pip), "requirements": req_text, "python": env.python}
