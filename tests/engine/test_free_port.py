"""Ports for servers started a few seconds later: below the kernel's ephemeral range, where no
outgoing connection can take them meanwhile (a Connect server's JVM once found its port taken)."""

from __future__ import annotations

import socket

import pytest

from engine.backends import spark_settings
from engine.backends.spark_settings import free_port


def test_a_port_below_the_ephemeral_range_and_free():
    low, _high = spark_settings._ephemeral_range()
    ports = {free_port() for _ in range(20)}
    for port in ports:
        assert spark_settings._LOW_PORTS[0] <= port < min(low, spark_settings._LOW_PORTS[1])
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # still free
    assert len(ports) > 1  # picked at random: two servers starting at once do not collide


def test_a_port_taken_is_passed_over(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", spark_settings.free_port()))
        held = taken.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            other = probe.getsockname()[1]
        picks = iter([held, held, other])

        class Picker:
            def randrange(self, start, stop):
                return next(picks)

        monkeypatch.setattr(spark_settings.random, "SystemRandom", Picker)
        assert free_port() == other  # the two tries at the taken port failed


@pytest.mark.parametrize("content", ["1024 65535\n", "garbage", None])
def test_without_room_below_the_range_any_free_port(tmp_path, monkeypatch, content):
    path = tmp_path / "range"
    if content is not None:
        path.write_text(content)
    low, high = spark_settings._ephemeral_range(str(path))
    assert (low, high) == ((1024, 65535) if content == "1024 65535\n" else (32768, 60999))
    monkeypatch.setattr(spark_settings, "_ephemeral_range", lambda: (low, high))
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
