"""Start a Spark step on a warm Connect server, then run its unmodified entry script.

Run as `python -u spark_boot.py ENTRY ARGS...` by the `connect` backend, in the step's own
interpreter: it imports nothing from Pipeloom (that interpreter may not have it). Before the
script runs it creates the session named by SPARK_REMOTE (so the script's own
`SparkSession.builder.getOrCreate()` returns this same session), sets the step's runtime SQL
settings, ships the snapshot's modules as artifacts (so UDFs can import them) and registers
a progress handler that appends JSON lines to the file PIPELOOM_SPARK_PROGRESS names.
"""

import json
import os
import runpy
import signal
import sys
import threading
import time

ARTIFACTS_ENV = "PIPELOOM_SPARK_ARTIFACTS"  # JSON list: snapshot modules zip, py_files
SQL_CONF_ENV = "PIPELOOM_SPARK_SQL_CONF"  # JSON object of spark.sql.* settings
PROGRESS_ENV = "PIPELOOM_SPARK_PROGRESS"  # file for progress lines
SERVER_STATUS_ENV = "PIPELOOM_SPARK_SERVER_STATUS"  # a starting local server's status file
SERVER_WAIT = 300.0  # seconds; the server's own start timeout is shorter


class ProgressWriter:
    """Connect progress handler: one JSON line per update, flushed so the runner sees it live."""

    def __init__(self, path: str):
        self._file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def __call__(self, stages=None, inflight_tasks=0, operation_id=None, done=False, **_):
        for stage in stages or ():
            record = {
                "time": time.time(),
                "operation": operation_id,
                "stage": stage.stage_id,
                "done": stage.num_completed_tasks,
                "total": stage.num_tasks,
                "finished": bool(stage.done or done),
            }
            self._file.write(json.dumps(record) + "\n")


def wait_for_server(status_path: str) -> None:
    """Block until the local server (started alongside this step) is ready; exit if it failed."""
    # the slow imports happen while the server is still booting
    import pyspark.sql.connect.session  # noqa: F401

    deadline = time.monotonic() + SERVER_WAIT
    while time.monotonic() < deadline:
        try:
            with open(status_path, encoding="utf-8") as handle:
                status = handle.read()
        except FileNotFoundError:
            time.sleep(0.05)
            continue
        if status.startswith("ready"):
            return
        sys.stderr.write(status.partition("\n")[2])
        sys.exit(2)
    sys.exit(f"the Spark Connect server did not start within {SERVER_WAIT:.0f} s")


def start_session():
    status = os.environ.get(SERVER_STATUS_ENV)
    if status:
        wait_for_server(status)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    for name, value in json.loads(os.environ.get(SQL_CONF_ENV) or "{}").items():
        spark.conf.set(name, value)
    artifacts = json.loads(os.environ.get(ARTIFACTS_ENV) or "[]")
    if artifacts:
        spark.addArtifacts(*artifacts, pyfile=True)
    progress = os.environ.get(PROGRESS_ENV)
    if progress:
        spark.registerProgressHandler(ProgressWriter(progress))
    signal.signal(signal.SIGTERM, lambda signum, _frame: _interrupt_and_die(spark, signum))
    return spark


def _interrupt_and_die(spark, signum: int) -> None:
    """Canceled: stop this session's jobs on the server first (they outlive the client)."""
    worker = threading.Thread(target=_interrupt_quietly, args=(spark,), daemon=True)
    worker.start()
    worker.join(1.5)  # the runner escalates to SIGKILL after its grace period anyway
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _interrupt_quietly(spark) -> None:
    try:
        spark.interruptAll()
    except Exception:  # noqa: BLE001 - the process is going away regardless
        pass


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: spark_boot.py ENTRY [ARGS...]")
    entry = os.path.abspath(sys.argv[1])
    sys.argv = [entry, *sys.argv[2:]]
    sys.path[0] = os.path.dirname(entry)  # as if `python ENTRY` had been run
    spark = start_session()
    try:
        runpy.run_path(entry, run_name="__main__")
    finally:
        # frees the server-side session now rather than after its idle timeout
        try:
            spark.stop()
        except Exception:  # noqa: BLE001 - the script may have stopped it already
            pass


if __name__ == "__main__":
    main()
