"""Where the data of a dataset node, a step's output or a registered dataset version is.

A dataset node's data is its `path` (or the registered version its `from:` names); a step's
output is the folder its latest completed (or reused) run left in the datastore, or that of
a chosen run; a registered version is the path the run store recorded. Asking for data that
does not exist yet raises PreviewError saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import Status
from engine.pipeline.model import DATASET_OUTPUT, Node, Pipeline, Ref
from engine.preview.table import PreviewError
from engine.problems import PipelineError
from engine.storage.datastore import parse_dataset_ref
from engine.storage.store import RunStore

RUNS_SEARCHED = 500  # how far back the latest completed output of a step is looked for


@dataclass(frozen=True)
class DataLocation:
    """Data to preview: what it is (`label`), where, and how it is read."""

    label: str  # titanic | dataprep.output_dir | registered_dataset@2
    path: str
    format: dict[str, Any] = field(default_factory=dict)
    kind: str = "tabular"  # tabular | file
    run_id: str | None = None  # the run that wrote it (step outputs, registered versions)


def open_store(pipeline_path: str | Path | None) -> RunStore | None:
    """The run store beside a saved pipeline, or None when nothing has run there yet (looking
    creates nothing)."""
    if not pipeline_path:
        return None
    folder = Path(pipeline_path).resolve().parent / ".pipeloom"
    return RunStore(folder) if (folder / "runs.db").exists() else None


def locate_target(
    pipeline: Pipeline, target: str, run: str | None = None, store: RunStore | None = None
) -> DataLocation:
    """`NODE`, `NODE.OUTPUT` or `dataset:NAME[@VERSION]` of `pipeline`; `run` (an id, a
    unique prefix or 'latest') picks the run whose output is shown, else the latest that
    completed the step."""
    target = target.strip()
    if target.startswith("dataset:"):
        try:
            name, version = parse_dataset_ref(target)
        except PipelineError as exc:
            raise PreviewError(str(exc.problems[0].message)) from None
        return locate_dataset(store, name, version, pipeline)
    ref = Ref.parse(target)
    node = pipeline.nodes.get(ref.node)
    if node is None:
        names = ", ".join(pipeline.nodes) or "none"
        raise PreviewError(f"no node {ref.node!r} in pipeline {pipeline.name} (nodes: {names})")
    if node.type == "dataset":
        if ref.output not in (None, DATASET_OUTPUT):
            raise PreviewError(f"dataset {node.name} has one output, {DATASET_OUTPUT!r}")
        return _dataset_node(pipeline, node, store)
    return locate_output(pipeline, node, ref.output, run, store)


def locate_output(
    pipeline: Pipeline,
    node: Node,
    output: str | None,
    run: str | None = None,
    store: RunStore | None = None,
) -> DataLocation:
    """A step's output as written by run `run` (None: the latest run that completed it)."""
    if output is None:
        if len(node.outputs) != 1:
            names = ", ".join(p.name for p in node.outputs)
            raise PreviewError(
                f"step {node.name} has no outputs"
                if not node.outputs
                else f"step {node.name} has several outputs: name one ({names})"
            )
        output = node.outputs[0].name
    port = node.output(output)
    if port is None:
        names = ", ".join(p.name for p in node.outputs) or "none"
        raise PreviewError(f"step {node.name} has no output {output!r} (outputs: {names})")
    label = f"{node.name}.{output}"
    how = f"run the pipeline to produce it (`pipeloom run {pipeline.path or 'FILE'}`)"
    if store is None:
        raise PreviewError(f"{label} has no data yet: nothing has run; {how}")
    if run is not None:
        record = store.find_run(run)
        if record is None:
            raise PreviewError(f"no run {run!r} (or more than one run starts so)")
        path = _output_of(store, record.id, node.name, output)
        if path is None:
            raise PreviewError(f"{label} has no data in run {record.id}: the step did not complete")
        if not Path(path).exists():
            raise PreviewError(f"{label} of run {record.id}: {path} no longer exists")
        return DataLocation(label, path, dict(port.format), port.kind, record.id)
    for record in _runs_of(store, pipeline):
        path = _output_of(store, record.id, node.name, output)
        if path is not None and Path(path).exists():
            return DataLocation(label, path, dict(port.format), port.kind, record.id)
    raise PreviewError(f"{label} has no data yet: no run completed {node.name}; {how}")


def locate_dataset(
    store: RunStore | None, name: str, version: int | None, pipeline: Pipeline | None = None
) -> DataLocation:
    """Registered dataset NAME at `version` (None: the latest); the producing output's format
    when `pipeline` has that step."""
    found = store.dataset(name, version) if store is not None else None
    if found is None:
        which = f"version {version}" if version else "no version"
        raise PreviewError(f"registered dataset {name!r} has {which} (see `pipeloom datasets`)")
    fmt: dict[str, Any] = {}
    kind = "tabular"
    node = pipeline.nodes.get(found.step or "") if pipeline is not None else None
    port = node.output(found.output or "") if node is not None else None
    if port is not None:
        fmt, kind = dict(port.format), port.kind
    label = f"{found.name}@{found.version}"
    if not Path(found.path).exists():
        raise PreviewError(f"registered dataset {label}: {found.path} no longer exists")
    return DataLocation(label, found.path, fmt, kind, found.run_id)


def _dataset_node(pipeline: Pipeline, node: Node, store: RunStore | None) -> DataLocation:
    fmt = {k.split(".", 1)[1]: v for k, v in node.params.items() if k.startswith("format.")}
    if isinstance(node.params.get("format"), dict):
        fmt.update(node.params["format"])
    kind = node.params.get("kind") or "tabular"
    ref = node.params.get("from")
    if ref:
        try:
            name, version = parse_dataset_ref(str(ref))
        except PipelineError as exc:
            raise PreviewError(f"{node.name}.from: {exc.problems[0].message}") from None
        found = locate_dataset(store, name, version, pipeline)
        return DataLocation(node.name, found.path, fmt or found.format, kind, found.run_id)
    raw = str(node.params.get("path") or "")
    if not raw:
        raise PreviewError(f"dataset {node.name} has no path")
    base = Path(pipeline.path).resolve().parent if pipeline.path else Path.cwd()
    path = raw if "://" in raw else str((base / raw).resolve())
    if "://" not in path and not Path(path).exists():
        raise PreviewError(f"dataset {node.name}: {path} does not exist")
    return DataLocation(node.name, path, fmt, kind)


def _runs_of(store: RunStore, pipeline: Pipeline):
    mine = str(Path(pipeline.path).resolve()) if pipeline.path else None
    for record in store.runs(limit=RUNS_SEARCHED):
        if record.pipeline_path and mine:
            if record.pipeline_path == mine:
                yield record
        elif record.pipeline == pipeline.name:
            yield record


def _output_of(store: RunStore, run_id: str, step: str, output: str) -> str | None:
    for child in store.child_runs(run_id):
        if child.step == step and child.status in (Status.COMPLETED, Status.REUSED):
            return child.outputs.get(output)
    return None
