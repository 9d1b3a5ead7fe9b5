"""Copy a selection of nodes out as data and paste it back with fresh, non-clashing names.

A fragment is plain data, the same shape as the pipeline file:

    {"pipeloom-fragment": 1, "origin": "...", "nodes": {...},
     "computes": {...}, "environments": {...}, "parameters": {...}}

holding the selected nodes and the computes, environments and parameters they use, so a paste
into another pipeline (another window, via the clipboard's text) brings what the nodes need.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from engine.fileformat.emit import emit_document
from engine.fileformat.parse import check_text, parse_tree
from engine.fileformat.schema import (
    Reader,
    compute_to_data,
    describe,
    did_you_mean,
    environment_to_data,
    key_at,
    node_to_data,
    parameter_to_data,
    plain,
    read_computes,
    read_environments,
    read_nodes,
    read_parameters,
    value_at,
)
from engine.pipeline.changes import AddNode, Group, SetEntry
from engine.pipeline.model import Node, Pipeline, Ref, templates_in
from engine.problems import PipelineError, Problem

FRAGMENT_VERSION = 1
FRAGMENT_KEY = "pipeloom-fragment"
_SECTIONS = ("computes", "environments", "parameters", "nodes")


def origin_of(p: Pipeline) -> str:
    """Which pipeline a fragment came from: its file, or this process's unsaved pipeline."""
    if p.path:
        return os.path.realpath(p.path)
    return f"unsaved:{os.getpid()}:{id(p)}"


def copy_nodes(p: Pipeline, names: list[str] | set[str]) -> dict[str, Any]:
    """The fragment of the named nodes (in pipeline order) and what they reference."""
    wanted = set(names)
    missing = wanted - set(p.nodes)
    if missing:
        raise KeyError(f"no node named {sorted(missing)[0]!r}")
    nodes = [n for n in p.nodes.values() if n.name in wanted]
    computes = {n.params.get("compute") for n in nodes}
    environments = {n.params.get("environment") for n in nodes}
    parameters = {
        name
        for n in nodes
        for value in n.params.values()
        for section, name in templates_in(value)
        if section == "parameters"
    }
    fragment: dict[str, Any] = {FRAGMENT_KEY: FRAGMENT_VERSION, "origin": origin_of(p)}
    sections = (
        ("computes", p.computes, computes, compute_to_data),
        ("environments", p.environments, environments, environment_to_data),
        ("parameters", p.parameters, parameters, parameter_to_data),
    )
    for section, entries, used, to_data in sections:
        chosen = {k: to_data(v) for k, v in entries.items() if k in used}
        if chosen:
            fragment[section] = chosen
    fragment["nodes"] = {n.name: node_to_data(n) for n in nodes}
    return fragment


def paste(
    p: Pipeline, fragment: dict[str, Any], offset: tuple[float, float] = (0.0, 0.0)
) -> tuple[Group, list[str]]:
    """The change that adds the fragment's nodes to `p` (not applied yet) and their new names.

    Names that clash get a fresh one; `from:` between pasted nodes follows the new names; a
    reference to a node outside the fragment is kept only when pasting back into the pipeline
    it was copied from and that node still exists, else the input stays, unconnected.
    Computes, environments and parameters the pipeline lacks are added by the same Group.
    """
    r = Reader()
    sections = _read_fragment(r, fragment)
    r.raise_if_problems()
    same_pipeline = fragment.get("origin") == origin_of(p)
    changes: list = []
    for section in ("computes", "environments", "parameters"):
        existing = getattr(p, section)
        for name, entry in sections[section].items():
            if name not in existing:
                changes.append(SetEntry(section, name, entry))
    pasted: dict[str, Node] = sections["nodes"]
    taken: set[str] = set()
    renamed: dict[str, str] = {}
    for old in pasted:
        renamed[old] = p.unique_node_name(old, taken)
        taken.add(renamed[old])
    dx, dy = offset
    for old, node in pasted.items():
        node = copy.deepcopy(node)
        node.name = renamed[old]
        if node.position is not None:
            node.position = (node.position[0] + dx, node.position[1] + dy)
        for port in node.inputs:
            src = port.source
            if src is None:
                continue
            if src.node in renamed:
                port.source = Ref(renamed[src.node], src.output)
            elif not (same_pipeline and src.node in p.nodes):
                port.source = None
        changes.append(AddNode(node))
    new_names = [renamed[old] for old in pasted]
    label = "Paste node" if len(new_names) == 1 else f"Paste {len(new_names)} nodes"
    return Group(changes, label=label), new_names


def fragment_to_text(fragment: dict[str, Any]) -> str:
    """The fragment as YAML text (for the system clipboard)."""
    return emit_document(fragment)


def fragment_from_text(text: str) -> dict[str, Any]:
    """The fragment in clipboard text (a fragment, or a whole pipeline file), read with the
    same strict, safe loader as pipeline files; anything else is a PipelineError."""
    tree = parse_tree(check_text(text, "<clipboard>"), "<clipboard>")
    if not isinstance(tree, dict) or not (FRAGMENT_KEY in tree or "pipeloom" in tree):
        raise PipelineError(
            f"the clipboard holds no Pipeloom nodes (found {describe(tree)})", "<clipboard>"
        )
    r = Reader("<clipboard>")
    _read_fragment(r, tree)
    r.raise_if_problems()
    fragment = {FRAGMENT_KEY: FRAGMENT_VERSION}
    if isinstance(tree.get("origin"), str):
        fragment["origin"] = tree["origin"]
    for section in _SECTIONS:
        if section in tree and tree[section] is not None:
            fragment[section] = plain(tree[section])
    return fragment


def _read_fragment(r: Reader, tree: Any) -> dict[str, dict]:
    """The model objects of a fragment's sections; problems go to `r`."""
    out: dict[str, dict] = {s: {} for s in _SECTIONS}
    if not isinstance(tree, dict):
        r.error(None, None, f"a fragment is a mapping, not {describe(tree)}")
        return out
    pipeline_file = FRAGMENT_KEY not in tree
    version_key = "pipeloom" if pipeline_file else FRAGMENT_KEY
    version = tree.get(version_key)
    if version != FRAGMENT_VERSION or isinstance(version, bool):
        r.error(
            None,
            version_key,
            f"{version_key} {describe(version)} is not supported (this Pipeloom reads "
            f"{FRAGMENT_VERSION})",
            value_at(tree, version_key),
        )
        return out
    readers = {
        "computes": read_computes,
        "environments": read_environments,
        "parameters": read_parameters,
        "nodes": read_nodes,
    }
    allowed = (version_key, "origin", *_SECTIONS)
    for key, value in tree.items():
        if key in readers:
            out[key] = readers[key](r, value, value_at(tree, key))
        elif key == "origin" and (value is None or isinstance(value, str)):
            continue
        elif not pipeline_file and key not in allowed:
            r.error(
                None,
                key,
                f"unknown key {key!r} in a fragment{did_you_mean(key, allowed)}",
                key_at(tree, key),
            )
    return out


__all__ = [
    "FRAGMENT_KEY",
    "Problem",
    "copy_nodes",
    "fragment_from_text",
    "fragment_to_text",
    "origin_of",
    "paste",
]
