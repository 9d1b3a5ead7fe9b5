"""Cluster computes without a cluster: Ray addresses in the file, the datastore warning for
remote computes, file:// datastores, address parsing, the backend chosen per compute."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.backends import backend_name
from engine.backends.reachability import ComputeUnreachable, require_reachable
from engine.fileformat import yamlio
from engine.pipeline.computes import host_port
from engine.pipeline.model import Compute
from engine.planning.plan import datastore_root
from engine.planning.validate import validate
from engine.problems import PipelineError
from engine.running.schedule import compute_capacity
from engine.storage.shared import SHARED_MOUNTS_ENV, datastore_path, unshared_datastore

PIPELINE = """\
pipeloom: 1
name: c
{datastore}computes:
  rc: {{type: cpu-pool, master: "{master}"}}
nodes:
  a:
    type: script-step
    compute: rc
    source_directory: code
    script: a.py
"""


def load(tmp_path: Path, master: str, datastore: str | None = None):
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "a.py").write_text("print(1)\n")
    path = tmp_path / "pipeline.yaml"
    ds = f"datastore: {datastore}\n" if datastore else ""
    path.write_text(PIPELINE.format(master=master, datastore=ds))
    return yamlio.load(str(path))


def test_a_ray_compute_loads_saves_and_picks_the_ray_backend(tmp_path):
    p = load(tmp_path, "ray://head.example:10001")
    compute = p.computes["rc"]
    assert compute.master == "ray://head.example:10001"
    assert backend_name(compute, p.nodes["a"]) == "ray"
    assert backend_name(Compute("x", "cpu-pool", workers=2), p.nodes["a"]) == "cpu"
    assert compute_capacity(compute) == 8  # the cluster queues what it cannot run yet
    assert "master: ray://head.example:10001" in yamlio.dumps(p)


def test_a_cpu_pool_master_that_is_not_ray_is_ignored_with_a_warning(tmp_path):
    p = load(tmp_path, "local[*]")  # older files: master meant nothing for a cpu-pool
    [problem] = validate(p, str(tmp_path))
    assert problem.severity == "warning" and problem.field == "computes.rc.master"
    assert "not a Ray address, so it is ignored" in problem.message
    assert backend_name(p.computes["rc"], p.nodes["a"]) == "cpu"
    assert compute_capacity(p.computes["rc"]) == (os.cpu_count() or 1)


def test_a_remote_compute_with_a_local_datastore_is_warned(tmp_path):
    p = load(tmp_path, "ray://head.example:10001")
    [problem] = validate(p, str(tmp_path))
    assert problem.severity == "warning" and problem.field == "datastore"
    assert "'rc' (ray://head.example:10001)" in problem.message
    assert str(tmp_path / ".pipeloom" / "datastore") in problem.message


def test_a_declared_shared_datastore_is_not_warned(tmp_path):
    shared = tmp_path / "mnt" / "shared"
    p = load(tmp_path, "ray://head.example:10001", f"file://{shared}/ds")
    assert validate(p, str(tmp_path)) == []
    assert datastore_root(p) == shared / "ds"
    p = load(tmp_path, "ray://head.example:10001", f"{shared}/ds")
    assert unshared_datastore(p, str(tmp_path), {SHARED_MOUNTS_ENV: str(shared)}) is None
    assert unshared_datastore(p, str(tmp_path), {SHARED_MOUNTS_ENV: "/elsewhere"})


def test_a_loopback_cluster_sees_this_machines_files(tmp_path):
    p = load(tmp_path, "ray://127.0.0.1:10001")
    assert validate(p, str(tmp_path)) == []


def test_file_datastore_paths():
    assert datastore_path("file:///mnt/x") == "/mnt/x"
    assert datastore_path("file://localhost/mnt/x") == "/mnt/x"
    assert datastore_path("rel/x") == "rel/x"
    with pytest.raises(PipelineError, match="file:///PATH"):
        datastore_path("file://otherhost/mnt/x")


def test_addresses():
    assert host_port("spark://h1:7077", 1) == ("h1", 7077)
    assert host_port("sc://h:15002/;token=abc", 1) == ("h", 15002)
    assert host_port("ray://10.0.0.5", 10001) == ("10.0.0.5", 10001)
    assert host_port("http://h:8265", 1) == ("h", 8265)


def test_an_unreachable_master_is_named(unused_port):
    compute = Compute("big", "spark", master=f"spark://127.0.0.1:{unused_port}")
    with pytest.raises(ComputeUnreachable) as caught:
        require_reachable(compute, timeout=2)
    assert f"compute 'big': cannot reach spark://127.0.0.1:{unused_port}" in str(caught.value)


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
