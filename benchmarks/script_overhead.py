"""Per-step overhead of script steps, and parallelism of a CPU pool.

    .venv/bin/python benchmarks/script_overhead.py [--repeat 5] [--no-write]

1. Chains of no-op script steps (each writes its output folder), run by `pipeloom run`, against
   a shell loop running `python noop.py OUT` as many times. Per-step cost is the slope between a
   1-step and a 20-step chain, so Pipeloom's one-time start-up (interpreter, imports, plan,
   store) is left out; the overhead is Pipeloom's slope minus the loop's. Target <= 15 ms.
2. 8 independent 1-second steps on `workers: 2` against a sequential shell loop of the same 8
   scripts. Target <= 0.55x.
Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import table, write_section  # noqa: E402

NOOP = "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\n"
SLEEP = "import os, sys, time\ntime.sleep(1)\nos.makedirs(sys.argv[1], exist_ok=True)\n"


def chain_yaml(n: int) -> str:
    lines = [
        "pipeloom: 1",
        f"name: chain{n}",
        "computes:",
        "  pool: {type: cpu-pool, workers: 2}",
        "nodes:",
    ]
    for i in range(n):
        lines += [
            f"  s{i}:",
            "    type: script-step",
            "    compute: pool",
            "    source_directory: code",
            "    script: noop.py",
        ]
        if i:
            lines += ["    inputs:", f"      inp: {{from: s{i - 1}.out, as: file}}"]
        lines += ["    outputs:", "      out: {kind: file}", '    arguments: ["{outputs.out}"]']
    return "\n".join(lines) + "\n"


def fan_yaml(n: int) -> str:
    lines = [
        "pipeloom: 1",
        f"name: fan{n}",
        "computes:",
        "  pool: {type: cpu-pool, workers: 2}",
        "nodes:",
    ]
    for i in range(n):
        lines += [
            f"  s{i}:",
            "    type: script-step",
            "    compute: pool",
            "    source_directory: code",
            "    script: sleep.py",
            "    outputs:",
            "      out: {kind: file}",
            '    arguments: ["{outputs.out}"]',
        ]
    return "\n".join(lines) + "\n"


def project(root: Path, name: str, text: str) -> Path:
    (root / "code").mkdir(parents=True, exist_ok=True)
    (root / "code" / "noop.py").write_text(NOOP)
    (root / "code" / "sleep.py").write_text(SLEEP)
    path = root / f"{name}.yaml"
    path.write_text(text)
    return path


def time_pipeloom(path: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", str(path), "--regenerate-outputs", "--quiet"],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"pipeloom run failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def time_loop(root: Path, script: str, n: int) -> float:
    out = root / "loop_out"
    loop = (
        f'for i in $(seq 1 {n}); do "{sys.executable}" {root / "code" / script} '
        f'"{out}/$i" || exit 1; done'
    )
    start = time.perf_counter()
    subprocess.run(["sh", "-c", loop], check=True)
    return time.perf_counter() - start


def best(fn, repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one, twenty = project(root, "c1", chain_yaml(1)), project(root, "c20", chain_yaml(20))
        time_pipeloom(one)  # warm the page cache and create the run store
        # interleaved, so a change in the machine's load hits every case alike; best of each
        samples: dict[str, list[float]] = {"p1": [], "p20": [], "l1": [], "l20": []}
        for _ in range(args.repeat):
            samples["p1"].append(time_pipeloom(one))
            samples["l1"].append(time_loop(root, "noop.py", 1))
            samples["p20"].append(time_pipeloom(twenty))
            samples["l20"].append(time_loop(root, "noop.py", 20))
        p1, p20, l1, l20 = (min(samples[k]) for k in ("p1", "p20", "l1", "l20"))
        spread = {k: max(v) - min(v) for k, v in samples.items()}
        slope_p, slope_l = (p20 - p1) / 19, (l20 - l1) / 19
        overhead_ms = (slope_p - slope_l) * 1000
        fan = project(root, "f8", fan_yaml(8))
        pf = best(lambda: time_pipeloom(fan), max(1, args.repeat - 1))
        lf = time_loop(root, "sleep.py", 8)
    ratio = pf / lf
    startup = p1 - l1  # pipeloom's one-time cost: interpreter, imports, validation, plan, store
    ratio_after_startup = (pf - startup) / lf
    rows = [
        ["1-step chain", f"{p1 * 1000:.0f} ms", f"{l1 * 1000:.0f} ms"],
        ["20-step chain", f"{p20 * 1000:.0f} ms", f"{l20 * 1000:.0f} ms"],
        ["per step (slope 1 -> 20)", f"{slope_p * 1000:.1f} ms", f"{slope_l * 1000:.1f} ms"],
        ["8 x 1 s steps (workers: 2)", f"{pf:.2f} s", f"{lf:.2f} s (sequential)"],
    ]
    body = (
        table(["case", "pipeloom run", "shell loop of python"], rows)
        + f"\n\n- per-step overhead beyond the loop: **{overhead_ms:.1f} ms** (target <= 15 ms: "
        + ("met" if overhead_ms <= 15 else "NOT met")
        + f")\n- 8 parallel 1 s steps: **{ratio:.2f}x** the sequential loop (target <= 0.55x: "
        + ("met" if ratio <= 0.55 else "NOT met")
        + f")\n- Pipeloom's one-time start-up (1-step chain minus one loop step): {startup * 1000:.0f} ms;"
        + f" without it the 8 parallel steps take {ratio_after_startup:.2f}x the loop"
        + "\n- spread over the repeats (max - min) of the 20-step chain: pipeloom "
        + f"{spread['p20'] * 1000:.0f} ms, loop {spread['l20'] * 1000:.0f} ms, i.e. up to "
        + f"{max(spread['p20'], spread['l20']) / 19 * 1000:.0f} ms per step of noise on this shared machine"
        + f"\n- best of {args.repeat} runs each; pipeloom timed as a `pipeloom run --regenerate-outputs`"
        " subprocess, so both sides pay for starting their processes."
    )
    print(body)
    if not args.no_write:
        write_section("script_overhead.py", ".venv/bin/python benchmarks/script_overhead.py", body)


if __name__ == "__main__":
    main()
