"""Helpers of the fault-injection suite: projects in temp folders, the real `pipeloom` CLI in
subprocesses, and the processes a run leaves (found through /proc, never by name).

A module of its own (not conftest.py) so that `from faultkit import ...` names one file
however many conftest modules a session loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.procs import alive, descendants

ROOT = Path(__file__).resolve().parents[2]

# A step that misbehaves on request: writes part of its output, starts a child and a
# grandchild that leaves its session (setsid), prints a lot, exits without its output.
HOSTILE_STEP = r"""
import argparse, os, subprocess, sys, time
from engine.step import context

parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="ok")
parser.add_argument("--pids", help="write the pids of the step, its child, its escaped grandchild")
parser.add_argument("--bytes", type=int, default=1000)
args, _ = parser.parse_known_args()
ctx = context()
text = ""
for name, info in sorted(ctx.inputs.items()):
    if info.is_folder:
        for f in sorted(os.listdir(info.path)):
            text += open(os.path.join(info.path, f)).read()
    else:
        text += open(info.path).read()
print(f"step {ctx.step} read {len(text)} chars", flush=True)

def write_outputs(partial=False):
    for out in ctx.outputs.values():
        os.makedirs(out.path, exist_ok=True)
        with open(os.path.join(out.path, "part-0.txt"), "w") as f:
            f.write(text + f"{ctx.step} {args.mode} {ctx.run_id}\n")
        if partial:
            with open(os.path.join(out.path, "part-1.txt"), "wb") as f:
                f.write(b"x" * args.bytes)

if args.mode == "hang":  # partial output, a child and an escaped grandchild, then wait
    write_outputs(partial=True)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    escaped = subprocess.Popen(
        [sys.executable, "-c", "import os, time; os.setsid(); time.sleep(600)"]
    )
    with open(args.pids + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {child.pid} {escaped.pid}\n")
    os.replace(args.pids + ".tmp", args.pids)
    print("MARKER hanging", flush=True)
    time.sleep(600)
elif args.mode == "fail-half":
    write_outputs(partial=True)
    print("wrote half, now failing", file=sys.stderr, flush=True)
    sys.exit(4)
elif args.mode == "no-output":
    print("exiting 0 without writing", flush=True)
elif args.mode == "big-write":  # for a full disk: one large part file
    for out in ctx.outputs.values():
        os.makedirs(out.path)
        with open(os.path.join(out.path, "part-0.bin"), "wb") as f:
            for _ in range(args.bytes // 65536 + 1):
                f.write(b"\0" * 65536)
    print("wrote everything", flush=True)
elif args.mode == "flood":  # many short lines, as fast as the pipe takes them
    out = sys.stdout
    for i in range(args.bytes):
        out.write(f"line {i}\n")
    out.flush()
    write_outputs()
elif args.mode == "long-line":  # one huge line that never ends with a newline
    sys.stdout.write("L" * args.bytes)
    sys.stdout.flush()
    write_outputs()
elif args.mode == "binary":  # invalid UTF-8, NULs, control bytes, a lone CR
    raw = sys.stdout.buffer
    raw.write(b"bad utf8 \xff\xfe\xc3( end\n" + bytes(range(256)) + b"\n\x00\x1b[31mred\r\n")
    raw.flush()
    sys.stderr.buffer.write(b"\xe2\x28\xa1 on stderr\n")
    sys.stderr.buffer.flush()
    write_outputs()
else:
    write_outputs()
print(f"step {ctx.step} done", flush=True)
"""


def pipeloom_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *args]


def pipeloom(*args: str, cwd: Path, timeout: float = 180, **kw) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess (text output, replaced bad bytes)."""
    return subprocess.run(
        pipeloom_argv(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        env=cli_env(),
        **kw,
    )


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        PYTHONUNBUFFERED="1",
    )
    env.pop("PIPELOOM_DEBUG", None)
    return env


class Background:
    """`pipeloom ARGS` started in the background, its output in a file we can poll."""

    def __init__(self, cwd: Path, *args: str, name: str = "run"):
        self.out_path = cwd / f".{name}.out"
        self._out = open(self.out_path, "wb")
        self.process = subprocess.Popen(
            pipeloom_argv(*args),
            cwd=cwd,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=cli_env(),
        )
        self.pid = self.process.pid

    def output(self) -> str:
        return self.out_path.read_bytes().decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 120) -> None:
        wait_until(lambda: text in self.output(), timeout, f"{text!r} in the output", self)

    def run_id(self) -> str:
        out = self.output()
        return out.split("run ", 1)[1].split(":", 1)[0]

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._out.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._out.close()


def wait_until(predicate, timeout: float, what: str, background: Background | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if background is not None and background.process.poll() is not None:
            break
        time.sleep(0.1)
    tail = background.output()[-3000:] if background is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def marked(run_id: str) -> list[int]:
    """Live processes carrying the run's marker in their environment."""
    found = []
    needle = f"PIPELOOM_RUN_ID={run_id}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return [p for p in found if alive(p)]


def tree(pid: int) -> set[int]:
    return set(descendants(pid))


def survivors(pids, timeout: float) -> list[int]:
    """The pids still alive after `timeout` seconds (returns early once all are gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def kill_quietly(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def write_project(root: Path, pipeline: str, data: dict[str, str] | None = None) -> Path:
    (root / "code").mkdir(parents=True, exist_ok=True)
    (root / "code" / "step.py").write_text(HOSTILE_STEP)
    (root / "data").mkdir(exist_ok=True)
    for rel, text in (data or {"in.txt": "hello\n"}).items():
        (root / "data" / rel).write_text(text)
    (root / "pipeline.yaml").write_text(pipeline)
    return root / "pipeline.yaml"
