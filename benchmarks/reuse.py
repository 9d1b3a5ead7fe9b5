"""A fully reused re-run against the first run of the same pipeline.

    .venv/bin/python benchmarks/reuse.py [--no-write]

A copy of projects/titanic where every step allows reuse is run twice by `pipeloom run` (each a
fresh process; the first starts Spark, the second must not): the re-run reuses every step.
Target: the re-run takes <= 5% of the first run. Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import table, write_section  # noqa: E402

TITANIC = Path(__file__).resolve().parent.parent / "projects" / "titanic"


def run(path: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(path)], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"pipeloom run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "titanic"
        shutil.copytree(TITANIC, project, ignore=shutil.ignore_patterns(".pipeloom", "__pycache__"))
        pipeline = project / "pipeline.yaml"
        text = pipeline.read_text()
        pipeline.write_text(text.replace("allow_reuse: false", "allow_reuse: true"))
        first, out1 = run(pipeline)
        second, out2 = run(pipeline)
    steps = [line for line in out2.splitlines() if line.startswith("== ") and ": Reused" in line]
    reused_all = "Completed" not in "".join(
        line for line in out2.splitlines() if line.startswith("== ")
    )
    ratio = second / first
    body = (
        table(
            ["run", "wall time", "what ran"],
            [
                ["first (cold: starts Spark)", f"{first:.2f} s", "every step"],
                ["re-run, nothing changed", f"{second:.2f} s", f"{len(steps)} steps reused"],
            ],
        )
        + f"\n\n- re-run / first run: **{ratio * 100:.1f}%** (target <= 5%: "
        + ("met" if ratio <= 0.05 and reused_all else "NOT met")
        + ")\n- both timed as `pipeloom run` subprocesses on a copy of projects/titanic with "
        "`allow_reuse: true` on every step."
    )
    print(body)
    if not args.no_write:
        write_section("reuse.py", ".venv/bin/python benchmarks/reuse.py", body)


if __name__ == "__main__":
    main()
