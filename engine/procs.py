"""Step processes: each in its own process group, output captured line by line, tree killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

LineFn = Callable[[str, float, str], None]  # (stream, time, text)

KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL; whole cancel stays within 5 s


class StepProcess:
    """A running step command: its own session/process group, two reader threads."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, on_line: LineFn):
        self.argv = argv
        self._on_line = on_line
        self.proc = subprocess.Popen(
            argv,
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: the tree is killed as one
            close_fds=True,
        )
        self.pgid = self.proc.pid
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, "stderr"), daemon=True),
        ]
        for t in self._readers:
            t.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self, pipe, stream: str) -> None:
        with pipe:
            for raw in iter(pipe.readline, b""):
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                self._on_line(stream, time.time(), text)

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Exit code once the process ended and its output is read.

        Processes it left behind in its group are killed: they hold the pipes open and would be
        orphans otherwise.
        """
        code = self.proc.wait(timeout)
        self._join_readers(grace=1.0)
        if _group_alive(self.pgid):  # a daemon it started, detached from the pipes
            kill_tree(self.pgid, grace=0.5)
        return code

    def _join_readers(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        for t in self._readers:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._readers):
            kill_tree(self.pgid, grace=0.5)
            for t in self._readers:
                t.join(2.0)

    def kill(self, grace: float = KILL_GRACE) -> None:
        """SIGTERM the whole tree, SIGKILL what is left after `grace` seconds; reap."""
        kill_tree(self.pgid, grace=grace, root=self.proc)
        try:
            self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            pass
        self._join_readers(grace=0.5)


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children that left the group included)."""
    children: dict[int, list[int]] = {}
    for child, parent, _group in _process_table():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group `pgid`."""
    return [pid for pid, _parent, group in _process_table() if group == pgid and alive(pid)]


def _process_table() -> list[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every process."""
    if sys.platform.startswith("linux"):
        rows = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read().decode(errors="replace")
            except OSError:
                continue
            # the command name may contain spaces and parentheses: parse after the last ')'
            fields = stat[stat.rfind(")") + 2 :].split()
            rows.append((int(entry), int(fields[1]), int(fields[2])))
        return rows
    out = subprocess.run(
        ["ps", "-A", "-o", "pid=,ppid=,pgid="], capture_output=True, text=True
    ).stdout
    return [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                return f.read().split(b")")[-1].split()[0] != b"Z"  # zombies are dead
        except OSError:
            return False
    return True


def kill_tree(pgid: int, grace: float = KILL_GRACE, root: subprocess.Popen | None = None) -> None:
    """Terminate process group `pgid` and every descendant of its leader, even ones that left it."""
    pids = set(descendants(pgid))
    _signal_all(pgid, pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if root is not None:
            root.poll()  # reap the leader so it does not count as alive
        pids |= set(descendants(pgid))
        if not _group_alive(pgid) and not any(alive(p) for p in pids):
            return
        time.sleep(0.05)
    pids |= set(descendants(pgid))
    _signal_all(pgid, pids, signal.SIGKILL)


def _signal_all(pgid: int, pids: set[int], sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a group whose only members are zombies still answers; look for a live member
    return bool(group_members(pgid))


def kill_run_leftovers(run_id: str) -> list[int]:
    """Kill processes a dead runner left behind: those with PIPELOOM_RUN_ID=<run_id> (Linux)."""
    found = _marked(run_id)
    for pid in found:
        _signal_quietly(pid, signal.SIGKILL)
    return found


class RunGuard:
    """A small watcher process that stops a run's step trees when the runner's process dies.

    Step processes run in their own sessions (so a terminal's Ctrl-C reaches only the runner),
    which also means nothing stops them when the runner is killed with SIGKILL. The guard holds
    the read end of a pipe only this process writes to: EOF there without a `done` line means
    the runner died, and the guard kills every watched process group, the descendants of their
    leaders and every process whose environment carries `PIPELOOM_RUN_ID=<run>` (Linux), which
    also finds grandchildren that called setsid. Stdlib only, started with `python -I -S`.
    """

    def __init__(self, run_id: str):
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, "guard", run_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl-C must not stop the guard first
            close_fds=True,
        )

    def watch(self, pgid: int) -> None:
        """Kill process group `pgid` (and its leader's descendants) if the runner dies."""
        self._send(f"{pgid}\n".encode())

    def close(self) -> None:
        """The run ended in order: the guard leaves without killing anything."""
        self._send(b"done\n")
        with self._lock:
            if self.process.stdin and not self.process.stdin.closed:
                self.process.stdin.close()
        try:
            self.process.wait(5.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _send(self, data: bytes) -> None:
        with self._lock:
            try:
                self.process.stdin.write(data)
                self.process.stdin.flush()
            except (OSError, ValueError):  # the guard is gone: nothing to tell it
                pass


def _marked(run_id: str) -> list[int]:
    """Processes whose environment holds PIPELOOM_RUN_ID=<run_id> (Linux; [] elsewhere)."""
    if not sys.platform.startswith("linux"):
        return []
    marker = f"PIPELOOM_RUN_ID={run_id}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _guard(run_id: str) -> int:
    """The guard process: wait for `done` or EOF; on EOF stop what the run left running."""
    groups: set[int] = set()
    pending = b""
    while True:
        try:
            chunk = os.read(0, 4096)
        except InterruptedError:
            continue
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line == b"done":
                return 0
            if line.strip().isdigit():
                groups.add(int(line))

    def found() -> set[int]:
        pids = set(_marked(run_id))
        for pgid in groups:
            pids.update(descendants(pgid))
            pids.update(group_members(pgid))
        return pids

    pids = found()
    for pgid in groups:
        _signal_all(pgid, set(), signal.SIGTERM)
    for pid in pids:
        _signal_quietly(pid, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE
    while time.monotonic() < deadline:
        pids |= found()
        if not any(alive(p) for p in pids):
            return 0
        time.sleep(0.05)
    for _ in range(3):  # a process forking while we kill: look again after each round
        pids |= found()
        for pgid in groups:
            _signal_all(pgid, set(), signal.SIGKILL)
        for pid in pids:
            _signal_quietly(pid, signal.SIGKILL)
        time.sleep(0.1)
    return 0


def _signal_quietly(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


if __name__ == "__main__":
    if sys.argv[1:2] == ["guard"] and len(sys.argv) == 3:
        sys.exit(_guard(sys.argv[2]))
    sys.exit("usage: procs.py guard RUN_ID")
