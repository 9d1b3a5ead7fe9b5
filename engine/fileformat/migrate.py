"""Upgrades of older pipeline files, one format version at a time, before the model is built.

Each migration turns the tree of format N into the tree of format N + 1; `migrate` runs the
chain from the file's `pipeloom: N` up to FORMAT_VERSION. Format 1 is the first format, so the
chain is empty today; a migration is registered with ``@migration(N)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.pipeline.model import FORMAT_VERSION
from engine.problems import PipelineError, Problem

Migration = Callable[[dict], dict]
MIGRATIONS: dict[int, Migration] = {}


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register `fn` as the upgrade from `from_version` to `from_version + 1`."""

    def register(fn: Migration) -> Migration:
        if from_version >= FORMAT_VERSION:
            raise ValueError(f"format {from_version} is not older than {FORMAT_VERSION}")
        MIGRATIONS[from_version] = fn
        return fn

    return register


def rename_key(m: dict, old: str, new: str) -> None:
    """Rename a key in place, keeping its position (and, for a read tree, its location)."""
    if old not in m:
        return
    items = [((new if k == old else k), v) for k, v in m.items()]
    at = getattr(m, "at", None)
    m.clear()
    m.update(items)
    if at is not None and old in at:
        at[new] = at.pop(old)


def file_version(tree: Any, path: str | None = None) -> int:
    """The `pipeloom: N` of a read tree; a missing or unusable version is a PipelineError."""
    from engine.fileformat.schema import describe, value_at

    if not isinstance(tree, dict):
        return FORMAT_VERSION  # not a pipeline at all: the schema reports it
    if "pipeloom" not in tree:
        raise PipelineError(
            [
                Problem(
                    None,
                    "pipeloom",
                    "error",
                    f"missing the format version: add 'pipeloom: {FORMAT_VERSION}' as the first line",
                    1,
                    1,
                )
            ],
            path,
        )
    version = tree["pipeloom"]
    at = value_at(tree, "pipeloom") or (None, None)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise PipelineError(
            [
                Problem(
                    None,
                    "pipeloom",
                    "error",
                    f"the format version is a whole number such as {FORMAT_VERSION}, "
                    f"not {describe(version)}",
                    *at,
                )
            ],
            path,
        )
    if version > FORMAT_VERSION:
        raise PipelineError(
            [
                Problem(
                    None,
                    "pipeloom",
                    "error",
                    f"written in format {version} by a newer Pipeloom; this one reads formats up "
                    f"to {FORMAT_VERSION}: update Pipeloom",
                    *at,
                )
            ],
            path,
        )
    return version


def migrate(tree: Any, path: str | None = None) -> Any:
    """The tree upgraded to FORMAT_VERSION (unchanged when already current)."""
    version = file_version(tree, path)
    while version < FORMAT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            from engine.fileformat.schema import value_at

            at = value_at(tree, "pipeloom") or (None, None)
            raise PipelineError(
                [
                    Problem(
                        None,
                        "pipeloom",
                        "error",
                        f"format {version} is not supported: no upgrade from it to "
                        f"format {version + 1} exists",
                        *at,
                    )
                ],
                path,
            )
        tree = step(tree)
        version += 1
        tree["pipeloom"] = version
    return tree
