"""Script steps on a loopback two-node Ray cluster against the local process pool.

    .venv/bin/python benchmarks/ray_steps.py [--quick] [--repeat 3] [--no-write]

Starts a Ray cluster on 127.0.0.1 (a head and a second node, 1 CPU each; the helper the e2e
tests use) and runs, in one process with one warm backend pool (as the designer does):
1. 8 independent 1-second steps: on Ray (2 CPUs) against the local pool with `workers: 2`.
2. Per-step overhead of a warm Ray step against a local one: the slope of no-op chains of 1
   and N steps on each (so one-time costs, like connecting to the cluster, are left out).
   Target: a Ray step costs at most 300 ms more than a local one.
3. The same no-op step as a Ray *job* (Jobs API through the dashboard, the alternative design)
   against a local `python noop.py`: why steps run as Ray tasks (docs/clusters.md).
Writes its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from clusters import start_ray_cluster  # noqa: E402
from results import table, write_section  # noqa: E402

from engine.backends import BackendPool  # noqa: E402
from engine.fileformat import yamlio  # noqa: E402
from engine.running.runner import Runner  # noqa: E402

NOOP = "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\n"
SLEEP = "import os, sys, time\ntime.sleep(1)\nos.makedirs(sys.argv[1], exist_ok=True)\n"


def pipeline_yaml(compute: str, n: int, script: str, chained: bool) -> str:
    lines = ["pipeloom: 1", f"name: b{n}", "computes:", f"  c: {compute}", "nodes:"]
    for i in range(n):
        lines += [f"  s{i}:", "    type: script-step", "    compute: c"]
        lines += ["    source_directory: code", f"    script: {script}", "    allow_reuse: false"]
        if chained and i:
            lines += ["    inputs:", f"      inp: {{from: s{i - 1}.out, as: file}}"]
        lines += ["    outputs:", "      out: {kind: file}", '    arguments: ["{outputs.out}"]']
    return "\n".join(lines) + "\n"


def project(root: Path, name: str, text: str) -> Path:
    (root / "code").mkdir(parents=True, exist_ok=True)
    (root / "code" / "noop.py").write_text(NOOP)
    (root / "code" / "sleep.py").write_text(SLEEP)
    path = root / f"{name}.yaml"
    path.write_text(text)
    return path


def timed_run(path: Path, pool: BackendPool) -> float:
    runner = Runner(yamlio.load(str(path)), backends=pool, keep_warm=True)
    start = time.perf_counter()
    summary = runner.run()
    elapsed = time.perf_counter() - start
    runner.store.close()
    failed = [s.step for s in summary.steps if not s.status.succeeded]
    if failed:
        log = runner.log_paths[failed[0]].read_text(errors="replace")[-3000:]
        raise SystemExit(f"{path.name}: steps failed: {failed}:\n{log}")
    return elapsed


def job_seconds(dashboard: str, code: Path, repeat: int) -> list[float]:
    """Wall time of a no-op Ray job, submitted through the Jobs API and waited for."""
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(dashboard)
    times = []
    for i in range(repeat + 1):  # the first one uploads the working dir
        start = time.perf_counter()
        job = client.submit_job(
            entrypoint=f"python noop.py out{i}", runtime_env={"working_dir": str(code)}
        )
        while client.get_job_status(job) not in {
            JobStatus.SUCCEEDED,
            JobStatus.FAILED,
            JobStatus.STOPPED,
        }:
            time.sleep(0.02)
        if client.get_job_status(job) != JobStatus.SUCCEEDED:
            raise SystemExit(f"the Ray job failed: {client.get_job_logs(job)}")
        if i:
            times.append(time.perf_counter() - start)
    return times


def local_process_seconds(code: Path, out: Path, repeat: int) -> list[float]:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, str(code / "noop.py"), str(out / str(i))], check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    n = 5 if args.quick else 11
    cluster = start_ray_cluster(cpus_per_node=1)
    pool = BackendPool()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            ray_c = f'{{type: cpu-pool, master: "{cluster.address}"}}'
            local_c = "{type: cpu-pool, workers: 2}"
            paths = {
                (side, kind): project(
                    root,
                    f"{side}-{kind}",
                    pipeline_yaml(
                        compute,
                        {"one": 1, "chain": n, "fan": 8}[kind],
                        "sleep.py" if kind == "fan" else "noop.py",
                        chained=kind == "chain",
                    ),
                )
                for side, compute in (("ray", ray_c), ("local", local_c))
                for kind in ("one", "chain", "fan")
            }
            timed_run(paths["ray", "one"], pool)  # connect, start the workers
            timed_run(paths["local", "one"], pool)
            samples: dict[tuple[str, str], list[float]] = {k: [] for k in paths}
            for _ in range(repeat):  # interleaved: a change in load hits both sides alike
                for key in paths:
                    samples[key].append(timed_run(paths[key], pool))
            best = {k: min(v) for k, v in samples.items()}
            slope = {s: (best[s, "chain"] - best[s, "one"]) / (n - 1) for s in ("ray", "local")}
            overhead_ms = (slope["ray"] - slope["local"]) * 1000
            jobs = job_seconds(cluster.dashboard, root / "code", max(3, repeat * 2))
            local = local_process_seconds(root / "code", root / "local-out", max(3, repeat * 2))
    finally:
        pool.close()
        cluster.stop()
    job_overhead_ms = (statistics.median(jobs) - statistics.median(local)) * 1000
    rows = [
        ["1-step run", f"{best['ray', 'one']:.2f} s", f"{best['local', 'one']:.2f} s"],
        [f"{n}-step chain", f"{best['ray', 'chain']:.2f} s", f"{best['local', 'chain']:.2f} s"],
        [
            f"per step (slope 1 -> {n})",
            f"{slope['ray'] * 1000:.0f} ms",
            f"{slope['local'] * 1000:.0f} ms",
        ],
        ["8 independent 1 s steps", f"{best['ray', 'fan']:.2f} s", f"{best['local', 'fan']:.2f} s"],
    ]
    body = (
        table(["case", "Ray cluster (2 nodes x 1 CPU)", "local pool (workers: 2)"], rows)
        + f"\n\n- per-step overhead of a warm Ray step beyond a local one: **{overhead_ms:.0f} ms**"
        + " (target <= 300 ms: "
        + ("met" if overhead_ms <= 300 else "NOT met")
        + ")"
        + f"\n- 8 independent 1 s steps: Ray {best['ray', 'fan']:.2f} s vs local pool "
        + f"{best['local', 'fan']:.2f} s (both run 2 at a time: 2 CPUs)"
        + f"\n- the alternative design, a Ray job per step (Jobs API): median {statistics.median(jobs) * 1000:.0f} ms"
        + f" for a no-op job vs {statistics.median(local) * 1000:.0f} ms for a local `python noop.py`:"
        + f" **{job_overhead_ms:.0f} ms** overhead per step"
        + f"\n- best of {repeat} interleaved runs each, in one process with a warm backend pool"
        + " (the designer's case); the cluster is on this same 2-core machine, so Ray's own"
        + " processes compete with the steps"
    )
    print(body)
    if not args.no_write:
        command = ".venv/bin/python benchmarks/ray_steps.py" + (" --quick" if args.quick else "")
        write_section("ray_steps.py", command, body)


if __name__ == "__main__":
    main()
