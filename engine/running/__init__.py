"""Running a plan: ``runner`` (a run's life: snapshot, start steps as capacity frees,
statuses, cancel, recovery of interrupted runs), ``schedule`` (which planned steps may start
now; pure and unit-tested), ``launch`` (one step's context file, inputs and temp outputs) and
``outputs`` (a completed step's outputs published and registered). Steps run on
engine.backends; the runner reports engine.events. Imports engine.pipeline, engine.storage,
engine.planning, engine.environments, engine.backends and the base modules.
"""
