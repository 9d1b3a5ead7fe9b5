"""Before anything runs: ``validate`` (problems located by node and field; ``checks`` holds
the path and setting checks), ``fingerprint`` (content hashes of code and data) and ``plan``
(execution order, each step's fingerprint and whether an earlier output can be reused).
Imports engine.pipeline, engine.storage (earlier runs) and base modules.
"""
