"""The runner: executes a plan over the data dependencies, reporting events as it goes.

Independent branches run at once, bounded by each compute's capacity. A failing step fails
only what reads from it (Skipped); other branches finish. `cancel()` may be called from any
thread; the runner installs no signal handlers. Events are delivered on runner threads, one
at a time, in order; observers hand them to their own thread if they need to.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.backends import BackendPool, backend_name
from engine.backends.base import Backend, BackendError, StepLaunch
from engine.environments import planned_python
from engine.events import (
    LogLine,
    Progress,
    RunEvent,
    RunFinished,
    RunSummary,
    Status,
    StatusChanged,
    StepSummary,
)
from engine.pipeline.model import Pipeline
from engine.planning.plan import Plan, PlanOptions, StepPlan, make_plan, project_dir
from engine.problems import PipelineError
from engine.procs import RunGuard, StepProcess, kill_run_leftovers
from engine.running.launch import StepLaunches, discard_downloads
from engine.running.outputs import deliver_outputs
from engine.running.schedule import Schedule, compute_capacity
from engine.storage.snapshot import take_snapshot
from engine.storage.store import RunLock, RunStore


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


@dataclass
class _Running:
    launch: StepLaunch | None = None
    backend: Backend | None = None
    process: StepProcess | None = None
    thread: threading.Thread | None = None
    abandoned: bool = False  # canceled before its process started; its thread may linger


class Runner:
    """Runs one pipeline once. `run()` blocks; `start()` runs it on a new thread.

    A GUI keeps one BackendPool for its lifetime and passes it with keep_warm=True, so a warm
    Spark server survives between runs (it calls pool.close() when it quits):

        runner = Runner(pipeline, PlanOptions(...), backends=pool, keep_warm=True)
        runner.subscribe(callback)   # called on runner threads: hand events to the GUI thread
        runner.start()               # planning errors end up in runner.error (PipelineError)
        runner.cancel()              # from any thread, never blocks
        runner.wait()                # -> RunSummary (None when it could not start)
    """

    def __init__(
        self,
        pipeline: Pipeline,
        options: PlanOptions | None = None,
        experiment: str | None = None,
        store: RunStore | None = None,
        backends: BackendPool | None = None,
        keep_warm: bool = False,
    ):
        self.pipeline = pipeline.copy()  # edits during the run change nothing
        self.pipeline.path = pipeline.path
        self.options = options or PlanOptions()
        self.experiment = experiment or pipeline.name
        self.project_dir = project_dir(pipeline)
        self._own_store = store is None
        self.store = store or RunStore(self.project_dir / ".pipeloom")
        self._own_backends = backends is None
        self.backends = backends or BackendPool()
        self.keep_warm = keep_warm
        self.run_id: str | None = None
        self.plan: Plan | None = None
        self.summary: RunSummary | None = None
        self.error: BaseException | None = None
        self.statuses: dict[str, Status] = {}
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.messages: dict[str, str] = {}
        self.log_paths: dict[str, Path] = {}
        self._observers: list[Callable[[RunEvent], None]] = []
        self._emit_lock = threading.RLock()
        self._cond = threading.Condition()
        self._cancel_requested = False
        self._canceled = False
        self._running: dict[str, _Running] = {}
        self._just_finished: list[str] = []  # steps that ended since the scheduler last looked
        self._outputs: dict[str, dict[str, str]] = {}
        self._threads: list[threading.Thread] = []
        self._launches: StepLaunches | None = None
        self._guard: RunGuard | None = None  # stops the steps if this process dies
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.planned = threading.Event()  # set once `plan` is made (or planning failed)

    # -- observers ------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[RunEvent], None]) -> Callable[[], None]:
        with self._emit_lock:
            self._observers.append(callback)

        def unsubscribe() -> None:
            with self._emit_lock:
                if callback in self._observers:
                    self._observers.remove(callback)

        return unsubscribe

    def _emit(self, event: RunEvent) -> None:
        with self._emit_lock:
            for cb in list(self._observers):
                try:
                    cb(event)
                except Exception as e:  # an observer's bug must not stop the run
                    print(f"pipeloom: event observer failed: {e!r}", file=sys.stderr)

    # -- control ----------------------------------------------------------------------------
    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self._run_catching, name="pipeloom-run", daemon=True)
        self._thread.start()
        return self._thread

    def _run_catching(self) -> None:
        try:
            self.run()
        except BaseException as e:
            self.error = e

    def wait(self, timeout: float | None = None) -> RunSummary | None:
        self._done.wait(timeout)
        return self.summary

    def cancel(self) -> None:
        """Stop the run: running steps' process trees are killed, nothing new starts.

        Never blocks, so an observer may call it from inside an event callback.
        """
        self._cancel_requested = True
        if self._cond.acquire(blocking=False):  # else the scheduler sees it within 0.5 s
            try:
                self._cond.notify_all()
            finally:
                self._cond.release()

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> RunSummary:
        """Plan and execute; raises PipelineError when the pipeline cannot run at all."""
        try:
            return self._run()
        finally:
            if self._own_store:
                self.store.close()
            self.planned.set()
            self._done.set()

    def _run(self) -> RunSummary:
        dead_runs = self.store.mark_dead_runs_interrupted()
        for dead in dead_runs:
            kill_run_leftovers(dead)  # steps of a killed runner may still be running
        plan = self.plan = make_plan(self.pipeline, self.store, self.options)
        self.planned.set()
        for dead in dead_runs:
            plan.datastore.discard_run(dead)
        for stale in plan.datastore.temp_runs():  # a dead run another command marked first
            record = self.store.run(stale)
            if record is None or record.status.finished:
                plan.datastore.discard_run(stale)
        run_id = self.run_id = new_run_id()
        self._launches = StepLaunches(plan, run_id, self.store, self.project_dir)
        lock = self.store.acquire_run_lock(run_id)
        t0 = time.time()
        try:
            self._guard = RunGuard(run_id)
            self._prepare_backends(plan)
            run_dir = self.project_dir / ".pipeloom" / "runs" / run_id
            for name in plan.steps:
                self.log_paths[name] = run_dir / "logs" / f"{name}.log"
                self.statuses[name] = Status.NOT_STARTED
            self.store.create_run(
                run_id,
                self.experiment,
                self.pipeline.name,
                str(Path(self.pipeline.path).resolve()) if self.pipeline.path else None,
                plan.parameters,
                {
                    "regenerate_outputs": self.options.regenerate_outputs,
                    "from": self.options.from_step,
                    "only": list(self.options.only),
                },
                [
                    (n, Status.NOT_STARTED, s.fingerprint, str(self.log_paths[n]))
                    for n, s in plan.steps.items()
                ],
            )
            self._emit(StatusChanged(run_id, None, Status.RUNNING, t0))
            for step in plan.steps.values():
                if step.action == "reuse":
                    self._mark_reused(step)
                else:
                    self._emit(
                        StatusChanged(run_id, step.name, Status.NOT_STARTED, t0, step.reason)
                    )
            snapshots = self._take_snapshots(plan, run_dir)
            self._schedule(plan, run_dir, snapshots)
            return self._finish(run_id, t0, lock)
        except BaseException:
            self._abort(run_id, lock)
            raise

    def _prepare_backends(self, plan: Plan) -> None:
        by_backend: dict[str, list[StepPlan]] = {}
        for step in plan.to_run:
            try:  # a Spark server for an environment's Python starts while it is built
                step.python = planned_python(step.environment, self.project_dir)
            except PipelineError:
                step.python = None  # the step fails with that message when it starts
            by_backend.setdefault(backend_name(step.compute, step.node), []).append(step)
        for name, steps in by_backend.items():
            self.backends.get(name).prepare(steps, dict(self.pipeline.computes))

    def _take_snapshots(self, plan: Plan, run_dir: Path) -> dict[str, Path]:
        """A copy of each source_directory now, at submit time; steps sharing a folder share it.

        Steps treat their snapshot as read-only; one copy per folder keeps a long chain cheap.
        """
        by_folder: dict[Path, Path] = {}
        snapshots = {}
        for step in plan.to_run:
            code = by_folder.get(step.source_dir)
            if code is None:
                code = run_dir / "code" / f"{len(by_folder)}-{step.source_dir.name or 'root'}"
                take_snapshot(step.source_dir, code)
                by_folder[step.source_dir] = code
            snapshots[step.name] = code
        return snapshots

    def _mark_reused(self, step: StepPlan) -> None:
        record = step.reused
        assert record is not None
        self._outputs[step.name] = dict(record.outputs)
        self._set_status(
            step.name,
            Status.REUSED,
            message=f"reused outputs of run {record.run_id}",
            store_fields={"outputs": record.outputs, "reused_from": record.run_id},
        )

        def note(text: str) -> None:
            self._emit(LogLine(step.name, "pipeloom", time.time(), text))

        self._deliver(step, dict(record.outputs), note, reused=True)

    def _schedule(self, plan: Plan, run_dir: Path, snapshots: dict[str, Path]) -> None:
        """Start each step once all it reads has completed, as capacity allows (plan order)."""
        schedule = Schedule(
            {s.name: s for s in plan.steps.values() if s.action == "run"},
            {c.name: compute_capacity(c) for c in self.pipeline.computes.values()},
        )
        with self._cond:
            for name in schedule.ready:
                self._set_status(name, Status.QUEUED)
            while True:
                if self._cancel_requested and not self._canceled:
                    self._canceled = True
                    self._cancel_running()
                if self._canceled:
                    for name in schedule.cancel():
                        self._set_status(name, Status.CANCELED, message="run canceled")
                while self._just_finished:
                    name = self._just_finished.pop(0)
                    queued, skipped = schedule.ended(name, self.statuses[name].succeeded)
                    for ready in queued:
                        self._set_status(ready, Status.QUEUED)
                    for skip, cause in skipped:
                        self._set_status(
                            skip, Status.SKIPPED, message=f"upstream {cause} did not complete"
                        )
                for step in schedule.launch():
                    self._launch_thread(step, run_dir, snapshots[step.name], schedule)
                if not schedule.pending and not self._running:
                    break
                self._cond.wait(0.5)
        for t in self._threads:
            t.join()  # abandoned steps' threads are not in this list

    def _launch_thread(self, step: StepPlan, run_dir: Path, code: Path, schedule: Schedule) -> None:
        entry = self._running[step.name] = _Running()

        def body() -> None:
            try:
                self._execute(step, run_dir, code, entry)
            finally:
                with self._cond:
                    schedule.release(step)
                    self._running.pop(step.name, None)
                    self._cond.notify_all()

        entry.thread = threading.Thread(target=body, name=f"pipeloom-step-{step.name}", daemon=True)
        self._threads.append(entry.thread)
        entry.thread.start()

    def _cancel_running(self) -> None:
        """Kill every running step's tree at once (called with the condition held).

        A step whose process has not started yet (its backend is still starting a server) is
        Canceled now rather than waited for: its thread sees the cancel and starts nothing.
        """
        for name, running in list(self._running.items()):
            if running.process is None:
                running.abandoned = True
                self._running.pop(name)
                if running.thread in self._threads:
                    self._threads.remove(running.thread)
                self._finish_step(name, Status.CANCELED, "canceled")
            threading.Thread(
                target=self._kill_step,
                args=(name, running),
                name=f"pipeloom-kill-{name}",
                daemon=True,
            ).start()

    def _kill_step(self, name: str, running: _Running) -> None:
        if running.backend is not None and running.launch is not None:
            threading.Thread(
                target=_quietly, args=(running.backend.cancel, running.launch), daemon=True
            ).start()
        if running.process is not None:
            running.process.kill()

    # -- one step --------------------------------------------------------------------------
    def _execute(self, step: StepPlan, run_dir: Path, code: Path, entry: _Running) -> None:
        name = step.name
        workdir = run_dir / "work" / name
        log_path = self.log_paths[name]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        plan = self.plan
        assert plan is not None and self.run_id is not None
        with open(log_path, "a", encoding="utf-8", buffering=1) as log_file:
            log_lock = threading.Lock()

            def write_line(stream: str, when: float, text: str) -> None:
                stamp = dt.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
                with log_lock:
                    log_file.write(f"{stamp} {stream}: {text}\n")
                self._emit(LogLine(name, stream, when, text))

            def note(text: str) -> None:
                write_line("pipeloom", time.time(), text)

            with self._cond:
                if self.statuses[name].finished:  # canceled while its thread was starting
                    return
                self.started[name] = time.time()
                self._set_status(name, Status.RUNNING, store_fields={"started": time.time()})
            try:
                self._launch_and_wait(step, workdir, code, entry, write_line, note)
                self._finish_step(name, Status.COMPLETED, outputs=self._outputs[name])
            except _Canceled:
                plan.datastore.discard(self.run_id, name)
                note("canceled")
                self._finish_step(name, Status.CANCELED, "canceled")
            except (_StepFailed, PipelineError, BackendError, OSError) as e:
                plan.datastore.discard(self.run_id, name)
                if self._canceled:
                    note("canceled")
                    self._finish_step(name, Status.CANCELED, "canceled")
                else:
                    why = _reason(e)
                    note(f"failed: {why}")
                    self._finish_step(name, Status.FAILED, why)
            except Exception as e:  # a bug in a backend: fail the step, keep the run going
                plan.datastore.discard(self.run_id, name)
                note(f"failed: internal error {e!r}")
                self._finish_step(name, Status.FAILED, f"internal error: {e!r}")

    def _launch_and_wait(
        self,
        step: StepPlan,
        workdir: Path,
        code: Path,
        entry: _Running,
        write_line: Callable[[str, float, str], None],
        note: Callable[[str], None],
    ) -> None:
        """Start the step's process, wait for it, commit its outputs when it succeeded.

        Raises _Canceled or _StepFailed (or what building the launch raises). However it
        ends, the step's private copies of `mode: download` inputs are deleted.
        """
        try:
            launch, mounted = self._launches.build(
                step, workdir, code, self._outputs, note, lambda: self._cancel_requested
            )
            backend = self.backends.for_step(step.compute, step.node)
            with self._cond:  # known before command(): a cancel may interrupt its wait
                entry.launch, entry.backend = launch, backend
            argv, env = backend.command(launch, note)
            with self._cond:
                if self._canceled or self._cancel_requested:
                    raise _Canceled()
                entry.process = process = StepProcess(argv, env, workdir, write_line)
            self._guard.watch(process.pgid)
            code_ = self._wait(step, process, backend, launch)
            if self._canceled:
                raise _Canceled()
            if code_ != 0:
                for line in _quietly(backend.on_failure, launch) or []:
                    write_line("server", time.time(), line)
                raise _StepFailed(f"exited with code {code_}")
            self._launches.check_mounts(mounted)
            self._commit(step, note)
        finally:
            discard_downloads(workdir)

    def _wait(self, step: StepPlan, process: StepProcess, backend: Backend, launch) -> int:
        """The exit code; progress is polled on a side thread (a timed wait would add latency)."""
        source = _quietly(backend.progress_source, launch)
        if source is None:
            return process.wait()
        stop = threading.Event()

        def poll_progress() -> None:
            while not stop.wait(0.5):
                for u in _quietly(source.poll) or []:
                    self._emit(Progress(step.name, u.job, u.stage, u.done, u.total))

        poller = threading.Thread(target=poll_progress, name=f"pipeloom-progress-{step.name}")
        poller.start()
        try:
            return process.wait()
        finally:
            stop.set()
            poller.join()
            _quietly(source.close)

    def _commit(self, step: StepPlan, note: Callable[[str], None]) -> None:
        plan = self.plan
        assert plan is not None and self.run_id is not None
        final = plan.datastore.commit_outputs(
            self.run_id, step.name, [o.name for o in step.outputs]
        )
        self._outputs[step.name] = {k: str(v) for k, v in final.items()}
        self._deliver(step, self._outputs[step.name], note, reused=False)

    def _deliver(
        self, step: StepPlan, outputs: dict[str, str], note: Callable[[str], None], reused: bool
    ) -> None:
        assert self.plan is not None and self.run_id is not None
        for event in deliver_outputs(
            self.plan, self.store, self.run_id, step, outputs, note, reused
        ):
            self._emit(event)

    # -- statuses ------------------------------------------------------------------------------
    def _set_status(
        self,
        step: str,
        status: Status,
        message: str | None = None,
        store_fields: dict[str, Any] | None = None,
    ) -> None:
        self.statuses[step] = status
        if message:
            self.messages[step] = message
        assert self.run_id is not None
        self.store.update_child(
            self.run_id, step, status=status, message=message, **(store_fields or {})
        )
        self._emit(StatusChanged(self.run_id, step, status, time.time(), message))

    def _finish_step(
        self,
        step: str,
        status: Status,
        message: str | None = None,
        outputs: dict[str, str] | None = None,
    ) -> None:
        """Set a final status once; later calls (an abandoned step's thread) change nothing."""
        with self._cond:
            if self.statuses.get(step, Status.NOT_STARTED).finished:
                return
            now = time.time()
            self.ended[step] = now
            duration = now - self.started.get(step, now)
            fields: dict[str, Any] = {"ended": now, "duration": duration}
            if outputs is not None:
                fields["outputs"] = outputs
            self._set_status(step, status, message, store_fields=fields)
            self._just_finished.append(step)
            self._cond.notify_all()

    def _finish(self, run_id: str, t0: float, lock: RunLock) -> RunSummary:
        statuses = self.statuses.values()
        if self._canceled:
            status = Status.CANCELED
        elif any(s in (Status.FAILED, Status.SKIPPED) for s in statuses):
            status = Status.FAILED
        else:
            status = Status.COMPLETED
        self.store.finish_run(run_id, status)
        self.plan.datastore.discard_run(run_id)
        lock.release()
        self._guard.close()
        self._close_backends()
        summary = RunSummary(run_id, status, time.time() - t0, self._step_summaries())
        self.summary = summary
        self._emit(StatusChanged(run_id, None, status, time.time()))
        self._emit(RunFinished(summary))
        return summary

    def _abort(self, run_id: str, lock: RunLock) -> None:
        """An unexpected error in the runner itself: record it, stop what runs."""
        self.cancel()
        for running in list(self._running.values()):
            if running.process is not None:
                running.process.kill()
        _quietly(self.store.finish_run, run_id, Status.FAILED, "the runner failed")
        if self.plan is not None:
            self.plan.datastore.discard_run(run_id)
        lock.release()
        if self._guard is not None:
            self._guard.close()
        self._close_backends()

    def _close_backends(self) -> None:
        if self._own_backends:
            self.backends.close(keep_warm=False)
        elif not self.keep_warm:
            self.backends.close(keep_warm=False)

    def _step_summaries(self) -> tuple[StepSummary, ...]:
        assert self.plan is not None
        out = []
        for name, step in self.plan.steps.items():
            started, ended = self.started.get(name), self.ended.get(name)
            out.append(
                StepSummary(
                    name,
                    self.statuses[name],
                    ended - started if started and ended else None,
                    step.reused.run_id if step.action == "reuse" and step.reused else None,
                    self.messages.get(name),
                )
            )
        return tuple(out)


class _Canceled(Exception):
    pass


class _StepFailed(Exception):
    pass


def _reason(error: Exception) -> str:
    """What went wrong, without the file/node prefix a PipelineError carries for the CLI."""
    if isinstance(error, PipelineError):
        return "; ".join(p.message for p in error.problems)
    return str(error)


def _quietly(fn, *args):
    """Call a backend hook; its failure is not the step's."""
    try:
        return fn(*args)
    except Exception as e:
        print(f"pipeloom: {getattr(fn, '__qualname__', fn)} failed: {e!r}", file=sys.stderr)
        return None
