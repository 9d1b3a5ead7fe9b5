"""What a run leaves on disk: ``store`` (the run store, SQLite in WAL mode: runs, steps,
statuses, outputs, registered dataset versions, the liveness lock), ``datastore`` (where
outputs and registered datasets live), ``snapshot`` (the copy of a step's code taken at
submit time, and which files count) and ``shared`` (whether a cluster's nodes can see the
datastore). Imports engine.pipeline and the engine's base modules.
"""
