"""Where a compute's steps run, read from its master: this machine, a Ray cluster, other hosts.

Pure functions of engine.pipeline.model.Compute, shared by validation (a datastore that a
cluster cannot see), scheduling (a Ray cluster queues its own work) and the backends.
"""

from __future__ import annotations

import urllib.parse

from engine.pipeline.model import Compute

RAY_SCHEMES = ("ray://", "http://", "https://")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_ray(compute: Compute) -> bool:
    """A cpu-pool whose steps run on a Ray cluster (its master is a Ray address)."""
    master = compute.master
    return compute.type == "cpu-pool" and isinstance(master, str) and master.startswith(RAY_SCHEMES)


def is_remote(compute: Compute) -> bool:
    """Steps on this compute run on other machines (a cluster), not only on this one."""
    master = compute.master if isinstance(compute.master, str) else ""
    if compute.type == "cpu-pool":
        return is_ray(compute)
    return not (master == "" or master.startswith("local"))


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """(host, port) of spark://, sc://, ray:// or http:// address."""
    scheme, _, rest = address.partition("://")
    parsed = urllib.parse.urlsplit("http://" + rest.split(";", 1)[0].split(",", 1)[0])
    return parsed.hostname or "", parsed.port or default_port


def on_loopback(compute: Compute) -> bool:
    """A cluster on this very machine (127.0.0.1, localhost) sees this machine's files."""
    master = compute.master if isinstance(compute.master, str) else ""
    hosts = [
        host_port(part if "://" in part else "x://" + part, 0)[0] for part in master.split(",")
    ]
    return bool(hosts) and all(h in LOOPBACK_HOSTS for h in hosts)
