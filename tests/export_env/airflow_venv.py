"""The cached virtual environment with Apache Airflow and its Spark provider, for the DAG tests.

Created once per requirements (keyed by a hash of the requirement files and the Python
version) under ~/.cache/pipeloom-test/, built in a temp folder and renamed into place so an
interrupted build never leaves a half-made venv behind (the rename breaks the shebangs of its
console scripts: run tools as `python -m airflow`). About 2 minutes and 650 MB.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Airflow major version -> (requirements, constraints); the DAG export supports both
FLAVORS = {
    "3": (HERE / "airflow-requirements.txt", HERE / "airflow-constraints.txt"),
    "2": (HERE / "airflow2-requirements.txt", HERE / "airflow2-constraints.txt"),
}
CACHE = Path(os.environ.get("PIPELOOM_TEST_CACHE", Path.home() / ".cache" / "pipeloom-test"))


def venv_key(flavor: str = "3") -> str:
    digest = hashlib.sha256()
    for path in FLAVORS[flavor]:
        digest.update(path.read_bytes())
    digest.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return digest.hexdigest()[:16]


def airflow_python(flavor: str = "3") -> Path:
    """The Python of the Airflow venv, creating the venv when it is not cached yet."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"airflow{flavor}-venv-{venv_key(flavor)}"
    python = target / "bin" / "python"
    with open(CACHE / "airflow-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions never build it at once
        if not (target / ".complete").exists():
            _build(target, flavor)
    return python


def _build(target: Path, flavor: str) -> None:
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True)
    requirements, constraints = FLAVORS[flavor]
    pip = [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run(
        [*pip, "-r", str(requirements), "-c", str(constraints)],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=1800,
    )
    (building / ".complete").write_text(venv_key(flavor))
    building.rename(target)


if __name__ == "__main__":  # `python tests/export_env/airflow_venv.py [3|2]` prepares the cache
    print(airflow_python(*sys.argv[1:]))
