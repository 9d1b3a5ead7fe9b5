"""Which steps of a run may start now: data dependencies, each compute's capacity, failures.

Pure bookkeeping, no threads or processes: the runner tells it what ended and asks it what to
launch, under the runner's own lock. Steps are offered in plan order.
"""

from __future__ import annotations

import os
import re
from collections import deque

from engine.pipeline.computes import is_ray
from engine.pipeline.model import Compute
from engine.planning.plan import StepPlan

LOCAL_MASTER_RE = re.compile(r"^local(?:\[(\d+|\*)(?:,\d+)?\])?$")


def compute_capacity(compute: Compute) -> int:
    """How many steps may run at once on a compute."""
    if compute.type == "cpu-pool":
        if is_ray(compute):  # a Ray cluster: it queues what its CPUs cannot run yet
            return max(1, compute.workers or 8)
        return max(1, compute.workers or os.cpu_count() or 1)
    m = LOCAL_MASTER_RE.match(compute.master or "local[*]")
    if m:
        cores = m.group(1)
        # local Spark shares one machine's cores: two steps keep it busy without thrashing
        return 1 if cores == "1" or cores is None else 2
    return 4


class Schedule:
    """The steps to run (plan order) and the capacity of each compute, by name.

    A step is pending until it is launched, canceled or skipped; it becomes ready once every
    step it reads from (among those to run) has succeeded.
    """

    def __init__(self, steps: dict[str, StepPlan], capacity: dict[str, int]):
        self.steps = steps
        self._position = {name: i for i, name in enumerate(steps)}
        self._capacity = capacity
        self._busy = dict.fromkeys(capacity, 0)
        self._dependents: dict[str, list[str]] = {}
        self._waiting: dict[str, int] = {}
        for step in steps.values():
            ups = [u for u in step.upstream if u in steps]  # the others are reused: done
            self._waiting[step.name] = len(ups)
            for u in ups:
                self._dependents.setdefault(u, []).append(step.name)
        self.pending = set(steps)  # neither launched nor given a final status
        self._ready = [name for name in steps if self._waiting[name] == 0]

    @property
    def ready(self) -> list[str]:
        """Steps whose inputs are all there, waiting for capacity (plan order)."""
        return sorted(self._ready, key=self._position.__getitem__)

    def ended(self, name: str, succeeded: bool) -> tuple[list[str], list[tuple[str, str]]]:
        """A launched step ended: the steps that became ready, and when it did not succeed,
        the pending steps downstream of it that will not run, each with the step it waited
        for (breadth first)."""
        if succeeded:
            became_ready = []
            for d in self._dependents.get(name, []):
                self._waiting[d] -= 1
                if self._waiting[d] == 0 and d in self.pending:
                    self._ready.append(d)
                    became_ready.append(d)
            return became_ready, []
        skipped = []
        todo = deque((d, name) for d in self._dependents.get(name, []))
        while todo:
            step, cause = todo.popleft()
            if step in self.pending:
                self.pending.discard(step)
                skipped.append((step, cause))
                todo.extend((d, step) for d in self._dependents.get(step, []))
        return [], skipped

    def launch(self) -> list[StepPlan]:
        """Ready steps that fit their compute's capacity now, taken off pending (plan order)."""
        launched, still_ready = [], []
        for name in self.ready:
            compute = self.steps[name].compute.name
            if self._busy[compute] < self._capacity[compute]:
                self._busy[compute] += 1
                self.pending.discard(name)
                launched.append(self.steps[name])
            else:
                still_ready.append(name)
        self._ready = still_ready
        return launched

    def release(self, step: StepPlan) -> None:
        """A launched step's slot on its compute is free again."""
        self._busy[step.compute.name] -= 1

    def cancel(self) -> list[str]:
        """Take every pending step off the schedule; returns them (plan order)."""
        canceled = sorted(self.pending, key=self._position.__getitem__)
        self.pending.clear()
        self._ready = []
        return canceled
