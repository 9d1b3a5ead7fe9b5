"""Building an environment: a virtual environment made from its base interpreter, which also sees
the base's packages (pyspark, pandas, ...) unless the environment pins other versions, with
the environment's requirements installed by uv (or `venv` + pip when uv cannot run).

The base's packages are visible through a .pth file that adds the base's site-packages after the
environment's own, so what the environment installs wins. uv does not look through .pth files,
so it is told to leave out (--excludes) the base's packages that already satisfy what the
environment names; pip sees them on sys.path by itself. Every requirement the environment names
is checked in the result before the build is marked complete.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from engine.environments import cache
from engine.environments.check import missing_requirements
from engine.environments.indexes import uv_options
from engine.environments.spec import EnvSpec
from engine.problems import PipelineError

LogFn = Callable[[str], None]
INSTALLER_ENV = "PIPELOOM_ENV_INSTALLER"  # uv | pip: force one (default: uv when it runs)
BASE_PTH = "_pipeloom_base.pth"
TAIL_LINES = 3  # installer lines quoted in the step's failure message

# runs in the base interpreter: its site folders and installed distributions
_BASE_SCRIPT = r"""
import json, site, sys, sysconfig
from importlib import metadata
dirs = []
for d in [*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]:
    if d not in dirs:
        dirs.append(d)
dists = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name and name not in dists:
        dists[name] = dist.version
print(json.dumps({"site": dirs, "dists": dists, "tag": "python%d.%d" % sys.version_info[:2]}))
"""


class EnvironmentBuildError(PipelineError):
    """An environment could not be built; the message names it and quotes the installer."""

    def __str__(self) -> str:
        return self.problems[0].message


class BuildCanceled(EnvironmentBuildError):
    """The run was canceled while the environment was built (nothing of it is kept)."""


Canceled = Callable[[], bool]


def _never() -> bool:
    return False


_installers: set[subprocess.Popen] = set()  # running now; killed if this process exits
_installers_lock = threading.Lock()


@atexit.register
def _kill_installers() -> None:
    with _installers_lock:
        for process in list(_installers):
            process.kill()


@dataclass
class Outcome:
    built: cache.Built
    cached: bool  # reused a complete earlier build
    seconds: float  # time this call took

    @property
    def python(self) -> str:
        return str(self.built.python)

    def summary(self, name: str) -> str:
        count = len(self.built.packages)
        own = f"{count} package{'s' if count != 1 else ''} of its own"
        if self.cached:
            return (
                f"environment {name}: cached ({own}, ready in {self.seconds * 1000:.0f} ms) "
                f"at {self.built.path}"
            )
        listed = f": {', '.join(self.built.packages)}" if 0 < count <= 8 else ""
        return (
            f"environment {name}: built in {self.seconds:.1f} s with {self.built.installer} "
            f"({own}{listed}) at {self.built.path}"
        )


def ensure_built(spec: EnvSpec, log: LogFn, canceled: Canceled = _never) -> Outcome:
    """The complete build of `spec`, made now when there is none; the installer's output and a
    one-line summary go to `log`. Two callers (threads or processes) build it once. When
    `canceled()` turns true the build stops (BuildCanceled) and leaves nothing."""
    start = time.monotonic()
    built = cache.read_built(spec.key)
    if built is not None:
        cache.touch(built)
        return Outcome(built, True, time.monotonic() - start)
    lock = cache.KeyLock(spec.key)
    if not lock.acquire(
        waiting=lambda: log(f"environment {spec.name}: waiting for another build of the same spec"),
        canceled=canceled,
    ):
        raise BuildCanceled(f"environment {spec.name!r}: canceled while waiting for its build")
    try:
        built = cache.read_built(spec.key)  # built by whoever held the lock
        if built is not None:
            cache.touch(built)
            return Outcome(built, True, time.monotonic() - start)
        folder = cache.env_dir(spec.key)
        if folder.exists():
            log(f"environment {spec.name}: removing an incomplete earlier build at {folder}")
            shutil.rmtree(folder)
        try:
            built = _build(spec, folder, log, start, canceled)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return Outcome(built, False, time.monotonic() - start)
    finally:
        lock.release()


def _build(
    spec: EnvSpec, folder: Path, log: LogFn, start: float, canceled: Canceled
) -> cache.Built:
    log(f"environment {spec.name}: building ({spec.describe()}) from {spec.base_python}")
    installer = choose_installer()
    sources = None
    if installer == "uv":  # pip's configuration is read (slowly) while the venv is made
        reader = ThreadPoolExecutor(1, thread_name_prefix="pipeloom-env")
        sources = reader.submit(uv_options)
        reader.shutdown(wait=False)  # its one task still runs; the thread ends with it
    base = _base_info(spec)
    python = cache.python_of(folder)
    reqs = spec.requirements()
    if installer == "uv":
        argv = [uv_binary(), "venv", "--no-project", "--python", spec.base_python, str(folder)]
    else:
        argv = [spec.base_python, "-m", "venv", "--without-pip", str(folder)]
    _run(spec, argv, log, installer, canceled)
    site_dir = folder / "lib" / base["tag"] / "site-packages"
    lines = [f"import site; site.addsitedir({d!r})" for d in base["site"]]
    (site_dir / BASE_PTH).write_text("\n".join(lines) + "\n", encoding="utf-8")
    targets = [*spec.pip]
    if spec.requirements_file is not None:
        targets += ["-r", str(spec.requirements_file)]
    if installer == "uv":
        options, extra_env = sources.result()
        excludes = folder / "pipeloom-excludes.txt"
        excludes.write_text("\n".join(_satisfied_by_base(reqs, base["dists"])) + "\n")
        argv = [uv_binary(), "pip", "install", "--python", str(python), "--excludes"]
        _run(spec, [*argv, str(excludes), *options, *targets], log, installer, canceled, extra_env)
    else:
        argv = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-input"]
        _run(spec, [*argv, *targets], log, installer, canceled)
    missing = missing_requirements(reqs, str(python))
    if missing:
        listed = "; ".join(f"{req} ({why})" for req, why in missing.items())
        raise EnvironmentBuildError(
            f"environment {spec.name!r} could not be built: after installing, it lacks {listed}"
        )
    built = cache.Built(
        key=spec.key,
        path=folder,
        names=[spec.name],
        spec=spec.describe(),
        packages=own_packages(site_dir),
        installer=installer,
        seconds=time.monotonic() - start,
        built_at=time.time(),
        last_used=time.time(),
    )
    cache.write_marker(
        folder,
        {
            "names": built.names,
            "spec": built.spec,
            "base_python": spec.base_python,
            "packages": built.packages,
            "installer": installer,
            "seconds": round(built.seconds, 3),
            "built_at": built.built_at,
        },
    )
    return built


def _base_info(spec: EnvSpec) -> dict:
    if spec.base_python == sys.executable:  # ours: asked here, without starting a process
        namespace: dict = {}
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(_BASE_SCRIPT, namespace)
        return json.loads(out.getvalue())
    try:
        out = subprocess.run(
            [spec.base_python, "-c", _BASE_SCRIPT], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise EnvironmentBuildError(
            f"environment {spec.name!r}: cannot run python {spec.base_python}: {e}"
        ) from None
    if out.returncode != 0:
        raise EnvironmentBuildError(
            f"environment {spec.name!r}: python {spec.base_python} failed: "
            f"{out.stderr.strip()[-300:]}"
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _satisfied_by_base(reqs: list[str], dists: dict[str, str]) -> list[str]:
    """The base's packages to leave out: all of them, except those the environment names with
    a version the base does not have (those it installs for itself)."""
    from packaging.requirements import InvalidRequirement, Requirement

    own: set[str] = set()
    for text in reqs:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue  # the installer reports it in its own words
        version = next((v for n, v in dists.items() if _normalize(n) == _normalize(req.name)), None)
        if version is None or (
            req.specifier and not req.specifier.contains(version, prereleases=True)
        ):
            own.add(_normalize(req.name))
    return sorted(n for n in dists if _normalize(n) not in own)


def own_packages(site_dir: Path) -> list[str]:
    """name==version of each distribution installed in the environment itself."""
    found = []
    for info in sorted(site_dir.glob("*.dist-info")):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        found.append(f"{name}=={version}")
    return found


_uv: str | None = None
_uv_runs: bool | None = None  # asked once per process


def uv_binary() -> str:
    """The uv executable: the one installed with Pipeloom, else one on PATH."""
    global _uv
    if _uv is None:
        try:
            from uv import find_uv_bin

            _uv = find_uv_bin()
        except (ImportError, FileNotFoundError):
            _uv = shutil.which("uv") or "uv"
    return _uv


def choose_installer() -> str:
    """uv when it runs here (or as PIPELOOM_ENV_INSTALLER says), else pip."""
    forced = os.environ.get(INSTALLER_ENV, "").strip().lower()
    if forced in ("uv", "pip"):
        return forced
    global _uv_runs
    if _uv_runs is None:
        try:
            ok = subprocess.run([uv_binary(), "--version"], capture_output=True, timeout=30)
            _uv_runs = ok.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _uv_runs = False
    return "uv" if _uv_runs else "pip"


def _run(
    spec: EnvSpec,
    argv: list[str],
    log: LogFn,
    installer: str,
    canceled: Canceled,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Run one build command, its output streamed to `log`; fail with its last lines. A
    watcher kills it as soon as `canceled()` says so."""
    env = dict(os.environ)
    env.update(NO_COLOR="1", PYTHONUNBUFFERED="1", **(extra_env or {}))
    env.pop("PYTHONPATH", None)  # the build must see the base interpreter, not ours
    env.pop("VIRTUAL_ENV", None)
    tail: list[str] = []
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
        )
    except OSError as e:
        raise EnvironmentBuildError(
            f"environment {spec.name!r} could not be built: cannot run {argv[0]}: {e.strerror}"
        ) from None
    with _installers_lock:
        _installers.add(process)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            if canceled():
                process.kill()
                return

    watcher = threading.Thread(target=watch, name="pipeloom-env-watch", daemon=True)
    watcher.start()
    try:
        with process:
            for line in process.stdout:
                line = line.rstrip()
                if line:
                    log(f"  {line}")
                    tail = [*tail[-(TAIL_LINES * 4) :], line]
    finally:
        stop.set()
        with _installers_lock:
            _installers.discard(process)
    if canceled():
        raise BuildCanceled(f"environment {spec.name!r}: build canceled")
    if process.returncode != 0:
        meaningful = [t for t in tail if t.strip() and not t.startswith(("Using ", "hint:"))]
        quoted = " | ".join(t.strip() for t in (meaningful or tail)[-TAIL_LINES:])
        raise EnvironmentBuildError(
            f"environment {spec.name!r} could not be built ({installer} exited with code "
            f"{process.returncode}): {quoted}"
        )
