"""Run a command and kill it when our stdin reaches EOF (the owner died or let go).

Started by connect_server with stdin a pipe whose write end only the owner holds; when the
owner exits, even by kill -9, the kernel closes that end and this process stops the command.
Stdlib only and run with `python -I -S`, so it starts in a few milliseconds.
Usage: python -I -S server_watchdog.py LOG COMMAND [ARGS...]: the command's output goes to
LOG; its pid is printed on our stdout first.
"""

import ctypes
import os
import select
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
GRACE_SECONDS = 5.0


def _die_with_parent() -> None:
    # Linux only: the command also dies if this watchdog is killed itself.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _stop(child: subprocess.Popen) -> int:
    if child.poll() is None:
        child.terminate()
        try:
            return child.wait(GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait()


def main(argv: list[str]) -> int:
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    log_path, command = argv[0], argv[1:]
    with open(log_path, "ab", buffering=0) as log:
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=preexec
        )
    sys.stdout.write(f"{child.pid}\n")
    sys.stdout.flush()
    # A polite stop from anyone (SIGTERM to this watchdog) stops the command too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(_stop(child)))
    stdin = sys.stdin.fileno()
    while child.poll() is None:
        ready, _, _ = select.select([stdin], [], [], 0.5)
        if ready and not os.read(stdin, 4096):
            return _stop(child)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
