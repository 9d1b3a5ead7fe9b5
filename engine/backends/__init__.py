"""Backend registry: which backend runs a step, created lazily so pyspark is never imported
unless a Spark step actually runs.

Contract for backend modules: `engine.backends.<module>` defines a class `<Name>Backend`
with a no-argument constructor implementing engine.backends.base.Backend.
"""

from __future__ import annotations

import importlib
import threading

from engine.backends.base import Backend
from engine.pipeline.model import Compute, Node

# backend name -> (module, class); modules import heavy things (pyspark) only inside methods
_BACKENDS = {
    "cpu": ("engine.backends.cpu", "CpuBackend"),
    "spark": ("engine.backends.spark", "SparkBackend"),
    "ray": ("engine.backends.ray", "RayBackend"),
}


def backend_name(compute: Compute, node: Node) -> str:
    """The backend that runs `node` on `compute`."""
    from engine.pipeline.computes import is_ray

    if compute.type == "spark":
        return "spark"
    return "ray" if is_ray(compute) else "cpu"


def create_backend(name: str) -> Backend:
    module_name, class_name = _BACKENDS[name]
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()


class BackendPool:
    """Backend instances shared by the runs of one owner (the CLI, the designer).

    The designer keeps one pool for its lifetime so a warm Spark server survives between runs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: dict[str, Backend] = {}

    def get(self, name: str) -> Backend:
        with self._lock:
            backend = self._backends.get(name)
            if backend is None:
                backend = self._backends[name] = create_backend(name)
            return backend

    def for_step(self, compute: Compute, node: Node) -> Backend:
        return self.get(backend_name(compute, node))

    def active(self) -> list[Backend]:
        with self._lock:
            return list(self._backends.values())

    def close(self, keep_warm: bool = False) -> None:
        for backend in self.active():
            backend.close(keep_warm=keep_warm)
        if not keep_warm:
            with self._lock:
                self._backends.clear()
