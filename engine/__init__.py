"""Pipeloom's engine: everything but the GUI, usable and tested without Qt (never imports it).

Layers, each importing only the ones listed before it (tests/engine/test_architecture.py
checks this, and that no two modules import each other, directly or in a loop):

- the base modules here: ``problems`` (errors and located problems), ``events`` (what a run
  reports), ``gcpause``, ``procs`` (process trees), ``java`` (finding Java), ``userdirs`` (the
  user cache), ``step`` and ``stepcontext`` (the helper a step's script imports; stdlib only);
- ``pipeline``: the model (nodes, ports, computes), its reversible changes, node types, graph;
- ``fileformat``: the YAML pipeline file, read, migrated, written; copy/paste as YAML text;
- ``storage``: what persists: the run store (SQLite), the datastore, code snapshots;
- ``planning``: validation and the plan (order, fingerprints, reuse decisions);
- ``environments``: the Python a step runs with, from the pipeline's `environments:`;
- ``backends``: where steps run (Spark Connect, spark-submit, the CPU process pool);
- ``running``: the runner, its schedule and the launching of each step;
- ``export``: Azure ML, Airflow and shell exports (and the Azure ML import);
- ``preview``: the first rows of datasets, step outputs and registered dataset versions;
- ``cli`` and ``api``: the two front ends, the `pipeloom` command and the seed-style Python API.
"""
