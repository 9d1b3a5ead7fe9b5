"""Run every benchmark in benchmarks/ (what `make bench` does), one after another.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME ...] [--list]

Each script measures its figures against a baseline in the same run and rewrites its own
section of benchmarks/RESULTS.md. They run one at a time, since they time the machine. A
benchmark that fails is reported and the others still run; the exit code is 1 if any failed.
--quick passes --quick to the scripts that offer it (smaller data, fewer repeats): a check
that every benchmark still runs, not numbers to publish.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"run_all.py", "results.py"}  # this runner and the shared RESULTS.md writer


def benchmarks() -> list[Path]:
    """Every runnable benchmark script: the .py files of benchmarks/ (not its subfolders)."""
    return sorted(p for p in HERE.glob("*.py") if p.name not in NOT_BENCHMARKS)


def offers(script: Path, option: str) -> bool:
    """Whether the script's --help lists `option` (scripts that lack it run as they are)."""
    text = script.read_text()
    return f'"{option}"' in text or f"'{option}'" in text


def command(script: Path, quick: bool) -> list[str]:
    argv = [sys.executable, str(script)]
    if quick and offers(script, "--quick"):
        argv.append("--quick")
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick where offered")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (file stems)")
    parser.add_argument("--list", action="store_true", help="print the commands and exit")
    args = parser.parse_args(argv)

    scripts = benchmarks()
    if args.only:
        unknown = set(args.only) - {s.stem for s in scripts}
        if unknown:
            parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
        scripts = [s for s in scripts if s.stem in args.only]
    if args.list:
        for script in scripts:
            print(" ".join(command(script, args.quick)))
        return 0

    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    results: list[tuple[str, int, float]] = []
    for script in scripts:
        argv_ = command(script, args.quick)
        print(f"\n=== {script.stem}: {' '.join(argv_[1:])}", flush=True)
        start = time.monotonic()
        code = subprocess.run(argv_, cwd=HERE.parent, env=env).returncode
        results.append((script.stem, code, time.monotonic() - start))

    print("\nbenchmark               result   seconds")
    for name, code, seconds in results:
        print(f"{name:<23} {'ok' if code == 0 else f'exit {code}':<8} {seconds:7.1f}")
    failed = [name for name, code, _ in results if code != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
