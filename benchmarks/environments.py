"""Building step environments, against `python -m venv` + `pip install` of the same packages.

    .venv/bin/python benchmarks/environments.py [--repeat 3] [--quick] [--no-write]

1. First build of a 3-package spec from a local wheel folder (three generated pure-Python
   wheels of 300 modules each, no network, cold installer caches each time), by Pipeloom
   (engine.environments: uv, and the venv + pip fallback), against `python -m venv DIR` then
   `DIR/bin/python -m pip install` of the same three from the same folder. Target <= 0.5x.
2. The cached path's overhead per step: what a run pays to find the complete build of a step's
   environment (spec hash, marker read, last-use stamp), against what it paid before builds
   existed (asking the interpreter whether the packages are installed). Target <= 50 ms.
Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import measure, table, write_section  # noqa: E402

from engine.environments import interpreter_for  # noqa: E402
from engine.environments.check import missing_requirements  # noqa: E402
from engine.pipeline.model import Environment  # noqa: E402

BUILD_RATIO_TARGET = 0.5
CACHED_TARGET_MS = 50.0
PACKAGES = ("bench-alpha", "bench-beta", "bench-gamma")


def make_wheel(folder: Path, name: str, modules: int) -> None:
    module = name.replace("-", "_")
    dist = f"{module}-1.0"
    files = {f"{module}/__init__.py": "VALUE = 1\n"}
    for i in range(modules):
        files[f"{module}/mod_{i}.py"] = f"def f{i}(x):\n    return x + {i}\n" * 5
    files[f"{dist}.dist-info/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    files[f"{dist}.dist-info/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as z:
        for path, text in files.items():
            data = text.encode()
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{path},sha256={digest.decode()},{len(data)}")
        record.append(f"{dist}.dist-info/RECORD,,")
        z.writestr(f"{dist}.dist-info/RECORD", "\n".join(record) + "\n")


class Bench:
    def __init__(self, work: Path, modules: int):
        self.work = work
        self.wheels = work / "wheels"
        self.wheels.mkdir()
        for name in PACKAGES:
            make_wheel(self.wheels, name, modules)
        self.count = 0
        os.environ.update(
            PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(self.wheels)
        )

    def fresh(self) -> Path:
        """A new folder, and cold caches for the installers."""
        self.count += 1
        folder = self.work / f"run{self.count}"
        folder.mkdir()
        os.environ["UV_CACHE_DIR"] = str(folder / "uv-cache")
        os.environ["PIP_CACHE_DIR"] = str(folder / "pip-cache")
        return folder

    def baseline(self) -> None:
        folder = self.fresh()
        venv = folder / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *PACKAGES],
            check=True,
        )

    def pipeloom(self, installer: str) -> None:
        folder = self.fresh()
        os.environ["PIPELOOM_ENVS_DIR"] = str(folder / "envs")
        os.environ["PIPELOOM_ENV_INSTALLER"] = installer
        python = interpreter_for(Environment("bench", pip=list(PACKAGES)), folder)
        subprocess.run([python, "-c", "import bench_alpha, bench_beta, bench_gamma"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 repeat, smaller wheels")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    modules = 60 if args.quick else 300
    with tempfile.TemporaryDirectory(prefix="pipeloom-bench-envs-") as tmp:
        bench = Bench(Path(tmp), modules)
        base_best, base_median = measure(bench.baseline, repeat)
        uv_best, uv_median = measure(lambda: bench.pipeloom("uv"), repeat)
        pip_best, pip_median = measure(lambda: bench.pipeloom("pip"), repeat)

        env = Environment("bench", pip=list(PACKAGES))
        interpreter_for(env, bench.work)  # built (with pip, by the last run): now cached
        calls = 20 if args.quick else 200
        cached_best, cached_median = measure(lambda: interpreter_for(env, bench.work), calls)
        check_best, check_median = measure(
            lambda: missing_requirements(list(PACKAGES), sys.executable), max(3, calls // 20)
        )
        shutil.rmtree(bench.work, ignore_errors=True)

    ratio = uv_median / base_median
    rows = [
        ["`python -m venv` + `pip install` (baseline)", f"{base_median:.2f} s", "1.00x"],
        ["Pipeloom, uv", f"{uv_median:.2f} s", f"{ratio:.2f}x"],
        [
            "Pipeloom, venv + pip fallback",
            f"{pip_median:.2f} s",
            f"{pip_median / base_median:.2f}x",
        ],
    ]
    cached_ms = cached_median * 1000
    body = (
        f"First build of a {len(PACKAGES)}-package spec from a local wheel folder ({modules} "
        f"modules per wheel, cold installer caches), median of {repeat}:\n\n"
        + table(["build", "median", "vs baseline"], rows)
        + f"\n\nTarget <= {BUILD_RATIO_TARGET}x: {'met' if ratio <= BUILD_RATIO_TARGET else 'NOT met'}"
        f" ({ratio:.2f}x). Pipeloom's time includes reading pip's configuration, verifying the "
        "result and importing the three packages from it.\n\n"
        f"Cached path, per step (median of {calls}): {cached_ms:.2f} ms (best "
        f"{cached_best * 1000:.2f} ms) to find and stamp the complete build; target <= "
        f"{CACHED_TARGET_MS:.0f} ms: {'met' if cached_ms <= CACHED_TARGET_MS else 'NOT met'}. "
        f"Before builds existed a run asked the interpreter instead: {check_median * 1000:.0f} ms."
    )
    print(body)
    if not args.no_write:
        write_section("environments.py", ".venv/bin/python benchmarks/environments.py", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
