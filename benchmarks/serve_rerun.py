"""`pipeloom run` of titanic with every step rerun: cold, against a warm `pipeloom serve`.

    .venv/bin/python benchmarks/serve_rerun.py [--repeat 3] [--no-write]

Each run is a fresh `pipeloom run --regenerate-outputs` process on a copy of projects/titanic.
Cold: no server is served, so the run starts its own Spark Connect server. Served: the same
command while `pipeloom serve` runs: its first run and the later ones are reported apart. The
rounds interleave cold and served runs. Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import table, write_section  # noqa: E402

TITANIC = Path(__file__).resolve().parent.parent / "projects" / "titanic"


def run(pipeline: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(pipeline), "--regenerate-outputs"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"pipeloom run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def start_serve(pipeline: Path) -> tuple[subprocess.Popen, float]:
    start = time.perf_counter()
    serve = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", str(pipeline)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    while True:
        line = serve.stdout.readline()
        lines.append(line)
        if not line:
            raise SystemExit("pipeloom serve ended:\n" + "".join(lines))
        if "Ctrl-C stops them" in line:
            return serve, time.perf_counter() - start


def stop_serve(serve: subprocess.Popen) -> None:
    serve.send_signal(signal.SIGTERM)
    serve.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    cold, first, warm, ready = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "titanic"
        shutil.copytree(TITANIC, project, ignore=shutil.ignore_patterns(".pipeloom", "__pycache__"))
        pipeline = project / "pipeline.yaml"
        run(pipeline)  # a first run of all: caches and the server's class archive exist
        for round_ in range(args.repeat):
            cold.append(run(pipeline))
            serve, up = start_serve(pipeline)
            try:
                ready.append(up)
                first.append(run(pipeline))
                warm += [run(pipeline), run(pipeline)]
            finally:
                stop_serve(serve)
            print(
                f"round {round_ + 1}: cold {cold[-1]:.1f} s, served {first[-1]:.1f} s then "
                f"{warm[-2]:.1f} s, {warm[-1]:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    med = statistics.median
    rows = [
        ["cold: the run starts its own server", f"{med(cold):.2f} s", ""],
        ["`pipeloom serve` up (server ready, warm-up job done)", f"{med(ready):.2f} s", ""],
        ["served, first run", f"{med(first):.2f} s", f"{med(first) / med(cold):.2f}x"],
        ["served, later runs", f"{med(warm):.2f} s", f"{med(warm) / med(cold):.2f}x"],
    ]
    body = (
        f"Medians of {args.repeat} interleaved rounds (one cold run, then `pipeloom serve` and "
        f"three runs while it serves).\n\n{table(['titanic, every step rerun', 'median', 'vs cold'], rows)}"
    )
    print(body)
    if not args.no_write:
        write_section(
            "serve_rerun.py",
            f".venv/bin/python benchmarks/serve_rerun.py --repeat {args.repeat}",
            body,
        )


if __name__ == "__main__":
    main()
