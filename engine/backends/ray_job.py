"""A step on a Ray cluster known by its dashboard address (http://HOST:8265): one Ray job.

`python -u -m engine.backends.ray_job REQUEST_FILE` is the step's local process: it submits
the job (the snapshot as its working_dir, the step helper and a small boot module as
py_modules, the environment's pip list, the context in an environment variable), prints the
job's log as it grows and exits with 0 when the job succeeded, 1 otherwise. SIGTERM (the
runner canceling the step) stops the job. Slower per step than the task path (ray://, see
docs/clusters.md) but needs only the dashboard's HTTP port.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import sys
import time

BOOT_MODULE = "pipeloom_ray_boot"
CONTEXT_JSON_ENV = "PIPELOOM_CONTEXT_JSON"

# the job's entrypoint module: writes the context file on the node, then runs the step
BOOT_SOURCE = f'''"""Runs a Pipeloom step inside a Ray job (shipped as a py_module)."""
import os, sys, tempfile
text = os.environ.pop("{CONTEXT_JSON_ENV}")
fd, path = tempfile.mkstemp(prefix="pipeloom-context-", suffix=".json")
with os.fdopen(fd, "w", encoding="utf-8") as f:
    f.write(text)
os.environ["PIPELOOM_STEP_CONTEXT"] = path
os.execv(sys.executable, [sys.executable, "-u", *sys.argv[1:]])
'''


def main(request_file: str) -> int:
    with open(request_file, encoding="utf-8") as f:
        request = json.load(f)
    where = request["where"]
    try:
        from ray.job_submission import JobStatus, JobSubmissionClient

        client = JobSubmissionClient(request["address"])
        env_vars = dict(request["env"])
        env_vars[CONTEXT_JSON_ENV] = request["context"]
        runtime_env = {
            "working_dir": request["code_dir"],
            "py_modules": request["py_modules"],
            "env_vars": env_vars,
        }
        runtime_env.update(request.get("runtime_env") or {})
        entrypoint = shlex.join(
            ["python", "-u", "-m", BOOT_MODULE, request["entry"], *request["args"]]
        )
        job = client.submit_job(
            entrypoint=entrypoint,
            runtime_env=runtime_env,
            submission_id=f"pipeloom-{request['run']}-{request['step']}-{os.urandom(3).hex()}",
        )
    except Exception as e:  # noqa: BLE001 - one line for the step log
        print(f"pipeloom: {where}: cannot submit the Ray job: {_first_line(e)}", file=sys.stderr)
        return 1

    def stop(_sig, _frame) -> None:
        try:
            client.stop_job(job)
        finally:
            os._exit(143)

    signal.signal(signal.SIGTERM, stop)
    print(f"pipeloom: Ray job {job}", file=sys.stderr, flush=True)
    try:
        asyncio.run(_tail(client, job))
        status = client.get_job_status(job)
        while status not in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED}:
            time.sleep(0.1)
            status = client.get_job_status(job)
    except Exception as e:  # noqa: BLE001
        print(f"pipeloom: {where}: lost the Ray cluster: {_first_line(e)}", file=sys.stderr)
        return 1
    if status == JobStatus.SUCCEEDED:
        return 0
    message = client.get_job_info(job).message or status.value
    print(f"pipeloom: {where}: Ray job {job} {status.value}: {message}", file=sys.stderr)
    return 1


async def _tail(client, job: str) -> None:
    async for chunk in client.tail_job_logs(job):
        sys.stdout.write(chunk)
        sys.stdout.flush()


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:300]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
