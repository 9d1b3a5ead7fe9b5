"""Running a plan: ``runner`` (a run's life: snapshot, start steps as capacity frees,
statuses, cancel, recovery of interrupted runs), ``schedule`` (which planned steps may start
now; pure and unit-tested) and ``launch`` (one step's context file, inputs, temp outputs and
their publishing). Steps run on engine.backends; the runner reports engine.events.
Imports engine.pipeline, engine.storage, engine.planning, engine.backends and base modules.
"""
