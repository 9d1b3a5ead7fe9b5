"""`pipeloom serve FILE`: keep the Spark Connect servers of a pipeline's computes warm.

While it runs, `pipeloom run`, the designer and the API use these servers (same master,
static conf and Python) instead of starting their own, so every run starts warm. Ctrl-C or
SIGTERM stops the servers (exit 0); a server that dies ends the command with exit 1.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time

from engine.cli import EXIT_FAILED, EXIT_OK, load_pipeline
from engine.problems import PipelineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="pipeline file (YAML)")


def _warm_up(server) -> None:
    """One small job, so the first real run finds the server warm; a failure only warns."""
    from pathlib import Path

    from engine.backends.connect_server import client_env

    start = time.monotonic()
    env = client_env(sys.executable)
    env.update(server.client_env(), SPARK_REMOTE=server.url())
    script = Path(__file__).resolve().parents[1] / "backends" / "server_warmup.py"
    try:
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"warning: warming up {server.key.master} failed: {exc}", file=sys.stderr)
        return
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        print(f"warning: warming up {server.key.master} failed:\n{tail}", file=sys.stderr)
        return
    print(f"warmed up in {time.monotonic() - start:.1f} s", flush=True)


def _environment_servers(pipeline, local) -> tuple[dict, set[str]]:
    """The servers of Spark steps with a built environment (its Python runs their UDFs), and
    the computes all of whose Spark steps have one. Each environment is built first, its
    output printed, as a run would build it."""
    from engine.backends.connect_server import ServerKey
    from engine.backends.spark import _server_python
    from engine.backends.spark_settings import master_of
    from engine.environments import interpreter_for
    from engine.planning.plan import project_dir

    computes = {c.name: c for c in local}
    keys: dict[ServerKey, str] = {}
    pythons: dict[str, str] = {}
    plain: set[str] = set()  # computes with a Spark step that runs with our own Python
    with_env: set[str] = set()
    for node in pipeline.nodes.values():
        compute = computes.get(node.params.get("compute"))
        if node.type != "spark-step" or compute is None:
            continue
        env_name = node.params.get("environment")
        env = pipeline.environments.get(env_name) if env_name else None
        if env is not None and env_name not in pythons:
            pythons[env_name] = interpreter_for(
                env, project_dir(pipeline), lambda line: print(line, flush=True)
            )
        python = pythons.get(env_name) if env is not None else None
        if python is not None:  # a cluster's executors run its own Python (spark.py)
            python = _server_python(compute, python)
        if python is None or python == sys.executable:
            plain.add(compute.name)
            continue
        with_env.add(compute.name)
        key = ServerKey.of(master_of(compute), compute.conf, python)
        label = f"{compute.name} (environment {env_name})"
        keys[key] = f"{keys[key]}, {label}" if key in keys else label
    return keys, with_env - plain


def run(args: argparse.Namespace) -> int:
    from engine.backends.connect_server import ServerKey
    from engine.backends.server_pool import POOL
    from engine.backends.shared_servers import find, publish, withdraw
    from engine.backends.spark_settings import is_remote_connect, master_of
    from engine.java import find_java

    pipeline = load_pipeline(args.file)
    computes = [c for c in pipeline.computes.values() if c.type == "spark"]
    local = [c for c in computes if not is_remote_connect(master_of(c))]
    if not local:
        raise PipelineError(
            f"{args.file} has no Spark compute that runs here (computes: "
            f"{', '.join(pipeline.computes) or 'none'}); sc:// servers are served elsewhere"
        )
    find_java()  # one clear line when Java is missing, before any server starts
    keys: dict[ServerKey, str] = {}  # computes with the same master and conf share a server
    env_keys, env_only = _environment_servers(pipeline, local)
    for c in local:
        if c.name in env_only:  # each of its Spark steps runs with an environment's Python
            continue
        key = ServerKey.of(master_of(c), c.conf, sys.executable)
        keys[key] = f"{keys[key]}, {c.name}" if key in keys else c.name
    keys.update(env_keys)
    served = []
    try:
        for key, name in keys.items():
            other = find(key)
            if other is not None:
                print(f"{name}: already served by process {other.shared_owner} ({other.url()})")
                continue
            start = time.monotonic()
            server = POOL.acquire(key)
            print(f"{name}: starting a Spark Connect server for {key.master} ...", flush=True)
            publish(server)
            served.append(server)
            print(
                f"{name}: ready at {server.url()} after {time.monotonic() - start:.1f} s "
                f"(log: {server.log_path})",
                flush=True,
            )
        if not served:
            return EXIT_OK
        for server in served:
            _warm_up(server)
        stop = threading.Event()  # Ctrl-C while starting cancels (exit 130); from here it stops
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        print("Runs of this pipeline's Spark steps use these servers; Ctrl-C stops them.")
        sys.stdout.flush()
        while not stop.wait(1.0):
            dead = [s for s in served if not s.alive()]
            if dead:
                for server in dead:
                    tail = "\n".join("  " + line for line in server.log_tail(10))
                    print(
                        f"the server for {server.key.master} stopped; its log ends with:\n{tail}",
                        file=sys.stderr,
                    )
                return EXIT_FAILED
        print("stopping the servers")
        return EXIT_OK
    finally:
        for server in served:
            withdraw(server)
        POOL.stop_all()
