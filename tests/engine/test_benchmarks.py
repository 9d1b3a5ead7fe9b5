"""benchmarks/: `make bench` runs every script, and every script still starts (imports, options)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name not in {"results.py"})


def run(*argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, *argv], cwd=BENCHMARKS.parent, capture_output=True, text=True, env=env
    )


def test_run_all_runs_every_benchmark_script():
    listed = run("benchmarks/run_all.py", "--list", "--quick")
    assert listed.returncode == 0, listed.stderr
    names = {Path(line.split()[1]).name for line in listed.stdout.splitlines()}
    assert names == set(SCRIPTS) - {"run_all.py"}


def test_run_all_refuses_an_unknown_benchmark():
    done = run("benchmarks/run_all.py", "--only", "no_such_bench")
    assert done.returncode == 2 and "no_such_bench" in done.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_benchmark_starts(script):
    done = run(f"benchmarks/{script}", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
