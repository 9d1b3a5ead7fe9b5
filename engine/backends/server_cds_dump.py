"""Dump a CDS archive from a finished server's class list (see server_cds.py). Stdlib only.

Usage: python -I -S server_cds_dump.py JVM_PID CLASS_LIST ARCHIVE LOCK JAVA CLASSPATH
"""

import os
import subprocess
import sys
import time

MIN_CLASSES = 2000  # a list from a server that died early is not worth an archive


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def main(pid: int, class_list: str, archive: str, lock: str, java: str, classpath: str) -> int:
    deadline = time.monotonic() + 120
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    try:
        with open(class_list, encoding="utf-8", errors="replace") as handle:
            count = sum(1 for _ in handle)
        if count < MIN_CLASSES or os.path.exists(archive):
            return 0
        os.nice(10)
        with open(lock, "w"):
            pass
        temp = f"{archive}.{os.getpid()}.tmp"
        done = subprocess.run(
            [java, "-Xshare:dump", f"-XX:SharedClassListFile={class_list}"]
            + [f"-XX:SharedArchiveFile={temp}", "-cp", classpath],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=900,
            check=False,
        )
        if done.returncode == 0 and os.path.exists(temp):
            os.replace(temp, archive)
        elif os.path.exists(temp):
            os.remove(temp)
        return done.returncode
    finally:
        for path in (class_list, lock):
            try:
                os.remove(path)
            except OSError:
                pass


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(int(args[0]), *args[1:6]))
