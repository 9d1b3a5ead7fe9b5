"""engine.procs with real processes: line capture, process groups, killing whole trees."""

from __future__ import annotations

import os
import sys
import threading
import time

from engine.procs import StepProcess, alive, descendants


def _collect():
    lines, lock = [], threading.Lock()

    def on_line(stream, when, text):
        with lock:
            lines.append((stream, text))

    return lines, on_line


def test_lines_are_captured_per_stream_in_order(tmp_path):
    lines, on_line = _collect()
    code = "import sys\nfor i in range(3):\n    print('out', i)\n    print('err', i, file=sys.stderr)\n"
    proc = StepProcess([sys.executable, "-u", "-c", code], dict(os.environ), tmp_path, on_line)
    assert proc.wait(30) == 0
    assert [t for s, t in lines if s == "stdout"] == ["out 0", "out 1", "out 2"]
    assert [t for s, t in lines if s == "stderr"] == ["err 0", "err 1", "err 2"]


def test_process_runs_in_its_own_group(tmp_path):
    lines, on_line = _collect()
    code = "import os; print(os.getpgid(0))"
    proc = StepProcess([sys.executable, "-c", code], dict(os.environ), tmp_path, on_line)
    proc.wait(30)
    assert int(lines[0][1]) == proc.pid != os.getpgid(0)


def test_kill_stops_the_whole_tree_including_a_child_in_its_own_session(tmp_path):
    lines, on_line = _collect()
    pidfile = tmp_path / "pids"
    code = (
        "import subprocess, sys, time\n"
        "a = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "b = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " start_new_session=True)\n"
        f"open({str(pidfile)!r}, 'w').write(f'{{a.pid}} {{b.pid}}')\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = StepProcess([sys.executable, "-c", code], dict(os.environ), tmp_path, on_line)
    deadline = time.monotonic() + 30
    while ("stdout", "ready") not in lines and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = [int(p) for p in pidfile.read_text().split()]
    assert set(pids) <= set(descendants(proc.pid))
    proc.kill(grace=1.0)
    assert proc.poll() is not None
    for pid in [proc.pid, *pids]:
        assert not alive(pid), f"process {pid} survived"


def test_kill_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path):
    lines, on_line = _collect()
    code = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(600)\n"
    )
    proc = StepProcess([sys.executable, "-c", code], dict(os.environ), tmp_path, on_line)
    while ("stdout", "ready") not in lines:
        time.sleep(0.05)
    proc.kill(grace=0.5)
    assert proc.poll() == -9


def test_a_background_process_left_behind_is_killed_when_the_step_ends(tmp_path):
    lines, on_line = _collect()
    pidfile = tmp_path / "pid"
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
    )
    proc = StepProcess([sys.executable, "-c", code], dict(os.environ), tmp_path, on_line)
    assert proc.wait(30) == 0
    assert not alive(int(pidfile.read_text()))


def test_a_detached_background_process_in_the_group_is_killed_when_the_step_ends(tmp_path):
    lines, on_line = _collect()
    pidfile = tmp_path / "pid"
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
    )
    proc = StepProcess([sys.executable, "-c", code], dict(os.environ), tmp_path, on_line)
    assert proc.wait(30) == 0
    assert not alive(int(pidfile.read_text()))
