"""Wall time of `pipeloom validate` / `show` on the titanic example, against bare interpreters.

    .venv/bin/python benchmarks/cli_speed.py [--repeat 15] [--no-write]

Target: `pipeloom validate projects/titanic/pipeline.yaml` under 0.3 s wall. Baselines, run
interleaved with it in the same run: `python -c pass` and `python -c "import yaml, networkx"`
(the floor for any command that reads YAML and builds the graph). Writes its section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import table, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "projects/titanic/pipeline.yaml"
TARGET = 0.3


def commands() -> dict[str, list[str]]:
    python = sys.executable
    pipeloom = str(Path(python).with_name("pipeloom"))
    return {
        "python -c pass": [python, "-c", "pass"],
        'python -c "import yaml, networkx"': [python, "-c", "import yaml, networkx"],
        "pipeloom --version": [pipeloom, "--version"],
        f"pipeloom validate {EXAMPLE}": [pipeloom, "validate", EXAMPLE],
        f"pipeloom show {EXAMPLE}": [pipeloom, "show", EXAMPLE],
    }


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    opts = ap.parse_args()
    cmds = commands()
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for argv in cmds.values():  # warm the file cache once
        wall(argv)
    for _ in range(opts.repeat):  # interleaved, so machine load hits all commands alike
        for name, argv in cmds.items():
            times[name].append(wall(argv))
    floor = statistics.median(times["python -c pass"])
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        rows.append(
            [
                f"`{name}`",
                f"{min(samples) * 1000:.0f}",
                f"{median * 1000:.0f}",
                f"{(median - floor) * 1000:+.0f}",
            ]
        )
    validate = statistics.median(times[f"pipeloom validate {EXAMPLE}"])
    verdict = "met" if validate < TARGET else "MISSED"
    summary = f"`pipeloom validate` median {validate * 1000:.0f} ms: target < {TARGET * 1000:.0f} ms {verdict}"
    header = ["command", "best ms", "median ms", "median over `python -c pass`"]
    for row in [header, *rows]:
        print(f"{row[0]:<55} {row[1]:>8} {row[2]:>10} {row[3]:>10}")
    print(summary)
    if not opts.no_write:
        body = (
            f"Wall time of each command as a subprocess, {opts.repeat} runs interleaved "
            f"(after one warm-up run each).\n\n{table(header, rows)}\n\n{summary}"
        )
        write_section(
            "cli_speed.py", f".venv/bin/python benchmarks/cli_speed.py --repeat {opts.repeat}", body
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
