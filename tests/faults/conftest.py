"""Fixtures of the fault-injection suite (helpers live in faultkit.py)."""

from __future__ import annotations

import pytest
from faultkit import alive, kill_quietly


@pytest.fixture(scope="module")
def published(spark_connect_server):
    """The session's warm server, offered to other processes the way `pipeloom serve` does
    (engine.backends.shared_servers): CLI runs of local[*] computes use it, no cold start."""
    from engine.backends import shared_servers

    path = shared_servers.publish(spark_connect_server)
    yield spark_connect_server, path
    shared_servers.withdraw(spark_connect_server)


@pytest.fixture
def cleanup_pids():
    """Pids a test saw; whatever is still alive at the end is killed (a failed test leaks nothing)."""
    pids: set[int] = set()
    yield pids
    kill_quietly(p for p in pids if alive(p))
