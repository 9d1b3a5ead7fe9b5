"""The run store: real SQLite, liveness locks across processes, a runner killed with -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.events import Status
from engine.problems import PipelineError
from engine.procs import alive
from engine.storage.store import RunStore

HERE = Path(__file__).resolve().parent


def test_runs_child_runs_and_dataset_versions_round_trip(tmp_path):
    store = RunStore(tmp_path / ".pipeloom")
    store.create_run(
        "r1",
        "exp",
        "pipe",
        "/x/pipeline.yaml",
        {"n": 1},
        {},
        [("a", Status.NOT_STARTED, "fp", "/l")],
    )
    store.update_child("r1", "a", status=Status.COMPLETED, outputs={"out": "/o"}, duration=1.5)
    store.finish_run("r1", Status.COMPLETED)
    assert store.register_dataset("d", "/o", "r1", "a", "out") == 1
    assert store.register_dataset("d", "/o2", "r1", "a", "out") == 2
    again = RunStore(tmp_path / ".pipeloom")
    run = again.run("r1")
    assert (run.experiment, run.parameters, run.status) == ("exp", {"n": 1}, Status.COMPLETED)
    [child] = again.child_runs("r1")
    assert (child.status, child.outputs, child.duration) == (Status.COMPLETED, {"out": "/o"}, 1.5)
    assert again.completed_with_fingerprint("fp")[0].step == "a"
    assert again.dataset("d").version == 2 and again.dataset("d", 1).path == "/o"
    assert again.find_run("r").id == "r1" and again.find_run("latest").id == "r1"
    assert again.path.with_name("runs.db").exists()
    assert again._exec("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_completed_runs_of_many_fingerprints_come_in_chunks_newest_first(tmp_path, monkeypatch):
    import engine.storage.store as store_module

    monkeypatch.setattr(store_module, "_IN_CHUNK", 2)  # several chunks with a few steps
    store = RunStore(tmp_path / ".pipeloom")
    for run_id in ("r1", "r2"):
        store.create_run(
            run_id,
            "exp",
            "pipe",
            None,
            {},
            {},
            [(step, Status.NOT_STARTED, f"fp-{step}", "/l") for step in "abcde"],
        )
        for step in "abce":  # d fails; e only in the first run
            if step == "e" and run_id == "r2":
                continue
            store.update_child(
                run_id, step, status=Status.COMPLETED, outputs={"o": run_id}, ended=time.time()
            )
        store.update_child(run_id, "d", status=Status.FAILED)
        store.finish_run(run_id, Status.FAILED)
        time.sleep(0.01)  # distinct end times
    wanted = [f"fp-{s}" for s in "abcdex"]
    found = store.completed_with_fingerprints(wanted)
    assert set(found) == {"fp-a", "fp-b", "fp-c", "fp-e"}
    for fp in wanted:
        assert [r.run_id for r in found.get(fp, [])] == [
            r.run_id for r in store.completed_with_fingerprint(fp)
        ]
    assert [r.run_id for r in found["fp-a"]] == ["r2", "r1"]


def test_a_run_whose_lock_is_held_is_never_marked_interrupted(tmp_path):
    store = RunStore(tmp_path / ".pipeloom")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from engine.storage.store import RunStore
                store = RunStore({str(tmp_path / ".pipeloom")!r})
                lock = store.acquire_run_lock("live")
                store.create_run("live", "e", "p", None, {{}}, {{}}, [])
                print("ready", flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        store.create_run("dead", "e", "p", None, {}, {}, [("s", Status.RUNNING, None, None)])
        assert store.mark_dead_runs_interrupted() == ["dead"]
        assert store.run("live").status is Status.RUNNING
        assert store.child_runs("dead")[0].status is Status.INTERRUPTED
    finally:
        holder.kill()
        holder.wait()
    assert store.mark_dead_runs_interrupted() == ["live"]


RUNNER = """
import sys
sys.path.insert(0, {here!r})
from pathlib import Path
from scriptproject import ScriptProject
project = ScriptProject(Path({root!r}))
project.dataset("raw", "in.txt")
project.step("fast", {{"inp": "raw"}})
project.step("slow", {{"inp": "fast.out"}}, args=["--child", {pidfile!r}, "--sleep", "600"])
project.run()
"""


def test_kill_9_of_the_runner_then_a_new_run_marks_it_interrupted_and_keeps_outputs(tmp_path):
    root = tmp_path / "proj"
    pidfile = tmp_path / "child.pid"
    code = RUNNER.format(here=str(HERE), root=str(root), pidfile=str(pidfile))
    (root / "data").mkdir(parents=True)
    (root / "data" / "in.txt").write_text("hello\n")
    runner = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline and runner.poll() is None
        time.sleep(0.1)
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    child = int(pidfile.read_text())

    store = RunStore(root / ".pipeloom")
    [old] = store.runs()
    assert old.status is Status.RUNNING  # nobody has looked yet
    code2 = RUNNER.format(here=str(HERE), root=str(root), pidfile=str(tmp_path / "c2.pid"))
    code2 = code2.replace('"--sleep", "600"', '"--sleep", "0"')
    subprocess.run([sys.executable, "-c", code2], check=True, timeout=120)

    old = store.run(old.id)
    assert old.status is Status.INTERRUPTED
    children = {c.step: c for c in store.child_runs(old.id)}
    assert children["fast"].status is Status.COMPLETED
    assert children["slow"].status is Status.INTERRUPTED
    assert Path(children["fast"].outputs["out"]).is_dir()
    assert not alive(child), "the killed runner's step process was left running"
    assert not (root / ".pipeloom" / "datastore" / "tmp" / old.id).exists()
    new = store.runs()[0]
    new_children = {c.step: c for c in store.child_runs(new.id)}
    assert new_children["fast"].status is Status.REUSED
    assert new_children["fast"].reused_from == old.id


# opens one fresh store from several forked processes at once, round after round
STORE_RACE = r"""
import multiprocessing as mp, sys
from pathlib import Path
from engine.storage.store import RunStore

def open_store(folder, errors):
    try:
        store = RunStore(Path(folder))
        store.runs()
        store.close()
    except Exception as e:
        errors.put(repr(e))

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    errors = ctx.Queue()
    for n in range(int(sys.argv[2])):
        folder = f"{sys.argv[1]}/p{n}/.pipeloom"
        procs = [ctx.Process(target=open_store, args=(folder, errors)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    while not errors.empty():
        print(errors.get())
"""


def test_processes_creating_the_store_at_once_all_open_it(tmp_path):
    """Two `pipeloom run`s of a new project create runs.db together: SQLite tells the ones
    that lose the switch to WAL "database is locked" at once, and they must wait, not fail."""
    done = subprocess.run(
        [sys.executable, "-c", STORE_RACE, str(tmp_path), "60"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_a_store_another_process_is_creating_is_waited_for(tmp_path, monkeypatch):
    """SQLite's immediate "database is locked" while another process switches a new store
    to WAL: the open is tried again; any other error is not."""
    import sqlite3

    real = RunStore._open_once
    answers = [sqlite3.OperationalError("database is locked")] * 3

    def flaky(self):
        if answers:
            raise answers.pop()
        return real(self)

    monkeypatch.setattr(RunStore, "_open_once", flaky)
    store = RunStore(tmp_path / ".pipeloom")
    assert answers == [] and store.runs() == []
    store.close()

    answers[:] = [sqlite3.OperationalError("disk I/O error")]
    with pytest.raises(PipelineError, match="disk I/O error"):
        RunStore(tmp_path / "other" / ".pipeloom")
