"""Fresh step processes without the import bill: fork them from a process that has pyspark
(and pandas, pyarrow, grpc) imported already.

`serve SOCKET`: the zygote. Imports the Connect client once, then for each request forks a
child in its own session that takes over the requester's stdin/stdout/stderr, environment,
working folder and arguments and runs spark_boot; reports the child's pid and exit code.
Dies when its stdin (the owner's lifeline) reaches EOF.

`run SOCKET ARGS...`: what the runner starts for a step (with `python -I -S`, a few ms). It
hands its fds to the zygote, forwards SIGTERM/SIGINT to the child's process group, exits
with the child's code, and falls back to exec'ing `python -u ARGS...` when there is no zygote.
Stdlib only at module level: both sides run in the step's interpreter, never import Pipeloom.
"""

import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

HEADER = struct.Struct("!Q")  # length of the JSON request that follows the fds
CONNECT_WAIT = 3.0  # seconds a step waits for a just-started zygote to listen
PRELOAD = ("pyspark.sql.connect.session", "pyspark.sql.functions", "pyspark.sql.types")


# -- client ----------------------------------------------------------------------------------


def _fallback(python: str, argv: list[str]) -> None:
    os.execv(python, [python, "-u", *argv])


def _read_line(conn: socket.socket, buffer: bytearray) -> str | None:
    while b"\n" not in buffer:
        try:
            chunk = conn.recv(256)
        except InterruptedError:
            continue
        if not chunk:
            return None
        buffer.extend(chunk)
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


def run_client(sock_path: str, python: str, argv: list[str]) -> int:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + CONNECT_WAIT
    while True:
        try:
            conn.connect(sock_path)
            break
        except FileNotFoundError:
            if time.monotonic() > deadline:
                _fallback(python, argv)
            time.sleep(0.02)  # a zygote that is starting binds within moments
        except OSError:
            _fallback(python, argv)  # no zygote any more: an ordinary process
    request = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(conn, [HEADER.pack(len(request))], [0, 1, 2])
    conn.sendall(request)
    buffer = bytearray()
    first = _read_line(conn, buffer)
    if not first or not first.startswith("pid "):
        _fallback(python, argv)
    child = int(first.split()[1])

    def forward(signum, _frame):
        try:
            os.killpg(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    last = _read_line(conn, buffer)
    if not last or not last.startswith("exit "):
        return 1
    code = int(last.split()[1])
    return 128 - code if code < 0 else code  # killed by signal N -> 128+N, like a shell


# -- zygote ----------------------------------------------------------------------------------


def _child(conn: socket.socket, fds: list[int], request: dict, base_path: list[str]) -> None:
    """In the forked child: become the step's process, run spark_boot, never return."""
    code = 1
    try:
        os.setsid()
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = ["", *extra, *base_path]
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), encoding="utf-8", write_through=True
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False),
            encoding="utf-8",
            errors="backslashreplace",
            write_through=True,
        )
        # the requester died (killed with SIGKILL): take the step's whole group with it
        threading.Thread(target=_die_with_requester, args=(conn,), daemon=True).start()
        import spark_boot

        sys.argv = [spark_boot.__file__, *request["argv"][1:]]
        try:
            spark_boot.main()
            code = 0
        except SystemExit as stop:
            if stop.code is None:
                code = 0
            elif isinstance(stop.code, int):
                code = stop.code
            else:
                print(stop.code, file=sys.stderr)
                code = 1
        except BaseException:  # noqa: BLE001 - reported exactly as Python would
            sys.excepthook(*sys.exc_info())
            code = 1
        import atexit

        atexit._run_exitfuncs()
        threading._shutdown()  # wait for the script's non-daemon threads, as at exit
    except BaseException:  # noqa: BLE001
        sys.excepthook(*sys.exc_info())
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _die_with_requester(conn: socket.socket) -> None:
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    os.killpg(0, signal.SIGKILL)


def _report_exit(conn: socket.socket, pid: int) -> None:
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    try:
        conn.sendall(f"exit {code}\n".encode())
    except OSError:
        pass
    conn.close()


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("request cut short")
        data.extend(chunk)
    return bytes(data)


def _lifeline() -> None:
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def serve(sock_path: str) -> None:
    threading.Thread(target=_lifeline, daemon=True).start()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(64)  # requests wait here while the imports below run
    import spark_boot  # noqa: F401 - children find it in sys.modules (it is not on their path)

    for name in PRELOAD:
        __import__(name)
    base_path = [p for p in sys.path[1:] if p not in os.environ.get("PYTHONPATH", "").split(":")]
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        try:
            msg, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, 3)
            request = json.loads(_recv_exact(conn, HEADER.unpack(msg)[0]))
        except (OSError, ValueError, struct.error):
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            _child(conn, fds, request, base_path)
        for fd in fds:
            os.close(fd)
        conn.sendall(f"pid {pid}\n".encode())
        threading.Thread(target=_report_exit, args=(conn, pid), daemon=True).start()


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["run"]:
        # run SOCKET PYTHON ARGS...
        sys.exit(run_client(sys.argv[2], sys.argv[3], sys.argv[4:]))
    else:
        sys.exit("usage: spark_zygote.py serve SOCKET | run SOCKET PYTHON ARGS...")
