"""The pipeline file (format 1): YAML text <-> the model of engine.pipeline.

``yamlio`` is the entry point (load, save, node_from_data). Reading: ``parse`` (safe, strict
YAML: no tags, aliases, duplicate keys or YAML 1.1 surprises), ``migrate`` (older formats),
``schema`` with ``nodes`` and ``values`` (tree -> model, every problem located by line).
Writing: ``canonical`` (model -> data in a stable key order), ``emit`` (canonical text),
``write`` (atomic save) and ``comments`` (a hand-edited file keeps its comments and order).
``clipboard``: nodes copied and pasted as YAML text. Imports engine.pipeline and base modules.
"""
