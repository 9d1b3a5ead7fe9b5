"""What shortens a Spark Connect server's start: JVM options and launch paths, same run.

Variants (interleaved, --rounds each), each timed from launch to "server ready" and to the end
of the first query of a fresh client (the first query pays for JIT and class loading too):
  spark-class      the server started through spark-class (its launcher JVM runs first)
  direct           the cached SparkSubmit JVM command (what Pipeloom does)
  direct+C1        plus -XX:TieredStopAtLevel=1 (client compiler only)
  direct+C1+SerialGC  plus the serial collector (fewer GC threads on few cores)
  direct, no Spark UI  spark.ui.enabled=false (no Jetty)
  direct+AppCDS    plus a class-data-sharing archive of the server's classes (made once here:
                   -XX:DumpLoadedClassList, then -Xshare:dump), -XX:SharedArchiveFile
Usage: .venv/bin/python benchmarks/spark_server_start.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from engine.backends import connect_server, spark_launch  # noqa: E402
from engine.backends.connect_server import ConnectServer, ServerKey  # noqa: E402

KEPT = (
    "- kept in Pipeloom: the cached JVM command (no launcher JVM; small alone, it also lets the "
    "options below apply), C1-only (`-XX:TieredStopAtLevel=1`, overridable per compute) and "
    "AppCDS made automatically after the first server of a Java/Spark install stops "
    "(engine/backends/server_cds.py; ~210 MB under ~/.cache/pipeloom/cds). Not kept: the serial "
    "collector (no clear gain after C1) and disabling the Spark UI (no gain; users want it)."
)

QUERY = """
import time
from pyspark.sql import SparkSession, functions as F
spark = SparkSession.builder.getOrCreate()
rows = spark.range(200000).withColumn("k", F.col("id") % 13)
rows.groupBy("k").agg(F.sum("id")).orderBy("k").collect()
"""


def start(
    options: list[str], via_spark_class: bool, conf: dict | None = None
) -> tuple[float, float]:
    """(seconds to ready, seconds to the end of the first query) for one fresh server."""
    original = spark_launch.jvm_command
    if via_spark_class:
        connect_server.jvm_command = lambda args, env, java: [
            os.path.join(env["SPARK_HOME"], "bin", "spark-class"),
            spark_launch.SUBMIT,
            *args,
        ]
    try:
        server = ConnectServer(ServerKey.of("local[2]", conf or {}, sys.executable), options)
        t0 = time.monotonic()
        server.start()
        url = server.url()
        ready = time.monotonic() - t0
        env = dict(os.environ, SPARK_REMOTE=url, **server.client_env())
        env.pop("PIPELOOM_SPARK_SERVER_STATUS", None)
        subprocess.run([sys.executable, "-c", "import pyspark.sql.connect.session"], check=True)
        t1 = time.monotonic()
        subprocess.run([sys.executable, "-c", QUERY], env=env, check=True, capture_output=True)
        first_query = ready + time.monotonic() - t1
        server.stop(grace=60)
        return ready, first_query
    finally:
        connect_server.jvm_command = original


def make_archive(folder: Path) -> Path | None:
    """Class list from one server run, then a static archive of it (JDK 17: -Xshare:dump)."""
    class_list, archive = folder / "classes.lst", folder / "server.jsa"
    start([f"-XX:DumpLoadedClassList={class_list}"], via_spark_class=False)
    key = ServerKey.of("local[2]", {}, sys.executable)
    from engine.java import find_java

    java = find_java()
    env = connect_server.server_env(sys.executable, java)
    args = connect_server.server_submit_args(key, [], 0)
    command = spark_launch.jvm_command(args, env, java)
    classpath = command[command.index("-cp") + 1]
    done = subprocess.run(
        [
            java.executable,
            "-Xshare:dump",
            f"-XX:SharedClassListFile={class_list}",
            f"-XX:SharedArchiveFile={archive}",
            "-cp",
            classpath,
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not archive.exists():
        print("archive dump failed:", done.stdout[-2000:], done.stderr[-2000:])
        return None
    return archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from results import table, write_section

    with tempfile.TemporaryDirectory(prefix="spark-start-") as tmp:
        t0 = time.monotonic()
        archive = make_archive(Path(tmp))
        archive_seconds = time.monotonic() - t0
        variants = {
            "spark-class": ([], True, None),
            "direct": ([], False, None),
            "direct+C1": (["-XX:TieredStopAtLevel=1"], False, None),
            "direct+C1+SerialGC": (["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"], False, None),
            "direct, no Spark UI": ([], False, {"spark.ui.enabled": "false"}),
        }
        if archive:
            variants["direct+AppCDS"] = ([f"-XX:SharedArchiveFile={archive}"], False, None)
        results: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
        for round_no in range(args.rounds):
            for name, (options, via_spark_class, conf) in variants.items():
                results[name].append(start(options, via_spark_class, conf))
                ready, first = results[name][-1]
                print(f"round {round_no + 1} {name}: ready {ready:.2f}s, first query {first:.2f}s")
    base = statistics.median(r for r, _ in results["spark-class"])
    rows = []
    for name, samples in results.items():
        ready = statistics.median(r for r, _ in samples)
        first = statistics.median(f for _, f in samples)
        rows.append([name, f"{ready:.2f} s", f"{ready / base:.2f}x", f"{first:.2f} s"])
    body = "\n".join(
        [
            table(["variant", "ready (median)", "vs spark-class", "ready + 1st query"], rows),
            "",
            f"- {args.rounds} rounds, variants interleaved; master local[2]; the AppCDS archive "
            f"took {archive_seconds:.0f} s to make (a class-list run plus -Xshare:dump)"
            + ("" if archive else "; its dump FAILED, so that variant is missing"),
            KEPT,
        ]
    )
    print(body)
    write_section(
        "spark_server_start.py", ".venv/bin/python benchmarks/spark_server_start.py", body
    )


if __name__ == "__main__":
    main()
