"""The runner with real processes and a real run store: scheduling, failure, reuse, cancel."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from scriptproject import ScriptProject, statuses

from engine.events import LogLine, Status, StatusChanged
from engine.problems import PipelineError
from engine.procs import alive
from engine.storage.store import RunStore


@pytest.fixture
def project(tmp_path):
    p = ScriptProject(tmp_path / "proj")
    p.data("in.txt", "hello\n")
    p.dataset("raw", "in.txt")
    return p


def _datastore(project) -> Path:
    return project.root / ".pipeloom" / "datastore"


def test_chain_passes_outputs_and_templates_expand_to_absolute_paths(project):
    project.step("a", {"inp": "raw"}, args=["--tag", "{inputs.inp}"])
    project.step("b", {"inp": "a.out"})
    summary, runner = project.run()
    assert statuses(summary) == {"a": "Completed", "b": "Completed"}
    out = _datastore(project) / "runs" / summary.run_id / "b" / "out" / "part-0.txt"
    raw = str((project.root / "data" / "in.txt").resolve())
    assert out.read_text() == f"hello\na{raw}\nb\n"
    assert not (_datastore(project) / "tmp" / summary.run_id).exists()
    log = runner.log_paths["a"].read_text()
    assert "stdout: step a read 6 chars" in log


def test_independent_branches_run_at_once(project):
    project.step("a", {"inp": "raw"}, args=["--sleep", "1"])
    project.step("b", {"inp": "raw"}, args=["--sleep", "1"])
    summary, runner = project.run()
    assert statuses(summary) == {"a": "Completed", "b": "Completed"}
    assert runner.started["b"] < runner.ended["a"] and runner.started["a"] < runner.ended["b"]


def test_capacity_of_the_pool_bounds_parallel_steps(tmp_path):
    project = ScriptProject(tmp_path / "proj", workers=1)
    project.step("a", args=["--sleep", "0.5"])
    project.step("b", args=["--sleep", "0.5"])
    summary, runner = project.run()
    first, second = sorted(["a", "b"], key=runner.started.get)
    assert runner.started[second] >= runner.ended[first]


def test_failure_skips_downstream_while_a_parallel_branch_completes(project):
    project.step("bad", {"inp": "raw"}, args=["--fail"])
    project.step("after_bad", {"inp": "bad.out"})
    project.step("good", {"inp": "raw"}, args=["--sleep", "1"])
    project.step("after_good", {"inp": "good.out"})
    summary, runner = project.run()
    assert statuses(summary) == {
        "bad": "Failed",
        "after_bad": "Skipped",
        "good": "Completed",
        "after_good": "Completed",
    }
    assert summary.status is Status.FAILED
    assert not (_datastore(project) / "runs" / summary.run_id / "bad").exists()
    assert "about to fail" in runner.log_paths["bad"].read_text()
    assert "exited with code 3" in runner.log_paths["bad"].read_text()


def test_second_run_reuses_and_edits_rerun_exactly_the_affected_steps(project):
    project.data("other.txt", "other\n")
    project.dataset("other", "other.txt")
    project.step("a", {"inp": "raw"})
    project.step("b", {"inp": "a.out"})
    project.step("c", {"inp": "other"}, script="c.py")
    (project.root / "code" / "c.py").write_text((project.root / "code" / "step.py").read_text())
    first, _ = project.run()
    assert set(statuses(first).values()) == {"Completed"}
    second, _ = project.run()
    assert set(statuses(second).values()) == {"Reused"}
    assert {s.step: s.reused_from for s in second.steps} == dict.fromkeys("abc", first.run_id)

    project.data("in.txt", "hello again\n")  # data of a (and so b) changes
    third, _ = project.run()
    assert statuses(third) == {"a": "Completed", "b": "Completed", "c": "Reused"}

    # c's own script changes: only c reruns, though a and b share its source_directory
    with open(project.root / "code" / "c.py", "a") as f:
        f.write("# edited\n")
    fourth, _ = project.run()
    assert statuses(fourth) == {"a": "Reused", "b": "Reused", "c": "Completed"}

    # a shared module changes: every step of the folder reruns (only other steps' entry files
    # are left out of a fingerprint; a module might be imported dynamically)
    (project.root / "code" / "helper.py").write_text("VALUE = 1\n")
    step_py = project.root / "code" / "step.py"
    step_py.write_text("import helper  # noqa\n" + step_py.read_text())
    project.run()
    (project.root / "code" / "helper.py").write_text("VALUE = 2\n")
    fifth, _ = project.run()
    assert statuses(fifth) == {"a": "Completed", "b": "Completed", "c": "Completed"}

    # c.py imports step.py's module: an edit of step.py now reruns c too
    c_py = project.root / "code" / "c.py"
    c_py.write_text("import step  # noqa\n")
    project.run()
    step_py.write_text(step_py.read_text() + "# edited\n")
    sixth, _ = project.run()
    assert statuses(sixth) == {"a": "Completed", "b": "Completed", "c": "Completed"}


def test_an_edit_in_a_separate_source_directory_reruns_only_that_step(project):
    other = project.root / "code2"
    other.mkdir()
    (other / "step.py").write_text((project.root / "code" / "step.py").read_text())
    project.step("a", {"inp": "raw"})
    project.step("b", {"inp": "raw"}, source_directory="code2")
    project.step("c", {"inp": "b.out"})
    project.run()
    (other / "step.py").write_text((other / "step.py").read_text() + "\n# edited\n")
    (other / "notes.pyc").write_bytes(b"ignored cache")
    summary, _ = project.run()
    assert statuses(summary) == {"a": "Reused", "b": "Completed", "c": "Completed"}


def test_ignored_files_do_not_change_the_fingerprint(project):
    (project.root / "code" / ".pipeloomignore").write_text("scratch/\n*.log\n")
    project.step("a", {"inp": "raw"})
    project.run()
    (project.root / "code" / "scratch").mkdir()
    (project.root / "code" / "scratch" / "x.txt").write_text("x")
    (project.root / "code" / "run.log").write_text("x")
    summary, runner = project.run()
    assert statuses(summary) == {"a": "Reused"}


def test_allow_reuse_false_and_regenerate_outputs_run_again(project):
    project.step("a", {"inp": "raw"})
    project.step("b", {"inp": "a.out"}, allow_reuse=False)
    project.step("c", {"inp": "b.out"})
    project.run()
    summary, _ = project.run()
    assert statuses(summary) == {"a": "Reused", "b": "Completed", "c": "Completed"}
    summary, _ = project.run(regenerate_outputs=True)
    assert set(statuses(summary).values()) == {"Completed"}


def test_from_and_only_reuse_upstream_outputs(project):
    project.step("a", {"inp": "raw"})
    project.step("b", {"inp": "a.out"})
    project.step("c", {"inp": "b.out"})
    with pytest.raises(PipelineError, match="'a'.*no completed run"):
        project.run(only=["b"])
    first, _ = project.run()
    summary, _ = project.run(from_step="b")
    assert statuses(summary) == {"a": "Reused", "b": "Completed", "c": "Completed"}
    summary, _ = project.run(only=["b"])
    assert statuses(summary) == {"a": "Reused", "b": "Completed"}
    with pytest.raises(PipelineError, match="raw.*a dataset"):
        project.run(only=["raw"])


def test_outputs_register_datasets_publish_and_resolve_as_inputs(project):
    node = project.step("a", {"inp": "raw"})
    node.outputs[0].register_as = "cleaned"
    node.outputs[0].destination = "published/cleaned"
    first, _ = project.run(regenerate_outputs=True)
    second, _ = project.run(regenerate_outputs=True)
    store = RunStore(project.root / ".pipeloom")
    versions = [(d.name, d.version, d.run_id) for d in store.datasets()]
    assert versions == [("cleaned", 1, first.run_id), ("cleaned", 2, second.run_id)]
    published = _datastore(project) / "published" / "cleaned" / "part-0.txt"
    assert published.read_text() == "hello\na\n"
    from engine.pipeline.model import Node

    project.pipeline.nodes["reg"] = Node(
        "reg", "dataset", {"kind": "file", "from": "dataset:cleaned@1"}
    )
    project.step("b", {"inp": "reg"}, outputs=("out",))
    summary, _ = project.run()
    out = _datastore(project) / "runs" / summary.run_id / "b" / "out" / "part-0.txt"
    assert out.read_text() == "hello\na\nb\n"
    assert statuses(summary)["a"] == "Reused"
    assert [d.version for d in store.datasets()] == [1, 2]  # reuse registers nothing new

    # a destination added later is published from the reused output, without running
    node.outputs[0].destination = "published/again"
    summary, _ = project.run()
    assert statuses(summary)["a"] == "Reused"
    again = _datastore(project) / "published" / "again" / "part-0.txt"
    assert again.read_text() == "hello\na\n"


def test_download_gives_a_private_copy_and_a_changed_mount_is_an_error(project):
    project.step("dl", {"inp": "raw"}, modes={"inp": "download"}, args=["--touch-input", "inp"])
    project.step("mnt", {"inp": "raw"}, modes={"inp": "mount"}, args=["--touch-input", "inp"])
    summary, runner = project.run()
    assert statuses(summary) == {"dl": "Completed", "mnt": "Failed"}
    assert "changed its mounted input(s) inp" in runner.messages["mnt"]
    # the original was changed only by the mounted step
    assert (project.root / "data" / "in.txt").read_text() == "hello\nchanged\n"
    # the downloading step read a private copy in its work folder, deleted once it ended
    work = project.root / ".pipeloom" / "runs" / runner.run_id / "work" / "dl"
    context = json.loads((work / "context.json").read_text())
    assert work / "inputs" in Path(context["inputs"]["inp"]["path"]).parents
    assert not (work / "inputs").exists()


def test_an_environment_that_cannot_be_built_fails_the_step_before_it_starts(project):
    project.environment("needs", ["surely-not-installed-pkg>=1.0"])
    project.step("a", {"inp": "raw"}, environment="needs")
    summary, runner = project.run()
    assert statuses(summary) == {"a": "Failed"}
    message = runner.messages["a"]
    assert message.startswith("environment 'needs' could not be built")
    assert "surely-not-installed-pkg" in message
    log = runner.log_paths["a"].read_text()
    assert "environment needs: building" in log and "step a read" not in log


def test_validation_errors_refuse_the_run(project):
    project.step("a", {"inp": "nowhere"})
    with pytest.raises(PipelineError, match="nowhere"):
        project.run()


def test_cancel_kills_the_process_tree_and_leaves_no_output(project):
    project.step(
        "slow", {"inp": "raw"}, args=["--child", str(project.root / "child.pid"), "--sleep", "600"]
    )
    project.step("after", {"inp": "slow.out"})
    project.step("other", {"inp": "raw"}, args=["--sleep", "600"])
    runner = project.runner()
    seen = threading.Event()
    events = []

    def observe(event):
        events.append(event)
        if isinstance(event, LogLine) and event.text == "MARKER child started":
            seen.set()

    runner.subscribe(observe)
    runner.start()
    assert seen.wait(60)
    child = int((project.root / "child.pid").read_text())
    step_pids = [r.process.pid for r in runner._running.values() if r.process]
    runner.cancel()
    summary = runner.wait(30)
    assert summary is not None
    assert summary.status is Status.CANCELED
    assert statuses(summary) == {"slow": "Canceled", "after": "Canceled", "other": "Canceled"}
    for pid in [child, *step_pids]:
        assert not alive(pid), f"process {pid} survived the cancel"
    assert not (_datastore(project) / "runs" / summary.run_id).exists()
    assert not (_datastore(project) / "tmp" / summary.run_id).exists()
    assert "MARKER child started" in runner.log_paths["slow"].read_text()
    run_events = [e for e in events if isinstance(e, StatusChanged) and e.step is None]
    assert run_events[-1].status is Status.CANCELED
    store = RunStore(project.root / ".pipeloom")
    assert store.run(summary.run_id).status is Status.CANCELED


def test_many_observers_and_cancel_from_inside_a_callback(project):
    project.step("a", {"inp": "raw"}, args=["--sleep", "600"])
    runner = project.runner()
    seen_a, seen_b = [], []
    runner.subscribe(seen_a.append)

    def cancel_when_running(event):
        seen_b.append(event)
        if isinstance(event, LogLine) and "read" in event.text:
            runner.cancel()

    runner.subscribe(cancel_when_running)
    runner.start()
    summary = runner.wait(60)
    assert summary is not None and summary.status is Status.CANCELED
    assert seen_a == seen_b and len(seen_a) > 3


class SlowToStartBackend:
    """A CPU backend whose command() blocks like a Spark server that is still starting."""

    name = "cpu"

    def __init__(self):
        from engine.backends.cpu import CpuBackend

        self.inner = CpuBackend()
        self.entered = threading.Event()
        self.release = threading.Event()

    def command(self, launch, log):
        self.entered.set()
        self.release.wait(60)
        return self.inner.command(launch, log)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_cancel_does_not_wait_for_a_backend_that_is_still_starting(project):
    from engine.backends import BackendPool

    backend = SlowToStartBackend()
    pool = BackendPool()
    pool._backends["cpu"] = backend
    project.step("a", {"inp": "raw"})
    from engine.planning.plan import PlanOptions
    from engine.running.runner import Runner

    runner = Runner(project.pipeline, PlanOptions(), backends=pool, keep_warm=True)
    runner.start()
    assert backend.entered.wait(30)
    runner.cancel()
    summary = runner.wait(30)
    assert summary is not None  # the run ended while the backend was still blocked
    assert statuses(summary) == {"a": "Canceled"}
    backend.release.set()  # the server "comes up": the abandoned step starts nothing
    time.sleep(1)
    assert "step a read" not in runner.log_paths["a"].read_text()
    assert runner.statuses["a"] is Status.CANCELED


def test_steps_run_on_the_snapshot_taken_at_submit(project):
    b_py = project.root / "code" / "b.py"
    b_py.write_text("print('original b')\nimport step  # noqa\n")
    project.step("a", {"inp": "raw"}, args=["--sleep", "2"])
    project.step("b", {"inp": "a.out"}, script="b.py")
    runner = project.runner()
    edited = threading.Event()

    def edit_when_a_runs(event):
        if isinstance(event, LogLine) and event.step == "a" and not edited.is_set():
            b_py.write_text("print('edited b')\nimport step  # noqa\n")
            edited.set()

    runner.subscribe(edit_when_a_runs)
    summary = runner.run()
    assert edited.is_set() and statuses(summary) == {"a": "Completed", "b": "Completed"}
    log = runner.log_paths["b"].read_text()
    assert "original b" in log and "edited b" not in log


def test_two_runs_of_one_project_at_once_share_the_store(project):
    project.step("a", {"inp": "raw"}, args=["--sleep", "1"])
    project.step("b", {"inp": "a.out"})
    first, second = project.runner(regenerate_outputs=True), project.runner(regenerate_outputs=True)
    first.start()
    second.start()
    summaries = [first.wait(120), second.wait(120)]
    assert [s.status for s in summaries] == [Status.COMPLETED, Status.COMPLETED]
    assert summaries[0].run_id != summaries[1].run_id
    store = RunStore(project.root / ".pipeloom")
    assert {r.id for r in store.runs()} == {s.run_id for s in summaries}
    for summary in summaries:
        assert {c.status for c in store.child_runs(summary.run_id)} == {Status.COMPLETED}
