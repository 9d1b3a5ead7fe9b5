"""engine.running.schedule: what may start, in plan order, within each compute's capacity."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.pipeline.model import Compute, Node
from engine.planning.plan import StepPlan
from engine.running.schedule import Schedule, compute_capacity

POOL = Compute("pool", "cpu-pool", workers=2)
SPARK = Compute("spark", "spark", master="local[1]")


def step(name: str, upstream=(), compute: Compute = POOL) -> StepPlan:
    return StepPlan(
        name=name,
        node=Node(name, "script-step"),
        compute=compute,
        environment=None,
        source_dir=Path("."),
        entry=Path("x.py"),
        fingerprint=name,
        inputs=[],
        outputs=[],
        upstream=list(upstream),
        action="run",
        reason="",
    )


def schedule(*steps: StepPlan) -> Schedule:
    return Schedule({s.name: s for s in steps}, {"pool": 2, "spark": 1})


def names(steps) -> list[str]:
    return [s.name for s in steps]


def test_ready_steps_launch_in_plan_order_within_capacity():
    s = schedule(step("a"), step("b"), step("c"), step("d", ["a"]))
    assert s.ready == ["a", "b", "c"]
    assert names(s.launch()) == ["a", "b"]  # the pool runs two at once
    assert s.launch() == [] and s.ready == ["c"]
    s.release(s.steps["a"])
    assert s.ended("a", succeeded=True) == (["d"], [])
    assert names(s.launch()) == ["c"]  # before d: earlier in the plan
    s.release(s.steps["b"])
    assert names(s.launch()) == ["d"]
    assert not s.pending


def test_each_compute_has_its_own_capacity():
    s = schedule(step("a"), step("s1", compute=SPARK), step("s2", compute=SPARK))
    assert names(s.launch()) == ["a", "s1"]
    s.release(s.steps["s1"])
    assert names(s.launch()) == ["s2"]


def test_a_step_waits_for_every_upstream_and_upstream_not_to_run_counts_as_done():
    s = schedule(step("a"), step("b"), step("j", ["a", "b", "reused_elsewhere"]))
    assert names(s.launch()) == ["a", "b"]
    assert s.ended("a", True) == ([], [])
    assert s.ended("b", True) == (["j"], [])


def test_a_failure_skips_everything_downstream_with_its_cause_and_nothing_else():
    s = schedule(step("a"), step("b", ["a"]), step("c", ["b"]), step("d", ["a", "x"]), step("x"))
    s.launch()
    queued, skipped = s.ended("a", succeeded=False)
    assert queued == []
    assert skipped == [("b", "a"), ("d", "a"), ("c", "b")]  # breadth first
    assert s.pending == set()  # x was launched; the others will never run
    assert s.ended("x", succeeded=True) == ([], [])  # d is gone already


def test_cancel_takes_every_pending_step_in_plan_order():
    s = schedule(step("a"), step("b"), step("c"), step("d", ["a"]))
    s.launch()
    assert s.cancel() == ["c", "d"]
    assert s.ready == [] and s.launch() == []


@pytest.mark.parametrize(
    "compute, expected",
    [
        (Compute("p", "cpu-pool", workers=3), 3),
        (Compute("s", "spark", master="local"), 1),
        (Compute("s", "spark", master="local[1]"), 1),
        (Compute("s", "spark", master="local[*]"), 2),
        (Compute("s", "spark", master="local[4,2]"), 2),
        (Compute("s", "spark", master="spark://h:7077"), 4),
    ],
)
def test_capacity_of_a_compute(compute, expected):
    assert compute_capacity(compute) == expected
