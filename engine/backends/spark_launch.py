"""The java command that `spark-class org.apache.spark.deploy.SparkSubmit ARGS` would exec.

spark-class runs a first JVM (Spark's launcher) only to compute the second JVM's command line;
that costs 0.4-0.7 s per start here. The command depends only on Spark's installation, the
Java, the arguments and SPARK_*/HADOOP_* settings, so it is computed once and kept in the
cache folder. With a conf/spark-env.sh (which may compute anything) spark-class is used as is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

from engine.java import Java
from engine.userdirs import cache_dir

LAUNCHER = "org.apache.spark.launcher.Main"
SUBMIT = "org.apache.spark.deploy.SparkSubmit"
_NOT_IN_KEY = ("SPARK_CONNECT_AUTHENTICATE_TOKEN",)  # read by the JVM, never by the launcher
# per-start values inside JVM options: cached with a placeholder, filled in at each start
_PER_START = re.compile(r"(-XX:DumpLoadedClassList=)\S+")
_PLACEHOLDER = "@PIPELOOM_PER_START@"


def _scala_version(home: str) -> str:
    """load-spark-env.sh exports it; the launcher fails without it."""
    try:
        text = Path(home, "bin", "load-spark-env.sh").read_text(encoding="utf-8")
    except OSError:
        return "2.13"
    match = re.search(r"^export SPARK_SCALA_VERSION=(\S+)", text, re.MULTILINE)
    return match.group(1) if match else "2.13"


def launcher_env(env: dict[str, str], home: str) -> dict[str, str]:
    launcher_env = dict(env)
    launcher_env.setdefault("SPARK_SCALA_VERSION", _scala_version(home))
    launcher_env["SPARK_ENV_LOADED"] = "1"
    return launcher_env


def _cache_key(args: list[str], env: dict[str, str], java: Java, home: str) -> str:
    settings = {
        k: v
        for k, v in env.items()
        if k.startswith(("SPARK_", "HADOOP_", "YARN_", "PYSPARK_")) and k not in _NOT_IN_KEY
    }
    jars = Path(home, "jars")
    material = [home, jars.stat().st_mtime_ns, java.executable, java.major, args, settings]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def parse_launcher_output(data: bytes) -> list[str]:
    """The launcher prints a NUL and a newline, then the command, NUL-separated."""
    marker = data.find(b"\0\n")
    if marker < 0:
        raise ValueError("unexpected launcher output")
    parts = data[marker + 2 :].split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p.decode("utf-8") for p in parts]


def jvm_command(args: list[str], env: dict[str, str], java: Java) -> list[str]:
    """The SparkSubmit JVM command for `args` (cached), or spark-class when it cannot be."""
    home = env["SPARK_HOME"]
    spark_class = [os.path.join(home, "bin", "spark-class"), SUBMIT, *args]
    per_start = [m.group(0)[len(m.group(1)) :] for a in args for m in _PER_START.finditer(a)]
    if per_start and per_start[0] != _PLACEHOLDER:
        generic = [_PER_START.sub(lambda m: m.group(1) + _PLACEHOLDER, a) for a in args]
        command = jvm_command(generic, env, java)
        return [c.replace(_PLACEHOLDER, per_start[0]) for c in command]
    conf_dir = env.get("SPARK_CONF_DIR") or os.path.join(home, "conf")
    if os.path.exists(os.path.join(conf_dir, "spark-env.sh")):
        return spark_class
    cached = cache_dir() / "launch" / f"{_cache_key(args, env, java, home)}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    probe = [java.executable, "-Xmx128m", "-cp", os.path.join(home, "jars", "*"), LAUNCHER]
    try:
        done = subprocess.run(
            [*probe, SUBMIT, *args],
            env=launcher_env(env, home),
            capture_output=True,
            timeout=120,
            check=True,
        )
        command = parse_launcher_output(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return spark_class  # let spark-class report whatever went wrong, in the server log
    if not command or not command[0].endswith("java"):
        return spark_class
    cached.parent.mkdir(parents=True, exist_ok=True)
    temp = cached.with_suffix(f".{os.getpid()}.tmp")
    temp.write_text(json.dumps(command), encoding="utf-8")
    os.replace(temp, cached)
    return command
