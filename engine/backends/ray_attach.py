"""A Ray step's local process: sends the step to the Ray gateway and relays its output.

Run as a script (`python -u ray_attach.py SOCKET REQUEST_FILE`), standard library only, so
it starts in milliseconds. Its stdout/stderr are the remote step's; its exit code is the
step's. The runner cancels a Ray step by killing this process: the gateway sees the
connection close and cancels the Ray task.
"""

import json
import socket
import sys


def main(sock_path: str, request_file: str) -> int:
    with open(request_file, encoding="utf-8") as f:
        request = json.load(f)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(sock_path)
    except OSError as e:
        print(f"pipeloom: the Ray gateway is gone ({e.strerror})", file=sys.stderr)
        return 1
    conn.sendall((json.dumps(request) + "\n").encode())
    with conn.makefile("r", encoding="utf-8") as replies:
        for line in replies:
            message = json.loads(line)
            if "out" in message:
                print(message["out"], flush=True)
            elif "err" in message:
                print(message["err"], file=sys.stderr, flush=True)
            elif "exit" in message:
                code = message["exit"]
                return code if isinstance(code, int) and 0 <= code < 256 else 1
            elif "error" in message:
                print(f"pipeloom: {request['where']}: {message['error']}", file=sys.stderr)
                return 1
    print(f"pipeloom: {request['where']}: the Ray gateway ended during the step", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
