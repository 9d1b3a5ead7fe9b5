"""Scenario 4: the run store damaged (truncated, garbage, read-only `.pipeloom/`), the
datastore deleted between runs, a registered dataset's files removed. Each gets a clear line
or a correct recovery, never a traceback; a damaged store is moved aside, never overwritten."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from faultkit import pipeloom, write_project

from tests.designer.conftest import (  # noqa: F401 - fixtures the designer tests use too
    ScriptedDialogs,
    _clipboard_emptied_at_exit,
    isolated_settings,
)

PIPELINE = """\
pipeloom: 1
name: store
computes:
  pool: {type: cpu-pool, workers: 2}
nodes:
  raw: {type: dataset, kind: file, path: data/in.txt}
  first:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {inp: {from: raw, as: file}}
    outputs: {out: {kind: file, register_as: firsts}}
"""

READER = """\
pipeloom: 1
name: reader
computes:
  pool: {type: cpu-pool, workers: 1}
nodes:
  reg: {type: dataset, kind: file, from: "dataset:firsts"}
  use:
    type: script-step
    compute: pool
    source_directory: code
    script: step.py
    inputs: {inp: {from: reg}}
    outputs: {out: {kind: file}}
"""


@pytest.fixture
def project(tmp_path) -> Path:
    write_project(tmp_path, PIPELINE)
    (tmp_path / "reader.yaml").write_text(READER)
    first = pipeloom("run", "pipeline.yaml", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    return tmp_path


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0]


def damage(store: Path, data: bytes) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    store.write_bytes(data)


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_damaged_store_is_moved_aside_and_a_new_one_started(project, how):
    store = project / ".pipeloom" / "runs.db"
    data = store.read_bytes()[:3000] if how == "truncated" else os.urandom(64 * 1024)
    damage(store, data)
    runs = pipeloom("runs", "pipeline.yaml", cwd=project)
    assert runs.returncode == 0, runs.stderr
    no_traceback(runs)
    assert "was damaged" in runs.stderr and len(runs.stderr.strip().splitlines()) == 1
    moved = sorted(store.parent.glob("runs.db.damaged-*"))
    assert [p.read_bytes() for p in moved] == [data]  # kept exactly as it was
    again = pipeloom("run", "pipeline.yaml", cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "== first: Completed" in again.stdout  # no history: the step runs again
    assert integrity(store) == "ok"
    assert moved[0].read_bytes() == data  # a second command did not touch it
    datasets = pipeloom("datasets", "pipeline.yaml", cwd=project)
    assert datasets.returncode == 0 and "firsts   1" in datasets.stdout


@contextmanager
def read_only(folder: Path):
    """`folder` read-only: a read-only bind mount as root (permissions do not stop root)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"running as root and a bind mount failed: {mounted.stderr!r}")
    try:
        remount = ["mount", "-o", "remount,ro,bind", str(folder)]
        assert subprocess.run(remount, capture_output=True).returncode == 0
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_store_folder_gets_one_clear_line_and_exit_2(project):
    store = project / ".pipeloom" / "runs.db"
    before = store.read_bytes()
    with read_only(project / ".pipeloom"):
        for command in (["run"], ["runs"], ["datasets"], ["logs", "latest"]):
            result = pipeloom(command[0], "pipeline.yaml", *command[1:], cwd=project)
            assert result.returncode == 2, (command, result.stdout, result.stderr)
            no_traceback(result)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and "runs.db" in lines[0] and "not writable" in lines[0]
    assert store.read_bytes() == before
    assert integrity(store) == "ok"


def test_a_deleted_datastore_makes_the_next_run_run_again(project):
    import shutil

    shutil.rmtree(project / ".pipeloom" / "datastore")
    again = pipeloom("run", "pipeline.yaml", cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "== first: Completed" in again.stdout and "registered as firsts v2" in again.stdout
    reader = pipeloom("run", "reader.yaml", cwd=project)
    assert reader.returncode == 0, reader.stdout + reader.stderr


def test_a_registered_dataset_whose_files_are_gone_is_named_in_one_line(project):
    import shutil

    shutil.rmtree(project / ".pipeloom" / "datastore" / "runs")
    reader = pipeloom("run", "reader.yaml", cwd=project)
    assert reader.returncode == 2
    no_traceback(reader)
    lines = reader.stderr.strip().splitlines()
    assert len(lines) == 1 and "reg" in lines[0] and "missing" in lines[0], lines


@pytest.fixture
def window(qtbot, tmp_path):
    from designer.mainwindow import MainWindow

    w = MainWindow(dialogs=ScriptedDialogs(), recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.document.undo_stack.setClean()


def test_the_designer_opens_a_project_whose_store_is_read_only_and_says_why(project, window, qtbot):
    with read_only(project / ".pipeloom"):
        assert window.files.open(project / "pipeline.yaml")
        assert window.runs_panel.runs() == []
        assert "not writable" in window.runs_panel.empty.text()
        runs = window.run_commands
        with qtbot.waitSignal(runs.controller.runEnded, timeout=60_000):
            window.window_actions.run.trigger()
        assert runs.last_error is not None and "not writable" in runs.last_error.message
        assert [a[0] for a in window.dialogs.asked] == ["error"]
    window.runs_panel.set_pipeline(project / "pipeline.yaml", "store")  # writable again
    assert len(window.runs_panel.runs()) == 1


def test_the_designer_recovers_a_damaged_store(project, window):
    store = project / ".pipeloom" / "runs.db"
    damage(store, os.urandom(8192))
    assert window.files.open(project / "pipeline.yaml")
    assert window.runs_panel.runs() == []
    assert len(list(store.parent.glob("runs.db.damaged-*"))) == 1
    assert integrity(store) == "ok"
