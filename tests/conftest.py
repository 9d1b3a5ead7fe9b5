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
