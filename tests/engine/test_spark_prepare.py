"""SparkBackend.prepare: which steps get a Connect server (and the zygote) before they start.

Only the decision is tested here, with the server and zygote pools replaced by recorders; the
e2e tests start real ones.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.backends.spark import SparkBackend
from engine.pipeline.model import Compute, Node

CONNECT_CODE = "from pyspark.sql import SparkSession\nSparkSession.builder.getOrCreate()\n"
CLASSIC_CODE = "from pyspark import SparkContext\nSparkContext.getOrCreate()\n"


@pytest.fixture
def backend(monkeypatch):
    b = SparkBackend()
    b.started = []
    monkeypatch.setattr(
        b, "_server", lambda compute, python: b.started.append(("server", compute.name))
    )
    monkeypatch.setattr(b, "_zygote", lambda python: b.started.append(("zygote", None)))
    return b


def step(tmp_path: Path, name: str, code: str, compute: Compute, backend: str | None = None):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "main.py").write_text(code)
    params = {"compute": compute.name, "file": "main.py"}
    if backend:
        params["backend"] = backend
    return SimpleNamespace(
        node=Node(name, "spark-step", params),
        compute=compute,
        source_dir=folder,
        entry=folder / "main.py",
    )


LOCAL = Compute("local", "spark", master="local[2]")
REMOTE = Compute("remote", "spark", master="sc://localhost:15002")
COMPUTES = {c.name: c for c in (LOCAL, REMOTE)}


def test_an_auto_step_with_classic_code_gets_no_server(tmp_path, backend):
    backend.prepare([step(tmp_path, "rdd", CLASSIC_CODE, LOCAL)], COMPUTES)
    assert backend.started == []


def test_an_auto_step_with_session_code_gets_the_server_and_the_zygote(tmp_path, backend):
    backend.prepare([step(tmp_path, "df", CONNECT_CODE, LOCAL)], COMPUTES)
    assert backend.started == [("zygote", None), ("server", "local")]


@pytest.mark.parametrize(
    "code, chosen, compute, expected",
    [
        (CLASSIC_CODE, "connect", LOCAL, [("zygote", None), ("server", "local")]),  # as asked
        (CONNECT_CODE, "submit", LOCAL, []),
        (CONNECT_CODE, None, REMOTE, [("zygote", None)]),  # its server is elsewhere
        (CLASSIC_CODE, None, REMOTE, [("zygote", None)]),  # fails with a message when it starts
    ],
)
def test_explicit_backends_and_remote_servers(tmp_path, backend, code, chosen, compute, expected):
    backend.prepare([step(tmp_path, "s", code, compute, chosen)], COMPUTES)
    assert backend.started == expected
