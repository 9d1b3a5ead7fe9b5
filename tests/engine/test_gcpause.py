"""engine.gcpause: the collector is off inside a pause and back as it was after the last one."""

from __future__ import annotations

import gc
import threading

import pytest

from engine.gcpause import gc_paused, paused_gc


@pytest.fixture
def gc_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_pauses_nest_and_the_collector_comes_back_after_the_outermost(gc_enabled):
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(gc_enabled):
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_the_decorator_pauses_and_an_exception_still_ends_the_pause(gc_enabled):
    @gc_paused
    def boom():
        assert not gc.isenabled()
        raise ValueError("x")

    with pytest.raises(ValueError):
        boom()
    assert gc.isenabled()
    assert boom.__name__ == "boom"


def test_overlapping_pauses_in_threads_end_with_the_last_one(gc_enabled):
    inside = threading.Event()
    leave = threading.Event()

    def worker():
        with paused_gc():
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=worker)
    with paused_gc():
        t.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the thread's pause is still open
    leave.set()
    t.join(5)
    assert gc.isenabled()
