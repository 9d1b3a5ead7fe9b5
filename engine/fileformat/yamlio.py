"""Pipeline files (format 1): load, loads, dumps, save — the public API of YAML I/O.

    p = load("pipeline.yaml")     # PipelineError listing every located problem
    text = dumps(p)               # canonical text: stable key and node order
    save(p)                       # atomic; keeps comments and key order of a hand-edited file

Reading: engine.fileformat.parse (safe, strict parsing), engine.fileformat.migrate (older formats), engine.fileformat.schema
(tree <-> model). Writing: engine.fileformat.emit (canonical text), engine.fileformat.write (atomic write,
hand edits kept with ruamel.yaml's round-trip mode).
"""

from __future__ import annotations

import os
from typing import Any

from engine.fileformat.migrate import file_version, migrate
from engine.fileformat.parse import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_VALUES,
    check_text,
    decode,
    parse_tree,
    read_text,
)
from engine.fileformat.schema import Reader, pipeline_to_data, read_node, read_pipeline
from engine.fileformat.schema import node_to_data as _node_to_data
from engine.gcpause import gc_paused
from engine.pipeline.model import FORMAT_VERSION, Node, Pipeline, valid_name
from engine.problems import PipelineError, Problem

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "PipelineError",
    "dumps",
    "load",
    "loads",
    "node_from_data",
    "node_to_data",
    "save",
]

# files known to hold exactly the canonical text we wrote: real path -> hash of that text
_canonical_files: dict[str, int] = {}


@gc_paused
def loads(text: str | bytes, path: str | os.PathLike | None = None) -> Pipeline:
    """The pipeline in `text`; raises PipelineError with every problem, located."""
    name = os.fspath(path) if path is not None else None
    text = decode(text, name) if isinstance(text, bytes) else check_text(text, name)
    tree = migrate(parse_tree(text, name), name)
    return read_pipeline(tree, Reader(name))


def load(path: str | os.PathLike) -> Pipeline:
    """The pipeline in the file at `path` (pipeline.path is set to it)."""
    name = os.fspath(path)
    p = loads(read_text(name), name)
    p.path = name
    return p


@gc_paused
def dumps(p: Pipeline) -> str:
    """The canonical text of a pipeline: loads(dumps(p)) == p, and dumps(loads(t)) == t for
    canonical t."""
    from engine.fileformat.emit import (
        emit_document,  # writers load on first save: validate stays fast
    )

    return emit_document(pipeline_to_data(p))


def save(p: Pipeline, path: str | os.PathLike | None = None) -> None:
    """Write `p` to `path` (default: p.path) atomically and set p.path.

    Saving back to the file it was loaded from keeps the comments and key order a person wrote
    there, changing only what differs; otherwise the canonical text is written.
    """
    target = os.fspath(path) if path is not None else p.path
    if target is None:
        raise PipelineError("the pipeline has no file yet: choose where to save it")
    from engine.fileformat.write import atomic_write

    canonical = dumps(p)
    text = canonical
    if p.path is not None and _same_file(p.path, target):
        text = _keep_hand_edits(target, canonical, p)
    atomic_write(target, text)
    real = os.path.realpath(target)
    if text is canonical:
        _canonical_files[real] = hash(text)
    else:
        _canonical_files.pop(real, None)
    p.path = target


def node_to_data(node: Node) -> dict[str, Any]:
    """A node as the mapping the file holds under ``nodes: NAME:`` (canonical key order)."""
    return _node_to_data(node)


def node_from_data(name: str, data: Any) -> Node:
    """A node from a mapping as in the file; raises PipelineError when it does not fit."""
    r = Reader()
    if not valid_name(name):
        r.error(name, None, f"node name {name!r} is not allowed: use letters, digits, _ and -")
    node = read_node(r, name, data)
    r.raise_if_problems()
    if node is None:  # read_node reports why
        raise PipelineError(f"node {name!r} could not be read")
    return node


# -- saving over a hand-edited file --------------------------------------------------------


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _keep_hand_edits(target: str, new_text: str, p: Pipeline) -> str:
    """The text to write over `target`: its hand edits kept when it has any."""
    try:
        existing = read_text(target)
    except PipelineError:
        return new_text  # gone or unreadable: nothing to keep
    if existing == new_text or _canonical_files.get(os.path.realpath(target)) == hash(existing):
        return new_text
    try:
        tree = parse_tree(existing)
        if file_version(tree) != FORMAT_VERSION:
            return new_text  # an older format is rewritten in the current one
        old = read_pipeline(tree, Reader())
    except PipelineError:
        return new_text  # broken on disk: the model being saved replaces it
    from engine.fileformat.emit import emit_document
    from engine.fileformat.write import patch_text

    old_data = pipeline_to_data(old)
    if emit_document(old_data) == existing:
        return new_text
    try:
        text = patch_text(existing, old_data, pipeline_to_data(p))
        if loads(text) == p:
            return text
    except Exception:  # noqa: BLE001 - any ruamel failure falls back to the canonical text
        pass
    return new_text


__all__ += ["Problem"]
