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
    """A ready Spark Connect server held for the whole session, stopped by PID at the end."""
    from engine.backends.connect_server import POOL, ServerKey

    key = ServerKey.of(SHARED_SPARK_MASTER, {}, sys.executable)
    server = POOL.acquire(key)
    try:
        yield server.wait()
    finally:
        POOL.release(key, keep_warm=False)
