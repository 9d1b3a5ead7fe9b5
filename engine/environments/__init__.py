"""Step environments: the Python that runs a step, from an `environments:` entry of the
pipeline. ``check`` tells whether an interpreter meets the entry's pip requirements.
Imports engine.pipeline and the engine's base modules.
"""
