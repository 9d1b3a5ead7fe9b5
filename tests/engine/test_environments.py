"""Step environments built for real: uv (and pip) installing tiny wheels made here, offline,
into the session's environment folder (tests/conftest.py: offline_environments)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wheels import make_wheel

from engine.environments import (
    EnvironmentBuildError,
    interpreter_for,
    planned_python,
    spec_of,
    state_of,
)
from engine.environments import cache as env_cache
from engine.environments.indexes import uv_options
from engine.pipeline.model import Environment


@pytest.fixture(scope="module")
def wheels(offline_environments):
    folder = offline_environments
    make_wheel(folder, "pipeloom-tiny", "0.1", "VALUE = 42\n")
    make_wheel(folder, "pipeloom-tiny", "0.2", "VALUE = 43\n")
    make_wheel(folder, "pipeloom-other", "1.0", "NAME = 'other'\n", requires=("pipeloom-tiny",))
    make_wheel(folder, "networkx", "0.1", "VERSION = 'fake networkx of the environment'\n")
    return folder


def _python_says(python: str, code: str) -> str:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_build_once_then_cached_and_an_edit_rebuilds(wheels, tmp_path):
    lines: list[str] = []
    env = Environment("tiny", pip=["pipeloom-other"])
    python = interpreter_for(env, tmp_path, lines.append)
    assert python == planned_python(env, tmp_path)
    assert any(line.startswith("environment tiny: built in ") for line in lines)
    assert "pipeloom_other==1.0" in lines[-1] and "pipeloom_tiny==0.2" in lines[-1]
    assert any("+ pipeloom-other==1.0" in line for line in lines)  # uv's own output
    # its packages, and Pipeloom's (pandas, pyspark) through the base interpreter
    said = _python_says(
        python,
        "import pipeloom_tiny, pipeloom_other, pandas, pyspark, sys; "
        "print(pipeloom_tiny.VALUE, pipeloom_other.NAME, sys.prefix, pandas.__file__)",
    )
    value, name, prefix, pandas_file = said.split()
    assert (value, name) == ("43", "other") and Path(prefix) == Path(python).parent.parent
    assert not pandas_file.startswith(prefix)  # not copied: seen from the base

    again: list[str] = []
    assert interpreter_for(env, tmp_path, again.append) == python
    assert len(again) == 1 and again[0].startswith("environment tiny: cached (2 packages")

    pinned = Environment("tiny", pip=["pipeloom-other", "pipeloom-tiny==0.1"])
    rebuilt: list[str] = []
    other = interpreter_for(pinned, tmp_path, rebuilt.append)
    assert other != python and rebuilt[-1].startswith("environment tiny: built")
    assert _python_says(other, "import pipeloom_tiny; print(pipeloom_tiny.VALUE)") == "42"


def test_an_environment_pins_its_own_version_of_a_base_package(wheels, tmp_path):
    env = Environment("pinned", pip=["networkx==0.1"])
    python = interpreter_for(env, tmp_path)
    said = _python_says(python, "import networkx, pandas; print(networkx.VERSION)")
    assert said == "fake networkx of the environment"
    # Pipeloom's own interpreter is untouched
    import networkx

    assert networkx.__version__ != "0.1"


def test_requirements_file_content_is_part_of_the_spec(wheels, tmp_path):
    (tmp_path / "requirements.txt").write_text("# tiny\npipeloom-tiny==0.1\n")
    env = Environment("fromfile", requirements_file="requirements.txt")
    first = spec_of(env, tmp_path)
    python = interpreter_for(env, tmp_path)
    assert _python_says(python, "import pipeloom_tiny; print(pipeloom_tiny.VALUE)") == "42"
    assert state_of(env, tmp_path).state == "built"
    (tmp_path / "requirements.txt").write_text("pipeloom-tiny==0.2\n")
    assert spec_of(env, tmp_path).key != first.key
    assert state_of(env, tmp_path).state == "not built"


def test_an_environment_without_packages_is_its_base_interpreter(tmp_path):
    assert interpreter_for(Environment("bare"), tmp_path) == sys.executable
    assert interpreter_for(None, tmp_path) == sys.executable


def test_unknown_package_fails_with_the_installers_message_and_leaves_nothing(wheels, tmp_path):
    env = Environment("broken", pip=["pipeloom-tiny", "surely-not-a-package-xyz>=2"])
    lines: list[str] = []
    with pytest.raises(EnvironmentBuildError) as info:
        interpreter_for(env, tmp_path, lines.append)
    message = str(info.value)
    assert message.startswith("environment 'broken' could not be built (uv exited with code")
    assert "surely-not-a-package-xyz" in message
    assert any("surely-not-a-package-xyz" in line for line in lines)  # streamed as it ran
    key = spec_of(env, tmp_path).key
    assert env_cache.read_built(key) is None and not env_cache.env_dir(key).exists()


def test_pip_builds_when_uv_cannot_run(wheels, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELOOM_ENV_INSTALLER", "pip")
    lines: list[str] = []
    env = Environment("withpip", pip=["pipeloom-tiny==0.2", "pandas>=2"])
    python = interpreter_for(env, tmp_path, lines.append)
    assert "built in" in lines[-1] and "with pip (1 package of its own" in lines[-1]
    assert _python_says(python, "import pipeloom_tiny, pandas; print(pipeloom_tiny.VALUE)") == "43"


_BUILD_SCRIPT = """
import sys
from pathlib import Path
from engine.environments import interpreter_for
from engine.pipeline.model import Environment
env = Environment(sys.argv[1], pip=sys.argv[2:])
interpreter_for(env, Path("."), lambda line: print(line, flush=True))
"""


def _build_process(name: str, pip: list[str], **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _BUILD_SCRIPT, name, *pip],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
        start_new_session=True,
    )


def test_two_processes_needing_the_same_environment_build_it_once(wheels, tmp_path):
    env = Environment("shared", pip=["pipeloom-tiny==0.1", "pipeloom-other"])
    lock = env_cache.KeyLock(spec_of(env, tmp_path).key)
    lock.acquire()  # both find no build and queue on the lock, then one builds
    try:
        procs = [_build_process("shared", env.pip) for _ in range(2)]
        first = [p.stdout.readline() for p in procs]
    finally:
        lock.release()
    assert all("waiting for another build of the same spec" in line for line in first), first
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    summaries = [o.strip().splitlines()[-1] for o in outputs]
    assert sorted(s.split(":")[1].split()[0] for s in summaries) == ["built", "cached"], outputs
    assert sum("+ pipeloom-tiny==0.1" in o for o in outputs) == 1


class StallingIndex:
    """A find-links page on 127.0.0.1 whose wheel downloads wait until released: a build that
    asks for one is half-way (its venv made, the installer waiting) for as long as needed."""

    def __init__(self, wheels: Path):
        import http.server
        import threading

        self.requested, self.release = threading.Event(), threading.Event()
        index = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(wheels), **kwargs)

            def do_GET(self):  # noqa: N802 - the http.server API
                if self.path.endswith(".whl"):
                    index.requested.set()
                    index.release.wait(60)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stalling_index(wheels):
    index = StallingIndex(wheels)
    yield index
    index.close()


def test_a_build_killed_half_way_is_rebuilt_next_time(stalling_index, tmp_path):
    pip = ["pipeloom-tiny==0.2", "pipeloom-other==1.0"]
    key = spec_of(Environment("killed", pip=pip), tmp_path).key
    proc = _build_process("killed", pip, PIP_FIND_LINKS=stalling_index.url)
    try:
        assert stalling_index.requested.wait(120), proc.communicate()[0]
        os.killpg(proc.pid, 9)
    finally:
        proc.wait()
        stalling_index.release.set()
    assert env_cache.env_dir(key).exists() and env_cache.read_built(key) is None
    again = _build_process("killed", pip)
    out = again.communicate(timeout=120)[0]
    assert again.returncode == 0, out
    assert "removing an incomplete earlier build" in out
    assert "environment killed: built" in out
    assert env_cache.read_built(key) is not None


def test_canceling_a_run_stops_its_build_and_keeps_nothing(stalling_index, tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).parent))
    from scriptproject import ScriptProject

    monkeypatch.setenv("PIP_FIND_LINKS", stalling_index.url)
    project = ScriptProject(tmp_path / "proj")
    project.data("in.txt", "hello\n")
    project.dataset("raw", "in.txt")
    project.environment("slow", ["pipeloom-other==1.0", "pipeloom-tiny==0.1"])
    project.step("a", {"inp": "raw"}, environment="slow")
    runner = project.runner()
    runner.start()
    try:
        assert stalling_index.requested.wait(120)
        runner.cancel()
        summary = runner.wait(60)
    finally:
        stalling_index.release.set()
    assert summary is not None and str(summary.status) == "Canceled"
    assert {s.step: str(s.status) for s in summary.steps} == {"a": "Canceled"}
    key = spec_of(project.pipeline.environments["slow"], tmp_path).key
    deadline = time.monotonic() + 30  # the abandoned step thread cleans up after the kill
    while env_cache.env_dir(key).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not env_cache.env_dir(key).exists() and env_cache.read_built(key) is None
    assert "step a read" not in runner.log_paths["a"].read_text()


def test_prune_removes_builds_unused_for_n_days(wheels, tmp_path):
    old = Environment("old", pip=["pipeloom-tiny==0.1", "pipeloom-other==1.0"])
    fresh = Environment("fresh", pip=["pipeloom-other==1.0", "pipeloom-tiny"])
    interpreter_for(old, tmp_path)
    interpreter_for(fresh, tmp_path)
    old_key = spec_of(old, tmp_path).key
    marker = env_cache.env_dir(old_key) / env_cache.MARKER
    ten_days_ago = time.time() - 10 * 86400
    os.utime(marker, (ten_days_ago, ten_days_ago))
    leftover = env_cache.root() / "0123456789abcdef0123"  # a killed build: no marker
    (leftover / "bin").mkdir(parents=True)
    stranger = env_cache.root() / "not-a-build"  # not ours to delete
    stranger.mkdir()
    removed = env_cache.prune(older_than_days=5)
    assert [b.key for b in removed] == [old_key]
    assert not env_cache.env_dir(old_key).exists() and not leftover.exists()
    assert stranger.is_dir()
    assert state_of(fresh, tmp_path).state == "built"
    assert json.loads(
        (env_cache.env_dir(spec_of(fresh, tmp_path).key) / env_cache.MARKER).read_text()
    )["names"] == ["fresh"]


def test_pip_configuration_becomes_uv_options(tmp_path):
    base = {"PATH": os.environ["PATH"], "PIP_CONFIG_FILE": os.devnull}
    options, _ = uv_options({**base, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path)})
    assert options == ["--no-index", "--find-links", str(tmp_path)]
    options, _ = uv_options(
        {
            **base,
            "PIP_INDEX_URL": "https://mirror.example/simple",
            "PIP_EXTRA_INDEX_URL": "https://a.example/simple https://b.example/simple",
        }
    )
    assert options == [
        "--index-url",
        "https://mirror.example/simple",
        "--extra-index-url",
        "https://a.example/simple",
        "--extra-index-url",
        "https://b.example/simple",
    ]
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://file.example/simple\n")
    options, _ = uv_options({"PATH": os.environ["PATH"], "PIP_CONFIG_FILE": str(conf)})
    assert options[:2] == ["--index-url", "https://file.example/simple"]  # (+ machine files)
    # uv configured by its own variables: left alone
    assert uv_options({**base, "PIP_NO_INDEX": "1", "UV_INDEX_URL": "https://x/simple"}) == (
        [],
        {},
    )


def test_a_cluster_step_ships_the_environments_own_packages(wheels, tmp_path):
    """spark-submit on a spark:// master: the zip of what the environment installed goes in
    --py-files; the driver runs the environment, the executors the cluster's Python."""
    import socket
    import zipfile

    from engine.backends.base import StepLaunch
    from engine.backends.spark import SparkBackend
    from engine.pipeline.model import Compute, Node

    env = Environment("shipped", pip=["pipeloom-other==1.0", "pipeloom-tiny==0.2"])
    python = interpreter_for(env, tmp_path)
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text("print('hi')\n")
    master_port = socket.create_server(("127.0.0.1", 0))  # a master that answers the probe
    master = f"spark://127.0.0.1:{master_port.getsockname()[1]}"
    launch = StepLaunch(
        run_id="run1",
        step="s",
        node=Node("s", "spark-step", {"compute": "c", "backend": "submit", "file": "main.py"}),
        compute=Compute("c", "spark", master=master),
        environment=env,
        python=python,
        workdir=tmp_path / "work",
        code_dir=code,
        entry=code / "main.py",
        args=[],
        env=dict(os.environ),
        context_file=tmp_path / "context.json",
        project_dir=tmp_path,
    )
    launch.workdir.mkdir()
    lines: list[str] = []
    with master_port:
        argv, child_env = SparkBackend().command(launch, lines.append)
    shipped = argv[argv.index("--py-files") + 1].split(",")[-1]
    assert (
        shipped.endswith("pipeloom-packages.zip")
        and Path(shipped).parent == Path(python).parents[1]
    )
    names = zipfile.ZipFile(shipped).namelist()
    assert "pipeloom_tiny/__init__.py" in names and "pipeloom_other/__init__.py" in names
    assert not any(n.endswith("_pipeloom_base.pth") for n in names)
    assert child_env["PYSPARK_DRIVER_PYTHON"] == python
    assert child_env["PYSPARK_PYTHON"] == sys.executable
    assert any(f"its packages go to the executors of {master}" in x for x in lines)
