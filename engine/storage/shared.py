"""Whether a cluster's nodes can see the datastore: `file://` datastores and shared mounts.

Steps on a cluster (Ray, a Spark master or Connect server on another host) read their inputs
and write their outputs by path, so the datastore must be on a filesystem every node mounts
at the same path. A datastore counts as shared when it is written `file:///ABS/PATH` (the
user says every node mounts it) or lies under a mount listed in PIPELOOM_SHARED_MOUNTS
(colon-separated absolute paths, a setting of this machine). Pure Python, no I/O beyond
resolving paths.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.pipeline.computes import is_remote, on_loopback
from engine.pipeline.model import Compute, Pipeline
from engine.problems import PipelineError

SHARED_MOUNTS_ENV = "PIPELOOM_SHARED_MOUNTS"


def datastore_path(text: str) -> str:
    """The filesystem path of a datastore setting: `file:///abs` -> `/abs`, else as written."""
    if not text.startswith("file:"):
        return text
    rest = text[len("file:") :]
    if rest.startswith("///"):
        return rest[2:]
    if rest.startswith("//localhost/"):
        return rest[len("//localhost") :]
    raise PipelineError(
        f"datastore {text!r}: a file:// datastore must be an absolute path every node mounts, "
        "written file:///PATH"
    )


def shared_mounts(env: dict[str, str] | None = None) -> list[Path]:
    env = os.environ if env is None else env
    return [Path(p) for p in (env.get(SHARED_MOUNTS_ENV) or "").split(os.pathsep) if p]


def cluster_computes(pipeline: Pipeline) -> list[Compute]:
    """Computes some step uses whose nodes are other machines."""
    computes = (n.params.get("compute") for n in pipeline.nodes.values())
    used = {c for c in computes if isinstance(c, str)}
    return [
        c
        for name, c in pipeline.computes.items()
        if name in used and isinstance(c, Compute) and is_remote(c) and not on_loopback(c)
    ]


def unshared_datastore(
    pipeline: Pipeline, base_dir: str | None, env: dict[str, str] | None = None
) -> str | None:
    """Why the datastore is not visible to the pipeline's cluster computes, or None when it is."""
    computes = cluster_computes(pipeline)
    if not computes:
        return None
    text = pipeline.datastore or ".pipeloom/datastore"
    if not isinstance(text, str) or text.startswith("file:"):
        return None  # declared shared by the user
    path = Path(text)
    if not path.is_absolute():
        if base_dir is None:
            where = f"{text} (relative to the pipeline file)"
        else:
            path = (Path(base_dir) / path).resolve()
            where = f"{text} ({path})"
    else:
        where = text
    if path.is_absolute() and any(_under(path, m) for m in shared_mounts(env)):
        return None
    names = ", ".join(f"{c.name!r} ({c.master})" for c in computes)
    return (
        f"the datastore {where} is on this machine only, but compute {names} runs steps on "
        "other machines, which cannot read inputs or write outputs there: put it on a mount "
        "every node shares and write it as file:///MOUNT/PATH (or list the mount in "
        f"{SHARED_MOUNTS_ENV}); see docs/clusters.md"
    )


def _under(path: Path, mount: Path) -> bool:
    try:
        path.resolve().relative_to(mount.resolve())
        return True
    except ValueError:
        return False
